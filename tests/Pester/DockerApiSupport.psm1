#Requires -Version 7.4
# What the Docker API suites share: a psc-api server on a private socket of a test state root, the docker CLI (and
# other clients) run with a deadline, a local docker-registry, and the check that nothing of ours is left. Each
# suite imports TestSupport.psm1 and the built module first.

function Start-TestApiService {
    <# Starts psc-api on a socket in the state root's work dir and points DOCKER_HOST and a private DOCKER_CONFIG at
       it (no context or credential helper of the user's may steer a client elsewhere). Undo with Stop-TestApiService. #>
    param([Parameter(Mandatory)] $State, [string]$Name = 'docker')
    $socket = Join-Path $State.Work "$Name.sock"
    $api = Start-ContainerApiService -SocketPath $socket -LogPath (Join-Path $State.Work "$Name-api.log")
    $saved = @{ DOCKER_HOST = $env:DOCKER_HOST; DOCKER_CONFIG = $env:DOCKER_CONFIG }
    $env:DOCKER_HOST = $api.DockerHost
    $env:DOCKER_CONFIG = Join-Path $State.Work "$Name-config"
    New-Item -ItemType Directory -Force $env:DOCKER_CONFIG | Out-Null
    [pscustomobject]@{ Api = $api; Socket = $socket; Saved = $saved; LogPath = (Join-Path $State.Work "$Name-api.log") }
}

function Stop-TestApiService {
    <# Stops the server, restores DOCKER_HOST/DOCKER_CONFIG, and says what of it is left (a live pid, the socket). #>
    param([Parameter(Mandatory)] $Service)
    if ($Service.Api) { $Service.Api | Stop-ContainerApiService -ErrorAction Continue }
    $env:DOCKER_HOST = $Service.Saved.DOCKER_HOST
    $env:DOCKER_CONFIG = $Service.Saved.DOCKER_CONFIG
    @(
        if ($Service.Api -and [PSContainer.Engine.Containers.ProcessInfo]::Exists($Service.Api.Pid)) { "psc-api $($Service.Api.Pid)" }
        if (Test-Path $Service.Socket) { "socket $($Service.Socket)" }
    )
}

function Invoke-DockerProcess {
    <# Runs a client program (the docker CLI unless -FilePath) with a deadline: a hang is a failure, not a stuck
       suite. Returns the exit code, stdout and stderr apart, and stdout's non-empty lines. #>
    param([string[]]$Arguments, [int]$TimeoutSeconds = 60, [hashtable]$Environment = @{}, [string]$FilePath = '/usr/bin/docker',
        [string]$WorkingDirectory)
    $psi = [Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $Arguments) { $psi.ArgumentList.Add($a) }
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.UseShellExecute = $false
    if ($WorkingDirectory) { $psi.WorkingDirectory = $WorkingDirectory }
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
    $p = [Diagnostics.Process]::Start($psi)
    $out = $p.StandardOutput.ReadToEndAsync()
    $err = $p.StandardError.ReadToEndAsync()
    if (-not $p.WaitForExit($TimeoutSeconds * 1000)) {
        $p.Kill($true)
        throw "$FilePath $($Arguments -join ' ') did not finish within $TimeoutSeconds s"
    }
    $p.WaitForExit()
    [pscustomobject]@{ Code = $p.ExitCode; Out = $out.Result.TrimEnd(); Err = $err.Result.TrimEnd(); Lines = @($out.Result -split "`n" | Where-Object { $_ }) }
}

function Invoke-Docker {
    <# docker ARGS...: Invoke-DockerProcess with the default deadline. #>
    Invoke-DockerProcess -Arguments @($args | ForEach-Object { "$_" })
}

function Get-TestFreePort {
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
    $port
}

function Start-TestDockerRegistry {
    <# Debian's docker-registry on 127.0.0.1 (a free port), storing under DIR; with -Htpasswd FILE it asks for a
       login from that file. Returns its Host (host:port) and Process; stop it with Stop-TestDockerRegistry. #>
    param([Parameter(Mandatory)] [string]$Directory, [string]$Htpasswd)
    New-Item -ItemType Directory -Force $Directory | Out-Null
    $port = Get-TestFreePort
    $auth = if ($Htpasswd) { @('auth:', '  htpasswd:', '    realm: psc-test', "    path: $Htpasswd") } else { @() }
    Set-Content -LiteralPath "$Directory/config.yml" -Value ((@('version: 0.1', 'log:', '  level: error', '  accesslog:', '    disabled: true',
        'storage:', '  filesystem:', "    rootdirectory: $Directory/data", '  delete:', '    enabled: true', 'http:', "  addr: 127.0.0.1:$port") + $auth) -join "`n")
    $process = Start-Process -FilePath docker-registry -ArgumentList 'serve', "$Directory/config.yml" -PassThru `
        -RedirectStandardOutput "$Directory/stdout.log" -RedirectStandardError "$Directory/stderr.log"
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ($true) {
        $c = [Net.Sockets.TcpClient]::new()
        try { $c.Connect('127.0.0.1', $port); break } catch { } finally { $c.Dispose() }
        if ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) { throw "docker-registry did not start: $(Get-Content -Raw "$Directory/stderr.log")" }
        Start-Sleep -Milliseconds 100
    }
    [pscustomobject]@{ Host = "127.0.0.1:$port"; Process = $process }
}

function Stop-TestDockerRegistry {
    param($Registry)
    if ($Registry -and -not $Registry.Process.HasExited) { $Registry.Process.Kill(); $Registry.Process.WaitForExit(10000) | Out-Null }
}

function Get-TestApiLeak {
    <# What a removed container of the state root must not leave: mounts, cgroups, monitors, network namespaces,
       container dirs. #>
    param([Parameter(Mandatory)] $State)
    @(
        # Veths and namespaces the kernel still takes down in the background are waited for; what stays is a leak.
        Wait-TestNetworkTeardown -Root $State.Root -RunRoot $State.RunRoot | ForEach-Object { "network $_" }
        Get-TestMount -Path $State.Root, $State.RunRoot | ForEach-Object { "mount $_" }
        Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $State.CgroupParent } |
            Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object { "cgroup $($_.FullName)" }
        Get-Process -ErrorAction SilentlyContinue | Where-Object ProcessName -like 'psc-mon*' | Where-Object {
            (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($State.Root) } |
            ForEach-Object { "monitor $($_.Id)" }
        if (Test-Path "$($State.RunRoot)/netns") { Get-ChildItem "$($State.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
        if (Test-Path "$($State.Root)/containers") { Get-ChildItem "$($State.Root)/containers" | ForEach-Object { "dir $($_.Name)" } }
    )
}

function Remove-TestApiStateRoot {
    <# The end of an API suite: every container and network of the root removed (docker run -p and compose make
       networks whose host bridge and firewall table go with them), the cgroup parent removed, the root deleted.
       Returns the bridges of the root that are still there (must be none). #>
    param([Parameter(Mandatory)] $State)
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force -ErrorAction Continue
    Remove-ContainerNetwork bridge -Force -ErrorAction SilentlyContinue
    $null = Wait-TestNetworkTeardown -Root $State.Root -RunRoot $State.RunRoot
    $bridgeLeft = @(& ip -o link show 2>$null) -match [regex]::Escape("pscontainer:$($State.Root)")
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $State.CgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-TestStateRoot $State
    $bridgeLeft
}

function Remove-TestApiSuite {
    <# The end of an API suite: the server stopped (DOCKER_HOST restored) and the state root removed with its
       containers, networks and cgroups. Returns what outlived it: a live server, its socket, a bridge of the root. #>
    param([Parameter(Mandatory)] $Service, [Parameter(Mandatory)] $State)
    $serviceLeft = Stop-TestApiService $Service
    $bridgeLeft = Remove-TestApiStateRoot $State
    @($serviceLeft) + @($bridgeLeft | ForEach-Object { "bridge $_" })
}

Export-ModuleMember -Function Start-TestApiService, Stop-TestApiService, Remove-TestApiSuite, Invoke-DockerProcess, Invoke-Docker, Get-TestFreePort,
    Start-TestDockerRegistry, Stop-TestDockerRegistry, Get-TestApiLeak, Remove-TestApiStateRoot
