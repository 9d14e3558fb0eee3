#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The work each step of a container's life does, counted under strace: processes and threads made, programs
    executed, fsync/fdatasync calls, SQLite WAL commits, sleeps, pidfd and poll waits, cgroup directories and
    cgroup file writes. Counts, unlike times, are not distorted by the load of a shared machine.
.DESCRIPTION
    Runs bench/phases.ps1's life (New-Container + Start-Container -Wait + Remove-Container of `true`, then a
    detached `sleep` with Invoke-ContainerCommand `true` and Stop-Container -Timeout 0) in a pwsh under
    `strace -f`, after warm-up iterations; each step is bracketed by a look-up of a marker path, so every system
    call of every process between them (the session, the monitor, the runtime, the container) is counted to it.
    Prints the mean per iteration of each step. Needs strace. Results go to bench/results/work-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/work.ps1 -ModulePath ./out/PSContainer -Iterations 5
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 50)][int]$Iterations = 5,
    [ValidateSet('none', 'bridge')][string]$Network = 'none',
    [string]$CacheDir = '/var/tmp/psc-bench-work',
    [int]$TimeoutSeconds = 1200,
    # Internal: the traced session itself.
    [switch]$Inner,
    [string]$MarkerPrefix = ''
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$steps = 'New-Container', 'Start-Container -Wait', 'Remove-Container', 'Start-Container (detached)', 'Invoke-ContainerCommand true', 'Stop-Container -Timeout 0'

if ($Inner) {
    # The traced life: a marker look-up (a stat of a path that does not exist) before and after each step.
    $run = New-BenchRunDirectory $CacheDir
    $fixture = New-BenchBusyboxRootFs -Directory $run
    Use-BenchStateRoot $run 'psc-bench-work'
    Import-Module $ModulePath -Force
    Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
    $step = { param([int]$Index, [scriptblock]$Block) $null = [IO.File]::Exists("$MarkerPrefix$Index-begin"); & $Block | Out-Null; $null = [IO.File]::Exists("$MarkerPrefix$Index-end") }
    try {
        for ($i = -2; $i -lt $Iterations; $i++) {   # two untimed warm-up lives (marker prefix unused: counted only from 0)
            $mark = if ($i -ge 0) { $step } else { { param($Index, $Block) & $Block | Out-Null } }
            & $mark 0 { $script:c = New-Container bench/busybox -Command true -Network $Network }
            & $mark 1 { $script:c | Start-Container -Wait }
            & $mark 2 { $script:c | Remove-Container }
            $script:d = New-Container bench/busybox -Command sleep, 60 -Network $Network
            & $mark 3 { $script:d | Start-Container }
            & $mark 4 { Invoke-ContainerCommand $script:d.Id -Command true }
            & $mark 5 { $script:d | Stop-Container -Timeout 0 }
            $script:d | Remove-Container
        }
    }
    finally {
        Get-Container -All | Remove-Container -Force
        Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
        Remove-BenchCgroupParent 'psc-bench-work'
        Remove-BenchTree $run
    }
    return
}

if (-not (Test-BenchCommand strace)) { throw 'strace is not installed (apt-get install strace)' }
New-Item -ItemType Directory -Force $CacheDir | Out-Null
$trace = Join-Path $CacheDir "trace-$PID"
$prefix = "/nonexistent/psc-bench-work-$PID/step-"
$ModulePath = (Resolve-Path $ModulePath).Path
try {
    # -y names each descriptor's file, so fsyncs and writes can be told apart; futex and the like are left out.
    # `dotnet pwsh` from the repository, as build.ps1 is run (the local tool manifest names pwsh).
    $r = Invoke-BenchProcess -FilePath strace -TimeoutSeconds $TimeoutSeconds -WorkingDirectory (Join-Path $PSScriptRoot '..') -ArgumentList @('-f', '-y', '-o', $trace, '-e', 'trace=!futex,sched_yield,rt_sigprocmask,madvise,membarrier',
        'dotnet', 'pwsh', '-NoProfile', '-File', $PSCommandPath, '-Inner', '-ModulePath', $ModulePath, '-Iterations', $Iterations, '-Network', $Network, '-CacheDir', $CacheDir, '-MarkerPrefix', $prefix)
    if ($r.ExitCode -ne 0) { throw "the traced session failed ($($r.ExitCode)): $($r.StdErr.Trim() | Select-Object -Last 1)" }
    $counts = @{}
    $current = -1
    $seen = @{}
    foreach ($line in [IO.File]::ReadLines($trace)) {
        $at = $line.IndexOf($prefix, [StringComparison]::Ordinal)
        if ($at -ge 0) {
            $tag = $line.Substring($at + $prefix.Length) -replace '".*$', ''
            $index, $edge = $tag -split '-', 2
            if ($edge -eq 'begin') { $current = [int]$index; $seen[$current] = 1 + [int]$seen[$current] } else { $current = -1 }
            continue
        }
        if ($current -lt 0 -or $line -match 'resumed>') { continue }
        if ($line -notmatch '^\d+\s+(\w+)\(') { continue }
        $call = $Matches[1]
        $kinds = @(switch -Regex ($call) {
                '^(clone|clone3|vfork|fork)$' { if ($line -match 'CLONE_THREAD') { 'threads' } else { 'processes' } }
                '^execve$' { 'execve' }
                '^(fsync|fdatasync)$' { 'fsync+fdatasync'; if ($line -match '-wal>') { 'WAL commits (fsync)' } }
                '^(nanosleep|clock_nanosleep)$' { if ($line -notmatch 'tv_sec=60,') { 'sleeps' } }
                '^(poll|ppoll|epoll_wait|epoll_pwait)$' { 'poll waits' }
                '^pidfd_open$' { 'pidfd_open' }
                '^(mkdir|mkdirat)$' { if ($line -match '/sys/fs/cgroup/' -and $line -match '= 0$') { 'cgroup mkdir' } }
                '^rmdir$' { if ($line -match '/sys/fs/cgroup/') { 'cgroup rmdir' } }
                '^(write|pwrite64)$' { if ($line -match '/sys/fs/cgroup/') { 'cgroup writes' } elseif ($line -match '-wal>') { 'WAL page writes' } }
                '^mount$' { 'mount' }
            })
        foreach ($k in @('syscalls') + $kinds) {
            $key = "$current|$k"
            $counts[$key] = 1 + [int]$counts[$key]
        }
    }
}
finally {
    Remove-Item -LiteralPath $trace -ErrorAction SilentlyContinue
}
$columns = 'syscalls', 'processes', 'threads', 'execve', 'fsync+fdatasync', 'WAL commits (fsync)', 'WAL page writes', 'sleeps', 'poll waits', 'pidfd_open', 'mount', 'cgroup mkdir', 'cgroup writes', 'cgroup rmdir'
$rows = for ($i = 0; $i -lt $steps.Count; $i++) {
    $n = [math]::Max(1, [int]$seen[$i])
    $row = [ordered]@{ step = $steps[$i] }
    foreach ($c in $columns) { $row[$c] = [math]::Round([int]$counts["$i|$c"] / $n, 1) }
    [pscustomobject]$row
}
Write-Host "`nWork per step (mean of $Iterations iterations under strace -f, network $Network; load does not change these)"
Write-BenchTable -Row @($rows | Select-Object step, syscalls, processes, execve, 'fsync+fdatasync', 'WAL commits (fsync)', sleeps, 'poll waits', mount, 'cgroup mkdir', 'cgroup writes', 'cgroup rmdir') `
    -Column 'step', 'syscalls', 'processes', 'execve', 'fsync+fdatasync', 'WAL commits (fsync)', 'sleeps', 'poll waits', 'mount', 'cgroup mkdir', 'cgroup writes', 'cgroup rmdir' `
    -RightAlign 'syscalls', 'processes', 'execve', 'fsync+fdatasync', 'WAL commits (fsync)', 'sleeps', 'poll waits', 'mount', 'cgroup mkdir', 'cgroup writes', 'cgroup rmdir'
$file = Save-BenchResult -Name 'work' -Data ([ordered]@{ network = $Network; iterations = $Iterations; steps = @($rows) })
Write-Host "`nresults: $file"
