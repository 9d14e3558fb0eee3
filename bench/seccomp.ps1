#!/usr/bin/env pwsh
<#
.SYNOPSIS
    What the default seccomp profile costs a container's run to exit: `true` with Docker's default profile (every
    container's default) and with -SecurityOption seccomp=unconfined, printed side by side with the difference.
.DESCRIPTION
    - PSContainer: New-Container + Start-Container -Wait + Remove-Container (network none) in a warm session, the two
      kinds alternated run by run so drift on a shared machine hits both alike.
    - psc-runtime run: the same bare bundle with and without the profile the engine writes (its linux.seccomp), to
      isolate the runtime's part: compiling ~400 rules with libseccomp and loading the filter.
    Target (issue 11): the default profile costs at most 1 ms more. Results go to bench/results/seccomp-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/seccomp.ps1 -ModulePath ./out/PSContainer
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(5, 400)][int]$Iterations = 40,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run -Bundle
$tar, $bundle = $fixture.Tar, $fixture.Bundle

$env:PSCONTAINER_ROOT = Join-Path $run 'state'
$env:PSCONTAINER_RUNROOT = Join-Path $run 'state-run'
$env:PSCONTAINER_CGROUP_PARENT = 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null

# Alternates A and B, one warm-up each; returns the runs of each.
function Measure-Pair([scriptblock]$A, [scriptblock]$B) {
    & $A | Out-Null; & $B | Out-Null
    $ta = [System.Collections.Generic.List[double]]::new(); $tb = [System.Collections.Generic.List[double]]::new()
    for ($i = 0; $i -lt $Iterations; $i++) {
        foreach ($pair in @(@($A, $ta), @($B, $tb))) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $pair[0] | Out-Null
            $pair[1].Add($sw.Elapsed.TotalMilliseconds)
        }
    }
    , @($ta.ToArray(), $tb.ToArray())
}

$rows = [System.Collections.Generic.List[object]]::new()
$results = [ordered]@{}
function Add-Row([string]$What, [double[]]$Default, [double[]]$Unconfined) {
    $d = Get-BenchMedian $Default; $u = Get-BenchMedian $Unconfined
    $results[$What] = [ordered]@{ defaultMs = $d; unconfinedMs = $u; defaultRuns = $Default; unconfinedRuns = $Unconfined }
    $rows.Add([pscustomobject]@{ what = $What; 'default ms' = (Format-BenchNumber $d 'N2'); 'unconfined ms' = (Format-BenchNumber $u 'N2'); 'difference ms' = (Format-BenchNumber ($d - $u) 'N2') })
}

$engine = Measure-Pair {
    $c = New-Container bench/busybox -Command true -Network none; $c | Start-Container -Wait; $c | Remove-Container
} {
    $c = New-Container bench/busybox -Command true -Network none -SecurityOption seccomp=unconfined; $c | Start-Container -Wait; $c | Remove-Container
}
Add-Row 'PSContainer New+Start -Wait+Remove' $engine[0] $engine[1]

# The profile the engine writes, taken from a real container's config.json.
$probe = New-Container bench/busybox -Command true -Network none
$probe | Start-Container -Wait
$profile = (Get-Content -Raw (Join-Path $env:PSCONTAINER_ROOT "containers/$($probe.Id)/config.json") | ConvertFrom-Json).linux.seccomp
$probe | Remove-Container
$spec = @{
    ociVersion = '1.0.2'
    process    = @{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = @('true'); env = @('PATH=/bin'); cwd = '/'
        capabilities = @{ bounding = @('CAP_KILL'); effective = @('CAP_KILL'); permitted = @('CAP_KILL') }; noNewPrivileges = $false }
    root       = @{ path = 'rootfs'; readonly = $true }
    hostname   = 'bench'
    mounts     = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' }, @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'strictatime', 'mode=755', 'size=65536k') })
    linux      = @{ namespaces = @(@{ type = 'pid' }, @{ type = 'network' }, @{ type = 'ipc' }, @{ type = 'uts' }, @{ type = 'mount' })
        cgroupsPath = '/psc-bench/bare'; maskedPaths = @('/proc/kcore'); readonlyPaths = @('/proc/sys') }
}
$plain = Join-Path $run 'bundle-unconfined'
New-Item -ItemType Directory -Force $plain | Out-Null
& ln -s (Join-Path $bundle 'rootfs') (Join-Path $plain 'rootfs')
$spec | ConvertTo-Json -Depth 8 | Set-Content "$plain/config.json"
$spec.linux.seccomp = $profile
$spec | ConvertTo-Json -Depth 12 | Set-Content "$bundle/config.json"
$native = Join-Path (Split-Path (Get-Module PSContainer).Path) 'native'
$script:n = 0
$bare = Measure-Pair {
    $script:n++; Invoke-BenchProcess -FilePath "$native/psc-runtime" -ArgumentList @('--root', "$run/psc-rt", 'run', '--bundle', $bundle, "s$script:n") -Check
} {
    $script:n++; Invoke-BenchProcess -FilePath "$native/psc-runtime" -ArgumentList @('--root', "$run/psc-rt", 'run', '--bundle', $plain, "u$script:n") -Check
}
Add-Row 'psc-runtime run (bare bundle)' $bare[0] $bare[1]

Write-Host "`nRun-to-exit of true with Docker's default seccomp profile and with seccomp=unconfined (median of $Iterations, alternated)"
Write-BenchTable -Row $rows -Column 'what', 'default ms', 'unconfined ms', 'difference ms' -RightAlign 'default ms', 'unconfined ms', 'difference ms'

Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Remove-BenchCgroupParent 'psc-bench'
$file = Save-BenchResult -Name 'seccomp' -Data ([ordered]@{ latency = $results; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
