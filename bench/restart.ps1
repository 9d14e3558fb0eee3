#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Restart-policy latency: from a container's exit to the moment it runs again under `on-failure`, PSContainer next to
    docker, in one run, as medians and the ratio.
.DESCRIPTION
    Each iteration runs a new detached container whose first run exits 1 at once and whose second run sleeps (a file
    in the container's own file system tells them apart, and it survives the restart in both engines):
    - PSContainer: Start-Container -Image … -RestartPolicy on-failure -Detach, in a private state root. The monitor
      runs psc-service, which records the exit, waits the 100 ms backoff and starts the container again; nobody
      else is involved.
    - docker: docker run -d --restart on-failure against a private dockerd (its own data root and socket, no bridge
      and no iptables, cgroupfs under a parent of its own) that this script starts and stops, with the same busybox
      root filesystem imported as an image. Skipped with the reason when dockerd is missing or does not start.
    Latency is the time between the engine's own "die" event (the exit as its monitor saw it) and its "start" event
    of the second run, so the polling of this script does not count. Both engines wait the same 100 ms backoff
    before a first restart. Results go to bench/results/restart-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/restart.ps1 -ModulePath ./out/PSContainer
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 100)][int]$Iterations = 10,
    [string]$CacheDir = '/var/tmp/psc-bench',
    [switch]$NoDocker
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run -Applet @('sh', 'sleep', 'touch', 'test', '[')
$script = 'if [ -e /restarted ]; then exec sleep 300; fi; touch /restarted; exit 1'
$latency = [ordered]@{}
$samples = [ordered]@{}

function Wait-Bench([scriptblock]$Condition, [int]$TimeoutSeconds = 30, [string]$What) {
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while (-not (& $Condition)) {
        if ([DateTime]::UtcNow -gt $deadline) { throw "timed out waiting for $What" }
        Start-Sleep -Milliseconds 20
    }
}

# ---- PSContainer -------------------------------------------------------------------------------------------------
Use-BenchStateRoot $run 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox | Out-Null
$ours = for ($i = -1; $i -lt $Iterations; $i++) {
    $c = Start-Container -Image bench/busybox -Network none -RestartPolicy on-failure -Detach -Command sh, -c, $script
    # The second start event is appended just after the record says Running: wait for the event itself.
    Wait-Bench { @(Get-ContainerEvent $c.Id -Action start).Count -ge 2 } -What 'the PSContainer restart'
    $events = @(Get-ContainerEvent $c.Id)
    $die = ($events | Where-Object Action -EQ 'die' | Sort-Object Time | Select-Object -First 1).Time
    $start = ($events | Where-Object { $_.Action -eq 'start' -and $_.Time -gt $die } | Sort-Object Time | Select-Object -First 1).Time
    Write-Verbose ("PSContainer events: " + (($events | Sort-Object Time | ForEach-Object { "$($_.Action)@$($_.Time.ToString('HH:mm:ss.fff'))" }) -join ' '))
    Remove-Container $c.Id -Force
    if ($i -ge 0) { ($start - $die).TotalMilliseconds }   # the first is a warm-up
}
$samples['PSContainer'] = @($ours)
$latency['PSContainer (psc-service from the monitor)'] = Get-BenchMedian $ours
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null

# ---- docker, against a private daemon ---------------------------------------------------------------------------
$dockerWhy = if ($NoDocker) { 'skipped (-NoDocker)' } elseif (-not (Test-BenchCommand dockerd) -or -not (Test-BenchCommand docker)) { 'dockerd or docker is not installed' }
$dd = Join-Path $run 'dockerd'
$daemon = $null
if (-not $dockerWhy) {
    New-Item -ItemType Directory -Force "$dd/data", "$dd/exec" | Out-Null
    $dargs = @('--data-root', "$dd/data", '--exec-root', "$dd/exec", '-H', "unix://$dd/docker.sock", '--pidfile', "$dd/docker.pid",
        '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--log-level', 'error',
        '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', 'psc-bench-dockerd')
    $daemon = Start-Process dockerd -ArgumentList $dargs -RedirectStandardOutput "$dd/dockerd.out" -RedirectStandardError "$dd/dockerd.err" -PassThru
    $env:DOCKER_HOST = "unix://$dd/docker.sock"
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    do { Start-Sleep -Milliseconds 250; $r = Invoke-BenchProcess -FilePath docker -ArgumentList @('info', '--format', '{{.ServerVersion}}') -TimeoutSeconds 10 }
    while ($r.ExitCode -ne 0 -and [DateTime]::UtcNow -lt $deadline)
    if ($r.ExitCode -ne 0) { $dockerWhy = "the private dockerd did not start: $((Get-Content "$dd/dockerd.err" -Tail 3 -ErrorAction SilentlyContinue) -join ' ')" }
}
try {
    if (-not $dockerWhy) {
        Invoke-BenchProcess -FilePath docker -ArgumentList @('import', $fixture.Tar, 'psc-bench/busybox:latest') -Check | Out-Null
        $theirs = for ($i = -1; $i -lt $Iterations; $i++) {
            $since = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() - 1
            $id = (Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '-d', '--network', 'none', '--restart', 'on-failure', 'psc-bench/busybox', 'sh', '-c', $script) -Check).StdOut.Trim()
            Wait-Bench { (Invoke-BenchProcess -FilePath docker -ArgumentList @('inspect', '-f', '{{.RestartCount}} {{.State.Running}}', $id)).StdOut.Trim() -eq '1 true' } -What 'the docker restart'
            $until = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 1
            $lines = (Invoke-BenchProcess -FilePath docker -ArgumentList @('events', '--since', "$since", '--until', "$until", '--filter', "container=$id", '--format', '{{.Action}} {{.TimeNano}}') -Check).StdOut -split "`n" | Where-Object { $_ }
            Write-Verbose "docker events: $($lines -join ' | ')"
            $die = @($lines | Where-Object { $_ -like 'die *' } | ForEach-Object { [long]($_ -split ' ')[1] } | Sort-Object)[0]
            # The second run's start: State.StartedAt (docker's event stream does not always show that start by then).
            $startedAt = (Invoke-BenchProcess -FilePath docker -ArgumentList @('inspect', '-f', '{{.State.StartedAt}}', $id) -Check).StdOut.Trim()
            $start = ([DateTimeOffset]::Parse($startedAt, [Globalization.CultureInfo]::InvariantCulture).ToUnixTimeMilliseconds() * 1e6) +
                ([long]($startedAt -replace '^.*\.(\d+)Z$', '$1').PadRight(9, '0').Substring(3, 6))
            Invoke-BenchProcess -FilePath docker -ArgumentList @('rm', '-f', $id) -Check | Out-Null
            if ($i -ge 0) { ($start - $die) / 1e6 }
        }
        $samples['docker'] = @($theirs)
        $latency['docker run -d --restart on-failure'] = Get-BenchMedian $theirs
        Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', 'psc-bench/busybox') | Out-Null
    } else { Write-Host "docker: not measured ($dockerWhy)" }
}
finally {
    if ($daemon) {
        Stop-Process -Id $daemon.Id -ErrorAction SilentlyContinue
        $daemon.WaitForExit(30000) | Out-Null
        Remove-Item Env:DOCKER_HOST -ErrorAction SilentlyContinue
        foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_ -like "$dd/*" } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
    }
    Remove-BenchCgroupParent 'psc-bench'
    Remove-BenchCgroupParent 'psc-bench-dockerd'
}

$ourMedian = $latency['PSContainer (psc-service from the monitor)']
Write-Host "`nRestart latency under on-failure: exit to running again (median of $Iterations after a warm-up; both wait docker's 100 ms backoff)"
Write-BenchTable -Row @($latency.GetEnumerator() | ForEach-Object {
        [pscustomobject]@{ engine = $_.Key; 'median ms' = (Format-BenchNumber $_.Value 'N1'); 'PSContainer is x faster' = (Format-BenchNumber ($_.Value / $ourMedian) 'N2') } }) `
    -Column 'engine', 'median ms', 'PSContainer is x faster' -RightAlign 'median ms', 'PSContainer is x faster'
$file = Save-BenchResult -Name 'restart' -Data ([ordered]@{ latencyMs = $latency; samplesMs = $samples; machine = Get-BenchMachine $run })
Remove-BenchTree $run
Write-Host "`nResults: $file"
