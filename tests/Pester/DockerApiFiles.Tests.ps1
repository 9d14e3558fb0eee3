#Requires -Version 7.4
# The Docker Engine API's file, statistics and event endpoints (psc-api, issue 13) driven by the real docker CLI 20.10
# on a private socket over a private state root: docker cp both ways (running and stopped containers, a directory, a
# symlink), docker export, docker diff, docker stats --no-stream and the stats stream, docker events (a window, and a
# follow that sees a start made by Start-Container).

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
                  elseif (-not (Test-Path /usr/bin/curl)) { 'no curl (the stats stream is read with it)' }
}

Describe 'Docker Engine API: files, stats and events (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dfiles'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")

        $applets = 'sh', 'ls', 'cat', 'echo', 'true', 'sleep', 'mkdir', 'ln', 'rm', 'test'
        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet $applets
        Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:files' -Command sh | Out-Null
        $script:img = 'pester/busybox:files'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:socket = $script:service.Socket

        # A running container with a file, a directory and a symlink in /data, ready when it has said so.
        function script:Start-FilesContainer([string]$Name) {
            $run = Invoke-Docker run -d --name $Name $script:img sh -c 'mkdir -p /data/sub; echo hello > /data/a.txt; echo deep > /data/sub/b.txt; ln -s /data/a.txt /data/link; rm /etc/group; echo ready; exec sleep 300'
            $run.Code | Should -Be 0 -Because $run.Err
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while ((Invoke-Docker logs $Name).Out -notmatch 'ready') {
                if ([DateTime]::UtcNow -gt $deadline) { throw "container $Name did not get ready" }
                Start-Sleep -Milliseconds 100
            }
            $run.Out
        }
        function script:New-Dir([string]$Name) {
            $d = Join-Path $script:state.Work ($Name + '-' + [guid]::NewGuid().ToString('n').Substring(0, 8))
            New-Item -ItemType Directory $d | Out-Null
            $d
        }
        function script:New-TarBytes([hashtable]$Entries) {
            $memory = [IO.MemoryStream]::new()
            $writer = [Formats.Tar.TarWriter]::new($memory, [Formats.Tar.TarEntryFormat]::Pax, $true)
            foreach ($name in $Entries.Keys) {
                $entry = [Formats.Tar.PaxTarEntry]::new([Formats.Tar.TarEntryType]::RegularFile, $name)
                $entry.DataStream = [IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes($Entries[$name] + "`n"))
                $writer.WriteEntry($entry)
            }
            $writer.Dispose()
            , $memory.ToArray()
        }
        # True once the server's log matches PATTERN: psc-api logs each request when it has ended.
        function script:Wait-ApiLog([string]$Pattern) {
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while ([DateTime]::UtcNow -lt $deadline) {
                if ((Get-Content -Raw $script:service.LogPath -ErrorAction SilentlyContinue) -match $Pattern) { return $true }
                Start-Sleep -Milliseconds 200
            }
            $false
        }
        function script:Invoke-Api([string]$Method, [string]$Path, $Body) {
            $p = @{ UnixSocket = $script:socket; Uri = "http://localhost/v1.41$Path"; Method = $Method; SkipHttpErrorCheck = $true; TimeoutSec = 30 }
            if ($Body) { $p.Body = $Body; $p.ContentType = 'application/x-tar' }
            Invoke-WebRequest @p
        }
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
        Get-TestApiLeak -State $script:state | Should -BeNullOrEmpty
    }

    Context 'docker cp' {
        It 'copies a file, a directory and a symlink (its target kept) out of a running container, and says docker''s message for a missing path' {
            Start-FilesContainer files | Out-Null
            $out = New-Dir out
            $file = Invoke-Docker cp files:/data/a.txt "$out/a.txt"
            $file.Code | Should -Be 0 -Because $file.Err
            Get-Content "$out/a.txt" | Should -Be 'hello'
            $dir = Invoke-Docker cp files:/data "$out/data"
            $dir.Code | Should -Be 0 -Because $dir.Err
            Get-Content "$out/data/sub/b.txt" | Should -Be 'deep'
            Get-Content "$out/data/a.txt" | Should -Be 'hello'
            (Get-Item "$out/data/link").LinkTarget | Should -Be '/data/a.txt'
            $link = Invoke-Docker cp files:/data/link "$out/copied-link"
            $link.Code | Should -Be 0 -Because $link.Err
            (Get-Item "$out/copied-link").LinkTarget | Should -Be '/data/a.txt'
            # -L copies what the link leads to (the CLI follows the stat's linkTarget).
            $followed = Invoke-Docker cp -L files:/data/link "$out/followed"
            $followed.Code | Should -Be 0 -Because $followed.Err
            (Get-Item "$out/followed").LinkTarget | Should -BeNullOrEmpty
            Get-Content "$out/followed" | Should -Be 'hello'
            # "dir/." is the directory's contents, into a directory that does not exist yet.
            $contents = Invoke-Docker cp files:/data/sub/. "$out/contents"
            $contents.Code | Should -Be 0 -Because $contents.Err
            Get-Content "$out/contents/b.txt" | Should -Be 'deep'

            $missing = Invoke-Docker cp files:/nope "$out/nope"
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'No such container:path: files:/nope'
            "$out/nope" | Should -Not -Exist
            $noContainer = Invoke-Docker cp nosuch:/etc/passwd "$out/passwd"
            $noContainer.Code | Should -Not -Be 0
            $noContainer.Err | Should -Match 'No such container:path: nosuch:/etc/passwd'
            # The API's own answer: 404 with dockerd's message.
            $r = Invoke-Api Get '/containers/files/archive?path=/nope'
            [int]$r.StatusCode | Should -Be 404
            ($r.Content | ConvertFrom-Json).message | Should -Be 'Could not find the file /nope in container files'
        }

        It 'HEAD and GET archive send the path''s stat (name, size, Go file mode, link target) as X-Docker-Container-Path-Stat' {
            Start-FilesContainer files | Out-Null
            $r = Invoke-Api Head '/containers/files/archive?path=/data/link'
            [int]$r.StatusCode | Should -Be 200
            $stat = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String("$($r.Headers['X-Docker-Container-Path-Stat'])")) | ConvertFrom-Json
            $stat.name | Should -Be 'link'
            $stat.linkTarget | Should -Be '/data/a.txt'
            ([uint32]$stat.mode -band (1 -shl 27)) | Should -Not -Be 0 -Because 'os.ModeSymlink'
            $g = Invoke-Api Get '/containers/files/archive?path=/data/a.txt'
            [int]$g.StatusCode | Should -Be 200
            "$($g.Headers['Content-Type'])" | Should -Be 'application/x-tar'
            $fileStat = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String("$($g.Headers['X-Docker-Container-Path-Stat'])")) | ConvertFrom-Json
            $fileStat.name | Should -Be 'a.txt'
            $fileStat.size | Should -Be 6
            ([uint32]$fileStat.mode -band 0x1FF) | Should -Be ([Convert]::ToInt32('644', 8))
            $dirStat = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String("$((Invoke-Api Head '/containers/files/archive?path=/data').Headers['X-Docker-Container-Path-Stat'])")) | ConvertFrom-Json
            ([uint32]$dirStat.mode -band [uint32]2147483648) | Should -Not -Be 0 -Because 'os.ModeDir'
            [int](Invoke-Api Head '/containers/files/archive?path=/nope').StatusCode | Should -Be 404
        }

        It 'copies a file, a directory and a symlink into a running container and into a stopped one' {
            Start-FilesContainer files | Out-Null
            $in = New-Dir in
            Set-Content "$in/in.txt" 'from host'
            New-Item -ItemType Directory "$in/tree/inner" | Out-Null
            Set-Content "$in/tree/inner/x.txt" 'tree file'
            New-Item -ItemType SymbolicLink -Path "$in/hostlink" -Target '/data/a.txt' | Out-Null
            $cases = @(
                @{ Source = "$in/in.txt"; Destination = 'files:/data/in.txt' },
                @{ Source = "$in/tree"; Destination = 'files:/data/' },
                @{ Source = "$in/hostlink"; Destination = 'files:/data/newlink' })
            foreach ($case in $cases) {
                $cp = Invoke-Docker cp $case.Source $case.Destination
                $cp.Code | Should -Be 0 -Because "$($case.Source): $($cp.Err)"
            }
            $back = New-Dir back
            (Invoke-Docker cp files:/data "$back/data").Code | Should -Be 0
            Get-Content "$back/data/in.txt" | Should -Be 'from host'
            Get-Content "$back/data/tree/inner/x.txt" | Should -Be 'tree file'
            (Get-Item "$back/data/newlink").LinkTarget | Should -Be '/data/a.txt'
            # The copy belongs to the container's root (no -a).
            (Get-Item "$back/data/in.txt").User | Should -Be 'root'

            # Larger than Kestrel's default request body limit (30 MB), both ways.
            $big = [IO.File]::Create("$in/big.bin")
            $big.SetLength(40MB); $big.Dispose()
            $bigIn = Invoke-Docker cp "$in/big.bin" files:/data/big.bin
            $bigIn.Code | Should -Be 0 -Because $bigIn.Err
            (Invoke-Docker cp files:/data/big.bin "$back/big.bin").Code | Should -Be 0
            (Get-Item "$back/big.bin").Length | Should -Be 40MB

            (Invoke-Docker stop -t 1 files).Code | Should -Be 0
            (Get-Container files).State | Should -Be 'Exited'
            Set-Content "$in/stopped.txt" 'while stopped'
            $cpStopped = Invoke-Docker cp "$in/stopped.txt" files:/data/stopped.txt
            $cpStopped.Code | Should -Be 0 -Because $cpStopped.Err
            $outStopped = Invoke-Docker cp files:/data/stopped.txt "$back/stopped.txt"
            $outStopped.Code | Should -Be 0 -Because $outStopped.Err
            Get-Content "$back/stopped.txt" | Should -Be 'while stopped'
            # What docker cp put in is what the engine's own copy reads.
            Copy-ContainerItem files:/data/in.txt "$back/by-cmdlet.txt"
            Get-Content "$back/by-cmdlet.txt" | Should -Be 'from host'
        }

        It 'PUT archive unpacks an absolute name under the directory, refuses a ../ name, a missing directory and (noOverwriteDirNonDir) a file over a directory' {
            Start-FilesContainer files | Out-Null
            $marker = "psc-escape-$([guid]::NewGuid().ToString('n'))"
            $absolute = Invoke-Api Put '/containers/files/archive?path=/data' (New-TarBytes @{ "/tmp/$marker" = 'abs' })
            [int]$absolute.StatusCode | Should -Be 200 -Because $absolute.Content
            "/tmp/$marker" | Should -Not -Exist
            $back = New-Dir back
            (Invoke-Docker cp "files:/data/tmp/$marker" "$back/abs").Code | Should -Be 0 -Because 'an absolute name is unpacked under the directory, as dockerd does'
            Get-Content "$back/abs" | Should -Be 'abs'

            $escape = Invoke-Api Put '/containers/files/archive?path=/data' (New-TarBytes @{ "../../../../../tmp/$marker" = 'escaped?' })
            [int]$escape.StatusCode | Should -Be 400
            ($escape.Content | ConvertFrom-Json).message | Should -Match 'outside'
            "/tmp/$marker" | Should -Not -Exist
            (Invoke-Docker cp "files:/tmp/$marker" "$back/x").Code | Should -Not -Be 0 -Because 'nothing of a refused entry is written'

            $missing = Invoke-Api Put '/containers/files/archive?path=/no/such/dir' (New-TarBytes @{ 'x' = 'x' })
            [int]$missing.StatusCode | Should -Be 404
            # /data/sub is a directory: a tar with a file named sub is refused with noOverwriteDirNonDir, taken without.
            $refused = Invoke-Api Put '/containers/files/archive?path=/data&noOverwriteDirNonDir=true' (New-TarBytes @{ 'sub' = 'file' })
            [int]$refused.StatusCode | Should -Be 400
            ($refused.Content | ConvertFrom-Json).message | Should -Match 'cannot overwrite directory'
            (Invoke-Docker cp files:/data/sub/b.txt "$back/b.txt").Code | Should -Be 0 -Because 'the directory is still there'
            $replaced = Invoke-Api Put '/containers/files/archive?path=/data' (New-TarBytes @{ 'sub' = 'file' })
            [int]$replaced.StatusCode | Should -Be 200 -Because $replaced.Content
            (Invoke-Docker cp files:/data/sub "$back/sub").Code | Should -Be 0
            Get-Content "$back/sub" | Should -Be 'file'
        }
    }

    Context 'docker export and docker diff' {
        It 'docker export writes the container''s file system as a tar' {
            Start-FilesContainer files | Out-Null
            $list = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'docker export files | tar t'
            $list.Code | Should -Be 0 -Because $list.Err
            $list.Lines | Should -Contain 'bin/busybox'
            $list.Lines | Should -Contain 'data/a.txt'
            $list.Lines | Should -Contain 'data/link'
            $list.Lines | Should -Not -Contain 'etc/group' -Because 'the container deleted it'
            $list.Lines | Should -Not -Contain 'proc/self' -Because 'export is the image and its changes, not the container''s mounts'
            $no = Invoke-Docker export nosuch
            $no.Code | Should -Not -Be 0
            $no.Err | Should -Match 'No such container: nosuch'
        }

        It 'docker diff lists what the container added (A), changed (C) and deleted (D), running and stopped' {
            Start-FilesContainer files | Out-Null
            $diff = Invoke-Docker diff files
            $diff.Code | Should -Be 0 -Because $diff.Err
            $diff.Lines | Should -Contain 'A /data'
            $diff.Lines | Should -Contain 'A /data/a.txt'
            $diff.Lines | Should -Contain 'A /data/link'
            $diff.Lines | Should -Contain 'C /etc'
            $diff.Lines | Should -Contain 'D /etc/group'
            (Invoke-Docker stop -t 1 files).Code | Should -Be 0
            (Invoke-Docker diff files).Lines | Should -Contain 'D /etc/group'
            $json = Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/files/changes'
            ($json | Where-Object Path -eq '/data/a.txt').Kind | Should -Be 1
            ($json | Where-Object Path -eq '/etc').Kind | Should -Be 0
            ($json | Where-Object Path -eq '/etc/group').Kind | Should -Be 2
        }
    }

    Context 'docker stats' {
        It 'docker stats --no-stream shows CPU %, memory usage / limit, network I/O and PIDs' {
            $run = Invoke-Docker run -d --name busy -m 64m $script:img sh -c 'while :; do :; done'
            $run.Code | Should -Be 0 -Because $run.Err
            Start-FilesContainer idle | Out-Null
            $stats = Invoke-Docker stats --no-stream --format '{{.Name}}|{{.CPUPerc}}|{{.MemUsage}}|{{.NetIO}}|{{.PIDs}}' busy idle
            $stats.Code | Should -Be 0 -Because $stats.Err
            $lines = @{}
            foreach ($l in $stats.Lines) { $f = $l -split '\|'; $lines[$f[0]] = $f }
            $busy = $lines['busy']
            $busy | Should -Not -BeNullOrEmpty -Because $stats.Out
            # Only more than nothing: on a loaded machine a busy loop may get a small share of a CPU.
            [double]($busy[1].TrimEnd('%')) | Should -BeGreaterThan 0 -Because "a busy loop uses CPU ($($busy[1]))"
            $busy[2] | Should -Match '^[0-9.]+[KMG]?i?B / 64MiB$'
            $busy[3] | Should -Match '^[0-9.]+[kMG]?B / [0-9.]+[kMG]?B$'
            [int]$busy[4] | Should -BeGreaterOrEqual 1
            $idle = $lines['idle']
            [double]($idle[1].TrimEnd('%')) | Should -BeLessThan ([double]($busy[1].TrimEnd('%')))
            $idle[2] | Should -Match '^[0-9.]+[KMG]?i?B / [0-9.]+[MGT]iB$' -Because 'without a limit, the host''s memory'
            # Without names the CLI lists the running containers (and watches /events for new ones meanwhile).
            $every = Invoke-Docker stats --no-stream --format '{{.Name}}'
            $every.Code | Should -Be 0 -Because $every.Err
            @($every.Lines | Sort-Object) | Should -Be @('busy', 'idle')
            $no = Invoke-Docker stats --no-stream nosuch
            $no.Code | Should -Not -Be 0
            $no.Err | Should -Match 'No such container: nosuch'
        }

        It 'streams a reading a second in docker''s JSON until the client leaves; one-shot answers at once' {
            Start-FilesContainer idle | Out-Null
            $curl = Invoke-DockerProcess -FilePath /usr/bin/curl -TimeoutSeconds 20 -Arguments '-sN', '--max-time', '3.6', '--unix-socket', $script:socket, 'http://localhost/v1.41/containers/idle/stats'
            $curl.Code | Should -Be 28 -Because 'curl ends the stream at its --max-time'
            $curl.Lines.Count | Should -BeGreaterOrEqual 2
            $curl.Lines.Count | Should -BeLessOrEqual 4
            $first = $curl.Lines[0] | ConvertFrom-Json
            $first.name | Should -Be '/idle'
            $first.cpu_stats.online_cpus | Should -BeGreaterThan 0
            $first.cpu_stats.system_cpu_usage | Should -BeGreaterThan $first.precpu_stats.system_cpu_usage
            $first.memory_stats.usage | Should -BeGreaterThan 0
            $first.pids_stats.current | Should -BeGreaterOrEqual 1
            $first.networks.eth0 | Should -Not -BeNullOrEmpty
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $one = Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/idle/stats?stream=false&one-shot=true' -TimeoutSec 10
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'one reading, not a stream'
            $one.precpu_stats.system_cpu_usage | Should -Be 0 -Because 'a single reading has nothing before it (no second reading was waited for)'
            $one.read | Should -Not -Be '0001-01-01T00:00:00Z'
            # The server's side of the stream ends when the client goes away (the request is logged when it ends).
            Wait-ApiLog 'GET /v1\.41/containers/idle/stats 200 ' | Should -BeTrue -Because 'the stats loop stops with its client'
            (Invoke-Docker version --format '{{.Server.APIVersion}}').Out | Should -Be '1.44'
        }
    }

    Context 'docker events' {
        It 'docker events --since/--until lists the window''s events of API and cmdlet containers, with filters' {
            $since = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() - 1
            (Invoke-Docker create --name viaapi -l tier=api $script:img true).Code | Should -Be 0
            New-Container $script:img -Name viacmdlet -Command true | Out-Null
            (Invoke-Docker start viaapi).Code | Should -Be 0
            (Invoke-Docker wait viaapi).Code | Should -Be 0
            Start-Sleep -Milliseconds 1100
            $until = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 1
            $format = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}'
            $all = Invoke-DockerProcess -TimeoutSeconds 20 -Arguments events, '--since', $since, '--until', $until, '--format', $format
            $all.Code | Should -Be 0 -Because $all.Err
            $all.Lines | Should -Contain 'container create viaapi'
            $all.Lines | Should -Contain 'container create viacmdlet'
            $all.Lines | Should -Contain 'container start viaapi'
            $all.Lines | Should -Contain 'container die viaapi'
            $filtered = Invoke-DockerProcess -TimeoutSeconds 20 -Arguments events, '--since', $since, '--until', $until, '--format', $format, '--filter', 'event=create', '--filter', 'container=viacmdlet'
            $filtered.Lines | Should -Be @('container create viacmdlet')
            $labelled = Invoke-DockerProcess -TimeoutSeconds 20 -Arguments events, '--since', $since, '--until', $until, '--format', $format, '--filter', 'label=tier=api', '--filter', 'event=start'
            $labelled.Lines | Should -Be @('container start viaapi')
            $json = Invoke-DockerProcess -TimeoutSeconds 20 -Arguments events, '--since', $since, '--until', $until, '--format', '{{json .}}', '--filter', 'container=viaapi', '--filter', 'event=create'
            $event = $json.Lines[0] | ConvertFrom-Json
            $event.status | Should -Be 'create'
            $event.id | Should -Be $event.Actor.ID
            $event.from | Should -Be $script:img
            $event.Actor.Attributes.image | Should -Be $script:img
            $event.timeNano | Should -BeGreaterThan ([long]$since * 1000000000)
            $bad = Invoke-DockerProcess -TimeoutSeconds 20 -Arguments events, '--since', $since, '--until', $until, '--filter', 'colour=red'
            $bad.Code | Should -Not -Be 0
            $bad.Err | Should -Match "Invalid filter 'colour'"
        }

        It 'a followed docker events sees a start made by Start-Container, and a follow with --until ends then' {
            New-Container $script:img -Name followed -Command sleep, 300 | Out-Null
            $psi = [Diagnostics.ProcessStartInfo]::new('/usr/bin/docker')
            foreach ($a in 'events', '--filter', 'event=start', '--format', '{{.Action}} {{.Actor.Attributes.name}}') { $psi.ArgumentList.Add($a) }
            $psi.RedirectStandardOutput = $true
            $psi.RedirectStandardError = $true
            $follow = [Diagnostics.Process]::Start($psi)
            try {
                $line = $follow.StandardOutput.ReadLineAsync()
                # The follow reads only what comes after it connected: give the CLI time to get its answer's headers.
                Start-Sleep -Seconds 2
                Start-Container followed
                $line.Wait(15000) | Should -BeTrue -Because 'the start is streamed to the follower'
                $line.Result | Should -Be 'start followed'
                $follow.HasExited | Should -BeFalse -Because 'a follow stays open until the client leaves'
            }
            finally {
                if (-not $follow.HasExited) { $follow.Kill(); $follow.WaitForExit(10000) | Out-Null }
                $follow.Dispose()
            }
            Wait-ApiLog 'GET /v1\.41/events\?filters=[^& ]+ 200 ' | Should -BeTrue -Because 'the follow ends on the server when its client goes away'
            $clock = [Diagnostics.Stopwatch]::StartNew()
            $until = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 3
            $ends = Invoke-DockerProcess -TimeoutSeconds 30 -Arguments events, '--until', $until
            $ends.Code | Should -Be 0 -Because $ends.Err
            $clock.Elapsed.TotalSeconds | Should -BeLessThan 10
        }
    }
}
