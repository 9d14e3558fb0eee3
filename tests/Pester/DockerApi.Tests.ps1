#Requires -Version 7.4
# The Docker Engine API (psc-api) driven by the real docker CLI (Debian's docker.io, /usr/bin/docker 20.10) on a
# private socket the test starts with Start-ContainerApiService, over a private state root: what docker does shows
# in Get-Container, and what the cmdlets make shows in docker ps (issue 13).

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'Docker Engine API (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dapi'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar')
        $script:image = Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh
        $script:img = 'pester/busybox:1'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:api = $script:service.Api
        $script:socket = $script:service.Socket
        function script:Get-FreePort { Get-TestFreePort }
        function script:Get-OurLeak { Get-TestApiLeak -State $script:state }
    }

    AfterAll {
        # Checked after the clean-up, so a failure here leaves nothing behind either.
        Remove-TestApiSuite $script:service $script:state | Should -BeNullOrEmpty -Because 'no server, socket or bridge of the test root outlives it'
    }

    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
    }

    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    Context 'the service' {
        It 'listens on a root-owned 0660 socket and answers /_ping with dockerd''s headers' {
            $item = Get-Item $script:socket
            $item.UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, GroupRead, GroupWrite')
            $item.User | Should -Be 'root'
            $script:api.Pid | Should -BeGreaterThan 0
            (Get-Content "/proc/$($script:api.Pid)/cmdline" -Raw) | Should -Match 'psc-api'
            foreach ($method in 'Get', 'Head') {
                $r = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/_ping' -Method $method
                $r.StatusCode | Should -Be 200
                "$($r.Headers['Api-Version'])" | Should -Be '1.44'
                "$($r.Headers['Docker-Experimental'])" | Should -Be 'false'
                "$($r.Headers['OSType'])" | Should -Be 'linux'
                "$($r.Headers['Builder-Version'])" | Should -Not -BeNullOrEmpty
                if ($method -eq 'Get') { "$($r.Content)" | Should -Be 'OK' }
            }
            # -Group: the socket belongs to that group (daemon, gid 1, is in every Debian /etc/group).
            $grouped = Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'grouped.sock') -LogPath (Join-Path $script:state.Work 'grouped.log') -Group daemon
            try {
                (Get-Item $grouped.SocketPath).Group | Should -Be 'daemon'
                (Get-Item $grouped.SocketPath).UnixFileMode | Should -Be ([IO.UnixFileMode]'UserRead, UserWrite, GroupRead, GroupWrite')
            }
            finally { $grouped | Stop-ContainerApiService }
            $grouped.SocketPath | Should -Not -Exist
            # A second server on the same socket is refused while this one runs.
            { Start-ContainerApiService -SocketPath $script:socket -ErrorAction Stop } | Should -Throw -ErrorId 'ApiServiceRunning,PSContainer.Commands.StartContainerApiServiceCommand'
        }

        It 'answers docker version, and refuses an API version above its own with dockerd''s message' {
            $v = Invoke-Docker version --format '{{.Server.APIVersion}} {{.Server.MinAPIVersion}} {{.Server.Os}}'
            $v.Code | Should -Be 0 -Because $v.Err
            $v.Out | Should -Be '1.44 1.12 linux'
            # The 20.10 CLI negotiates down to its own newest version (1.41) and is served in that version's shapes.
            $client = Invoke-Docker version --format '{{.Client.APIVersion}}'
            $client.Out | Should -Be '1.41'
            $tooNew = Invoke-DockerProcess -Arguments version -Environment @{ DOCKER_API_VERSION = '1.50' }
            $tooNew.Code | Should -Not -Be 0
            $tooNew.Err | Should -Match 'client version 1\.50 is too new\. Maximum supported API version is 1\.44'
            # Versioned and unversioned paths are the same endpoint.
            $a = Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.41/version'
            $b = Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/version'
            $a.ApiVersion | Should -Be '1.44'
            $b.ApiVersion | Should -Be '1.44'
            $a.MinAPIVersion | Should -Be '1.12'
            # Each request is answered in the shape of the version it asked for (1.44 added /info's CDISpecDirs).
            (Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.41/info').PSObject.Properties.Name | Should -Not -Contain 'CDISpecDirs'
            (Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.44/info').PSObject.Properties.Name | Should -Contain 'CDISpecDirs'
            # 1.42 added docker stop -s (?signal=), checked first (DockerApiStreams has it served); 1.41 has no such parameter.
            $stop = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.44/containers/no-such/stop?signal=BOGUS' -Method Post -SkipHttpErrorCheck -TimeoutSec 10
            [int]$stop.StatusCode | Should -Be 400
            $stop = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/no-such/stop?signal=BOGUS' -Method Post -SkipHttpErrorCheck -TimeoutSec 10
            [int]$stop.StatusCode | Should -Be 404
        }

        It 'answers what it does not serve with docker''s error JSON (501/404), never a hang' {
            $plugins = Invoke-DockerProcess -Arguments plugin, ls -TimeoutSeconds 20
            $plugins.Code | Should -Not -Be 0
            $plugins.Err | Should -Match 'not served by PSContainer'
            foreach ($case in @(@{ Uri = 'http://localhost/v1.41/plugins'; Status = 501 }, @{ Uri = 'http://localhost/v1.41/nothing/here'; Status = 404 })) {
                $r = Invoke-WebRequest -UnixSocket $script:socket -Uri $case.Uri -SkipHttpErrorCheck -TimeoutSec 10
                [int]$r.StatusCode | Should -Be $case.Status
                ($r.Content | ConvertFrom-Json).message | Should -Not -BeNullOrEmpty
            }
        }
    }

    Context 'containers' {
        It 'docker run --rm prints the output and returns the exit code, and removes the container' {
            $hi = Invoke-Docker run --rm $script:img echo hi
            $hi.Code | Should -Be 0 -Because $hi.Err
            $hi.Out | Should -Be 'hi'
            $three = Invoke-Docker run --rm $script:img sh -c 'echo out; echo err >&2; exit 3'
            $three.Code | Should -Be 3
            $three.Out | Should -Be 'out'
            $three.Err | Should -Be 'err'
            @(Get-Container -All) | Should -HaveCount 0
        }

        It 'docker run -d -p publishes a port; the container is one Get-Container sees, and docker ps/logs/inspect/stop/rm work on it' {
            $port = Get-FreePort
            $run = Invoke-Docker run -d --name web -l tier=front -p "127.0.0.1:${port}:80" $script:img sh -c 'mkdir -p /www; echo api-page > /www/index.html; echo started; echo warn >&2; exec httpd -f -p 80 -h /www'
            $run.Code | Should -Be 0 -Because $run.Err
            $id = $run.Out
            $id | Should -Match '^[0-9a-f]{64}$'
            Wait-TestHttp "http://127.0.0.1:$port/" | Should -Be 'api-page'

            $c = Get-Container web
            $c.Id | Should -Be $id
            $c.State | Should -Be 'Running'
            $c.Ports | Should -Contain "127.0.0.1:$port->80/tcp"

            $ps = Invoke-Docker ps --format '{{.ID}} {{.Names}} {{.Status}} {{.Ports}}'
            $ps.Lines | Should -HaveCount 1
            $ps.Lines[0] | Should -Match "^$($id.Substring(0, 12)) web Up .* 127\.0\.0\.1:$port->80/tcp$"
            (Invoke-Docker ps -q --filter label=tier=front).Out | Should -Be $id.Substring(0, 12)
            (Invoke-Docker ps -q --filter label=tier=back).Out | Should -BeNullOrEmpty
            (Invoke-Docker ps -q --filter name=we).Out | Should -Be $id.Substring(0, 12)
            (Invoke-Docker ps -q --filter status=exited).Out | Should -BeNullOrEmpty

            $logs = Invoke-Docker logs web
            $logs.Out | Should -Be 'started'
            $logs.Err | Should -Be 'warn'
            $stamped = Invoke-Docker logs -t --tail 1 web
            $stamped.Out + $stamped.Err | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z (started|warn)$'
            (Invoke-Docker logs --tail 0 web).Out | Should -BeNullOrEmpty

            $inspect = (Invoke-Docker inspect web).Out | ConvertFrom-Json
            $inspect | Should -HaveCount 1
            $inspect.Id | Should -Be $id
            $inspect.Name | Should -Be '/web'
            $inspect.State.Status | Should -Be 'running'
            $inspect.State.Running | Should -BeTrue
            $inspect.State.Pid | Should -Be $c.Pid
            $inspect.Config.Image | Should -Be $script:img
            $inspect.Config.Labels.tier | Should -Be 'front'
            $inspect.HostConfig.NetworkMode | Should -Be 'bridge'
            $inspect.NetworkSettings.Ports.'80/tcp'[0].HostPort | Should -Be "$port"
            $inspect.NetworkSettings.IPAddress | Should -Be $c.IPAddress
            $inspect.NetworkSettings.Networks.bridge.IPAddress | Should -Be $c.IPAddress

            $stop = Invoke-Docker stop -t 1 web
            $stop.Code | Should -Be 0 -Because $stop.Err
            $stop.Out | Should -Be 'web'
            (Get-Container web -All).State | Should -Be 'Exited'
            (Invoke-Docker ps -q).Out | Should -BeNullOrEmpty
            $all = Invoke-Docker ps -a --format '{{.Names}} {{.Status}}'
            $all.Lines | Should -HaveCount 1
            $all.Lines[0] | Should -Match '^web Exited \(\d+\) '
            ((Invoke-Docker inspect web).Out | ConvertFrom-Json).State.Status | Should -Be 'exited'

            $rm = Invoke-Docker rm web
            $rm.Code | Should -Be 0 -Because $rm.Err
            @(Get-Container -All) | Should -HaveCount 0
        }

        It 'a container made by New-Container | Start-Container shows in docker ps, and docker restart/exec/top/pause/rename/kill/wait/rm -f act on it' {
            $c = New-Container $script:img -Name fromps -Command sleep, 300 | Start-Container -PassThru
            $ps = Invoke-Docker ps --format '{{.ID}} {{.Names}} {{.Image}}'
            $ps.Out | Should -Be "$($c.ShortId) fromps $($script:img)"
            $firstPid = (Get-Container fromps).Pid

            (Invoke-Docker restart -t 0 fromps).Code | Should -Be 0
            $after = Get-Container fromps
            $after.State | Should -Be 'Running'
            $after.Pid | Should -Not -Be $firstPid

            $top = Invoke-Docker top fromps
            $top.Code | Should -Be 0 -Because $top.Err
            $top.Lines[0] | Should -Match '^UID\s+PID\s+PPID'
            $top.Lines[1] | Should -Match "\b$($after.Pid)\b.*sleep 300$"
            # Detached exec runs (its start has no upgrade); attached ones are DockerApiStreams.Tests.ps1's.
            (Invoke-Docker exec -d -e GREETING=detached fromps sh -c 'echo $GREETING > /tmp/mark').Code | Should -Be 0
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            do { $mark = @(Invoke-ContainerCommand fromps -Command cat, /tmp/mark -ErrorAction SilentlyContinue) } until ($mark -or [DateTime]::UtcNow -gt $deadline)
            $mark | Should -Be 'detached'
            $attached = Invoke-Docker exec fromps sh -c 'exit 3'
            $attached.Code | Should -Be 3 -Because $attached.Err
            (Invoke-Docker pause fromps).Code | Should -Be 0
            (Get-Container fromps).State | Should -Be 'Paused'
            (Invoke-Docker ps --format '{{.Status}}').Out | Should -Match '\(Paused\)$'
            (Invoke-Docker unpause fromps).Code | Should -Be 0
            (Get-Container fromps).State | Should -Be 'Running'
            (Invoke-Docker rename fromps renamed).Code | Should -Be 0
            (Get-Container renamed).Id | Should -Be $c.Id
            (Invoke-Docker rename renamed fromps).Code | Should -Be 0

            # KILL: sleep as the namespace's init has no TERM handler, so the kernel would not deliver TERM.
            $kill = Invoke-Docker kill -s KILL fromps
            $kill.Code | Should -Be 0 -Because $kill.Err
            $wait = Invoke-Docker wait fromps
            $wait.Out | Should -Be '137'
            (Get-Container fromps -All).ExitCode | Should -Be 137
            (Invoke-Docker kill fromps).Err | Should -Match 'is not running'

            (Invoke-Docker start fromps).Code | Should -Be 0
            $rmRunning = Invoke-Docker rm fromps
            $rmRunning.Code | Should -Be 1
            $rmRunning.Err | Should -Match 'running'
            (Invoke-Docker rm -f fromps).Code | Should -Be 0
            @(Get-Container -All) | Should -HaveCount 0
        }

        It 'docker run without --rm waits for the exit and keeps the container; logs -f follows to the end; start -a reruns it attached' {
            $kept = Invoke-Docker run --name kept $script:img sh -c 'echo a; exit 5'
            $kept.Code | Should -Be 5
            $kept.Out | Should -Be 'a'
            $c = Get-Container kept -All
            $c.State | Should -Be 'Exited'
            $c.ExitCode | Should -Be 5

            # Attached again: only this run's output, the exit code of this run.
            $again = Invoke-Docker start -a kept
            $again.Out | Should -Be 'a'
            $again.Code | Should -Be 5

            $run = Invoke-Docker run -d --name follow $script:img sh -c 'for i in 1 2 3; do echo line$i; sleep 0.3; done'
            $run.Code | Should -Be 0 -Because $run.Err
            $follow = Invoke-DockerProcess -Arguments logs, -f, follow -TimeoutSeconds 30
            $follow.Lines | Should -Be @('line1', 'line2', 'line3')
            (Get-Container follow -All).State | Should -Be 'Exited'
            (Invoke-Docker wait follow).Out | Should -Be '0'
        }

        It 'an attach loses no line when the monitor rotates the log under it' {
            # 1 KiB files: 2000 lines rotate the log about a hundred times while docker run follows it (max-file keeps them all).
            $r = Invoke-Docker run --rm --log-opt max-size=1k --log-opt max-file=300 $script:img sh -c 'i=0; while [ $i -lt 2000 ]; do i=$((i+1)); echo line-$i; done'
            $r.Code | Should -Be 0 -Because $r.Err
            $r.Lines | Should -HaveCount 2000
            $r.Lines[0] | Should -Be 'line-1'
            $r.Lines[-1] | Should -Be 'line-2000'
        }

        It 'reports docker''s errors: no such container, a name in use, settings it cannot honour' {
            $nosuch = Invoke-Docker rm nosuch
            $nosuch.Code | Should -Be 1
            $nosuch.Err | Should -Match 'No such container: nosuch'
            (Invoke-Docker inspect nosuch).Code | Should -Be 1
            (Invoke-Docker logs nosuch).Err | Should -Match 'No such container: nosuch'

            (Invoke-Docker create --name taken $script:img true).Code | Should -Be 0
            $again = Invoke-Docker create --name taken $script:img true
            $again.Code | Should -Not -Be 0
            $again.Err | Should -Match 'taken'
            $r = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/create?name=taken' -Method Post `
                -ContentType 'application/json' -Body "{`"Image`":`"$($script:img)`"}" -SkipHttpErrorCheck
            [int]$r.StatusCode | Should -Be 409

            $restart = Invoke-Docker run -d --restart always $script:img true
            $restart.Code | Should -Not -Be 0
            $restart.Err | Should -Match 'RestartPolicy always'
            # Refused before anything was made: only the container named taken exists.
            @(Get-Container -All).Name | Should -Be @('taken')

            # Not here, so the CLI pulls it (POST /images/create) from a registry that is not there: 127.0.0.1:1 refuses at once.
            $noImage = Invoke-Docker run --rm 127.0.0.1:1/missing:1 true
            $noImage.Code | Should -Not -Be 0
            $noImage.Err | Should -Match "Unable to find image '127\.0\.0\.1:1/missing:1' locally"
            $noImage.Err | Should -Match '127\.0\.0\.1:1'
        }
    }

    Context 'images' {
        It 'docker images lists the store, docker image inspect, tag and rmi act on it' {
            $images = Invoke-Docker images --format '{{.Repository}}:{{.Tag}} {{.ID}}'
            $images.Code | Should -Be 0 -Because $images.Err
            $images.Lines | Should -Contain "$($script:img) $($script:image.Id.Substring(7, 12))"

            $inspect = (Invoke-Docker image inspect $script:img).Out | ConvertFrom-Json
            $inspect.Id | Should -Be $script:image.Id
            $inspect.Config.Cmd | Should -Be @('sh')
            $inspect.RootFS.Layers | Should -Be @($script:image.Layers)

            (Invoke-Docker tag $script:img pester/retagged:2).Code | Should -Be 0
            (Get-ContainerImage pester/retagged:2).Id | Should -Be $script:image.Id
            $rmi = Invoke-Docker rmi pester/retagged:2
            $rmi.Code | Should -Be 0 -Because $rmi.Err
            $rmi.Out | Should -Match 'Untagged: pester/retagged:2'
            Get-ContainerImage pester/retagged:2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            (Invoke-Docker image inspect pester/nothing:1).Err | Should -Match 'No such image'
        }
    }

    Context 'pulls' {
        BeforeAll {
            # Debian's docker-registry on 127.0.0.1, holding the fixture pushed by Submit-ContainerImage.
            $script:registryWhy = if (-not (Get-Command docker-registry -ErrorAction Ignore)) { 'no docker-registry (Debian package docker-registry)' }
            if (-not $script:registryWhy) {
                $script:registry = Start-TestDockerRegistry -Directory (Join-Path $script:state.Work 'registry')
                $script:registryHost = $script:registry.Host
                $null = Submit-ContainerImage $script:img -Destination "$($script:registryHost)/pester/pulled:1" -Quiet
            }
        }
        AfterAll { Stop-TestDockerRegistry $script:registry }

        It 'docker pull streams the pull''s progress and stores the image; docker run pulls a missing image first' {
            if ($script:registryWhy) { Set-ItResult -Skipped -Because $script:registryWhy; return }
            $ref = "$($script:registryHost)/pester/pulled:1"
            $pull = Invoke-Docker pull $ref
            $pull.Code | Should -Be 0 -Because $pull.Err
            $pull.Out | Should -Match "1: Pulling from pester/pulled"
            $pull.Out | Should -Match 'Digest: sha256:[0-9a-f]{64}'
            $pull.Out | Should -Match "Status: Downloaded newer image for $([regex]::Escape($ref))"
            (Get-ContainerImage $ref).Id | Should -Be $script:image.Id
            (Invoke-Docker pull $ref).Out | Should -Match 'Status: Image is up to date'

            Remove-ContainerImage $ref
            $run = Invoke-Docker run --rm $ref echo pulled-and-ran
            $run.Code | Should -Be 0 -Because $run.Err
            $run.Out | Should -Be 'pulled-and-ran'
            $run.Err | Should -Match "Unable to find image '$([regex]::Escape($ref))' locally"
            Get-ContainerImage $ref | Should -Not -BeNullOrEmpty
            $missing = Invoke-Docker pull "$($script:registryHost)/pester/absent:1"
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'pester/absent'
        }
    }

    Context 'the service layer' {
        It 'runs the docker run sequence for any front end: create, start, output, wait, auto-remove' {
            $service = [PSContainer.Engine.Services.ContainerService]::new([PSContainer.Engine.ContainerEngine]::ForEnvironment())
            $options = [PSContainer.Engine.Containers.ContainerOptions]@{ Image = $script:img; Command = @('sh', '-c', 'echo one; echo two >&2; exit 7'); AutoRemove = $true }
            $lines = [Collections.Generic.List[string]]::new()
            $request = [PSContainer.Engine.Services.RunRequest]@{ Options = $options; Output = [Action[PSContainer.Engine.Containers.ContainerLogRecord]] { param($r) $lines.Add("$($r.Stream):$($r.Line)") } }
            $result = $service.Run($request, [Threading.CancellationToken]::None)
            $result.ExitCode | Should -Be 7
            $result.Removed | Should -BeTrue
            # Two pipes: the order between stdout and stderr is not kept, each stream's own order is.
            @($lines | Sort-Object) | Should -Be @('stderr:two', 'stdout:one')
            @(Get-Container -All) | Should -HaveCount 0
        }
    }
}
