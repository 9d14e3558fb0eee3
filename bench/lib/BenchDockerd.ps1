# A private dockerd for one benchmark run: its own data root, exec root, socket and pid file under the run directory,
# no bridge and no iptables rules, cgroupfs driver under a cgroup parent of its own. The user's daemon (if any) is
# never touched. Dot-source after BenchCommon.ps1.

function Start-BenchDockerd {
    <#
    .SYNOPSIS
        Starts dockerd privately and points $env:DOCKER_HOST at it. Returns @{ Available; Reason; Directory; Pid;
        Version; CgroupParent; PreviousDockerHost }. Nothing is started when dockerd or the docker client is missing.
    #>
    param([Parameter(Mandatory)][string]$Directory, [string]$CgroupParent = "psc-bench-dockerd-$PID", [int]$TimeoutSeconds = 60)
    $state = [pscustomobject]@{ Available = $false; Reason = $null; Directory = $Directory; Pid = 0; Version = $null
        CgroupParent = $CgroupParent; PreviousDockerHost = $env:DOCKER_HOST }
    if (-not (Test-BenchCommand 'dockerd')) { $state.Reason = 'dockerd is not installed'; return $state }
    if (-not (Test-BenchCommand 'docker')) { $state.Reason = 'no docker client on PATH'; return $state }
    New-Item -ItemType Directory -Force "$Directory/data", "$Directory/exec" | Out-Null
    $arguments = @('--data-root', "$Directory/data", '--exec-root', "$Directory/exec", '-H', "unix://$Directory/docker.sock",
        '--pidfile', "$Directory/docker.pid", '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false',
        '--log-level', 'error', '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', $CgroupParent, '--storage-driver', 'overlay2')
    $process = Start-Process dockerd -ArgumentList $arguments -RedirectStandardOutput "$Directory/dockerd.out" -RedirectStandardError "$Directory/dockerd.err" -PassThru
    $state.Pid = $process.Id
    $env:DOCKER_HOST = "unix://$Directory/docker.sock"
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    while ([DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) {
        $r = Invoke-BenchProcess -FilePath docker -ArgumentList @('version', '--format', '{{.Server.Version}}') -TimeoutSeconds 5
        if ($r.ExitCode -eq 0 -and $r.StdOut.Trim()) { $state.Available = $true; $state.Version = $r.StdOut.Trim(); return $state }
        Start-Sleep -Milliseconds 250
    }
    $state.Reason = "the private dockerd did not answer: $((Get-Content "$Directory/dockerd.err" -Tail 3 -ErrorAction SilentlyContinue) -join ' ')"
    Stop-BenchDockerd $state
    return $state
}

function Stop-BenchDockerd {
    <# Stops the private dockerd (SIGTERM, then SIGKILL after 30 s), unmounts what it left and restores DOCKER_HOST. #>
    param([Parameter(Mandatory, Position = 0)]$State)
    if ($State.Pid -gt 0 -and (Test-Path "/proc/$($State.Pid)")) {
        & kill -TERM $State.Pid 2>$null
        for ($i = 0; $i -lt 300 -and (Test-Path "/proc/$($State.Pid)"); $i++) { Start-Sleep -Milliseconds 100 }
        if (Test-Path "/proc/$($State.Pid)") { & kill -KILL $State.Pid 2>$null }
    }
    $env:DOCKER_HOST = $State.PreviousDockerHost
    $mounts = foreach ($line in [IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $point = ($line -split ' ')[4]
        if ($point.StartsWith($State.Directory.TrimEnd('/') + '/')) { $point }
    }
    foreach ($m in @($mounts | Sort-Object Length -Descending -Unique)) { & umount -l $m 2>$null }
    Remove-BenchCgroupParent $State.CgroupParent
}
