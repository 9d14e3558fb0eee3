#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Copy-ContainerItem of a ~200 MB tree into a running container and back out, against docker cp (when a docker
    daemon answers, else a private dockerd started for the run) and `tar | tar` on the host (the floor: the same bytes through a pipe with no container), as
    medians and ratios.
.DESCRIPTION
    The tree: 8 random files of 16 MB and 2000 of 32 KB (incompressible, so no engine gains from compression), a few
    symlinks. Each round copies into a new path in the container and out to a new host directory, all engines in
    turn, so drift on a shared machine hits them alike. Results go to bench/results/copy-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/copy.ps1 -ModulePath ./out/PSContainer -Iterations 3
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 50)][int]$Iterations = 3,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchDockerd.ps1')
$run = New-BenchRunDirectory $CacheDir
# A failure stops the private dockerd too (if one was started).
trap { if ($script:dockerd) { Stop-BenchDockerd $script:dockerd }; break }
$fixture = New-BenchBusyboxRootFs -Directory $run
$tree = Join-Path $run 'tree'
New-Item -ItemType Directory -Force "$tree/small" | Out-Null
for ($i = 1; $i -le 8; $i++) { & head -c 16M /dev/urandom > "$tree/big$i" }
& bash -c 'cd "$1" && for i in $(seq 1 2000); do head -c 32768 /dev/urandom > "f$i"; done' bash "$tree/small"
for ($i = 1; $i -le 5; $i++) { & ln -s "big$i" "$tree/link$i" }
& sync
$mb = [double]((& du -sm $tree) -split '\s+')[0]

Use-BenchStateRoot $run 'psc-bench-copy'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
Start-Container -Image bench/busybox -Name bench-copy -Command sleep, 3600 -Network none -Detach | Out-Null

# The user's daemon when one answers; otherwise a private one for this run (bench/lib/BenchDockerd.ps1).
$docker = Get-BenchDockerStatus
$dockerd = $null
if (-not $docker.Available) {
    $dockerd = Start-BenchDockerd -Directory (Join-Path $run 'dockerd')
    $docker = [pscustomobject]@{ Available = $dockerd.Available; Reason = $dockerd.Reason; Version = $dockerd.Version; Driver = 'overlay2 (private dockerd)' }
}
if ($docker.Available) {
    & docker import $fixture.Tar bench/busybox-copy | Out-Null
    & docker run -d --name bench-copy-docker --network none bench/busybox-copy /bin/sleep 3600 | Out-Null
}
else { Write-Host "docker: skipped ($($docker.Reason))" }

$engines = [ordered]@{
    'PSContainer' = @{
        In  = { param($n) Copy-ContainerItem $tree -Destination "bench-copy:/in$n" }
        Out = { param($n) Copy-ContainerItem "bench-copy:/in$n" -Destination (Join-Path $run "out-psc-$n") }
    }
    'tar | tar (host)' = @{
        In  = { param($n) New-Item -ItemType Directory (Join-Path $run "tt-in-$n") | Out-Null; & bash -c 'tar -C "$1" -cf - tree | tar -C "$2" -xf -' bash $run (Join-Path $run "tt-in-$n") }
        Out = { param($n) New-Item -ItemType Directory (Join-Path $run "tt-out-$n") | Out-Null; & bash -c 'tar -C "$1" -cf - tree | tar -C "$2" -xf -' bash (Join-Path $run "tt-in-$n") (Join-Path $run "tt-out-$n") }
    }
}
if ($docker.Available) {
    $engines['docker cp'] = @{
        In  = { param($n) & docker cp $tree "bench-copy-docker:/in$n" }
        Out = { param($n) & docker cp "bench-copy-docker:/in$n" (Join-Path $run "out-docker-$n") }
    }
}
$times = @{}
foreach ($k in $engines.Keys) { $times["$k in"] = [Collections.Generic.List[double]]::new(); $times["$k out"] = [Collections.Generic.List[double]]::new() }
for ($i = 0; $i -lt $Iterations; $i++) {
    foreach ($k in $engines.Keys) {
        foreach ($dir in 'In', 'Out') {
            $sw = [Diagnostics.Stopwatch]::StartNew()
            & $engines[$k][$dir] $i | Out-Null
            $times["$k $($dir.ToLower())"].Add($sw.Elapsed.TotalMilliseconds)
        }
    }
}

$rows = foreach ($k in $engines.Keys) {
    foreach ($dir in 'in', 'out') {
        $m = Get-BenchMedian @($times["$k $dir"])
        $psc = Get-BenchMedian @($times["PSContainer $dir"])
        [pscustomobject]@{ engine = $k; direction = $dir; 'median ms' = (Format-BenchNumber $m 'N0'); 'MB/s' = (Format-BenchNumber ($mb / ($m / 1000)) 'N0'); 'time / PSContainer' = (Format-BenchNumber ($m / $psc) 'N2') }
    }
}
Write-Host "`nCopy of a $mb MB tree into a running container and out, $Iterations rounds, median"
Write-BenchTable -Row @($rows) -Column 'engine', 'direction', 'median ms', 'MB/s', 'time / PSContainer' -RightAlign 'median ms', 'MB/s', 'time / PSContainer'
Save-BenchResult -Name 'copy' -Data @{ Megabytes = $mb; Iterations = $Iterations; Docker = $docker; Rows = @($rows) } | Out-Null

if ($docker.Available) { & docker rm -f bench-copy-docker | Out-Null; & docker rmi bench/busybox-copy | Out-Null }
if ($dockerd) { Stop-BenchDockerd $dockerd }
Get-Container -All | Remove-Container -Force
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Remove-BenchCgroupParent 'psc-bench-copy'
Remove-BenchTree $run
