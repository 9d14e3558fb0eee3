#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Where the time of a container's life goes: the steps of New-Container, Start-Container (detached and -Wait),
    Invoke-ContainerCommand, Stop-Container and Remove-Container, timed between the engine's phase marks, as
    medians over the iterations, for a container without a network and one on the default bridge.
.DESCRIPTION
    The engine records a timestamp at every crash point and phase mark when [PSContainer.Engine.PhaseClock]::Enabled
    is set (docs/architecture.md lists the crash points). This script marks the start and end of each cmdlet
    around them, so "cmdlet → first engine mark" is parameter binding and lookup, and "last mark → cmdlet end"
    is what follows the engine's last step (output objects, events). One warm-up iteration is not counted. Every
    loop is bounded by -Iterations. Results go to bench/results/phases-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/phases.ps1 -Iterations 20
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 200)][int]$Iterations = 20,
    [ValidateSet('none', 'bridge')][string[]]$Network = @('none', 'bridge'),
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run
Use-BenchStateRoot $run 'psc-bench-phases'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
$clock = [PSContainer.Engine.PhaseClock]

function Mark([string]$Name) { $clock::Mark($Name) }

# One iteration: the life of a run-to-exit container, then of a detached one (start, exec, stop, remove).
function Invoke-Life([string]$Net) {
    Mark 'New-Container begin'
    $c = New-Container bench/busybox -Command true -Network $Net
    Mark 'New-Container end'
    Mark 'Start-Container -Wait begin'
    $c | Start-Container -Wait | Out-Null
    Mark 'Start-Container -Wait end'
    Mark 'Remove-Container begin'
    $c | Remove-Container
    Mark 'Remove-Container end'
    Mark '(next container)'
    Mark 'New-Container (sleep) begin'
    $d = New-Container bench/busybox -Command sleep, 60 -Network $Net
    Mark 'New-Container (sleep) end'
    Mark 'Start-Container (detached) begin'
    $d | Start-Container
    Mark 'Start-Container (detached) end'
    Mark 'Invoke-ContainerCommand true begin'
    Invoke-ContainerCommand $d.Id -Command true | Out-Null
    Mark 'Invoke-ContainerCommand true end'
    Mark 'Stop-Container -Timeout 0 begin'
    $d | Stop-Container -Timeout 0
    Mark 'Stop-Container -Timeout 0 end'
    Mark 'Remove-Container (stopped) begin'
    $d | Remove-Container
    Mark 'Remove-Container (stopped) end'
}

$report = [ordered]@{}
try {
    foreach ($net in $Network) {
        $clock::Enabled = $true
        Invoke-Life $net
        $null = $clock::Drain()   # warm-up, not counted
        $samples = [ordered]@{}
        for ($i = 0; $i -lt $Iterations; $i++) {
            Invoke-Life $net
            foreach ($step in $clock::Drain()) {
                if ($step.From -eq '(next container)' -or $step.To -eq '(next container)' -or $step.From -like '* end') { continue }
                $key = "$($step.From) → $($step.To)"
                if (-not $samples.Contains($key)) { $samples[$key] = [Collections.Generic.List[double]]::new() }
                $samples[$key].Add($step.Milliseconds)
            }
        }
        $clock::Enabled = $false
        # Steps seen in only some iterations (a crash point one path passes) keep their own count.
        $rows = foreach ($k in $samples.Keys) {
            [pscustomobject]@{ step = $k; 'median ms' = (Format-BenchNumber (Get-BenchMedian $samples[$k].ToArray()) 'N2'); n = $samples[$k].Count }
        }
        Write-Host "`nNetwork $net — $Iterations iterations, median per step"
        Write-BenchTable -Row @($rows) -Column 'step', 'median ms', 'n' -RightAlign 'median ms', 'n'
        $report[$net] = [ordered]@{}
        foreach ($k in $samples.Keys) { $report[$net][$k] = [ordered]@{ medianMs = Get-BenchMedian $samples[$k].ToArray(); runs = $samples[$k].ToArray() } }
    }
}
finally {
    $clock::Enabled = $false
    Get-Container -All | Remove-Container -Force
    Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench-phases'
}
$file = Save-BenchResult -Name 'phases' -Data ([ordered]@{ steps = $report; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
