#!/usr/bin/env pwsh
<#
.SYNOPSIS
    One-shot statistics of 20 running containers: Get-ContainerStatistics (no -Stream) against
    `docker stats --no-stream` with a private dockerd started for the run, as medians and a ratio.
.DESCRIPTION
    Both engines run the same busybox image (sleep), 20 containers each, network none, at the same time. Each round
    times one PSContainer one-shot (in this warm pwsh, -Interval 1: a sample compares two readings a second apart)
    and one `docker stats --no-stream` process for the 20 (the daemon compares two of its 1 s readings), order
    alternating per round. Output rows are checked (20 each, numbers parsed), so an engine that returns early with
    nothing is caught. docker is skipped with the reason when dockerd is missing or does not start; nothing is
    installed. Results go to bench/results/stats-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/stats.ps1 -ModulePath ./out/PSContainer -Iterations 5
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 50)][int]$Iterations = 5,
    [ValidateRange(1, 50)][int]$Containers = 20,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchDockerd.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run
$dockerd = $null
$times = [ordered]@{ 'PSContainer' = [Collections.Generic.List[double]]::new(); 'docker stats --no-stream' = [Collections.Generic.List[double]]::new() }
try {
    Use-BenchStateRoot $run 'psc-bench-stats'
    $ProgressPreference = 'SilentlyContinue'
    Import-Module $ModulePath -Force
    Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
    $ours = for ($i = 0; $i -lt $Containers; $i++) { Start-Container -Image bench/busybox -Name "bench-stats-$i" -Command sleep, 3600 -Network none -Detach }

    $dockerd = Start-BenchDockerd -Directory (Join-Path $run 'dockerd')
    if ($dockerd.Available) {
        Invoke-BenchProcess -FilePath docker -ArgumentList @('import', $fixture.Tar, 'bench/busybox-stats') -Check -TimeoutSeconds 120 | Out-Null
        $dockerIds = for ($i = 0; $i -lt $Containers; $i++) {
            (Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '-d', '--network', 'none', '--name', "bench-stats-$i", 'bench/busybox-stats', '/bin/sleep', '3600') -Check).StdOut.Trim()
        }
    }
    else { Write-Host "docker: skipped ($($dockerd.Reason))" }

    $engines = [ordered]@{
        'PSContainer'              = {
            $rows = @(Get-ContainerStatistics)
            if ($rows.Count -ne $Containers -or @($rows | Where-Object { $_.MemoryUsage -le 0 }).Count) { throw "Get-ContainerStatistics returned $($rows.Count) rows (or a zero memory reading)" }
        }
        'docker stats --no-stream' = {
            $r = Invoke-BenchProcess -FilePath docker -ArgumentList @('stats', '--no-stream', '--format', '{{.ID}} {{.CPUPerc}} {{.MemUsage}}') -Check -TimeoutSeconds 60
            $lines = @($r.StdOut -split "`n" | Where-Object { $_ -match '^\w+ [\d.]+% ' })
            if ($lines.Count -ne $Containers) { throw "docker stats returned $($lines.Count) rows" }
        }
    }
    if (-not $dockerd.Available) { $engines.Remove('docker stats --no-stream') }
    foreach ($k in $engines.Keys) { & $engines[$k] }   # warm-up, checked
    for ($i = 0; $i -lt $Iterations; $i++) {
        $order = @($engines.Keys)
        if ($i % 2) { [array]::Reverse($order) }
        foreach ($k in $order) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $engines[$k]
            $times[$k].Add($sw.Elapsed.TotalMilliseconds)
        }
    }

    $psc = Get-BenchMedian @($times['PSContainer'])
    $rows = foreach ($k in $engines.Keys) {
        $m = Get-BenchMedian @($times[$k])
        [pscustomobject]@{ engine = $k; 'median ms' = (Format-BenchNumber $m 'N0'); 'min ms' = (Format-BenchNumber (@($times[$k]) | Measure-Object -Minimum).Minimum 'N0')
            'time / PSContainer' = (Format-BenchNumber ($m / $psc) 'N2') }
    }
    Write-Host "`nOne-shot statistics of $Containers running containers, $Iterations rounds, median (time / PSContainer above 1: PSContainer is faster)"
    Write-BenchTable -Row @($rows) -Column 'engine', 'median ms', 'min ms', 'time / PSContainer' -RightAlign 'median ms', 'min ms', 'time / PSContainer'
    if ($dockerd.Available) { Write-Host ("docker {0}: PSContainer is {1:N2}x faster" -f $dockerd.Version, ((Get-BenchMedian @($times['docker stats --no-stream'])) / $psc)) }
    $file = Save-BenchResult -Name 'stats' -Data ([ordered]@{ containers = $Containers; iterations = $Iterations; docker = $dockerd.Version; times = $times; machine = Get-BenchMachine $run })
    Write-Host "Results: $file"
}
finally {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue | Out-Null
    if ($dockerd -and $dockerd.Available) {
        Invoke-BenchProcess -FilePath docker -ArgumentList (@('rm', '-f') + @(0..($Containers - 1) | ForEach-Object { "bench-stats-$_" })) -TimeoutSeconds 120 | Out-Null
    }
    if ($dockerd) { Stop-BenchDockerd $dockerd }
    Remove-BenchCgroupParent 'psc-bench-stats'
    Remove-BenchTree $run
}
