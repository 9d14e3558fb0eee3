#!/usr/bin/env pwsh
<#
.SYNOPSIS
    One table with every row of issue 15 (the performance issue), PSContainer beside the peers installed here, as
    ratios, with each row's goal: the last step of `build.ps1 bench`.
.DESCRIPTION
    Measured here, small and bounded (-Iterations rounds each, one untimed warm-up, engines interleaved per round
    so background load falls on all alike):
    - run-to-exit `true`, no network: New-Container + Start-Container -Wait + Remove-Container in this warm session,
      `runc run` and `psc-runtime run` of a bare bundle, `podman run --rm --network none` (private store), and
      `docker run --rm --network none` against a private dockerd (lib/BenchDockerd.ps1);
    - run-to-exit on the default bridge (PSContainer; docker and podman from network.ps1's result when it ran);
    - detached start of `sleep`, exec `true`, Stop-Container -Timeout 0: PSContainer, `runc exec` of a bare
      container, `podman run -d`/`exec`/`stop -t 0` and the same verbs of docker.
    Read from the JSON the other scripts wrote in the same `build.ps1 bench` run (files newer than -Since), when
    there: published-port requests/s (network.ps1), cold pull and import MB/s (pull.ps1, import.ps1), resolver
    memory (dns.ps1). A row without a result says so.
    The load average is printed before and after: absolute times on a busy machine mean little, ratios measured
    side by side do. Results go to bench/results/summary-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/summary.ps1 -ModulePath ./out/PSContainer -Iterations 10
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 100)][int]$Iterations = 10,
    # Results of the other scripts older than this are not used (build.ps1 passes the start of its bench run).
    [DateTime]$Since = (Get-Date).AddHours(-12),
    [string]$CacheDir = '/var/tmp/psc-bench-summary',
    [switch]$NoDocker,
    [switch]$NoPodman
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchDockerd.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchSummary.ps1')
$loadBefore = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run -Bundle
$times = [ordered]@{}   # "row|engine" -> list of ms
function Add-Time([string]$Key, [double]$Ms) {
    if (-not $times.Contains($Key)) { $times[$Key] = [Collections.Generic.List[double]]::new() }
    $times[$Key].Add($Ms)
}
function Time-Ms([scriptblock]$Block) { $sw = [Diagnostics.Stopwatch]::StartNew(); & $Block | Out-Null; $sw.Elapsed.TotalMilliseconds }

# ---- bare bundles: one that runs true, one that sleeps (for runc exec) ------------------------------------------
New-BenchBareBundle -Bundle $fixture.Bundle -Arguments @('true') -CgroupsPath '/psc-bench-summary/bare'
$sleeper = Join-Path $run 'sleeper'
New-BenchBareBundle -Bundle $sleeper -RootPath "$($fixture.Bundle)/rootfs" -Arguments @('sleep', '600') -CgroupsPath '/psc-bench-summary/sleeper'

# ---- engines ------------------------------------------------------------------------------------------------------
Use-BenchStateRoot $run 'psc-bench-summary'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
$native = Join-Path (Split-Path (Get-Module PSContainer).Path) 'native'
$haveRunc = Test-BenchCommand runc
$podman = $null
if (-not $NoPodman -and (Test-BenchCommand podman)) {
    Use-BenchPodmanConfig
    $store = Join-Path $run 'podman'
    $podman = @('--root', "$store/storage", '--runroot', "$store/run", '--tmpdir', "$store/tmp", '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
    Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('import', $fixture.Tar, 'localhost/psc-bench-summary:latest')) -TimeoutSeconds 120 -Check | Out-Null
}
$dockerd = $null
if (-not $NoDocker) {
    $dockerd = Start-BenchDockerd -Directory (Join-Path $run 'dockerd') -CgroupParent 'psc-bench-summary-dockerd'
    if ($dockerd.Available) { Invoke-BenchProcess -FilePath docker -ArgumentList @('import', $fixture.Tar, 'psc-bench/busybox:latest') -TimeoutSeconds 120 -Check | Out-Null }
    else { Write-Host "docker: not measured ($($dockerd.Reason))" }
}
$docker = $dockerd -and $dockerd.Available

# One round: every engine once per row, in a fixed order (rounds alternate direction so neither side is always first).
function Invoke-Round([int]$Round, [bool]$Timed) {
    $n = "r$Round"
    $steps = @(
        { Add-Time 'run|PSContainer' (Time-Ms { $c = New-Container bench/busybox -Command true -Network none; $c | Start-Container -Wait; $c | Remove-Container }) }
        { Add-Time 'run|psc-runtime' (Time-Ms { Invoke-BenchProcess -FilePath "$native/psc-runtime" -ArgumentList @('--root', "$run/psc-rt", 'run', '--bundle', $fixture.Bundle, "p$n") -Check }) }
        { if ($haveRunc) { Add-Time 'run|runc' (Time-Ms { Invoke-BenchProcess -FilePath runc -ArgumentList @('--root', "$run/runc", 'run', '--bundle', $fixture.Bundle, "b$n") -Check }) } }
        { if ($podman) { Add-Time 'run|podman' (Time-Ms { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('run', '--rm', '--network', 'none', 'localhost/psc-bench-summary', 'true')) -TimeoutSeconds 120 -Check }) } }
        { if ($docker) { Add-Time 'run|docker' (Time-Ms { Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '--rm', '--network', 'none', 'psc-bench/busybox', 'true') -TimeoutSeconds 120 -Check }) } }
        { Add-Time 'bridge|PSContainer' (Time-Ms { $c = New-Container bench/busybox -Command true; $c | Start-Container -Wait; $c | Remove-Container }) }
        { Measure-PscDetached }
        { if ($haveRunc) { Measure-RuncExec "x$n" } }
        { if ($podman) { Measure-CliDetached 'podman' $podman 'localhost/psc-bench-summary' } }
        { if ($docker) { Measure-CliDetached 'docker' @() 'psc-bench/busybox' } }
    )
    if ($Round % 2) { [array]::Reverse($steps) }
    foreach ($s in $steps) { & $s }
    if (-not $Timed) { $times.Clear() }
}

function Measure-PscDetached {
    $d = New-Container bench/busybox -Command sleep, 600 -Network none
    Add-Time 'start|PSContainer' (Time-Ms { $d | Start-Container })
    Add-Time 'exec|PSContainer' (Time-Ms { Invoke-ContainerCommand $d.Id -Command true })
    Add-Time 'stop|PSContainer' (Time-Ms { $d | Stop-Container -Timeout 0 })
    $d | Remove-Container
}

function Measure-RuncExec([string]$Id) {
    # runc run -d hands its stdio to the container: /dev/null, so nothing holds the benchmark's pipes open.
    Invoke-BenchProcess -FilePath sh -ArgumentList @('-c', "exec runc --root '$run/runc' run -d --bundle '$sleeper' $Id </dev/null >/dev/null 2>&1") -TimeoutSeconds 60 -Check | Out-Null
    try { Add-Time 'exec|runc' (Time-Ms { Invoke-BenchProcess -FilePath runc -ArgumentList @('--root', "$run/runc", 'exec', $Id, 'true') -TimeoutSeconds 60 -Check }) }
    finally { Invoke-BenchProcess -FilePath runc -ArgumentList @('--root', "$run/runc", 'delete', '--force', $Id) -TimeoutSeconds 60 | Out-Null }
}

function Measure-CliDetached([string]$Cli, [string[]]$Base, [string]$Image) {
    $id = $null
    try {
        $ms = Time-Ms { $script:cliOut = Invoke-BenchProcess -FilePath $Cli -ArgumentList ($Base + @('run', '-d', '--network', 'none', $Image, 'sleep', '600')) -TimeoutSeconds 120 -Check }
        $id = $script:cliOut.StdOut.Trim()
        Add-Time "start|$Cli" $ms
        Add-Time "exec|$Cli" (Time-Ms { Invoke-BenchProcess -FilePath $Cli -ArgumentList ($Base + @('exec', $id, 'true')) -TimeoutSeconds 60 -Check })
        Add-Time "stop|$Cli" (Time-Ms { Invoke-BenchProcess -FilePath $Cli -ArgumentList ($Base + @('stop', '-t', '0', $id)) -TimeoutSeconds 60 -Check })
    }
    finally {
        if ($id) { Invoke-BenchProcess -FilePath $Cli -ArgumentList ($Base + @('rm', '-f', $id)) -TimeoutSeconds 60 | Out-Null }
    }
}

$podmanParentBefore = Test-BenchPodmanCgroupParent
try {
    Invoke-Round 0 $false   # warm-up: page cache, first cgroups, image layers of every engine
    for ($i = 1; $i -le $Iterations; $i++) { Invoke-Round $i $true }
}
finally {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue | Out-Null
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    if ($podman) {
        Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rm', '-af', '-t', '0')) -TimeoutSeconds 120 | Out-Null
        Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rmi', '-af')) -TimeoutSeconds 120 | Out-Null
    }
    if ($dockerd) { Stop-BenchDockerd $dockerd }
    foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($run) } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
    Remove-BenchCgroupParent 'psc-bench-summary'
    Remove-BenchPodmanCgroupParent $podmanParentBefore
    Remove-BenchTree $run
}

# ---- the table ----------------------------------------------------------------------------------------------------
$median = { param([string]$Key) if ($times.Contains($Key)) { Get-BenchMedian $times[$Key].ToArray() } else { [double]::NaN } }
$earlier = Read-BenchEarlierResult -Since $Since
$rows = [Collections.Generic.List[object]]::new()
$runPsc = & $median 'run|PSContainer'
$rows.Add((New-BenchSummaryRow 'run-to-exit true, no network (New+Start -Wait+Remove)' 'ms' $runPsc ([ordered]@{
                runc = & $median 'run|runc'; 'psc-runtime' = & $median 'run|psc-runtime'; podman = & $median 'run|podman'; docker = & $median 'run|docker' }) `
            '<= 0.5x runc' ($runPsc / (& $median 'run|runc') -le 0.5)))
$bridgePsc = & $median 'bridge|PSContainer'
$rows.Add((New-BenchSummaryRow 'run-to-exit true, default bridge' 'ms' $bridgePsc ([ordered]@{
                podman = $earlier.BridgePodman; docker = $earlier.BridgeDocker }) '<= 30 ms' ($bridgePsc -le 30)))
foreach ($r in @(@('start', 'detached start of sleep', 10), @('stop', 'Stop-Container -Timeout 0 (docker/podman stop -t 0)', 5), @('exec', 'exec true', 5))) {
    $psc = & $median "$($r[0])|PSContainer"
    $rows.Add((New-BenchSummaryRow $r[1] 'ms' $psc ([ordered]@{ runc = & $median "$($r[0])|runc"; podman = & $median "$($r[0])|podman"; docker = & $median "$($r[0])|docker" }) `
                "<= $($r[2]) ms" ($psc -le $r[2])))
}
$rows.Add((New-BenchSummaryRow 'published port, ab -k (network.ps1)' 'req/s' $earlier.PortPsc ([ordered]@{ host = $earlier.PortHost; podman = $earlier.PortPodman; docker = $earlier.PortDocker }) `
            '>= 0.95x host, > podman' $(if ([double]::IsNaN($earlier.PortPsc)) { $null } else { $earlier.PortPsc -ge 0.95 * $earlier.PortHost -and -not ($earlier.PortPsc -lt $earlier.PortPodman) })))
$rows.Add((New-BenchSummaryRow 'cold pull incl. unpack (pull.ps1)' 'MB/s' $earlier.PullPsc $earlier.PullPeers '>= 424 MB/s' $(if ([double]::IsNaN($earlier.PullPsc)) { $null } else { $earlier.PullPsc -ge 424 })))
$rows.Add((New-BenchSummaryRow 'import docker-archive (import.ps1)' 'MB/s' $earlier.ImportPsc $earlier.ImportPeers '>= 300 MB/s' $(if ([double]::IsNaN($earlier.ImportPsc)) { $null } else { $earlier.ImportPsc -ge 300 })))
$rows.Add((New-BenchSummaryRow 'resolver memory, all networks (dns.ps1)' 'MB RSS' $earlier.DnsPsc ([ordered]@{ 'aardvark-dns' = $earlier.DnsAardvark }) '<= 5 MB, one process' $(if ([double]::IsNaN($earlier.DnsPsc)) { $null } else { $earlier.DnsPsc -le 5 })))

$samples = [ordered]@{}
foreach ($k in $times.Keys) { $samples[$k] = $times[$k].ToArray() }
$loadAfter = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
Write-Host ''
Write-Host "Issue 15 summary: median of $Iterations interleaved rounds; peer cells are 'value (x)', x = how many times PSContainer is"
Write-Host "faster (ms rows: peer / PSContainer; rate rows: PSContainer / peer; memory: peer / PSContainer). '-': not installed or not run."
Write-Host "Load average before: $($loadBefore -join ' '), after: $($loadAfter -join ' ') ($([Environment]::ProcessorCount) CPUs)."
Write-BenchSummaryTable -Row $rows
$file = Save-BenchResult -Name 'summary' -Data ([ordered]@{
        iterations = $Iterations; loadBefore = $loadBefore; loadAfter = $loadAfter; docker = $(if ($docker) { $dockerd.Version })
        rows = @($rows | ForEach-Object { [ordered]@{ path = $_.Path; unit = $_.Unit; psc = Get-BenchJsonNumber $_.Psc; peers = $_.PeerNumbers; goal = $_.Goal; met = $_.Met } })
        samplesMs = $samples
        earlierResults = $earlier.Files; machine = Get-BenchMachine $CacheDir
    })
Write-Host "`nresults: $file"
