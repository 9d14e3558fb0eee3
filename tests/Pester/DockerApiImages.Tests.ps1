#Requires -Version 7.4
# psc-api's image and service endpoints driven by the real docker CLI (Debian's docker.io 20.10) on a private socket
# (issue 13): docker push to a local docker-registry (plain, then with docker login against an htpasswd registry),
# docker pull with those credentials, docker save / docker load (and a damaged load), docker history, docker image
# prune, docker search refused, the TCP listener with mutual TLS, and psc-api's systemd unit.

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
                  elseif (-not (Get-Command docker-registry -ErrorAction SilentlyContinue)) { 'no docker-registry (Debian package docker-registry)' }
                  elseif (-not (Get-Command openssl -ErrorAction SilentlyContinue)) { 'no openssl' }
                  elseif (-not (Get-Command htpasswd -ErrorAction SilentlyContinue)) { 'no htpasswd (Debian package apache2-utils)' }
}

Describe 'Docker Engine API: images, registries, TLS and the service unit (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dimg'
        Import-Module (Get-TestModulePath) -Force
        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar')
        $script:busyboxTar = $tar
        $script:image = Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh
        $script:img = 'pester/busybox:1'

        $script:service = Start-TestApiService -State $script:state
        $script:registry = Start-TestDockerRegistry -Directory (Join-Path $script:state.Work 'registry')
        $script:extraServices = [Collections.Generic.List[object]]::new()

        function script:Invoke-Native([string]$File, [string[]]$Arguments) {
            $output = & $File @Arguments 2>&1
            if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed ($LASTEXITCODE): $($output -join "`n")" }
            $output | Where-Object { $_ -is [string] }
        }
        function script:Get-TempEntry { @(Get-ChildItem (Join-Path $script:state.Root 'tmp') -ErrorAction SilentlyContinue | ForEach-Object Name) }
    }

    AfterAll {
        foreach ($s in $script:extraServices) { $s | Stop-ContainerApiService -ErrorAction Continue }
        Stop-TestDockerRegistry $script:registry
        if ($script:authRegistry) { Stop-TestDockerRegistry $script:authRegistry }
        # Checked after the clean-up, so a failure here leaves nothing behind either.
        Remove-TestApiSuite $script:service $script:state | Should -BeNullOrEmpty -Because 'no server, socket or bridge of the test root outlives it'
        @($script:extraServices | Where-Object { [PSContainer.Engine.Containers.ProcessInfo]::Exists($_.Pid) }) | Should -BeNullOrEmpty
    }

    Context 'docker push and pull' {
        It 'pushes to a local registry with docker''s progress and digest line, which the registry serves' {
            $target = "$($script:registry.Host)/pester/busybox:1"
            (Invoke-Docker tag $script:img $target).Code | Should -Be 0
            $push = Invoke-Docker push $target
            $push.Code | Should -Be 0 -Because $push.Err
            $push.Out | Should -Match ([regex]::Escape("The push refers to repository [$($script:registry.Host)/pester/busybox]"))
            $push.Out | Should -Match '[0-9a-f]{12}: Pushed'
            $push.Out | Should -Match '(?m)^1: digest: sha256:[0-9a-f]{64} size: \d+$'
            $digest = [regex]::Match($push.Out, 'digest: (sha256:[0-9a-f]{64}) size: (\d+)')
            $accept = 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json'
            $served = Invoke-WebRequest "http://$($script:registry.Host)/v2/pester/busybox/manifests/1" -Headers @{ Accept = $accept }
            "$($served.Headers['Docker-Content-Digest'])" | Should -Be $digest.Groups[1].Value
            $served.RawContentLength | Should -Be ([long]$digest.Groups[2].Value) -Because 'the size docker prints is the manifest''s'
            # docker inspect knows the image under repository@digest now, as after a push to dockerd.
            (Invoke-Docker image inspect --format '{{join .RepoDigests ","}}' $target).Out | Should -Match ([regex]::Escape("@$($digest.Groups[1].Value)"))

            $again = Invoke-Docker push $target
            $again.Code | Should -Be 0 -Because $again.Err
            $again.Out | Should -Match 'Layer already exists'

            $missing = Invoke-Docker push "$($script:registry.Host)/pester/none:1"
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'An image does not exist locally with the tag'
        }

        It 'pushes and pulls with the credentials of docker login against an htpasswd registry, and refuses without them' {
            $auth = Join-Path $script:state.Work 'auth-registry'
            New-Item -ItemType Directory -Force $auth | Out-Null
            Set-Content "$auth/htpasswd" ((Invoke-Native htpasswd @('-Bbn', 'alice', 'c0rrect-horse')) | Where-Object { $_ })
            $script:authRegistry = Start-TestDockerRegistry -Directory $auth -Htpasswd "$auth/htpasswd"
            $hostPort = $script:authRegistry.Host
            $target = "$hostPort/team/busybox:1"
            (Invoke-Docker tag $script:img $target).Code | Should -Be 0

            # No login: the registry's refusal reaches the client as an error of the push.
            $anonymous = Invoke-Docker push $target
            $anonymous.Code | Should -Not -Be 0
            "$($anonymous.Out) $($anonymous.Err)" | Should -Match 'authentication|unauthorized|credentials'

            $wrong = Invoke-Docker login -u alice -p wrong-horse $hostPort
            $wrong.Code | Should -Not -Be 0
            $wrong.Err | Should -Match 'alice|credentials|unauthorized'
            $login = Invoke-Docker login -u alice -p c0rrect-horse $hostPort
            $login.Code | Should -Be 0 -Because $login.Err
            $login.Out | Should -Match 'Login Succeeded'
            # The client keeps the login (its config.json); the server stored none of its own.
            (Get-Content -Raw (Join-Path $env:DOCKER_CONFIG 'config.json')) | Should -Match ([regex]::Escape($hostPort))
            Join-Path $script:state.Root 'auth.json' | Should -Not -Exist

            $push = Invoke-Docker push $target
            $push.Code | Should -Be 0 -Because $push.Err
            $push.Out | Should -Match '(?m)^1: digest: sha256:[0-9a-f]{64} size: \d+$'

            (Invoke-Docker rmi $target).Code | Should -Be 0
            $pull = Invoke-Docker pull $target
            $pull.Code | Should -Be 0 -Because $pull.Err
            $pull.Out | Should -Match 'Digest: sha256:'
            (Invoke-Docker logout $hostPort).Code | Should -Be 0
            (Invoke-Docker rmi $target).Code | Should -Be 0
            $denied = Invoke-Docker pull $target
            $denied.Code | Should -Not -Be 0 -Because 'without the login the registry refuses the pull'
        }
    }

    Context 'docker save and docker load' {
        It 'saves an image that docker load brings back under its tag, with the same id' {
            $file = Join-Path $script:state.Work 'saved.tar'
            $save = Invoke-Docker save -o $file $script:img
            $save.Code | Should -Be 0 -Because $save.Err
            $names = & tar -tf $file
            $names | Should -Contain 'manifest.json'
            $manifest = (& tar -xOf $file manifest.json) | ConvertFrom-Json
            @($manifest)[0].RepoTags | Should -Be @($script:img)

            # Gone whole (its registry tags too), so the load below has to bring back content, not a tag.
            (Invoke-Docker rmi -f $script:image.Id).Code | Should -Be 0
            Get-ContainerImage | Where-Object Id -eq $script:image.Id | Should -BeNullOrEmpty
            $load = Invoke-Docker load -i $file
            $load.Code | Should -Be 0 -Because $load.Err
            $load.Out | Should -Match ([regex]::Escape("Loaded image: $script:img"))
            (Invoke-Docker image inspect --format '{{.Id}}' $script:img).Out | Should -Be $script:image.Id
            Get-TempEntry | Should -BeNullOrEmpty -Because 'the spooled archive is gone'
        }

        It 'saves several images at once (GET /images/get?names=) and refuses a missing one before writing' {
            (Invoke-Docker tag $script:img 'pester/other:2').Code | Should -Be 0
            $file = Join-Path $script:state.Work 'two.tar'
            $save = Invoke-Docker save -o $file $script:img 'pester/other:2'
            $save.Code | Should -Be 0 -Because $save.Err
            $manifest = (& tar -xOf $file manifest.json) | ConvertFrom-Json
            @($manifest.RepoTags) | Sort-Object | Should -Be @('pester/busybox:1', 'pester/other:2')
            (Invoke-Docker rmi 'pester/other:2').Code | Should -Be 0

            $bad = Join-Path $script:state.Work 'missing.tar'
            $missing = Invoke-Docker save -o $bad 'pester/none:1'
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'No such image: pester/none:1'
        }

        It 'writes an archive podman load accepts (the engine''s docker-archive, as a real engine reads it)' {
            if (-not (Get-Command podman -ErrorAction SilentlyContinue)) { Set-ItResult -Skipped -Because 'no podman to load the archive into'; return }
            $file = Join-Path $script:state.Work 'for-podman.tar'
            (Invoke-Docker save -o $file $script:img).Code | Should -Be 0
            $proot = Join-Path $script:state.Work 'podman-root'
            $prun = "/tmp/pscpr-$([Guid]::NewGuid().ToString('N').Substring(0, 8))" # podman wants a runroot under 50 characters
            try {
                $load = Invoke-DockerProcess -FilePath /usr/bin/podman -TimeoutSeconds 120 -Arguments @(
                    '--root', $proot, '--runroot', $prun, '--tmpdir', "$prun/tmp", '--storage-driver', 'vfs', '--cgroup-manager', 'cgroupfs', 'load', '-i', $file)
                $load.Code | Should -Be 0 -Because $load.Err
                "$($load.Out) $($load.Err)" | Should -Match 'pester/busybox:1'
            }
            finally {
                Remove-Item -Recurse -Force $proot, $prun -ErrorAction SilentlyContinue
            }
        }

        It 'writes an archive a real dockerd loads (docker load into a private dockerd) with the same image id' {
            if (-not (Get-Command dockerd -ErrorAction SilentlyContinue)) { Set-ItResult -Skipped -Because 'no dockerd to load the archive into'; return }
            $file = Join-Path $script:state.Work 'for-dockerd.tar'
            (Invoke-Docker save -o $file $script:img).Code | Should -Be 0
            # A private daemon: its own roots and socket (a short path: sockets take 107 bytes), vfs storage (no
            # mounts), no bridge, no firewall rules, cgroupfs under a parent of its own.
            $dd = "/tmp/pscdd-$([Guid]::NewGuid().ToString('N').Substring(0, 8))"
            New-Item -ItemType Directory -Force "$dd/data", "$dd/exec" | Out-Null
            $cgroupParent = "psc-dimg-dockerd-$PID"
            $arguments = @('--data-root', "$dd/data", '--exec-root', "$dd/exec", '-H', "unix://$dd/docker.sock", '--pidfile', "$dd/docker.pid",
                '--bridge=none', '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false', '--log-level', 'error',
                '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', $cgroupParent, '--storage-driver', 'vfs')
            $daemon = Start-Process dockerd -ArgumentList $arguments -RedirectStandardOutput "$dd/dockerd.out" -RedirectStandardError "$dd/dockerd.err" -PassThru
            $real = @{ DOCKER_HOST = "unix://$dd/docker.sock" }
            try {
                $deadline = [DateTime]::UtcNow.AddSeconds(60)
                $up = $false
                while (-not $up -and [DateTime]::UtcNow -lt $deadline -and -not $daemon.HasExited) {
                    $up = (Invoke-DockerProcess -Arguments 'version' -Environment $real -TimeoutSeconds 10).Code -eq 0
                    if (-not $up) { Start-Sleep -Milliseconds 250 }
                }
                if (-not $up) { Set-ItResult -Skipped -Because "the private dockerd did not start: $(Get-Content "$dd/dockerd.err" -Tail 3 -ErrorAction SilentlyContinue)"; return }
                $load = Invoke-DockerProcess -Arguments 'load', '-i', $file -Environment $real -TimeoutSeconds 120
                $load.Code | Should -Be 0 -Because $load.Err
                $load.Out | Should -Match ([regex]::Escape("Loaded image: $script:img"))
                (Invoke-DockerProcess -Arguments 'image', 'inspect', '--format', '{{.Id}}', $script:img -Environment $real).Out | Should -Be $script:image.Id
            }
            finally {
                if (-not $daemon.HasExited) { [PSContainer.Native.ProcessSignal]::Send($daemon.Id, 15) | Out-Null; $daemon.WaitForExit(30000) | Out-Null }
                if (-not $daemon.HasExited) { $daemon.Kill($true) }
                foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
                    $p = Join-Path $h.FullName $cgroupParent
                    if (Test-Path $p) { [IO.Directory]::Delete($p) }
                }
                Remove-Item -Recurse -Force $dd -ErrorAction SilentlyContinue
            }
        }

        It 'refuses a cut or damaged archive with a clear error and leaves no image and no temp file' {
            $file = Join-Path $script:state.Work 'whole.tar'
            (Invoke-Docker tag $script:img 'pester/cut:1').Code | Should -Be 0
            (Invoke-Docker save -o $file 'pester/cut:1').Code | Should -Be 0
            (Invoke-Docker rmi 'pester/cut:1').Code | Should -Be 0
            $before = @(Get-ContainerImage | ForEach-Object Id) + @(Get-ContainerImage | ForEach-Object RepoTags)
            $bytes = [IO.File]::ReadAllBytes($file)
            $cut = Join-Path $script:state.Work 'cut.tar'
            [IO.File]::WriteAllBytes($cut, $bytes[0..([int]($bytes.Length * 0.6))])
            $load = Invoke-Docker load -i $cut
            $load.Code | Should -Not -Be 0
            $load.Err | Should -Match 'The archive is truncated'
            $load.Err | Should -Not -Match ([regex]::Escape($script:state.Root)) -Because 'the server''s spool file is no name the client knows'
            $garbage = Join-Path $script:state.Work 'garbage.tar'
            [IO.File]::WriteAllBytes($garbage, [byte[]](1..4096 | ForEach-Object { $_ % 251 }))
            $junk = Invoke-Docker load -i $garbage
            $junk.Code | Should -Not -Be 0
            $junk.Err | Should -Match 'The archive is not a tar archive'
            $after = @(Get-ContainerImage | ForEach-Object Id) + @(Get-ContainerImage | ForEach-Object RepoTags)
            $after | Should -Be $before
            (Invoke-Docker image inspect 'pester/cut:1').Code | Should -Not -Be 0
            Get-TempEntry | Should -BeNullOrEmpty
        }
    }

    Context 'docker history, image prune, search' {
        It 'shows an image''s history with its id, step and layer size' {
            $h = Invoke-Docker history --no-trunc --format '{{.ID}}|{{.CreatedBy}}|{{.Size}}' $script:img
            $h.Code | Should -Be 0 -Because $h.Err
            $h.Lines.Count | Should -Be 1
            $id, $by, $size = $h.Lines[0] -split '\|'
            $id | Should -Be $script:image.Id
            $by | Should -Match 'Import-ContainerImage busybox.tar'
            $size | Should -Match '^[1-9][\d.]*[kM]?B$'
            $missing = Invoke-Docker history 'pester/none:1'
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'No such image: pester/none:1'
        }

        It 'prunes dangling images (docker image prune -f), then unused labelled ones (-a --filter label=)' {
            $dangling = Import-ContainerImage $script:busyboxTar -Format RootFs -Message 'dangling one'
            $labelled = Import-ContainerImage $script:busyboxTar -Format RootFs -Message 'labelled' -Label @{ purpose = 'prune-test' } -Name 'pester/labelled:1'
            $prune = Invoke-Docker image prune -f
            $prune.Code | Should -Be 0 -Because $prune.Err
            $prune.Out | Should -Match ([regex]::Escape("deleted: $($dangling.Id)"))
            $prune.Out | Should -Match 'Total reclaimed space'
            Get-ContainerImage | Where-Object Id -eq $dangling.Id | Should -BeNullOrEmpty
            Get-ContainerImage | Where-Object Id -eq $labelled.Id | Should -Not -BeNullOrEmpty -Because 'tagged images stay without -a'
            Get-ContainerImage | Where-Object Id -eq $script:image.Id | Should -Not -BeNullOrEmpty

            $all = Invoke-Docker image prune -a -f --filter 'label=purpose=prune-test'
            $all.Code | Should -Be 0 -Because $all.Err
            $all.Out | Should -Match ([regex]::Escape("untagged: pester/labelled:1"))
            Get-ContainerImage | Where-Object Id -eq $labelled.Id | Should -BeNullOrEmpty
            Get-ContainerImage | Where-Object Id -eq $script:image.Id | Should -Not -BeNullOrEmpty -Because 'the filter spared the unlabelled image'

            $bad = Invoke-Docker image prune -f --filter 'colour=red'
            $bad.Code | Should -Not -Be 0
            $bad.Err | Should -Match "invalid filter 'colour'"
        }

        It 'refuses docker search with a clear error' {
            $search = Invoke-Docker search busybox
            $search.Code | Should -Not -Be 0
            $search.Err | Should -Match 'docker search busybox\) is not supported by PSContainer'
            $search.Err | Should -Match 'offline'
            $search.Err | Should -Not -Match '"message"' -Because 'docker''s error JSON, which the CLI unpacks'
        }
    }

    Context 'the TCP listener (mutual TLS only)' {
        BeforeAll {
            $script:tls = Join-Path $script:state.Work 'tls'
            New-Item -ItemType Directory -Force $script:tls | Out-Null
            $t = $script:tls
            Invoke-Native openssl @('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$t/ca.key", '-out', "$t/ca.pem", '-days', '2', '-subj', '/CN=psc-api-test-ca') | Out-Null
            Invoke-Native openssl @('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$t/other-ca.key", '-out', "$t/other-ca.pem", '-days', '2', '-subj', '/CN=psc-api-other-ca') | Out-Null
            Set-Content "$t/server.cnf" "subjectAltName=IP:127.0.0.1,DNS:localhost`nbasicConstraints=CA:FALSE`nextendedKeyUsage=serverAuth"
            Set-Content "$t/client.cnf" "basicConstraints=CA:FALSE`nextendedKeyUsage=clientAuth"
            foreach ($pair in @(@('server', 'ca'), @('client', 'ca'), @('stranger', 'other-ca'))) {
                $name, $ca = $pair
                $ext = if ($name -eq 'server') { 'server.cnf' } else { 'client.cnf' }
                Invoke-Native openssl @('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$t/$name-key.pem", '-out', "$t/$name.csr", '-subj', "/CN=$name") | Out-Null
                Invoke-Native openssl @('x509', '-req', '-in', "$t/$name.csr", '-CA', "$t/$ca.pem", '-CAkey', "$t/$ca.key", '-CAcreateserial',
                    '-out', "$t/$name-cert.pem", '-days', '2', '-extfile', "$t/$ext") | Out-Null
            }
            # A client certificate issued by an intermediate of the client CA, sent with the intermediate.
            Set-Content "$t/intermediate.cnf" "basicConstraints=critical,CA:TRUE`nkeyUsage=critical,keyCertSign,cRLSign"
            Invoke-Native openssl @('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$t/intermediate.key", '-out', "$t/intermediate.csr", '-subj', '/CN=psc-api-intermediate') | Out-Null
            Invoke-Native openssl @('x509', '-req', '-in', "$t/intermediate.csr", '-CA', "$t/ca.pem", '-CAkey', "$t/ca.key", '-CAcreateserial',
                '-out', "$t/intermediate.pem", '-days', '2', '-extfile', "$t/intermediate.cnf") | Out-Null
            Invoke-Native openssl @('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$t/leaf-key.pem", '-out', "$t/leaf.csr", '-subj', '/CN=leaf') | Out-Null
            Invoke-Native openssl @('x509', '-req', '-in', "$t/leaf.csr", '-CA', "$t/intermediate.pem", '-CAkey', "$t/intermediate.key", '-CAcreateserial',
                '-out', "$t/leaf-only.pem", '-days', '2', '-extfile', "$t/client.cnf") | Out-Null
            Set-Content "$t/leaf-cert.pem" ((Get-Content -Raw "$t/leaf-only.pem") + (Get-Content -Raw "$t/intermediate.pem")) -NoNewline
            $script:port = Get-TestFreePort
            $script:tcpApi = Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'tcp.sock') -LogPath (Join-Path $script:state.Work 'tcp-api.log') `
                -TcpAddress "127.0.0.1:$script:port" -TlsCertificate "$t/server-cert.pem" -TlsKey "$t/server-key.pem" -TlsCaCertificate "$t/ca.pem"
            $script:extraServices.Add($script:tcpApi)
            $script:tcpHost = "tcp://127.0.0.1:$script:port"
        }

        It 'answers docker --tlsverify with a client certificate of the client CA' {
            $script:tcpApi.TcpAddress | Should -Be $script:tcpHost
            $t = $script:tls
            $v = Invoke-DockerProcess -Arguments @('--tlsverify', '--tlscacert', "$t/ca.pem", '--tlscert', "$t/client-cert.pem", '--tlskey', "$t/client-key.pem",
                '-H', $script:tcpHost, 'version', '--format', '{{.Server.APIVersion}}')
            $v.Code | Should -Be 0 -Because $v.Err
            $v.Out | Should -Be '1.44'
            $images = Invoke-DockerProcess -Arguments @('--tlsverify', '--tlscacert', "$t/ca.pem", '--tlscert', "$t/client-cert.pem", '--tlskey', "$t/client-key.pem",
                '-H', $script:tcpHost, 'images', '--format', '{{.Repository}}:{{.Tag}}')
            $images.Code | Should -Be 0 -Because $images.Err
            $images.Lines | Should -Contain $script:img
            # A certificate of an intermediate the client sends along chains to the client CA, as under dockerd.
            $viaIntermediate = Invoke-DockerProcess -Arguments @('--tlsverify', '--tlscacert', "$t/ca.pem", '--tlscert', "$t/leaf-cert.pem", '--tlskey', "$t/leaf-key.pem",
                '-H', $script:tcpHost, 'version', '--format', '{{.Server.APIVersion}}')
            $viaIntermediate.Code | Should -Be 0 -Because $viaIntermediate.Err
            # The hijacked streams over TLS: docker run attaches, an attached exec posts a body with its upgrade.
            $tls = @('--tlsverify', '--tlscacert', "$t/ca.pem", '--tlscert', "$t/client-cert.pem", '--tlskey', "$t/client-key.pem", '-H', $script:tcpHost)
            $run = Invoke-DockerProcess -Arguments ($tls + @('run', '-d', '--name', 'pester-tls', $script:img, 'sleep', '60'))
            $run.Code | Should -Be 0 -Because $run.Err
            try {
                $exec = Invoke-DockerProcess -Arguments ($tls + @('exec', 'pester-tls', 'sh', '-c', 'echo over-tls; exit 4'))
                $exec.Out | Should -Be 'over-tls' -Because $exec.Err
                $exec.Code | Should -Be 4
            }
            finally { (Invoke-DockerProcess -Arguments ($tls + @('rm', '-f', 'pester-tls'))).Code | Should -Be 0 }
        }

        It 'refuses a client without a certificate, with one of another CA, and plain HTTP' {
            $t = $script:tls
            # curl rather than docker for "no certificate": docker --tlsverify alone looks for a cert.pem of its own.
            $url = "https://127.0.0.1:$script:port/_ping"
            $with = Invoke-DockerProcess -FilePath /usr/bin/curl -Arguments @('-sS', '--cacert', "$t/ca.pem", '--cert', "$t/client-cert.pem", '--key', "$t/client-key.pem", $url)
            $with.Code | Should -Be 0 -Because $with.Err
            $with.Out | Should -Be 'OK'
            $none = Invoke-DockerProcess -FilePath /usr/bin/curl -Arguments @('-sS', '--cacert', "$t/ca.pem", $url)
            $none.Code | Should -Not -Be 0
            $none.Out | Should -Not -Be 'OK'
            $stranger = Invoke-DockerProcess -Arguments @('--tlsverify', '--tlscacert', "$t/ca.pem", '--tlscert', "$t/stranger-cert.pem", '--tlskey', "$t/stranger-key.pem",
                '-H', $script:tcpHost, 'version', '--format', '{{.Server.APIVersion}}')
            $stranger.Code | Should -Not -Be 0
            $stranger.Out | Should -Not -Match '1\.41'
            $plain = Invoke-DockerProcess -Arguments @('-H', $script:tcpHost, 'version', '--format', '{{.Server.APIVersion}}')
            $plain.Code | Should -Not -Be 0
            $plain.Out | Should -Not -Match '1\.41'
        }

        It 'refuses plain TCP, a partial TLS set and unreadable TLS files at start-up with clear errors' {
            $t = $script:tls
            { Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'plain.sock') -TcpAddress "127.0.0.1:$(Get-TestFreePort)" -ErrorAction Stop } |
                Should -Throw -ErrorId 'ApiTcpNeedsMutualTls,PSContainer.Commands.StartContainerApiServiceCommand'
            { Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'plain.sock') -TlsCertificate "$t/server-cert.pem" -ErrorAction Stop } |
                Should -Throw -ErrorId 'ApiTcpNeedsMutualTls,PSContainer.Commands.StartContainerApiServiceCommand'
            { Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'plain.sock') -TcpAddress "127.0.0.1:$(Get-TestFreePort)" `
                -TlsCertificate "$t/server-cert.pem" -TlsKey "$t/none.pem" -TlsCaCertificate "$t/ca.pem" -ErrorAction Stop } |
                Should -Throw -ErrorId 'ApiTlsFileNotFound,PSContainer.Commands.StartContainerApiServiceCommand'
            # A key that is not the certificate's: psc-api says so and exits; nothing is left listening.
            $err = { Start-ContainerApiService -SocketPath (Join-Path $script:state.Work 'plain.sock') -TcpAddress "127.0.0.1:$(Get-TestFreePort)" `
                -TlsCertificate "$t/server-cert.pem" -TlsKey "$t/client-key.pem" -TlsCaCertificate "$t/ca.pem" -ErrorAction Stop } |
                Should -Throw -ErrorId 'ApiServiceStartFailed,PSContainer.Commands.StartContainerApiServiceCommand' -PassThru
            $err.Exception.Message | Should -Match 'TLS|key'
            Join-Path $script:state.Work 'plain.sock' | Should -Not -Exist
        }
    }

    Context 'the systemd unit' {
        It 'writes a unit that runs psc-api with the socket, group, log and TLS listener, and removes it' {
            $dir = Join-Path $script:state.Work 'units'
            $t = Join-Path $script:state.Work 'tls'
            $socket = Join-Path $script:state.Work 'unit.sock'
            $log = Join-Path $script:state.Work 'unit-api.log'
            $file = Install-ContainerApiService -UnitDirectory $dir -SocketPath $socket -Group daemon -LogPath $log `
                -TcpAddress '127.0.0.1:2376' -TlsCertificate "$t/server-cert.pem" -TlsKey "$t/server-key.pem" -TlsCaCertificate "$t/ca.pem" -WarningAction SilentlyContinue
            $file.Name | Should -Match '^pscontainer-api-[0-9a-f]{12}\.service$' -Because 'a root other than the default gets a unit of its own'
            $text = Get-Content -Raw $file.FullName
            $exec = ($text -split "`n" | Where-Object { $_ -like 'ExecStart=*' })
            $exec | Should -Match '^ExecStart=/\S+/psc-api '
            $exec | Should -Match ([regex]::Escape("--socket $socket"))
            $exec | Should -Match ([regex]::Escape("--root $($script:state.Root)"))
            $exec | Should -Match '--group daemon'
            $exec | Should -Match ([regex]::Escape("--log $log"))
            $exec | Should -Match ([regex]::Escape("--tcp 127.0.0.1:2376 --tlscert $t/server-cert.pem --tlskey $t/server-key.pem --tlscacert $t/ca.pem"))
            $text | Should -Match '(?m)^Type=simple$'
            $text | Should -Match '(?m)^Restart=on-failure$'
            $text | Should -Match '(?m)^WantedBy=multi-user.target$'
            $binary = ($exec -replace '^ExecStart=', '' -split ' ')[0]
            $binary | Should -Exist

            if (Get-Command systemd-analyze -ErrorAction SilentlyContinue) {
                $verify = Invoke-DockerProcess -FilePath (Get-Command systemd-analyze).Source -Arguments @('verify', $file.FullName) -TimeoutSeconds 60
                # Complaints about this host (no systemd as init, other units) are not the unit's; lines naming it are.
                @($verify.Err -split "`n" | Where-Object { $_ -match [regex]::Escape($file.Name) }) | Should -BeNullOrEmpty -Because $verify.Err
            }

            # Without -LogPath: no --log, so under systemd the server logs to the journal.
            Uninstall-ContainerApiService -UnitDirectory $dir
            $file.FullName | Should -Not -Exist
            $journal = Install-ContainerApiService -UnitDirectory $dir -SocketPath $socket -WarningAction SilentlyContinue
            (Get-Content -Raw $journal.FullName) | Should -Not -Match '--log'
            (Get-Content -Raw $journal.FullName) | Should -Not -Match '--tcp'
            Uninstall-ContainerApiService -UnitDirectory $dir
            { Uninstall-ContainerApiService -UnitDirectory $dir -ErrorAction Stop } | Should -Throw -ErrorId 'ServiceUnitNotFound,PSContainer.Commands.UninstallContainerApiServiceCommand'
            { Install-ContainerApiService -UnitDirectory $dir -TcpAddress '127.0.0.1:2376' -ErrorAction Stop } |
                Should -Throw -ErrorId 'ApiTcpNeedsMutualTls,PSContainer.Commands.InstallContainerApiServiceCommand'
            @(Get-ChildItem $dir) | Should -BeNullOrEmpty
        }

        It 'logs to the journal (its standard output, in systemd''s format) when systemd runs it without --log' {
            $binary = Join-Path (Split-Path (Get-TestModulePath)) 'psc-api'
            $socket = Join-Path $script:state.Work 'journal.sock'
            $psi = [Diagnostics.ProcessStartInfo]::new($binary)
            foreach ($a in '--socket', $socket, '--root', $script:state.Root, '--runroot', $script:state.RunRoot) { $psi.ArgumentList.Add($a) }
            $psi.Environment['JOURNAL_STREAM'] = '8:12345'
            if ([PSContainer.Engine.Services.ApiServiceHost]::DotnetRoot()) { $psi.Environment['DOTNET_ROOT'] = [PSContainer.Engine.Services.ApiServiceHost]::DotnetRoot() }
            $psi.RedirectStandardError = $true
            $psi.RedirectStandardOutput = $true
            $p = [Diagnostics.Process]::Start($psi)
            try {
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while (-not (Test-Path "$socket.pid") -and [DateTime]::UtcNow -lt $deadline -and -not $p.HasExited) { Start-Sleep -Milliseconds 100 }
                "$socket.pid" | Should -Exist
            }
            finally {
                if (-not $p.HasExited) { [PSContainer.Native.ProcessSignal]::Send($p.Id, 15) | Out-Null }
                $p.WaitForExit(20000) | Should -BeTrue
            }
            # The systemd console format: one line per entry with its syslog priority, which journald reads.
            $written = $p.StandardOutput.ReadToEnd() + $p.StandardError.ReadToEnd()
            $written | Should -Match '<6>.*serving the Docker API'
            Join-Path $script:state.RunRoot 'psc-api.log' | Should -Not -Exist
            $socket | Should -Not -Exist
        }
    }
}
