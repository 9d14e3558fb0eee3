#Requires -Version 7.4
<#
    The cost of a healthcheck probe: CPU (user + system, the runtime exec, the probe command and the monitor's own
    work, all children the monitor reaps) per probe, the wall time of one probe, and the monitor's resident memory with
    and without a healthcheck. A container runs `sleep` with -HealthCommand at -IntervalMs for -Seconds; the monitor's
    /proc/PID/stat (utime + stime + cutime + cstime) before and after, divided by the probes counted in the container.

        dotnet pwsh ./bench/health.ps1 -ModulePath ./out/PSContainer [-Seconds 10] [-IntervalMs 100] [-Runtime psc,runc]

    Probes run through the container's runtime (`runtime exec`), so -Runtime runc shows the share of the runtime.
#>
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [int]$Seconds = 10,
    [int]$IntervalMs = 100,
    [string[]]$Runtime = @('psc'; if (Get-Command runc -ErrorAction Ignore) { 'runc' })
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $PSScriptRoot '../tests/Pester/TestSupport.psm1') -Force
$state = New-TestStateRoot -Prefix 'psc-bench-health'
Import-Module $ModulePath -Force
try {
    $tar = New-TestBusyboxRootFs -Path (Join-Path $state.Work 'bb.tar') -Applet @('sh', 'sleep', 'true', 'echo', 'cat', 'wc')
    Import-ContainerImage $tar -Format RootFs -Name 'bench/health:1' -Command sh | Out-Null
    $tick = [double](& getconf CLK_TCK)

    function Get-MonitorPid([string]$Id) {
        foreach ($d in [IO.Directory]::GetDirectories('/proc')) {
            try { if ([IO.File]::ReadAllText("$d/cmdline").StartsWith("psc-$($Id.Substring(0, 12))")) { return [int](Split-Path $d -Leaf) } } catch { }
        }
        throw "no monitor for $Id"
    }
    # -Own: the monitor's own work only (utime + stime), else with the children it reaped (cutime + cstime).
    function Get-CpuSeconds([int]$MonitorPid, [switch]$Own) {
        $f = ((Get-Content "/proc/$MonitorPid/stat" -Raw) -replace '^.*\) ', '') -split ' '
        # after the comm field: utime 11, stime 12, cutime 13, cstime 14 (0-based from the state field)
        ([long]$f[11] + [long]$f[12] + ($Own ? 0 : [long]$f[13] + [long]$f[14])) / $tick
    }
    # The monitor's own time on a CPU in ns (schedstat), finer than stat's clock ticks.
    function Get-OwnCpuSeconds([int]$MonitorPid) { [long]((Get-Content "/proc/$MonitorPid/schedstat" -Raw) -split ' ')[0] / 1e9 }
    # Private (anonymous) memory: VmRSS also counts shared libc text that fork and exec fault back in.
    function Get-RssKiB([int]$MonitorPid, [string]$Field = 'RssAnon') {
        [int](((Get-Content "/proc/$MonitorPid/status") -match "^$($Field):" -split '\s+')[1])
    }

    $rows = foreach ($rt in $Runtime) {
        $plain = Start-Container -Image bench/health:1 -Network none -Detach -Command sleep, 3600 -PassThru -Runtime $rt
        $checked = Start-Container -Image bench/health:1 -Network none -Detach -Command sleep, 3600 -PassThru -Runtime $rt `
            -HealthCommand 'echo x >> /tmp/probes' -HealthInterval "$($IntervalMs)ms"
        Wait-Container $checked.Id -Condition Healthy -Timeout 30 | Out-Null
        $monitor = Get-MonitorPid $checked.Id
        $probesBefore = [int]((Invoke-ContainerCommand $checked.Id -Command sh, -c, 'cat /tmp/probes | wc -l') -join '')
        $cpuBefore = Get-CpuSeconds $monitor
        $ownBefore = Get-OwnCpuSeconds $monitor
        Start-Sleep -Seconds $Seconds
        $cpuAfter = Get-CpuSeconds $monitor
        $ownAfter = Get-OwnCpuSeconds $monitor
        $probesAfter = [int]((Invoke-ContainerCommand $checked.Id -Command sh, -c, 'cat /tmp/probes | wc -l') -join '')
        $probes = $probesAfter - $probesBefore
        $log = (Get-Container $checked.Id).Health.Log
        $wall = ($log | ForEach-Object { ($_.End - $_.Start).TotalMilliseconds } | Sort-Object)[[int]($log.Count / 2)]
        [pscustomobject]@{
            Runtime              = $rt
            Probes               = $probes
            ProbesPerSecond      = [math]::Round($probes / $Seconds, 1)
            CpuMsPerProbe        = [math]::Round(($cpuAfter - $cpuBefore) * 1000 / [math]::Max(1, $probes), 2)
            MonitorOwnCpuMsPerProbe = [math]::Round(($ownAfter - $ownBefore) * 1000 / [math]::Max(1, $probes), 2)
            MedianProbeWallMs    = [math]::Round($wall, 1)
            MonitorRssAnonKiB    = Get-RssKiB $monitor
            NoCheckRssAnonKiB    = Get-RssKiB (Get-MonitorPid $plain.Id)
            MonitorVmRssKiB      = Get-RssKiB $monitor VmRSS
            NoCheckVmRssKiB      = Get-RssKiB (Get-MonitorPid $plain.Id) VmRSS
            LoadAverage          = (Get-Content /proc/loadavg -Raw).Split(' ')[0]
        }
        Get-Container -All | Remove-Container -Force
    }
    $rows | Format-List
} finally {
    Get-Container -All | Remove-Container -Force
    Remove-TestStateRoot $state
}
