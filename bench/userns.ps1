#!/usr/bin/env pwsh
<#
.SYNOPSIS
    What a user namespace costs: run-to-exit of `true` (New-Container + Start-Container -Wait + Remove-Container,
    network none) with -UserNamespace Host and with -UserNamespace Auto (idmapped image layers), side by side in one
    warm session, as medians and their difference. Issue 11's target: Auto at most 3 ms more than Host.
.DESCRIPTION
    Runs alternate (Host, Auto, Host, Auto, ...) so drift on a shared machine hits both the same. Besides the
    difference of the medians it prints the median of the paired differences (each run minus the Host run of the same
    round), which a burst of load on a shared machine moves less. Also measures Auto with $env:PSCONTAINER_NO_IDMAP=1
    (the shifted-copy fallback: a copy of the layer per range, removed with the last container of its range, so every
    run-to-exit here copies the layer once). Results go to bench/results/userns-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/userns.ps1 -ModulePath ./out/PSContainer
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 200)][int]$Iterations = 20,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run
Use-BenchStateRoot $run 'psc-bench-userns'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null

$modes = [ordered]@{
    'Host'                   = @{ UserNamespace = 'Host'; NoIdmap = $false }
    'Auto (idmapped layers)' = @{ UserNamespace = 'Auto'; NoIdmap = $false }
    'Auto (shifted copies)'  = @{ UserNamespace = 'Auto'; NoIdmap = $true }
}
function Invoke-Once($Mode) {
    if ($Mode.NoIdmap) { $env:PSCONTAINER_NO_IDMAP = '1' } else { Remove-Item Env:PSCONTAINER_NO_IDMAP -ErrorAction SilentlyContinue }
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $c = New-Container bench/busybox -Command true -Network none -UserNamespace $Mode.UserNamespace
    $c | Start-Container -Wait -WarningAction SilentlyContinue
    $c | Remove-Container
    $sw.Elapsed.TotalMilliseconds
}
$times = @{}
foreach ($k in $modes.Keys) { $times[$k] = [Collections.Generic.List[double]]::new(); Invoke-Once $modes[$k] | Out-Null } # warm-up
for ($i = 0; $i -lt $Iterations; $i++) {
    foreach ($k in $modes.Keys) { $times[$k].Add((Invoke-Once $modes[$k])) }
}
Remove-Item Env:PSCONTAINER_NO_IDMAP -ErrorAction SilentlyContinue
$median = [ordered]@{}
$paired = [ordered]@{}
foreach ($k in $modes.Keys) {
    $median[$k] = Get-BenchMedian @($times[$k])
    $paired[$k] = Get-BenchMedian @(for ($i = 0; $i -lt $Iterations; $i++) { $times[$k][$i] - $times['Host'][$i] })
}
$hostMs = $median['Host']
Write-Host "`nRun-to-exit of ``true`` (New + Start -Wait + Remove, network none), $Iterations runs each, median"
Write-BenchTable -Row @($median.GetEnumerator() | ForEach-Object {
        [pscustomobject]@{ mode = $_.Key; 'median ms' = (Format-BenchNumber $_.Value 'N1'); 'ms more than Host' = (Format-BenchNumber ($_.Value - $hostMs) 'N1')
            'paired ms more' = (Format-BenchNumber $paired[$_.Key] 'N1') } }) `
    -Column 'mode', 'median ms', 'ms more than Host', 'paired ms more' -RightAlign 'median ms', 'ms more than Host', 'paired ms more'

Get-Container -All | Remove-Container -Force
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Remove-BenchCgroupParent 'psc-bench-userns'
$file = Save-BenchResult -Name 'userns' -Data ([ordered]@{ medianMs = $median; pairedMedianMs = $paired; runs = $times; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
