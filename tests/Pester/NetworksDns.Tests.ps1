#Requires -Version 7.4
# psc-dns, the one resolver of a state root (C): one process serves every user network from the engine's config
# directory (UDP and TCP on each gateway), small, unprivileged (nobody keeping only CAP_NET_BIND_SERVICE), takes a
# resolver's reply only to the query it sent there, and bounds the forwarded queries waiting at once. The
# engine-started psc-dns is checked for its credentials, sharing, TCP, size and life cycle; the forwarding and fuzz
# cases run psc-dns directly with a private config directory on 127.0.0.1:<port> and a fake upstream resolver at a
# random 127.x.y.z:53 that this file plays (and forges replies for). Traffic goes only to 127.0.0.0/8 and to the
# containers and gateways these tests make.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-dns'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $script:haveNft = [bool](Get-Command nft -ErrorAction SilentlyContinue)
    $script:dnsBinary = Join-Path (Split-Path (Get-TestModulePath)) 'psc-dns'
    $script:started = [Collections.Generic.List[int]]::new()

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'cat', 'echo', 'sleep', 'nslookup', 'true')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/dnsbox:1' -Command sh | Out-Null

    function script:Get-Status([int]$ProcessId) {
        $h = @{}
        foreach ($l in Get-Content "/proc/$ProcessId/status") { $k, $v = $l -split ':\s*', 2; $h[$k] = $v.Trim() }
        $h
    }
    function script:Get-OurDns {
        @(Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$' | ForEach-Object {
            $cmd = Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue
            $stat = Get-Content "/proc/$($_.Name)/stat" -Raw -ErrorAction SilentlyContinue
            if ($cmd -and $cmd.Contains('psc-dns') -and $cmd.Contains($script:state.RunRoot) -and $stat -notmatch '\) Z ') { [int]$_.Name }
        })
    }

    # psc-dns on 127.0.0.1:<random port> from a private config directory (one network: 'known' = 10.1.2.3),
    # forwarding to one resolver at $Upstream:53. Returns @{ Pid; Port; Dir; Process }.
    function script:Start-Dns([string]$Upstream) {
        $dir = Join-Path $script:state.Work "dns-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        New-Item -ItemType Directory "$dir/config" | Out-Null
        Set-Content "$dir/config/net" "listen 127.0.0.1`n10.1.2.3`tknown"
        Set-Content "$dir/resolv.conf" "nameserver $Upstream"
        $port = Get-Random -Minimum 20000 -Maximum 30000
        $psi = [Diagnostics.ProcessStartInfo]::new($script:dnsBinary)
        foreach ($a in '--config-dir', "$dir/config", '--port', "$port", '--ready-file', "$dir/ready", '--resolv-conf', "$dir/resolv.conf") { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $p = [Diagnostics.Process]::Start($psi)
        $script:started.Add($p.Id)
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not ((Test-Path "$dir/ready") -and (Get-Content -Raw "$dir/ready") -match "`n$") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        (Get-Content -Raw "$dir/ready" -ErrorAction SilentlyContinue) | Should -Match "^ok $($p.Id)" -Because 'psc-dns reports ok <pid> once it serves'
        @{ Pid = $p.Id; Port = $port; Dir = $dir; Process = $p }
    }
    function script:Stop-Dns($Dns) {
        if (-not $Dns.Process.HasExited) { $Dns.Process.Kill(); $Dns.Process.WaitForExit(5000) | Out-Null }
        $Dns.Process.Dispose()
    }
    function script:New-Resolver {
        $address = "127.$(Get-Random -Minimum 1 -Maximum 250).$(Get-Random -Minimum 1 -Maximum 250).$(Get-Random -Minimum 2 -Maximum 250)"
        $u = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Parse($address), 53))
        @{ Address = $address; Socket = $u }
    }
    # The next datagram on $Socket within $Milliseconds, as @{ Bytes; From }, or $null.
    function script:Receive-Datagram([Net.Sockets.UdpClient]$Socket, [int]$Milliseconds) {
        $Socket.Client.ReceiveTimeout = [Math]::Max(1, $Milliseconds)
        try { $from = [Net.IPEndPoint]::new([Net.IPAddress]::Any, 0); $b = $Socket.Receive([ref]$from); @{ Bytes = $b; From = $from } } catch { $null }
    }
    # DNS messages written and read here, byte by byte (RFC 1035), independent of psc-dns's own code.
    function script:New-Query([int]$Id, [string]$Name, [int]$Type = 1) {
        $b = [Collections.Generic.List[byte]]::new()
        $b.AddRange([byte[]]@(($Id -shr 8), ($Id -band 0xff), 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0))
        foreach ($label in $Name.Split('.')) { $b.Add([byte]$label.Length); $b.AddRange([Text.Encoding]::ASCII.GetBytes($label)) }
        $b.AddRange([byte[]]@(0, 0, $Type, 0, 1))
        , $b.ToArray()
    }
    function script:Get-Id([byte[]]$Message) { ([int]$Message[0] -shl 8) -bor $Message[1] }
    # A response to $Query (a query's bytes) with one A record $Address ("a.b.c.d"), and id $Id if given.
    function script:New-Answer([byte[]]$Query, [string]$Address, [int]$Id = -1) {
        $end = 12; while ($Query[$end] -ne 0) { $end += $Query[$end] + 1 }; $end += 5
        $b = [Collections.Generic.List[byte]]::new([byte[]]$Query[0..($end - 1)])
        $b[2] = 0x81; $b[3] = 0x80; $b[6] = 0; $b[7] = 1; $b[8] = 0; $b[9] = 0; $b[10] = 0; $b[11] = 0
        $b.AddRange([byte[]]@(0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 5, 0, 4))
        $b.AddRange([Net.IPAddress]::Parse($Address).GetAddressBytes())
        if ($Id -ge 0) { $b[0] = [byte]($Id -shr 8); $b[1] = [byte]($Id -band 0xff) }
        , $b.ToArray()
    }
    # The A records of a response, as "a.b.c.d" strings.
    function script:Get-Addresses([byte[]]$Reply) {
        $pos = 12; while ($Reply[$pos] -ne 0) { $pos += $Reply[$pos] + 1 }; $pos += 5
        $count = ([int]$Reply[6] -shl 8) -bor $Reply[7]
        @(for ($i = 0; $i -lt $count; $i++) {
            if (($Reply[$pos] -band 0xc0) -eq 0xc0) { $pos += 2 } else { while ($Reply[$pos] -ne 0) { $pos += $Reply[$pos] + 1 }; $pos++ }
            $type = ([int]$Reply[$pos] -shl 8) -bor $Reply[$pos + 1]
            $length = ([int]$Reply[$pos + 8] -shl 8) -bor $Reply[$pos + 9]
            $pos += 10
            if ($type -eq 1 -and $length -eq 4) { "$($Reply[$pos]).$($Reply[$pos + 1]).$($Reply[$pos + 2]).$($Reply[$pos + 3])" }
            $pos += $length
        })
    }
    function script:Get-Rcode([byte[]]$Reply) { $Reply[3] -band 0xf }
    # One query over UDP from the host to $Address:$Port; the reply's bytes, or $null after 2 s.
    function script:Send-UdpQuery([string]$Address, [string]$Name, [int]$Port = 53, [int]$Id = 0x2a2a) {
        $c = [Net.Sockets.UdpClient]::new()
        try {
            $q = New-Query $Id $Name
            [void]$c.Send($q, $q.Length, [Net.IPEndPoint]::new([Net.IPAddress]::Parse($Address), $Port))
            (Receive-Datagram $c 2000).Bytes
        }
        finally { $c.Dispose() }
    }
    # Reads one length-prefixed DNS message (RFC 1035 4.2.2) from a TCP stream.
    function script:Read-TcpMessage([IO.Stream]$Stream) {
        $read = { param($n) $b = [byte[]]::new($n); $got = 0; while ($got -lt $n) { $r = $Stream.Read($b, $got, $n - $got); if ($r -le 0) { throw 'connection closed' }; $got += $r }; , $b }
        $len = & $read 2
        , (& $read ((([int]$len[0]) -shl 8) -bor $len[1]))
    }
    # Queries over one TCP connection to $Address:$Port, sent back to back (pipelined); their replies, in order.
    function script:Send-TcpQuery([string]$Address, [string[]]$Name, [int]$Port = 53) {
        $t = [Net.Sockets.TcpClient]::new()
        try {
            $t.ReceiveTimeout = 3000; $t.SendTimeout = 3000
            $t.Connect([Net.IPAddress]::Parse($Address), $Port)
            $s = $t.GetStream()
            $i = 0
            foreach ($n in $Name) {
                $q = New-Query (0x3000 + $i++) $n
                $s.Write([byte[]]@(($q.Length -shr 8), ($q.Length -band 0xff)) + $q, 0, $q.Length + 2)
            }
            foreach ($n in $Name) { , (Read-TcpMessage $s) }
        }
        finally { $t.Dispose() }
    }
    function script:Get-RssKb([int]$ProcessId) { [int]((Get-Status $ProcessId).VmRSS -replace '\D') }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    foreach ($id in $script:started) { try { $p = Get-Process -Id $id -ErrorAction Stop; $p.Kill(); $p.WaitForExit(5000) | Out-Null } catch { } }
    $deadline = [DateTime]::UtcNow.AddSeconds(5)
    while ((Get-OurDns).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    $left = @(Get-OurDns)
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
    $left | Should -BeNullOrEmpty -Because 'no psc-dns may outlive its network'
}

Describe 'psc-dns' {
    BeforeEach {
        if (-not (Test-Path $script:dnsBinary)) { Set-ItResult -Skipped -Because 'psc-dns is not built' }
    }

    It 'runs as nobody keeping only CAP_NET_BIND_SERVICE, no new privileges and no execve, and still serves and reloads names' {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built'; return }
        if (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed'; return }
        $net = New-ContainerNetwork pester-dns
        New-Container pester/dnsbox:1 -Name first -Network pester-dns -Command sleep, 60 | Start-Container | Out-Null
        $dnsPid = @(Get-OurDns)
        $dnsPid.Count | Should -Be 1
        $s = Get-Status $dnsPid[0]
        $s.Uid | Should -Match '^65534\s+65534\s+65534\s+65534$'
        $s.Gid | Should -Match '^65534\s+65534\s+65534\s+65534$'
        $s.Groups | Should -BeNullOrEmpty
        foreach ($set in 'CapInh', 'CapAmb') { $s[$set] | Should -Be '0000000000000000' -Because "$set must be empty" }
        # Only CAP_NET_BIND_SERVICE (bit 10): networks made later need their gateway's port 53 bound; nothing else
        # is left, not even in the bounding set.
        foreach ($set in 'CapPrm', 'CapEff', 'CapBnd') { $s[$set] | Should -Be '0000000000000400' -Because "$set must hold CAP_NET_BIND_SERVICE only" }
        # Every thread, not only the main one.
        foreach ($t in Get-ChildItem "/proc/$($dnsPid[0])/task") {
            $ts = Get-Status ([int]$t.Name)
            "$($t.Name) $($ts.Uid) $($ts.CapEff) $($ts.NoNewPrivs) $($ts.Seccomp)" | Should -Match '^\d+ 65534\s.*0000000000000400 1 2$'
        }
        # A container started now is in the reloaded records, which psc-dns reads as nobody.
        New-Container pester/dnsbox:1 -Name second -Network pester-dns -Command sleep, 60 | Start-Container | Out-Null
        $out = Invoke-TestInContainer -Image pester/dnsbox:1 -Network pester-dns -Script 'nslookup first; nslookup second'
        ($out -join "`n") | Should -Match ([regex]::Escape((Get-Container first).IPAddress))
        ($out -join "`n") | Should -Match ([regex]::Escape((Get-Container second).IPAddress))
        @(Get-OurDns) | Should -Be $dnsPid -Because 'the same psc-dns serves on'
        $net | Out-Null
    }

    It 'keeps serving when the session that made the network has a restrictive umask (027)' {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built'; return }
        if (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed'; return }
        if (-not ('PscTest.Umask' -as [type])) {
            Add-Type -Namespace PscTest -Name Umask -MemberDefinition '[System.Runtime.InteropServices.DllImport("libc", EntryPoint = "umask")] public static extern uint Set(uint mask);'
        }
        $old = [PscTest.Umask]::Set(0x17)   # 027: hardened hosts' umask, no access for others
        try {
            New-ContainerNetwork pester-dns-umask | Out-Null
            New-Container pester/dnsbox:1 -Name umask-first -Network pester-dns-umask -Command sleep, 60 | Start-Container | Out-Null
        }
        finally { [PscTest.Umask]::Set($old) | Out-Null }
        $dnsPid = @(Get-OurDns)
        Start-Sleep -Seconds 1   # an unreadable config directory would have ended psc-dns by now
        @(Get-OurDns) | Should -Be $dnsPid -Because 'psc-dns must not exit when it cannot find its records'
        $out = Invoke-TestInContainer -Image pester/dnsbox:1 -Network pester-dns-umask -Script 'nslookup umask-first'
        ($out -join "`n") | Should -Match ([regex]::Escape((Get-Container umask-first).IPAddress))
        Remove-Container umask-first -Force
        Remove-ContainerNetwork pester-dns-umask
    }

    It 'refuses an option given without its value' {
        $out = & $script:dnsBinary --config-dir /nonexistent --port 2>&1
        $LASTEXITCODE | Should -Be 2
        "$out" | Should -Match 'option --port needs a value'
    }

    It 'ignores forged replies: another source, another id, another question' {
        $resolver = New-Resolver
        $dns = Start-Dns $resolver.Address
        $client = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
        $forger = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Parse($resolver.Address), 0))
        try {
            $query = New-Query 0x4242 'true.example'
            [void]$client.Send($query, $query.Length, [Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $dns.Port))
            $asked = Receive-Datagram $resolver.Socket 3000
            $asked | Should -Not -BeNullOrEmpty -Because 'psc-dns forwards a name it does not know'
            $id = Get-Id $asked.Bytes
            # The forged ones come first, as from an attacker who saw or guessed the query: the right id and question
            # from the resolver's address but another port; another id from the resolver itself; the right id for
            # another question from the resolver itself.
            $forged = New-Answer $asked.Bytes 6.6.6.6
            [void]$forger.Send($forged, $forged.Length, $asked.From)
            $badId = New-Answer $asked.Bytes 6.6.6.7 -Id (($id + 1) -band 0xffff)
            [void]$resolver.Socket.Send($badId, $badId.Length, $asked.From)
            $otherAnswer = New-Answer (New-Query $id 'other.example') 6.6.6.8
            [void]$resolver.Socket.Send($otherAnswer, $otherAnswer.Length, $asked.From)
            Start-Sleep -Milliseconds 300
            $genuine = New-Answer $asked.Bytes 1.2.3.4
            [void]$resolver.Socket.Send($genuine, $genuine.Length, $asked.From)
            $reply = Receive-Datagram $client 3000
            $reply | Should -Not -BeNullOrEmpty
            Get-Id $reply.Bytes | Should -Be 0x4242 -Because 'the client gets its own id back'
            Get-Addresses $reply.Bytes | Should -Be @('1.2.3.4')
            Receive-Datagram $client 500 | Should -BeNullOrEmpty -Because 'one query, one reply'
        }
        finally {
            $client.Dispose(); $forger.Dispose(); $resolver.Socket.Dispose(); Stop-Dns $dns
        }
    }

    It 'answers SERVFAIL when the resolver never answers, within the forwarding timeout' {
        $resolver = New-Resolver
        $dns = Start-Dns $resolver.Address
        $client = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
        try {
            $query = New-Query 0x1111 'silent.example'
            $watch = [Diagnostics.Stopwatch]::StartNew()
            [void]$client.Send($query, $query.Length, [Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $dns.Port))
            $reply = Receive-Datagram $client 5000
            $watch.Stop()
            $reply | Should -Not -BeNullOrEmpty
            ($reply.Bytes[3] -band 0xf) | Should -Be 2
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 4
        }
        finally {
            $client.Dispose(); $resolver.Socket.Dispose(); Stop-Dns $dns
        }
    }

    It 'bounds a flood of forwarded queries in count, memory, threads and time' {
        $resolver = New-Resolver
        $dns = Start-Dns $resolver.Address
        $client = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
        $client.Client.SendBufferSize = 4MB
        $target = [Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $dns.Port)
        try {
            $before = Get-Status $dns.Pid
            # 4000 queries for names psc-dns must forward, to a resolver that never answers, sent in bursts the
            # listening socket's buffer can hold; the resolver's socket counts what reaches it. A forwarded query
            # holds its slot for the 2 s timeout, so in T seconds at most 256 * (1 + floor(T / 2)) get through.
            $forwarded = 0
            $fdsBefore = @(Get-ChildItem "/proc/$($dns.Pid)/fd").Count
            $watch = [Diagnostics.Stopwatch]::StartNew()
            for ($burst = 0; $burst -lt 20; $burst++) {
                for ($i = 0; $i -lt 200; $i++) {
                    $q = New-Query (($burst * 200 + $i) -band 0xffff) "flood-$burst-$i.example"
                    [void]$client.Send($q, $q.Length, $target)
                }
                while (Receive-Datagram $resolver.Socket 2) { $forwarded++ }
            }
            $fds = @(Get-ChildItem "/proc/$($dns.Pid)/fd").Count
            $threads = [int](Get-Status $dns.Pid).Threads
            while ($watch.Elapsed.TotalSeconds -lt 1.5 -and (Receive-Datagram $resolver.Socket 50)) { $forwarded++ }
            $watch.Stop()
            $forwarded | Should -BeGreaterThan 200
            $forwarded | Should -BeLessOrEqual (256 * (1 + [Math]::Floor($watch.Elapsed.TotalSeconds / 2))) -Because "at most 256 forwarded queries wait at once, 2 s each ($([int]$watch.Elapsed.TotalMilliseconds) ms)"
            $fds | Should -BeLessOrEqual ($fdsBefore + 256 + 16) -Because "each waiting query holds one socket ($fdsBefore before the flood)"
            $threads | Should -BeLessThan 40
            $after = Get-Status $dns.Pid
            ([long]($after.VmRSS -replace '\D') - [long]($before.VmRSS -replace '\D')) | Should -BeLessThan (64 * 1024) -Because 'RSS (kB) grows by less than 64 MB'

            # Bounded in time: 2 s after the flood the waiting queries are gone and nothing more is forwarded...
            Start-Sleep -Seconds 3
            while (Receive-Datagram $resolver.Socket 10) { }
            while (Receive-Datagram $client 10) { } # the flood's SERVFAILs, which fill the client's buffer
            Receive-Datagram $resolver.Socket 1000 | Should -BeNullOrEmpty -Because 'no backlog of the flood is still being forwarded'
            # ... and a new query is forwarded and answered at once.
            $fresh = New-Query 0x7777 'fresh.example'
            [void]$client.Send($fresh, $fresh.Length, $target)
            $asked = Receive-Datagram $resolver.Socket 2000
            $asked | Should -Not -BeNullOrEmpty
            $answer = New-Answer $asked.Bytes 5.6.7.8
            [void]$resolver.Socket.Send($answer, $answer.Length, $asked.From)
            $reply = $null
            $deadline = [DateTime]::UtcNow.AddSeconds(2)
            while ([DateTime]::UtcNow -lt $deadline) {
                $r = Receive-Datagram $client 200
                if ($r -and (Get-Id $r.Bytes) -eq 0x7777) { $reply = $r; break }
            }
            $reply | Should -Not -BeNullOrEmpty
            Get-Addresses $reply.Bytes | Should -Be @('5.6.7.8')
            # The listening socket kept answering local names all along.
            $local = New-Query 0x0101 'known'
            [void]$client.Send($local, $local.Length, $target)
            $deadline = [DateTime]::UtcNow.AddSeconds(2); $knownReply = $null
            while ([DateTime]::UtcNow -lt $deadline) {
                $r = Receive-Datagram $client 200
                if ($r -and (Get-Id $r.Bytes) -eq 0x0101) { $knownReply = $r; break }
            }
            Get-Addresses $knownReply.Bytes | Should -Be @('10.1.2.3')
        }
        finally {
            $client.Dispose(); $resolver.Socket.Dispose(); Stop-Dns $dns
        }
    }
}

Describe 'psc-dns: one resolver for every network of the state root' {
    BeforeAll {
        # From a clean slate: the Describe above leaves containers and networks behind.
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
        $script:skip = if (-not (Test-Path $script:dnsBinary)) { 'psc-dns is not built' }
        elseif (-not $script:haveRuntime) { 'psc-runtime/psc-monitor are not built' }
        elseif (-not $script:haveNft) { 'nft (nftables) is not installed' }
    }
    BeforeEach {
        if ($script:skip) { Set-ItResult -Skipped -Because $script:skip }
    }

    It 'serves two networks from ONE process, each network only its own names, in at most 5 MB' {
        if ($script:skip) { return }
        @(Get-OurDns).Count | Should -Be 0 -Because 'no network has a running container yet'
        $script:netA = New-ContainerNetwork pester-dns-a
        $script:netB = New-ContainerNetwork pester-dns-b
        New-Container pester/dnsbox:1 -Name alpha -Network pester-dns-a -Command sleep, 120 | Start-Container | Out-Null
        New-Container pester/dnsbox:1 -Name beta -Network pester-dns-b -Command sleep, 120 | Start-Container | Out-Null
        $dns = @(Get-OurDns)
        $dns.Count | Should -Be 1 -Because 'one resolver serves every network of the state root'
        $alpha = (Get-Container alpha).IPAddress; $beta = (Get-Container beta).IPAddress
        Get-Addresses (Send-UdpQuery $script:netA.Gateway alpha) | Should -Be @($alpha)
        Get-Rcode (Send-UdpQuery $script:netA.Gateway beta) | Should -Be 3 -Because "beta is not on pester-dns-a"
        Get-Addresses (Send-UdpQuery $script:netB.Gateway beta) | Should -Be @($beta)
        Get-Rcode (Send-UdpQuery $script:netB.Gateway alpha) | Should -Be 3 -Because "alpha is not on pester-dns-b"
        $out = (Invoke-TestInContainer -Image pester/dnsbox:1 -Network pester-dns-b -Script 'nslookup beta; nslookup alpha') -join "`n"
        $out | Should -Match ([regex]::Escape($beta))
        $out | Should -Not -Match ([regex]::Escape($alpha))
        $rss = Get-RssKb $dns[0]
        Write-Host "psc-dns VmRSS with two networks: $rss kB"
        $rss | Should -BeLessOrEqual 5120 -Because 'the resolver takes at most 5 MB (the .NET one took 31.6 MB per network)'
    }

    It 'answers over TCP: length-prefixed, pipelined, per network' {
        if ($script:skip) { return }
        $alpha = (Get-Container alpha).IPAddress
        $r = @(Send-TcpQuery $script:netA.Gateway 'alpha', 'nosuch', 'ALPHA')
        $r.Count | Should -Be 3
        Get-Addresses $r[0] | Should -Be @($alpha)
        Get-Id $r[0] | Should -Be 0x3000
        Get-Rcode $r[1] | Should -Be 3
        Get-Addresses $r[2] | Should -Be @($alpha) -Because 'names match without case'
        $other = @(Send-TcpQuery $script:netB.Gateway 'alpha', 'beta')
        Get-Rcode $other[0] | Should -Be 3 -Because 'alpha is not on pester-dns-b, over TCP either'
        Get-Addresses $other[1] | Should -Be @((Get-Container beta).IPAddress)
    }

    It 'serves a network made after it started, and a container just started, at once' {
        if ($script:skip) { return }
        $dns = @(Get-OurDns)
        $script:netC = New-ContainerNetwork pester-dns-c
        New-Container pester/dnsbox:1 -Name gamma -Network pester-dns-c -Command sleep, 120 | Start-Container | Out-Null
        # No wait: Start-Container returns once the gateway is bound, and the name was written before.
        Get-Addresses (Send-UdpQuery $script:netC.Gateway gamma) | Should -Be @((Get-Container gamma).IPAddress)
        New-Container pester/dnsbox:1 -Name delta -Network pester-dns-a -Command sleep, 120 | Start-Container | Out-Null
        Get-Addresses (Send-UdpQuery $script:netA.Gateway delta) | Should -Be @((Get-Container delta).IPAddress)
        @(Get-OurDns) | Should -Be $dns -Because 'the same process took the new network'
    }

    It 'Repair-ContainerState restarts a killed resolver and kills one nobody recorded' {
        if ($script:skip) { return }
        $old = @(Get-OurDns)
        $old.Count | Should -Be 1
        Stop-Process -Id $old[0] -Force
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-OurDns).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        Repair-ContainerState -Confirm:$false | Out-Null
        $new = @(Get-OurDns)
        $new.Count | Should -Be 1
        $new[0] | Should -Not -Be $old[0]
        Get-Addresses (Send-UdpQuery $script:netC.Gateway gamma) | Should -Be @((Get-Container gamma).IPAddress)
        # A second psc-dns on the same config directory, as a session killed between starting it and recording it
        # leaves behind (on another port, so that it can start at all).
        $psi = [Diagnostics.ProcessStartInfo]::new($script:dnsBinary)
        foreach ($a in '--config-dir', (Join-Path $script:state.RunRoot 'dns'), '--port', '29553') { $psi.ArgumentList.Add($a) }
        $psi.RedirectStandardOutput = $true; $psi.RedirectStandardError = $true
        $orphan = [Diagnostics.Process]::Start($psi)
        $script:started.Add($orphan.Id)
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-OurDns).Count -lt 2 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        @(Get-OurDns).Count | Should -Be 2
        Repair-ContainerState -Confirm:$false | Out-Null
        $orphan.WaitForExit(5000) | Should -BeTrue -Because 'Repair kills the resolver it did not record'
        @(Get-OurDns) | Should -Be $new
    }

    It 'stops when the last network that needs it is removed, leaving no process and no config' {
        if ($script:skip) { return }
        Remove-Container beta, gamma, delta -Force
        @(Get-OurDns).Count | Should -Be 1 -Because 'alpha still runs on pester-dns-a'
        @(Get-ChildItem (Join-Path $script:state.RunRoot 'dns')).Count | Should -Be 1 -Because 'only pester-dns-a needs names now'
        Remove-ContainerNetwork pester-dns-a -Force
        @(Get-OurDns) | Should -BeNullOrEmpty -Because 'no network needs the resolver any more'
        Join-Path $script:state.RunRoot 'dns' | Should -Not -Exist
        Join-Path $script:state.RunRoot 'dns.pid' | Should -Not -Exist
        Remove-Container alpha -Force
        Remove-ContainerNetwork pester-dns-b, pester-dns-c
    }
}

Describe 'psc-dns under garbage' {
    BeforeEach {
        if (-not (Test-Path $script:dnsBinary)) { Set-ItResult -Skipped -Because 'psc-dns is not built' }
    }

    It 'survives random and mutated datagrams and TCP frames, and keeps answering' {
        $resolver = New-Resolver
        $dns = Start-Dns $resolver.Address
        $target = [Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $dns.Port)
        $fuzz = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, 0))
        $rng = [Random]::new(1035)
        $seeds = @((New-Query 0x0101 'known'), (New-Query 0x0202 'known' 28), (New-Query 0x0303 '3.2.1.10.in-addr.arpa' 12), (New-Query 0x0404 'fwd.example'))
        try {
            for ($i = 0; $i -lt 20000; $i++) {
                $kind = $rng.Next(4)
                if ($kind -eq 0) {
                    $m = [byte[]]::new($rng.Next(0, 600)); $rng.NextBytes($m)           # noise
                }
                else {
                    $m = [byte[]]$seeds[$rng.Next($seeds.Count)].Clone()
                    if ($kind -eq 1) { for ($k = $rng.Next(1, 6); $k -gt 0; $k--) { $m[$rng.Next($m.Length)] = [byte]$rng.Next(256) } }   # flipped bytes
                    elseif ($kind -eq 2) { $m = [byte[]]$m[0..($rng.Next(0, $m.Length))] }                                                # truncated
                    else { $m[12 + $rng.Next($m.Length - 16)] = [byte](@(0xc0, 0x3f, 0x40, 0xff, 0)[$rng.Next(5)]) }                      # label lengths, pointers
                }
                [void]$fuzz.Send($m, $m.Length, $target)
                if ($i % 5000 -eq 4999) {
                    $dns.Process.HasExited | Should -BeFalse -Because "psc-dns survives $($i + 1) fuzzed datagrams"
                    # The kernel may drop the probe itself while the socket's buffer is full of the burst just sent (UDP
                    # has no backpressure): asked again, as any resolver client asks again.
                    $reply = $null
                    for ($try = 0; $try -lt 5 -and -not $reply; $try++) { $reply = Send-UdpQuery 127.0.0.1 known -Port $dns.Port }
                    Get-Addresses $reply | Should -Be @('10.1.2.3')
                }
            }
            for ($i = 0; $i -lt 200; $i++) {
                $t = [Net.Sockets.TcpClient]::new()
                try {
                    $t.Connect([Net.IPAddress]::Loopback, $dns.Port)
                    $m = [byte[]]::new($rng.Next(1, 300)); $rng.NextBytes($m)
                    if ($i % 2) { $q = [byte[]]$seeds[$rng.Next($seeds.Count)].Clone(); $q[$rng.Next($q.Length)] = [byte]$rng.Next(256); $m = [byte[]]@(0, $q.Length) + $q }
                    $t.GetStream().Write($m, 0, $m.Length)
                }
                catch [Net.Sockets.SocketException], [IO.IOException] { }   # closed by psc-dns: fine
                finally { $t.Dispose() }
            }
            $dns.Process.HasExited | Should -BeFalse
            Get-Addresses (Send-UdpQuery 127.0.0.1 known -Port $dns.Port) | Should -Be @('10.1.2.3')
            $tcp = @(Send-TcpQuery 127.0.0.1 'known', 'known' -Port $dns.Port)
            Get-Addresses $tcp[1] | Should -Be @('10.1.2.3')
            Get-RssKb $dns.Pid | Should -BeLessOrEqual 5120
        }
        finally {
            $fuzz.Dispose(); $resolver.Socket.Dispose(); Stop-Dns $dns
        }
    }
}
