#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Run-to-exit `true` on the default bridge (New-Container + Start-Container -Wait + Remove-Container, warm session)
    for two builds of the module, alternated in one run, as the ratio new / base per round.
.DESCRIPTION
    Under load absolute times mean little, so each round runs -Base and -New one after the other (the order flips
    every round), each in its own pwsh with its own state root, and reports new/base of the medians. Each child
    imports the module and a busybox image, does two uncounted lives, then times -Iterations lives. With
    -WaitTeardown the new build's time also includes waiting for the background network teardown
    (WaitForNetworkTeardown), i.e. the old synchronous cost. Every loop is bounded. Results go to
    bench/results/network-ab-TIMESTAMP.json; `uptime` is printed before and after.
.EXAMPLE
    dotnet pwsh ./bench/network-ab.ps1 -Base /tmp/base/PSContainer -Rounds 6 -Iterations 10
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory)][string]$Base,
    [string]$New = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 50)][int]$Rounds = 6,
    [ValidateRange(3, 200)][int]$Iterations = 10,
    [string]$CacheDir = '/var/tmp/psc-bench-network-ab',
    # Internal: one measuring child.
    [string]$Child,
    [switch]$WaitTeardown
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')

if ($Child) {
    $run = New-BenchRunDirectory $CacheDir
    $fixture = New-BenchBusyboxRootFs -Directory $run
    Use-BenchStateRoot $run "psc-bench-ab-$PID"
    Import-Module $Child -Force
    Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
    $engine = [PSContainer.Engine.ContainerEngine]::ForEnvironment()
    $hook = $engine.Containers.GetType().GetMethod('WaitForNetworkTeardown')
    $life = {
        $c = New-Container bench/busybox -Command true
        $c | Start-Container -Wait | Out-Null
        $c | Remove-Container
        if ($WaitTeardown -and $hook) { $null = $engine.Containers.WaitForNetworkTeardown([TimeSpan]::FromSeconds(10)) }
    }
    try {
        & $life; & $life
        $times = for ($i = 0; $i -lt $Iterations; $i++) {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $life
            $sw.Elapsed.TotalMilliseconds
        }
        [pscustomobject]@{ median = Get-BenchMedian @($times); runs = @($times) } | ConvertTo-Json -Compress
    }
    finally {
        Get-Container -All | Remove-Container -Force
        if ($hook) { $null = $engine.Containers.WaitForNetworkTeardown([TimeSpan]::FromSeconds(10)) }
        Remove-ContainerNetwork bridge -Force -ErrorAction SilentlyContinue
        Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
        Remove-Module PSContainer -ErrorAction SilentlyContinue
        Remove-BenchCgroupParent "psc-bench-ab-$PID"
        Remove-BenchTree $run
    }
    return
}

$before = (& uptime).Trim()
Write-Host "before: $before"
# This pwsh again: under `dotnet pwsh` the process is dotnet and the entry assembly pwsh.dll.
$pwsh = [Environment]::ProcessPath
$pwshPrefix = @(if ((Split-Path $pwsh -Leaf) -like 'dotnet*') { [Environment]::GetCommandLineArgs()[0] })
$rows = [Collections.Generic.List[object]]::new()
for ($r = 0; $r -lt $Rounds; $r++) {
    $order = if ($r % 2 -eq 0) { @('base', 'new') } else { @('new', 'base') }
    $m = @{}
    foreach ($which in $order) {
        $path = if ($which -eq 'base') { $Base } else { $New }
        $childArgs = $pwshPrefix + @('-NoProfile', '-File', $PSCommandPath, '-Base', $Base, '-Child', (Resolve-Path $path).Path, '-Iterations', "$Iterations", '-CacheDir', $CacheDir)
        if ($WaitTeardown) { $childArgs += '-WaitTeardown' }
        $out = & $pwsh @childArgs
        if ($LASTEXITCODE -ne 0) { throw "child $which failed: $out" }
        $m[$which] = ($out | Select-Object -Last 1 | ConvertFrom-Json).median
    }
    $rows.Add([pscustomobject]@{ round = $r + 1; 'base ms' = $m.base; 'new ms' = $m.new; 'new/base' = $m.new / $m.base })
    Write-Host ("round {0}: base {1:N1} ms, new {2:N1} ms, new/base {3:N2}" -f ($r + 1), $m.base, $m.new, ($m.new / $m.base))
}
$after = (& uptime).Trim()
$ratio = Get-BenchMedian @($rows | ForEach-Object 'new/base')
Write-Host ''
Write-BenchTable -Row @($rows | ForEach-Object { [pscustomobject]@{ round = $_.round; 'base ms' = Format-BenchNumber $_.'base ms' 'N1'; 'new ms' = Format-BenchNumber $_.'new ms' 'N1'; 'new/base' = Format-BenchNumber $_.'new/base' 'N2' } }) `
    -Column 'round', 'base ms', 'new ms', 'new/base' -RightAlign 'base ms', 'new ms', 'new/base'
Write-Host ("median new/base: {0:N2}   (uptime before: {1}; after: {2})" -f $ratio, $before, $after)
$file = Save-BenchResult 'network-ab' ([ordered]@{ base = $Base; new = $New; iterations = $Iterations; waitTeardown = [bool]$WaitTeardown; rounds = @($rows); medianRatio = $ratio; uptimeBefore = $before; uptimeAfter = $after })
Write-Host "results: $file"
