#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Container start-up: run-to-exit latency of `true`, the time to start 20 `sleep` containers, and the memory of
    each container's monitor, for PSContainer next to runc, docker and podman, in one run, as medians and ratios.
.DESCRIPTION
    - PSContainer: a warm pwsh session; each iteration is New-Container + Start-Container -Wait + Remove-Container
      (network none) in a private state root.
    - psc-runtime run / runc run: the same bare OCI bundle (busybox rootfs, `runc spec` config running `true`),
      the runtime alone with no engine around it.
    - docker run --rm --network none / podman run --rm --network none, with the same busybox root filesystem
      imported as an image.
    Competitors that are missing (or docker without a reachable daemon) are skipped with the reason; nothing is
    installed or started here. Every loop is bounded in count. Results go to bench/results/run-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/run.ps1 -ModulePath ./out/PSContainer
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 200)][int]$Iterations = 20,
    [ValidateRange(1, 50)][int]$Containers = 20,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$results = [ordered]@{}
$rows = [System.Collections.Generic.List[object]]::new()

# ---- fixture: a busybox root filesystem, as a tar and as a bare bundle ------------------------------------------
$fixture = New-BenchBusyboxRootFs -Directory $run -Bundle
$tar, $bundle = $fixture.Tar, $fixture.Bundle
$spec = @{
    ociVersion = '1.0.2'
    process    = @{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = @('true'); env = @('PATH=/bin'); cwd = '/'
        capabilities = @{ bounding = @('CAP_KILL'); effective = @('CAP_KILL'); permitted = @('CAP_KILL') }; noNewPrivileges = $true }
    root       = @{ path = 'rootfs'; readonly = $true }
    hostname   = 'bench'
    mounts     = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' }, @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'strictatime', 'mode=755', 'size=65536k') })
    linux      = @{ namespaces = @(@{ type = 'pid' }, @{ type = 'network' }, @{ type = 'ipc' }, @{ type = 'uts' }, @{ type = 'mount' }, @{ type = 'cgroup' })
        cgroupsPath = '/psc-bench/bare'; maskedPaths = @('/proc/kcore'); readonlyPaths = @('/proc/sys') }
}
$spec | ConvertTo-Json -Depth 6 | Set-Content "$bundle/config.json"

function Measure-Runs([string]$Name, [scriptblock]$Once, [int]$Count = $Iterations) {
    & $Once | Out-Null   # warm-up
    $times = for ($i = 0; $i -lt $Count; $i++) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & $Once | Out-Null
        $sw.Elapsed.TotalMilliseconds
    }
    $median = Get-BenchMedian $times
    $results[$Name] = [ordered]@{ medianMs = $median; runs = @($times) }
    $median
}

function Get-RssKb([int[]]$ProcessId) {
    $values = foreach ($p in $ProcessId) {
        $line = Get-Content "/proc/$p/status" -ErrorAction SilentlyContinue | Where-Object { $_ -like 'VmRSS:*' }
        if ($line) { [double]($line -replace '\D', '') }
    }
    Get-BenchMedian @($values)
}

# ---- run-to-exit latency ---------------------------------------------------------------------------------------
$latency = [ordered]@{}
Use-BenchStateRoot $run 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null
$latency['PSContainer (New+Start -Wait+Remove)'] = Measure-Runs 'psc' {
    $c = New-Container bench/busybox -Command true -Network none; $c | Start-Container -Wait; $c | Remove-Container
}
$native = Join-Path (Split-Path (Get-Module PSContainer).Path) 'native'
$id = 0
$latency['psc-runtime run (bare bundle)'] = Measure-Runs 'psc-runtime' {
    $script:id++; Invoke-BenchProcess -FilePath "$native/psc-runtime" -ArgumentList @('--root', "$run/psc-rt", 'run', '--bundle', $bundle, "b$script:id") -Check
}
if (Test-BenchCommand runc) {
    $latency['runc run (bare bundle)'] = Measure-Runs 'runc' {
        $script:id++; Invoke-BenchProcess -FilePath runc -ArgumentList @('--root', "$run/runc", 'run', '--bundle', $bundle, "b$script:id") -Check
    }
} else { Write-Host 'runc: not installed, skipped' }
$docker = Get-BenchDockerStatus
if ($docker.Available) {
    Invoke-BenchProcess -FilePath docker -ArgumentList @('import', $tar, 'psc-bench/busybox:latest') -Check | Out-Null
    $latency['docker run --rm --network none'] = Measure-Runs 'docker' {
        Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '--rm', '--network', 'none', 'psc-bench/busybox', 'true') -Check
    }
} else { Write-Host "docker: not available ($($docker.Reason))" }
$havePodman = Test-BenchCommand podman
$podmanParentBefore = Test-BenchPodmanCgroupParent
if ($havePodman) {
    Invoke-BenchProcess -FilePath podman -ArgumentList @('import', $tar, 'localhost/psc-bench-busybox:latest') -Check | Out-Null
    $latency['podman run --rm --network none'] = Measure-Runs 'podman' {
        Invoke-BenchProcess -FilePath podman -ArgumentList @('run', '--rm', '--network', 'none', 'localhost/psc-bench-busybox', 'true') -Check
    }
} else { Write-Host 'podman: not installed, skipped' }

$ours = $latency['PSContainer (New+Start -Wait+Remove)']
Write-Host "`nRun-to-exit latency of true (median of $Iterations after a warm-up)"
Write-BenchTable -Row @($latency.GetEnumerator() | ForEach-Object {
        [pscustomobject]@{ engine = $_.Key; 'median ms' = (Format-BenchNumber $_.Value 'N1'); 'PSContainer is x faster' = (Format-BenchNumber ($_.Value / $ours) 'N2') } }) `
    -Column 'engine', 'median ms', 'PSContainer is x faster' -RightAlign 'median ms', 'PSContainer is x faster'

# ---- start N sleeping containers, and the memory of what watches each ------------------------------------------
$start = [ordered]@{}
$sw = [Diagnostics.Stopwatch]::StartNew()
$ctrs = for ($i = 0; $i -lt $Containers; $i++) { Start-Container -Image bench/busybox -Command sleep, 120 -Network none -Detach }
$start['PSContainer'] = $sw.Elapsed.TotalMilliseconds
# A monitor names itself psc-<first 12 of the container id> (the kernel's comm keeps 15 characters of it).
$names = @($ctrs | ForEach-Object { 'psc-' + $_.Id.Substring(0, 12); 'psc-' + $_.Id.Substring(0, 11) })
$monitors = @(Get-Process | Where-Object { $_.ProcessName -in $names } | ForEach-Object Id)
$rss = [ordered]@{ 'psc-monitor' = Get-RssKb $monitors }
$ctrs | Remove-Container -Force
if ($docker.Available) {
    $sw.Restart()
    $ids = for ($i = 0; $i -lt $Containers; $i++) { (Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '-d', '--network', 'none', 'psc-bench/busybox', 'sleep', '120') -Check).StdOut.Trim() }
    $start['docker'] = $sw.Elapsed.TotalMilliseconds
    $rss['containerd-shim (docker)'] = Get-RssKb @(Get-Process -Name 'containerd-shim*' -ErrorAction SilentlyContinue | ForEach-Object Id)
    Invoke-BenchProcess -FilePath docker -ArgumentList (@('rm', '-f') + $ids) -TimeoutSeconds 120 | Out-Null
}
if ($havePodman) {
    $sw.Restart()
    $ids = for ($i = 0; $i -lt $Containers; $i++) { (Invoke-BenchProcess -FilePath podman -ArgumentList @('run', '-d', '--network', 'none', 'localhost/psc-bench-busybox', 'sleep', '120') -Check).StdOut.Trim() }
    $start['podman'] = $sw.Elapsed.TotalMilliseconds
    $rss['conmon (podman)'] = Get-RssKb @(Get-Process -Name 'conmon' -ErrorAction SilentlyContinue | ForEach-Object Id)
    Invoke-BenchProcess -FilePath podman -ArgumentList (@('rm', '-f', '-t', '0') + $ids) -TimeoutSeconds 120 | Out-Null
}
Write-Host "`nTime to start $Containers containers running sleep (one after another)"
Write-BenchTable -Row @($start.GetEnumerator() | ForEach-Object {
        [pscustomobject]@{ engine = $_.Key; 'total ms' = (Format-BenchNumber $_.Value 'N0'); 'PSContainer is x faster' = (Format-BenchNumber ($_.Value / $start['PSContainer']) 'N2') } }) `
    -Column 'engine', 'total ms', 'PSContainer is x faster' -RightAlign 'total ms', 'PSContainer is x faster'
Write-Host "`nResident memory of each container's monitor (median VmRSS)"
Write-BenchTable -Row @($rss.GetEnumerator() | ForEach-Object { [pscustomobject]@{ process = $_.Key; 'VmRSS kB' = (Format-BenchNumber $_.Value 'N0') } }) `
    -Column 'process', 'VmRSS kB' -RightAlign 'VmRSS kB'

# ---- clean up -----------------------------------------------------------------------------------------------------
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
if ($docker.Available) { Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', 'psc-bench/busybox') | Out-Null }
if ($havePodman) { Invoke-BenchProcess -FilePath podman -ArgumentList @('rmi', 'localhost/psc-bench-busybox') | Out-Null }
Remove-BenchCgroupParent 'psc-bench'
Remove-BenchPodmanCgroupParent $podmanParentBefore
$file = Save-BenchResult -Name 'run' -Data ([ordered]@{ latency = $results; startMs = $start; rssKb = $rss; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
