#!/usr/bin/env pwsh
<#
.SYNOPSIS
    What the default seccomp profile costs a container's run to exit: `true` with Docker's default profile (every
    container's default) and with -SecurityOption seccomp=unconfined, printed side by side with the difference.
.DESCRIPTION
    - PSContainer: New-Container + Start-Container -Wait + Remove-Container (network none) in a warm session, the two
      kinds alternated run by run so drift on a shared machine hits both alike.
    - psc-runtime run: the same bare bundle with and without the profile the engine writes (its linux.seccomp), to
      isolate the runtime's part: reading the cached program (libseccomp's compile of ~400 rules happens once per
      profile and build), loading the filter, and the filter running on every syscall of the container's process.
      Wall time, and CPU time (perf stat's task-clock of psc-runtime and every process under it) when perf exists.
    Each pair of runs is alternated; the table gives medians with the interquartile range, and the median of the
    per-pair differences with a bootstrap 95% confidence interval (2000 resamples of the pairs), so a claim such as
    "at most 1 ms more" can be judged against the noise of a shared machine.
    Target (issue 11): the default profile costs at most 1 ms more. Results go to bench/results/seccomp-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/seccomp.ps1 -ModulePath ./out/PSContainer
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(5, 1000)][int]$Iterations = 60,         # pairs of engine runs
    [ValidateRange(5, 2000)][int]$RuntimeIterations = 200, # pairs of bare psc-runtime runs
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run -Bundle
$tar, $bundle = $fixture.Tar, $fixture.Bundle

Use-BenchStateRoot $run 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null

# Alternates A and B (which goes first alternates too), one warm-up each; returns the wall-clock ms of each run,
# or, when a block returns a number, that number (the CPU ms it measured).
function Measure-Pair([scriptblock]$A, [scriptblock]$B, [int]$Count) {
    & $A | Out-Null; & $B | Out-Null
    $ta = [System.Collections.Generic.List[double]]::new(); $tb = [System.Collections.Generic.List[double]]::new()
    for ($i = 0; $i -lt $Count; $i++) {
        $order = if ($i % 2) { @(@($B, $tb), @($A, $ta)) } else { @(@($A, $ta), @($B, $tb)) }
        foreach ($pair in $order) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $r = & $pair[0]
            $ms = $sw.Elapsed.TotalMilliseconds
            $pair[1].Add($(if ($r -is [double]) { $r } else { $ms }))
        }
    }
    , @($ta.ToArray(), $tb.ToArray())
}

function Get-Quantile([double[]]$Value, [double]$Q) {
    $s = [double[]]($Value | Sort-Object)
    $pos = $Q * ($s.Count - 1); $lo = [math]::Floor($pos); $hi = [math]::Ceiling($pos)
    $s[$lo] + ($s[$hi] - $s[$lo]) * ($pos - $lo)
}

# median of the per-pair differences and its bootstrap 95% interval (percentile method, fixed seed)
function Get-DifferenceInterval([double[]]$A, [double[]]$B) {
    $d = [double[]]::new($A.Count)
    for ($i = 0; $i -lt $A.Count; $i++) { $d[$i] = $A[$i] - $B[$i] }
    $rng = [Random]::new(11)
    $medians = [double[]]::new(2000)
    $sample = [double[]]::new($d.Count)
    for ($r = 0; $r -lt $medians.Count; $r++) {
        for ($i = 0; $i -lt $d.Count; $i++) { $sample[$i] = $d[$rng.Next($d.Count)] }
        [Array]::Sort($sample)
        $m = [math]::Floor($d.Count / 2)
        $medians[$r] = if ($d.Count % 2) { $sample[$m] } else { ($sample[$m - 1] + $sample[$m]) / 2 }
    }
    [ordered]@{ median = (Get-BenchMedian $d); low = (Get-Quantile $medians 0.025); high = (Get-Quantile $medians 0.975) }
}

$rows = [System.Collections.Generic.List[object]]::new()
$results = [ordered]@{}
function Add-Row([string]$What, [double[]]$Default, [double[]]$Unconfined) {
    $d = Get-BenchMedian $Default; $u = Get-BenchMedian $Unconfined
    $diff = Get-DifferenceInterval $Default $Unconfined
    $iqr = { param($v) '{0:N2}-{1:N2}' -f (Get-Quantile $v 0.25), (Get-Quantile $v 0.75) }
    $results[$What] = [ordered]@{ defaultMs = $d; unconfinedMs = $u; defaultIqrMs = @((Get-Quantile $Default 0.25), (Get-Quantile $Default 0.75))
        unconfinedIqrMs = @((Get-Quantile $Unconfined 0.25), (Get-Quantile $Unconfined 0.75)); pairedDifferenceMs = $diff
        defaultRuns = $Default; unconfinedRuns = $Unconfined }
    $rows.Add([pscustomobject]@{ what = $What; n = $Default.Count; 'default ms' = (Format-BenchNumber $d 'N2'); 'IQR d' = (& $iqr $Default)
        'unconfined ms' = (Format-BenchNumber $u 'N2'); 'IQR u' = (& $iqr $Unconfined)
        'difference ms (95% CI)' = ('{0:N2} ({1:N2} .. {2:N2})' -f $diff.median, $diff.low, $diff.high) })
}

$engine = Measure-Pair {
    $c = New-Container bench/busybox -Command true -Network none; $c | Start-Container -Wait; $c | Remove-Container
} {
    $c = New-Container bench/busybox -Command true -Network none -SecurityOption seccomp=unconfined; $c | Start-Container -Wait; $c | Remove-Container
} $Iterations
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
} $RuntimeIterations
Add-Row 'psc-runtime run, wall' $bare[0] $bare[1]

# CPU time: perf stat counts task-clock (ns resolution) of psc-runtime and everything it starts, so the filter's load
# and its run on each syscall of the container's process are in it, the machine's other load is not
if (Test-BenchCommand perf) {
    function Measure-Cpu([string]$Bundle, [string]$Name) {
        $r = Invoke-BenchProcess -FilePath perf -ArgumentList @('stat', '-x,', '-e', 'task-clock', '--', "$native/psc-runtime",
            '--root', "$run/psc-rt", 'run', '--bundle', $Bundle, $Name) -Check
        $line = $r.StdErr -split "`n" | Where-Object { $_ -match ',task-clock,' } | Select-Object -First 1
        if (-not $line) { throw "perf stat gave no task-clock: $($r.StdErr)" }
        [double]::Parse($line.Split(',')[0], [Globalization.CultureInfo]::InvariantCulture)
    }
    $cpu = Measure-Pair { $script:n++; Measure-Cpu $bundle "s$script:n" } { $script:n++; Measure-Cpu $plain "u$script:n" } $RuntimeIterations
    Add-Row 'psc-runtime run, CPU (task-clock)' $cpu[0] $cpu[1]
}

Write-Host "`nRun-to-exit of true with Docker's default seccomp profile and with seccomp=unconfined (alternated pairs; median, IQR, median of the pair differences with a bootstrap 95% CI)"
$cols = 'what', 'n', 'default ms', 'IQR d', 'unconfined ms', 'IQR u', 'difference ms (95% CI)'
Write-BenchTable -Row $rows -Column $cols -RightAlign 'n', 'default ms', 'unconfined ms', 'difference ms (95% CI)'

Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Remove-BenchCgroupParent 'psc-bench'
$file = Save-BenchResult -Name 'seccomp' -Data ([ordered]@{ latency = $results; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
