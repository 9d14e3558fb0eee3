#Requires -Version 7.4
# The Docker Engine API's hijacked streams (psc-api, issue 13): attached exec with and without a TTY, stdin for exec
# and for a TTY container's attach, resize, detach keys; driven by the real docker CLI (/usr/bin/docker 20.10), through
# a REAL pseudo-terminal where docker wants one (a bash in a private tmux server: keys in with send-keys, the screen
# back with capture-pane), and by hand on the raw socket where the wire format itself is the point.

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'Docker API streams (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dstr'
        Import-Module (Get-TestModulePath) -Force
        $native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$native/psc-runtime") -and (Test-Path "$native/psc-monitor")
        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'cat', 'echo', 'true', 'sleep', 'stty', 'tty', 'od', 'wc', 'printf')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/streams:1' -Command sh | Out-Null
        $script:img = 'pester/streams:1'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:socket = $script:service.Socket

        # Runtime execs of this root (an exec's runtime names the root on its command line) and their process files.
        function script:Get-ExecLeak {
            @(
                foreach ($p in Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -Match '^\d+$') {
                    $cmd = (Get-Content "/proc/$($p.Name)/cmdline" -Raw -ErrorAction SilentlyContinue) -replace "`0", ' '
                    if ($cmd -and $cmd -match ' exec ' -and $cmd.Contains($script:state.Root)) { "exec $($p.Name): $cmd" }
                }
                Get-ChildItem (Join-Path $script:state.RunRoot 'containers') -Recurse -Filter 'exec-*.json' -ErrorAction SilentlyContinue | ForEach-Object { "file $($_.FullName)" }
            )
        }

        # ---- tmux: a bash whose docker CLI talks to the test's server ---------------------------------------------
        Import-Module "$PSScriptRoot/TmuxSupport.psm1" -Force
        $script:hasTmux = Initialize-TestTmux -Prefix 'psc-dstr'
        function script:Get-PaneSize([string]$Session) { (Invoke-Tmux display-message -p -t $Session '#{pane_height} #{pane_width}') }
        function script:Start-TmuxShell([string]$Session) {
            Invoke-Tmux new-session -d -s $Session -x 100 -y 30 -e "DOCKER_HOST=$env:DOCKER_HOST" -e "DOCKER_CONFIG=$env:DOCKER_CONFIG" -e 'TERM=xterm' 'bash --norc --noprofile'
            if ($LASTEXITCODE -ne 0) { throw "tmux new-session failed ($LASTEXITCODE)" }
            # The prompt spelled so that the line setting it does not show it.
            Send-Line $Session "PS1='S''H> '"
            Wait-Screen $Session '(?m)^SH> $' | Out-Null
        }
        # The shell's prompt is back and $? was CODE.
        function script:Assert-ShellExit([string]$Session, [int]$Code) {
            Wait-Screen $Session '(?m)^SH> $' | Out-Null
            Send-Line $Session 'echo "R""C=$?"'
            Wait-Screen $Session "RC=$Code\b" | Out-Null
        }

        # COMMAND starts a busybox sh on a terminal in a new tmux shell: its terminal is a pty of the pane's size,
        # follows the pane's resize, and the shell's exit code is the command's.
        function script:Assert-TerminalSession([string]$Session, [string]$Command, [int]$Exit) {
            Start-TmuxShell $Session
            Send-Line $Session $Command
            Wait-Screen $Session '(?m)^/ # ' | Out-Null
            Send-Line $Session 'echo "S""Z=$(stty size) T""T=$(tty)"'
            Wait-Screen $Session "SZ=$(Get-PaneSize $Session) TT=/dev/pts/\d+" | Out-Null
            Invoke-Tmux resize-window -t $Session -x 120 -y 40
            Get-PaneSize $Session | Should -Be '40 120'
            Send-Line $Session 'echo "N""W=$(stty size)"'
            Wait-Screen $Session 'NW=40 120' | Out-Null
            Send-Line $Session "exit $Exit"
            Assert-ShellExit $Session $Exit
        }

        # ---- the raw socket -------------------------------------------------------------------------------------
        function script:Connect-ApiSocket {
            $s = [Net.Sockets.Socket]::new([Net.Sockets.AddressFamily]::Unix, [Net.Sockets.SocketType]::Stream, [Net.Sockets.ProtocolType]::Unspecified)
            $s.Connect([Net.Sockets.UnixDomainSocketEndPoint]::new($script:socket))
            $s.ReceiveTimeout = 20000
            $s
        }
        # Everything the server sends until it closes the connection (bounded by the receive timeout).
        function script:Receive-ToEnd($Socket) {
            $all = [IO.MemoryStream]::new()
            $buffer = [byte[]]::new(65536)
            while (($n = $Socket.Receive($buffer)) -gt 0) { $all.Write($buffer, 0, $n) }
            , $all.ToArray()
        }
        # docker's multiplexed frames: [stream, 0, 0, 0, size (4 bytes big-endian)] payload.
        function script:Split-Frame([byte[]]$Data) {
            $at = 0
            while ($at -lt $Data.Length) {
                $Data.Length - $at | Should -BeGreaterOrEqual 8 -Because 'a frame starts with a whole 8-byte header'
                $Data[$at + 1] + $Data[$at + 2] + $Data[$at + 3] | Should -Be 0
                $size = ([int]$Data[$at + 4] -shl 24) -bor ([int]$Data[$at + 5] -shl 16) -bor ([int]$Data[$at + 6] -shl 8) -bor [int]$Data[$at + 7]
                [pscustomobject]@{ Stream = [int]$Data[$at]; Text = [Text.Encoding]::UTF8.GetString($Data, $at + 8, $size) }
                $at += 8 + $size
            }
        }
        # An attach with stdin on the raw socket (stream, stdin, stdout, stderr): sends BYTES, half-closes with
        # -HalfClose, and returns the frames the server sent until it closed the connection.
        function script:Invoke-RawAttach([string]$Container, [byte[]]$Bytes, [switch]$HalfClose, [string]$Query = '') {
            $s = Connect-ApiSocket
            try {
                $request = "POST /v1.44/containers/$Container/attach?stream=1&stdin=1&stdout=1&stderr=1$Query HTTP/1.1`r`nHost: docker`r`nContent-Length: 0`r`nConnection: Upgrade`r`nUpgrade: tcp`r`n`r`n"
                $s.Send([Text.Encoding]::ASCII.GetBytes($request)) | Out-Null
                if ($Bytes) { $s.Send($Bytes) | Out-Null }
                if ($HalfClose) { $s.Shutdown([Net.Sockets.SocketShutdown]::Send) }
                $reply = Receive-ToEnd $s
            }
            finally { $s.Dispose() }
            $text = [Text.Encoding]::Latin1.GetString($reply)
            $headEnd = $text.IndexOf("`r`n`r`n")
            $text.Substring(0, $headEnd) | Should -Match '^HTTP/1.1 101 '
            if ($reply.Length -gt $headEnd + 4) { Split-Frame ([byte[]]$reply[($headEnd + 4)..($reply.Length - 1)]) }
        }
        function script:New-Exec([string]$Container, [hashtable]$Config) {
            Invoke-RestMethod -UnixSocket $script:socket -Uri "http://localhost/v1.41/containers/$Container/exec" -Method Post -ContentType 'application/json' -Body ($Config | ConvertTo-Json -Compress)
        }
    }

    AfterAll {
        if ($script:hasTmux) { Stop-TestTmux }
        # Checked after the clean-up, so a failure here leaves nothing behind either.
        Remove-TestApiSuite $script:service $script:state | Should -BeNullOrEmpty -Because 'no server, socket or bridge of the test root outlives it'
    }

    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
    }

    AfterEach {
        if ($script:hasTmux) { Stop-TestTmux }
        Get-Container -All | Remove-Container -Force
        Get-TestApiLeak -State $script:state | Should -BeNullOrEmpty
        Get-ExecLeak | Should -BeNullOrEmpty -Because 'no runtime exec or its process file outlives its exec'
    }

    Context 'attached exec without a terminal' {
        It 'docker exec keeps stdout and stderr apart, passes partial lines and long output, and exits with the code' {
            (Invoke-Docker run -d --name ex $script:img sleep 300).Code | Should -Be 0
            $r = Invoke-Docker exec ex sh -c 'echo out; echo err >&2; exit 3'
            $r.Code | Should -Be 3 -Because $r.Err
            $r.Out | Should -Be 'out'
            $r.Err | Should -Be 'err'
            $partial = Invoke-Docker exec ex sh -c 'echo -n part; sleep 0.2; echo -n ial'
            $partial.Code | Should -Be 0
            $partial.Out | Should -BeExactly 'partial'
            $long = Invoke-Docker exec ex sh -c 'i=0; while [ $i -lt 20000 ]; do echo line$i; i=$((i+1)); done'
            $long.Lines.Count | Should -Be 20000
            $long.Lines[-1] | Should -Be 'line19999'
            (Invoke-Docker exec ex sh -c 'kill -9 $$').Code | Should -Be 137
            $missing = Invoke-Docker exec ex /nonexistent
            $missing.Code | Should -Not -Be 0
        }

        It 'docker exec -i feeds stdin to the process, bytes untouched, and its end closes the process''s stdin' {
            (Invoke-Docker run -d --name ex $script:img sleep 300).Code | Should -Be 0
            $cat = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'echo hi | docker exec -i ex cat'
            $cat.Code | Should -Be 0 -Because $cat.Err
            $cat.Out | Should -Be 'hi'
            (Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'printf "a\nb\nc\n" | docker exec -i ex wc -l').Out | Should -Be '3'
            (Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'printf "\000\001\015\012\377" | docker exec -i ex od -An -tx1').Out.Trim() | Should -Be '00 01 0d 0a ff'
            $big = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'head -c 3000000 /dev/zero | docker exec -i ex wc -c'
            $big.Out | Should -Be '3000000'
            # Without -i the process's stdin is empty: cat ends at once.
            $noInput = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', 'echo hi | docker exec ex cat'
            $noInput.Code | Should -Be 0
            $noInput.Out | Should -BeNullOrEmpty
        }

        It 'upgrades the start request of an attached exec on the raw socket: 101, frames per stream, stdin raw, half-close is EOF' {
            (Invoke-Docker run -d --name ex $script:img sleep 300).Code | Should -Be 0
            $exec = New-Exec ex @{ AttachStdin = $true; AttachStdout = $true; AttachStderr = $true; Cmd = @('sh', '-c', 'cat; echo done >&2; exit 6') }
            $s = Connect-ApiSocket
            try {
                $body = '{"Detach":false,"Tty":false}'
                $request = "POST /v1.41/exec/$($exec.Id)/start HTTP/1.1`r`nHost: docker`r`nContent-Type: application/json`r`nContent-Length: $($body.Length)`r`nConnection: Upgrade`r`nUpgrade: tcp`r`n`r`n$body"
                $s.Send([Text.Encoding]::ASCII.GetBytes($request)) | Out-Null
                $s.Send([byte[]](97, 98, 0, 10)) | Out-Null
                $s.Shutdown([Net.Sockets.SocketShutdown]::Send)
                $reply = Receive-ToEnd $s
            }
            finally { $s.Dispose() }
            $text = [Text.Encoding]::Latin1.GetString($reply)
            $headEnd = $text.IndexOf("`r`n`r`n")
            $head = $text.Substring(0, $headEnd)
            $head | Should -Match '^HTTP/1.1 101 '
            $head | Should -Match '(?im)^Upgrade: tcp\r?$'
            $head | Should -Match '(?im)^Content-Type: application/vnd.docker.raw-stream\r?$'
            $frames = @(Split-Frame ([byte[]]$reply[($headEnd + 4)..($reply.Length - 1)]))
            (@($frames | Where-Object Stream -EQ 1).Text -join '') | Should -BeExactly "ab`0`n"
            (@($frames | Where-Object Stream -EQ 2).Text -join '') | Should -BeExactly "done`n"
            $inspect = Invoke-RestMethod -UnixSocket $script:socket -Uri "http://localhost/v1.41/exec/$($exec.Id)/json"
            $inspect.Running | Should -BeFalse
            $inspect.ExitCode | Should -Be 6
            $inspect.OpenStdin | Should -BeTrue
            $inspect.Pid | Should -BeGreaterThan 0
            $inspect.ProcessConfig.tty | Should -BeFalse
            $inspect.ProcessConfig.entrypoint | Should -Be 'sh'
            $inspect.ProcessConfig.arguments | Should -Be @('-c', 'cat; echo done >&2; exit 6')
            # Once only; and a resize of an exec without a terminal is refused.
            $again = Invoke-WebRequest -UnixSocket $script:socket -Uri "http://localhost/v1.41/exec/$($exec.Id)/start" -Method Post -ContentType 'application/json' -Body '{"Detach":true}' -SkipHttpErrorCheck
            [int]$again.StatusCode | Should -Be 409
            ($again.Content | ConvertFrom-Json).message | Should -Match 'already been started'
            $resize = Invoke-WebRequest -UnixSocket $script:socket -Uri "http://localhost/v1.41/exec/$($exec.Id)/resize?h=10&w=20" -Method Post -SkipHttpErrorCheck
            [int]$resize.StatusCode | Should -Be 409
            ($resize.Content | ConvertFrom-Json).message | Should -Match 'no terminal'
        }

        It 'serves an attached exec start without an upgrade as a 200 whose body is the frames' {
            (Invoke-Docker run -d --name ex $script:img sleep 300).Code | Should -Be 0
            $exec = New-Exec ex @{ AttachStdout = $true; AttachStderr = $true; Cmd = @('sh', '-c', 'echo plain; echo oops >&2') }
            $r = Invoke-WebRequest -UnixSocket $script:socket -Uri "http://localhost/v1.41/exec/$($exec.Id)/start" -Method Post -ContentType 'application/json' -Body '{"Detach":false,"Tty":false}'
            [int]$r.StatusCode | Should -Be 200
            $bytes = [byte[]]$r.RawContentStream.ToArray()
            $frames = @(Split-Frame $bytes)
            ($frames | ForEach-Object { "$($_.Stream):$($_.Text)" }) -join '' | Should -Match '1:plain\n'
            ($frames | Where-Object Stream -EQ 2).Text | Should -Be "oops`n"
        }
    }

    Context 'stdin without a terminal (docker run -i)' {
        It 'echo hello | docker run -i --rm cat prints hello; a program reading to EOF gets all of its input, bytes untouched' {
            $cat = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "echo hello | docker run -i --rm $($script:img) cat"
            $cat.Code | Should -Be 0 -Because $cat.Err
            $cat.Out | Should -BeExactly 'hello'
            $wc = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "printf 'a\nb\nc\n' | docker run -i --rm $($script:img) wc -l"
            $wc.Out | Should -Be '3' -Because $wc.Err
            $od = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "printf '\000\001\015\012\377' | docker run -i --rm $($script:img) od -An -tx1"
            $od.Out.Trim() | Should -Be '00 01 0d 0a ff'
            # More than a pipe holds: the monitor holds back until the container reads, nothing is dropped.
            $big = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "head -c 3000000 /dev/zero | docker run -i --rm $($script:img) sh -c 'sleep 1; wc -c'" -TimeoutSeconds 120
            $big.Out | Should -Be '3000000' -Because $big.Err
            # Its exit code is the program's, after its input ended.
            (Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "echo x | docker run -i --rm $($script:img) sh -c 'cat >/dev/null; exit 5'").Code | Should -Be 5
            # Without -i the container's stdin is empty: cat ends at once.
            $noInput = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "echo hi | docker run --rm $($script:img) cat"
            $noInput.Code | Should -Be 0
            $noInput.Out | Should -BeNullOrEmpty
            @(Get-Container -All) | Should -BeNullOrEmpty -Because '--rm'
        }

        It 'attach to a running -i container feeds its stdin; its end ends the attach, the stdin staying open without StdinOnce' {
            (Invoke-Docker run -di --name si $script:img sh -c 'while read l; do echo "got:$l"; done; echo eof-seen').Code | Should -Be 0
            (Invoke-Docker inspect -f '{{.Config.OpenStdin}} {{.Config.StdinOnce}} {{.Config.Tty}}' si).Out | Should -Be 'true false false'
            foreach ($word in 'one', 'two') {
                # The half-close after the input: dockerd then ends this attach (no StdinOnce), and so must we.
                $frames = @(Invoke-RawAttach si ([Text.Encoding]::ASCII.GetBytes("$word`n")) -HalfClose)
                $deadline = [DateTime]::UtcNow.AddSeconds(10)
                while (-not ((Invoke-Docker logs si).Out -match "got:$word") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
                (Invoke-Docker logs si).Out | Should -Match "got:$word"
            }
            (Invoke-Docker inspect -f '{{.State.Running}}' si).Out | Should -Be 'true' -Because 'the end of an attach''s input leaves the stdin of a container without StdinOnce open'
            (Invoke-Docker logs si).Out | Should -Not -Match 'eof-seen'
        }

        It 'docker start -ai feeds a created -i container (StdinOnce): the input''s end is its EOF, each start anew' {
            (Invoke-Docker create -i --name sai $script:img sh -c 'cat; echo done').Code | Should -Be 0
            (Invoke-Docker inspect -f '{{.Config.OpenStdin}} {{.Config.StdinOnce}}' sai).Out | Should -Be 'true true'
            foreach ($word in 'first', 'second') {
                $r = Invoke-DockerProcess -FilePath /bin/sh -Arguments '-c', "echo $word | docker start -ai sai" -TimeoutSeconds 30
                $r.Code | Should -Be 0 -Because $r.Err
                $r.Lines | Should -Be @($word, 'done')
            }
        }

        It 'attaches on the raw socket: stdin raw in, frames out; with StdinOnce the half-close is the container''s EOF' {
            $body = @{ Image = $script:img; Cmd = @('sh', '-c', 'cat; echo after-eof >&2'); OpenStdin = $true; StdinOnce = $true; AttachStdin = $true } | ConvertTo-Json -Compress
            Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.44/containers/create?name=once' -Method Post -ContentType 'application/json' -Body $body | Out-Null
            $s = Connect-ApiSocket
            try {
                $request = "POST /v1.44/containers/once/attach?stream=1&stdin=1&stdout=1&stderr=1 HTTP/1.1`r`nHost: docker`r`nContent-Length: 0`r`nConnection: Upgrade`r`nUpgrade: tcp`r`n`r`n"
                $s.Send([Text.Encoding]::ASCII.GetBytes($request)) | Out-Null
                # Sent before the start (docker run attaches first): held until the container runs.
                $s.Send([byte[]](120, 121, 0, 10)) | Out-Null
                Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.44/containers/once/start' -Method Post | Out-Null
                $s.Send([byte[]](122, 10)) | Out-Null
                $s.Shutdown([Net.Sockets.SocketShutdown]::Send)
                $reply = Receive-ToEnd $s
            }
            finally { $s.Dispose() }
            $text = [Text.Encoding]::Latin1.GetString($reply)
            $headEnd = $text.IndexOf("`r`n`r`n")
            $text.Substring(0, $headEnd) | Should -Match '^HTTP/1.1 101 '
            $frames = @(Split-Frame ([byte[]]$reply[($headEnd + 4)..($reply.Length - 1)]))
            (@($frames | Where-Object Stream -EQ 1).Text -join '') | Should -BeExactly "xy`0`nz`n"
            (@($frames | Where-Object Stream -EQ 2).Text -join '') | Should -BeExactly "after-eof`n"
            (Invoke-Docker wait once).Out | Should -Be '0'
        }

        It 'copies a non-terminal attach''s stdin as it is, detach keys included (dockerd looks for them only on a terminal); refuses bad keys with docker''s 400' {
            (Invoke-Docker run -di --name dk $script:img sh -c 'while read l; do echo "got:$l"; done').Code | Should -Be 0
            $s = Connect-ApiSocket
            try {
                $request = "POST /v1.44/containers/dk/attach?stream=1&stdin=1&stdout=1&detachKeys=ctrl-x,y HTTP/1.1`r`nHost: docker`r`nContent-Length: 0`r`nConnection: Upgrade`r`nUpgrade: tcp`r`n`r`n"
                $s.Send([Text.Encoding]::ASCII.GetBytes($request)) | Out-Null
                # The custom keys and docker's default ctrl-p ctrl-q: both data for a container without a terminal.
                $s.Send([byte[]](97, 24, 121, 16, 17, 98, 10)) | Out-Null
                $seen = [IO.MemoryStream]::new()
                $buffer = [byte[]]::new(65536)
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while (-not [Text.Encoding]::Latin1.GetString($seen.ToArray()).Contains("b`n") -and [DateTime]::UtcNow -lt $deadline) {
                    $n = $s.Receive($buffer)
                    if ($n -le 0) { break }
                    $seen.Write($buffer, 0, $n)
                }
                # The end of this client's input ends the attach (no StdinOnce: the container's stdin stays open).
                $s.Shutdown([Net.Sockets.SocketShutdown]::Send)
                $rest = Receive-ToEnd $s
                $reply = [byte[]]($seen.ToArray() + $rest)
            }
            finally { $s.Dispose() }
            $text = [Text.Encoding]::Latin1.GetString($reply)
            $frames = @(Split-Frame ([byte[]]$reply[($text.IndexOf("`r`n`r`n") + 4)..($reply.Length - 1)]))
            (@($frames | Where-Object Stream -EQ 1).Text -join '') | Should -BeExactly "got:a$([char]24)y$([char]16)$([char]17)b`n"
            (Invoke-Docker inspect -f '{{.State.Running}}' dk).Out | Should -Be 'true'

            $bad = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.44/containers/dk/attach?stream=1&stdin=1&detachKeys=ctrl-xx' -Method Post -SkipHttpErrorCheck
            [int]$bad.StatusCode | Should -Be 400
            ($bad.Content | ConvertFrom-Json).message | Should -BeExactly 'Invalid detach keys (ctrl-xx) provided'
        }

        It 'docker stop -s sends that signal in place of the stop signal (API 1.42); an unknown one is a 400' {
            if (-not (Test-Path /usr/local/bin/docker)) { Set-ItResult -Skipped -Because 'no docker 28 CLI at /usr/local/bin/docker (docker 20.10 has no stop -s)'; return }
            (Invoke-Docker run -d --name sig $script:img sh -c 'trap "echo got-usr1; exit 9" USR1; while true; do sleep 0.1; done').Code | Should -Be 0
            $stop = Invoke-DockerProcess -FilePath /usr/local/bin/docker -Arguments stop, -s, USR1, -t, 10, sig
            $stop.Code | Should -Be 0 -Because $stop.Err
            (Invoke-Docker inspect -f '{{.State.ExitCode}}' sig).Out | Should -Be '9' -Because 'the trap ran: USR1, not TERM then KILL'
            (Invoke-Docker logs sig).Out | Should -Match 'got-usr1'
            (Invoke-Docker start sig).Code | Should -Be 0
            $restart = Invoke-DockerProcess -FilePath /usr/local/bin/docker -Arguments restart, -s, USR1, sig
            $restart.Code | Should -Be 0 -Because $restart.Err
            (Invoke-Docker inspect -f '{{.State.Running}}' sig).Out | Should -Be 'true'
            @((Invoke-Docker logs sig).Lines | Where-Object { $_ -eq 'got-usr1' }).Count | Should -Be 2
            $bad = Invoke-DockerProcess -FilePath /usr/local/bin/docker -Arguments stop, -s, BOGUS, sig
            $bad.Code | Should -Not -Be 0
            $bad.Err | Should -Match 'Invalid signal: BOGUS'
            (Invoke-Docker inspect -f '{{.State.Running}}' sig).Out | Should -Be 'true'
        }
    }

    Context 'terminals' {
        BeforeEach {
            if (-not $script:hasTmux) { Set-ItResult -Skipped -Because 'no tmux (Debian package tmux)' }
        }

        It 'docker run -t without -i streams the terminal''s output raw and exits with the code' {
            $r = Invoke-Docker run --rm -t $script:img sh -c 'echo tty-out; tty; exit 2'
            $r.Code | Should -Be 2 -Because $r.Err
            $r.Out | Should -Match "tty-out`r`n"
            $r.Out | Should -Match '/dev/pts/\d+'
            @(Get-Container -All) | Should -BeNullOrEmpty -Because '--rm'
        }

        It 'docker logs of a terminal container is the raw terminal output, not frames' {
            $r = Invoke-Docker run --name pester-ttylog -t $script:img sh -c 'echo tty-log-line'
            $r.Code | Should -Be 0 -Because $r.Err
            $logs = Invoke-Docker logs pester-ttylog
            $logs.Code | Should -Be 0 -Because $logs.Err
            # A frame's header would show as control bytes before the text (and the CLI would print nothing for it).
            $logs.Out | Should -Match '^tty-log-line\r?$'
            $raw = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.44/containers/pester-ttylog/logs?stdout=1&stderr=1'
            "$($raw.Headers['Content-Type'])" | Should -Be 'application/vnd.docker.raw-stream'
            (Invoke-Docker rm pester-ttylog).Code | Should -Be 0
        }

        It 'docker run -it is a terminal session: input, the window size and its changes, the exit code' {
            Assert-TerminalSession run "docker run -it --rm --name ttyrun $($script:img) sh" -Exit 7
            @(Get-Container -All) | Should -BeNullOrEmpty -Because '--rm'
        }

        It 'docker exec -it is a terminal session in a running container, with resize and the exit code' {
            (Invoke-Docker run -d --name ex $script:img sleep 300).Code | Should -Be 0
            Assert-TerminalSession ex 'docker exec -it ex sh' -Exit 5
            (Get-Container ex).State | Should -Be 'Running'
        }

        It 'docker attach takes input and detaches with ctrl-p ctrl-q; docker start -ai runs it again attached' {
            (Invoke-Docker run -dit --name att $script:img sh).Code | Should -Be 0
            $inspect = (Invoke-Docker inspect -f '{{.Config.Tty}} {{.Config.OpenStdin}}' att).Out
            $inspect | Should -Be 'true true'
            Start-TmuxShell att
            Send-Line att 'docker attach att'
            Start-Sleep -Milliseconds 500
            Send-Line att 'echo "A""T=$((6*7))"'
            Wait-Screen att 'AT=42' | Out-Null
            Invoke-Tmux send-keys -t att C-p C-q
            Wait-Screen att '(?m)^SH> $' | Out-Null
            (Invoke-Docker inspect -f '{{.State.Running}}' att).Out | Should -Be 'true' -Because 'a detach leaves the container running'
            # The server ends the attach once the CLI's connection is gone (psc-api logs a request when it ends), so a
            # quiet container does not keep it, and a slot of its monitor, for ever.
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not (Select-String -LiteralPath $script:service.LogPath -Pattern 'POST /v[\d.]+/containers/att/attach\S* 101' -Quiet) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 200 }
            Select-String -LiteralPath $script:service.LogPath -Pattern 'POST /v[\d.]+/containers/att/attach\S* 101' | Should -Not -BeNullOrEmpty

            (Invoke-Docker kill att).Code | Should -Be 0
            (Invoke-Docker wait att).Out | Should -Be '137'
            Send-Line att 'docker start -ai att'
            Wait-Screen att '(?m)^/ # ' | Out-Null
            Send-Line att 'echo "B""K=$((7*7))"'
            Wait-Screen att 'BK=49' | Out-Null
            Send-Line att 'exit 4'
            Assert-ShellExit att 4
            (Invoke-Docker inspect -f '{{.State.ExitCode}}' att).Out | Should -Be '4'
        }

        It 'docker attach --detach-keys detaches a terminal on the custom sequence, the default one then being a key like any other' {
            (Invoke-Docker run -dit --name dkt $script:img sh).Code | Should -Be 0
            Start-TmuxShell dkt
            Send-Line dkt 'docker attach --detach-keys ctrl-x,y dkt'
            Start-Sleep -Milliseconds 500
            Send-Line dkt 'echo "D""K=$((5*5))"'
            Wait-Screen dkt 'DK=25' | Out-Null
            # Not a detach now: busybox sh takes them as line-editing keys, which the kill-line (C-u) clears.
            Invoke-Tmux send-keys -t dkt C-p C-q C-u
            Send-Line dkt 'echo "S""TILL=$((6*6))"'
            Wait-Screen dkt 'STILL=36' | Out-Null
            Invoke-Tmux send-keys -t dkt C-x y
            Wait-Screen dkt '(?m)^SH> $' | Out-Null
            (Invoke-Docker inspect -f '{{.State.Running}}' dkt).Out | Should -Be 'true' -Because 'a detach leaves the container running'
        }

        It 'docker resize of a running terminal container is seen inside; of one without a terminal it is refused' {
            (Invoke-Docker run -dit --name rs $script:img sh).Code | Should -Be 0
            $r = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/rs/resize?h=33&w=77' -Method Post
            [int]$r.StatusCode | Should -Be 200
            # In effect when the answer comes, as dockerd's. The container's own devpts holds one pty, its process's.
            $exec = Invoke-Docker exec rs sh -c 'stty size < /dev/pts/0'
            $exec.Out | Should -Be '33 77' -Because $exec.Err
            (Invoke-Docker run -d --name plain $script:img sleep 300).Code | Should -Be 0
            $refused = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/plain/resize?h=33&w=77' -Method Post -SkipHttpErrorCheck
            [int]$refused.StatusCode | Should -Be 409
            $bad = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/rs/resize?h=0&w=77' -Method Post -SkipHttpErrorCheck
            [int]$bad.StatusCode | Should -Be 400
        }

        It 'docker exec -it --detach-keys leaves the exec running to its end, as dockerd; a bad sequence is a 400 at create' {
            (Invoke-Docker run -d --name exd $script:img sleep 300).Code | Should -Be 0
            Start-TmuxShell exd
            Send-Line exd 'docker exec -it --detach-keys ctrl-x,y exd sh'
            Wait-Screen exd '(?m)^/ # ' | Out-Null
            # The shell goes on after the detach: it writes the marker 2 s later, then exits.
            Send-Line exd 'echo "E""D=$((4*4))"; sleep 2; echo went-on > /tmp/exec-marker; exit 3'
            Wait-Screen exd 'ED=16' | Out-Null
            Invoke-Tmux send-keys -t exd C-x y
            # The CLI's word for a detach (it exits 1 with it, as against dockerd), then the shell's prompt.
            Wait-Screen exd 'read escape sequence' | Out-Null
            Wait-Screen exd '(?m)^SH> $' | Out-Null
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            do { Start-Sleep -Milliseconds 300; $marker = (Invoke-Docker exec exd cat /tmp/exec-marker).Out }
            until ($marker -eq 'went-on' -or [DateTime]::UtcNow -gt $deadline)
            $marker | Should -Be 'went-on' -Because 'a detach leaves the exec''s process running'
            # Its end is seen and reaped: no runtime exec or process file is left once it exited.
            $deadline = [DateTime]::UtcNow.AddSeconds(20)
            while (@(Get-ExecLeak).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 300 }
            Get-ExecLeak | Should -BeNullOrEmpty

            $body = '{"Cmd":["true"],"AttachStdin":true,"Tty":true,"DetachKeys":"ctrl-xx"}'
            $bad = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/containers/exd/exec' -Method Post -ContentType 'application/json' -Body $body -SkipHttpErrorCheck
            [int]$bad.StatusCode | Should -Be 400
            ($bad.Content | ConvertFrom-Json).message | Should -BeExactly 'Invalid detach keys (ctrl-xx) provided'
        }
    }
}
