#!/usr/bin/env pwsh
<#
.SYNOPSIS
    A/B of two builds of the module on the lifecycle steps a stop changes: Stop-Container -Timeout 0 of a running
    `sleep` (network none) and a run-to-exit Start-Container -Wait of `true`, with the engine's phase marks of the stop.
.DESCRIPTION
    Each round runs one warm session (a pwsh of its own: a process can load one build of the module) per build, in an
    order that alternates from round to round, so the load of a shared machine falls on both alike. A session does two
    untimed warm-up lives, then -Iterations lives: create and start a `sleep`, stop it with -Timeout 0 (timed, with
    PhaseClock marks), check it Exited 137 with its cgroup gone, remove it, then time Start-Container -Wait of `true`.
    Prints the medians per build over all rounds and the load average before and after. Every loop is bounded.
.EXAMPLE
    dotnet pwsh ./bench/stop-ab.ps1 -A /tmp/main/PSContainer -B ./out/PSContainer -Rounds 4 -Iterations 10
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$A,
    [Parameter(Mandatory)][string]$B,
    [ValidateRange(1, 20)][int]$Rounds = 4,
    [ValidateRange(3, 100)][int]$Iterations = 10,
    [string]$CacheDir = '/var/tmp/psc-bench-stop',
    [int]$TimeoutSeconds = 600,
    # Internal: one session of one build.
    [switch]$Inner,
    [string]$ModulePath,
    [string]$Tag,
    [string]$Out
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')

if ($Inner) {
    $run = New-BenchRunDirectory $CacheDir
    $fixture = New-BenchBusyboxRootFs -Directory $run
    $parent = "psc-bench-stop-$Tag"
    Use-BenchStateRoot $run $parent
    Import-Module $ModulePath -Force
    Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
    $clock = [PSContainer.Engine.PhaseClock]
    $stop = [Collections.Generic.List[double]]::new()
    $wait = [Collections.Generic.List[double]]::new()
    $phases = [ordered]@{}
    try {
        for ($i = -2; $i -lt $Iterations; $i++) {
            $d = New-Container bench/busybox -Command sleep, 60 -Network none
            $d | Start-Container
            $clock::Enabled = $true
            $null = $clock::Drain()
            $t0 = [Diagnostics.Stopwatch]::GetTimestamp()
            $clock::Mark('Stop-Container begin')
            $d | Stop-Container -Timeout 0
            $clock::Mark('Stop-Container end')
            $ms = [Diagnostics.Stopwatch]::GetElapsedTime($t0).TotalMilliseconds
            $steps = $clock::Drain()
            $clock::Enabled = $false
            $c = Get-Container $d.Id
            if ($c.State -ne 'Exited' -or $c.ExitCode -ne 137) { throw "after the stop: $($c.State) $($c.ExitCode)" }
            if (Get-ChildItem "/sys/fs/cgroup/*/$parent/$($d.Id)", "/sys/fs/cgroup/$parent/$($d.Id)" -Directory -ErrorAction SilentlyContinue) { throw 'cgroup left after the stop' }
            $d | Remove-Container
            $e = New-Container bench/busybox -Command true -Network none
            $t1 = [Diagnostics.Stopwatch]::GetTimestamp()
            $e | Start-Container -Wait | Out-Null
            $waitMs = [Diagnostics.Stopwatch]::GetElapsedTime($t1).TotalMilliseconds
            $e | Remove-Container
            if ($i -lt 0) { continue }
            $stop.Add($ms)
            $wait.Add($waitMs)
            foreach ($s in $steps) {
                $key = "$($s.From) → $($s.To)"
                if (-not $phases.Contains($key)) { $phases[$key] = [Collections.Generic.List[double]]::new() }
                $phases[$key].Add($s.Milliseconds)
            }
        }
    }
    finally {
        Get-Container -All | Remove-Container -Force
        Remove-BenchCgroupParent $parent
        Remove-BenchTree $run
    }
    [ordered]@{ stop = $stop; wait = $wait; phases = $phases } | ConvertTo-Json -Depth 5 | Set-Content $Out
    return
}

New-Item -ItemType Directory -Force $CacheDir | Out-Null
$builds = [ordered]@{ A = (Resolve-Path $A).Path; B = (Resolve-Path $B).Path }
$all = @{ A = @(); B = @() }
$loadBefore = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3
for ($r = 0; $r -lt $Rounds; $r++) {
    $order = if ($r % 2 -eq 0) { 'A', 'B' } else { 'B', 'A' }
    foreach ($side in $order) {
        $out = Join-Path $CacheDir "stop-ab-$PID-$side-$r.json"
        $p = Invoke-BenchProcess -FilePath 'dotnet' -TimeoutSeconds $TimeoutSeconds -WorkingDirectory (Join-Path $PSScriptRoot '..') -ArgumentList @(
            'pwsh', '-NoProfile', '-File', $PSCommandPath, '-A', $A, '-B', $B, '-Inner', '-ModulePath', $builds[$side], '-Tag', "$side$PID",
            '-Iterations', $Iterations, '-CacheDir', $CacheDir, '-Out', $out)
        if ($p.ExitCode -ne 0) { throw "round $r, build $side failed ($($p.ExitCode)): $($p.StdErr.Trim() | Select-Object -Last 3)" }
        $all[$side] += Get-Content $out -Raw | ConvertFrom-Json -AsHashtable
        Remove-Item $out
    }
}
$loadAfter = (Get-Content /proc/loadavg) -split ' ' | Select-Object -First 3

$rows = foreach ($side in 'A', 'B') {
    $stops = @($all[$side] | ForEach-Object { $_.stop })
    $waits = @($all[$side] | ForEach-Object { $_.wait })
    [pscustomobject]@{
        build = "$side $($builds[$side])"; n = $stops.Count
        'stop median' = Format-BenchNumber (Get-BenchMedian $stops); 'stop min' = Format-BenchNumber (($stops | Measure-Object -Minimum).Minimum)
        'run-to-exit median' = Format-BenchNumber (Get-BenchMedian $waits); 'run-to-exit min' = Format-BenchNumber (($waits | Measure-Object -Minimum).Minimum)
    }
}
Write-Host "`nStop-Container -Timeout 0 and Start-Container -Wait true (ms), $Rounds interleaved rounds of $Iterations"
Write-BenchTable -Row @($rows) -Column 'build', 'n', 'stop median', 'stop min', 'run-to-exit median', 'run-to-exit min' -RightAlign 'n', 'stop median', 'stop min', 'run-to-exit median', 'run-to-exit min'
foreach ($side in 'A', 'B') {
    Write-Host "Stop-Container -Timeout 0, phase marks of build $side (median ms):"
    $keys = @($all[$side] | ForEach-Object { $_.phases.Keys } | Select-Object -Unique)
    foreach ($k in $keys) {
        $v = @($all[$side] | ForEach-Object { if ($_.phases.Contains($k)) { $_.phases[$k] } })
        Write-Host ('  {0,-60} {1,8}' -f $k, (Format-BenchNumber (Get-BenchMedian $v)))
    }
}
Write-Host "load average before: $($loadBefore -join ' '), after: $($loadAfter -join ' ')"
