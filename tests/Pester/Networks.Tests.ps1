#Requires -Version 7.4
# Container networks end to end: bridges, veth pairs, IPAM, published ports over nftables, psc-dns name resolution.
# Traffic goes only to 127.0.0.0/8 and to the containers these tests make.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-net'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $script:haveNft = [bool](Get-Command nft -ErrorAction SilentlyContinue)
    $script:tag = "pscontainer:$($script:state.Root)"

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
        'sh', 'cat', 'echo', 'sleep', 'httpd', 'wget', 'nc', 'ip', 'nslookup', 'hostname', 'mkdir', 'grep', 'test', 'readlink', 'timeout', 'true')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/netbox:1' -Command sh | Out-Null

    # The shared helpers of TestSupport.psm1, bound to this file's image.
    function script:Start-Web([string]$Name, [string]$Text = $Name, [hashtable]$Extra = @{}) { Start-TestWebContainer -Image pester/netbox:1 -Name $Name -Text $Text -Extra $Extra }
    function script:Invoke-InContainer([string]$Network, [string]$Script, [hashtable]$Extra = @{}) { Invoke-TestInContainer -Image pester/netbox:1 -Network $Network -Script $Script -Extra $Extra }
    function script:Wait-Http([string]$Uri) { Wait-TestHttp -Uri $Uri }
    function script:Get-OurDns {
        @(Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$' | ForEach-Object {
            $cmd = Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue
            $stat = Get-Content "/proc/$($_.Name)/stat" -Raw -ErrorAction SilentlyContinue
            if ($cmd -and $cmd.Contains('psc-dns') -and $cmd.Contains($script:state.RunRoot) -and $stat -notmatch '\) Z ') { $_.Name }
        })
    }
    function script:Get-OurNetworkLeak {
        @(
            & ip -o link | Where-Object { $_ -match [regex]::Escape($script:tag) } | ForEach-Object { "link $(($_ -split ': ')[1])" }
            if ($script:haveNft) { & nft list tables | Where-Object { $_ -match 'pscontainer_' -and $_ -match (Get-OurTable) } | ForEach-Object { "nft $_" } }
            if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
            Get-OurDns | ForEach-Object { "psc-dns $_" }
        )
    }
    function script:Get-OurTable {
        $sha = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:state.Root))
        'pscontainer_' + [Convert]::ToHexString($sha).Substring(0, 8).ToLowerInvariant()
    }
    function script:Wait-NoDns {
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ((Get-OurDns).Count -gt 0 -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Wait-NoDns
    $leaks = @(Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }) + @(Get-OurNetworkLeak)
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
    $leaks | Should -BeNullOrEmpty -Because 'the suite must leave no veth, bridge, nft table, netns or psc-dns behind'
}

Describe 'Container networks' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
        elseif (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force
        Wait-NoDns
        @(Get-OurNetworkLeak | Where-Object { $_ -notmatch '^link psc0|^nft ' }) | Should -BeNullOrEmpty
    }

    It 'puts a container on the default bridge network with an address, a route and the host resolvers' {
        $out = Invoke-InContainer bridge 'ip -4 -o addr show eth0; ip route; cat /etc/resolv.conf; cat /etc/hosts'
        $net = Get-ContainerNetwork bridge
        $net.Bridge | Should -Match '^psc0'
        $net.Subnet | Should -Match '/16$'
        ($out -join "`n") | Should -Match "inet 10\.\d+\.0\.2/16"
        ($out -join "`n") | Should -Match "default via $([regex]::Escape($net.Gateway)) dev eth0"
        $hostResolvers = @(Get-Content /etc/resolv.conf | Where-Object { $_ -match '^nameserver' })
        foreach ($r in $hostResolvers) { $out | Should -Contain $r }
        (& ip -o link show $net.Bridge) | Should -Match 'UP'
    }

    It 'leaves the subnets other engines declare to them: podman''s default network is not taken' {
        # Debian's podman package installs /etc/cni/net.d/87-podman-bridge.conflist (10.88.0.0/16); a default network
        # of ours on it would route podman's containers into our bridge and its published ports would not answer.
        $declared = @(foreach ($f in Get-ChildItem /etc/cni/net.d, /etc/containers/networks -File -ErrorAction SilentlyContinue) {
                [regex]::Matches([IO.File]::ReadAllText($f.FullName), '"subnet"\s*:\s*"(\d+\.\d+\.\d+\.\d+/\d+)"') | ForEach-Object { $_.Groups[1].Value }
            })
        if (Get-Command podman -ErrorAction Ignore) { $declared += '10.88.0.0/16' }
        if ($declared.Count -eq 0) { Set-ItResult -Skipped -Because 'no other engine declares a subnet on this host (no podman, no CNI or netavark configuration)'; return }
        function ConvertTo-Range([string]$Cidr) {
            $ip, $bits = $Cidr -split '/'
            $b = ([Net.IPAddress]$ip).GetAddressBytes(); [array]::Reverse($b)
            $start = [BitConverter]::ToUInt32($b, 0)
            [pscustomobject]@{ Start = [uint64]$start; End = [uint64]$start + [math]::Pow(2, 32 - [int]$bits) - 1 }
        }
        New-Container pester/netbox:1 -Command true | Out-Null   # the default network is made on first use
        $ours = ConvertTo-Range (Get-ContainerNetwork bridge).Subnet
        foreach ($d in $declared) {
            $theirs = ConvertTo-Range $d
            ($ours.Start -le $theirs.End -and $theirs.Start -le $ours.End) | Should -BeFalse -Because "$d is declared by another engine"
        }
    }

    It 'reaches one container from another on the default bridge by address' {
        $web = Start-Web web0
        $web.IPAddress | Should -Match '^10\.'
        $out = Invoke-InContainer bridge "timeout 5 wget -q -O - http://$($web.IPAddress)/"
        $out | Should -Contain 'web0'
    }

    It 'keeps -Network none working: loopback only' {
        $out = Invoke-InContainer none 'ip -o link | grep -c -v " lo:"; ip -4 -o addr'
        $out[0] | Should -Be '0'
        ($out -join "`n") | Should -Match '127\.0\.0\.1'
        $c = New-Container pester/netbox:1 -Network none -Command true
        $c.Networks | Should -Be @('none')
        $c.IPAddress | Should -BeNullOrEmpty
    }

    It 'resolves containers by name and alias on a user-defined network' {
        $net = New-ContainerNetwork pester-a
        $net.Subnet | Should -Not -BeNullOrEmpty
        $net.Bridge | Should -Match '^psc[0-9a-f]{8}$'
        $net.DnsEnabled | Should -BeTrue
        $web = Start-Web weba -Extra @{ Network = 'pester-a'; NetworkAlias = 'www' }
        $web.Networks | Should -Be @('pester-a')
        $out = Invoke-InContainer pester-a 'cat /etc/resolv.conf; timeout 5 wget -q -O - http://weba/; timeout 5 wget -q -O - http://www/; nslookup weba'
        $out | Should -Contain "nameserver $($net.Gateway)"
        @($out | Where-Object { $_ -eq 'weba' }).Count | Should -Be 2
        ($out -join "`n") | Should -Match ([regex]::Escape($web.IPAddress))
        (Get-ContainerNetwork pester-a).Containers | Should -Contain 'weba'
        @(Get-OurDns).Count | Should -Be 1
    }

    It 'publishes a port on 127.0.0.1 and the host addresses' {
        $web = Start-Web pub -Extra @{ Publish = '127.0.0.1:0:80'.Replace(':0:', ":$(Get-Random -Minimum 20000 -Maximum 30000):") }
        $port = [int](($web.Ports[0] -split '[:\-]')[1])
        $web.Ports[0] | Should -Match '^127\.0\.0\.1:\d+->80/tcp$'
        Wait-Http "http://127.0.0.1:$port/" | Should -Be 'pub'
        # a random host port (-Publish 80), reached through 127.0.0.1 and from another container through the gateway
        $web2 = Start-Web pub2 -Extra @{ Publish = '80' }
        $web2.Ports[0] | Should -Match '^0\.0\.0\.0:\d+->80/tcp$'
        $port2 = [int](($web2.Ports[0] -split '[:\-]')[1])
        Wait-Http "http://127.0.0.1:$port2/" | Should -Be 'pub2'
        $gw = (Get-ContainerNetwork bridge).Gateway
        Invoke-InContainer bridge "timeout 5 wget -q -O - http://${gw}:$port2/" | Should -Contain 'pub2'
        Invoke-InContainer bridge "timeout 5 wget -q -O - http://${gw}:$port/" | Should -Not -Contain 'pub'
        (Get-Container pub2).Ports | Should -Be $web2.Ports
    }

    It 'publishes a UDP port' {
        # busybox has no UDP server: the host's python3 (bind-mounted read-only) echoes datagrams upper-cased.
        $python = (Get-Command python3 -ErrorAction SilentlyContinue).Source
        if (-not $python) { Set-ItResult -Skipped -Because 'python3 is not installed on the host'; return }
        $p = Get-Random -Minimum 30000 -Maximum 40000
        $echo = 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 5353))
while True:
    d, a = s.recvfrom(512)
    s.sendto(d.upper(), a)'
        $c = New-Container pester/netbox:1 -Name udp -Publish "127.0.0.1:${p}:5353/udp" -Volume /usr:/usr:ro, /usr/lib:/lib:ro, /usr/lib64:/lib64:ro -Command /usr/bin/python3, -c, $echo | Start-Container -PassThru
        $c.Ports | Should -Be @("127.0.0.1:$p->5353/udp")
        $udp = [Net.Sockets.UdpClient]::new()
        $udp.Client.ReceiveTimeout = 300
        $reply = $null
        try {
            $bytes = [Text.Encoding]::ASCII.GetBytes('ping-udp')
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not $reply -and [DateTime]::UtcNow -lt $deadline) {
                [void]$udp.Send($bytes, $bytes.Length, '127.0.0.1', $p)
                try { $from = [Net.IPEndPoint]::new([Net.IPAddress]::Any, 0); $reply = [Text.Encoding]::ASCII.GetString($udp.Receive([ref]$from)) } catch { }
            }
        }
        finally { $udp.Dispose() }
        $reply | Should -Be 'PING-UDP'
    }

    It 'isolates networks: no traffic and no names across them' {
        New-ContainerNetwork pester-x | Out-Null
        New-ContainerNetwork pester-y | Out-Null
        $x = Start-Web webx -Extra @{ Network = 'pester-x' }
        $out = Invoke-InContainer pester-y "timeout 2 wget -q -O - http://$($x.IPAddress)/ || echo blocked; nslookup webx || echo no-name"
        $out | Should -Contain 'blocked'
        $out | Should -Contain 'no-name'
        $out | Should -Not -Contain 'webx'
        Invoke-InContainer pester-x 'timeout 5 wget -q -O - http://webx/' | Should -Contain 'webx'
    }

    It 'gives a static address and refuses a taken or foreign one' {
        New-ContainerNetwork pester-s -Subnet 10.231.7.0/24 -Gateway 10.231.7.254 -IPRange 10.231.7.128/25 | Out-Null
        $a = New-Container pester/netbox:1 -Name sa -Network pester-s -IPAddress 10.231.7.9 -Command sleep, 60
        $a.IPAddress | Should -Be '10.231.7.9'
        $b = New-Container pester/netbox:1 -Name sb -Network pester-s -Command sleep, 60
        $b.IPAddress | Should -Be '10.231.7.129'
        { New-Container pester/netbox:1 -Network pester-s -IPAddress 10.231.7.9 -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'AddressInUse,PSContainer.Commands.NewContainerCommand'
        { New-Container pester/netbox:1 -Network pester-s -IPAddress 10.9.9.9 -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'AddressOutOfSubnet,PSContainer.Commands.NewContainerCommand'
        { New-Container pester/netbox:1 -Network pester-s -IPAddress 10.231.7.254 -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'AddressInUse,PSContainer.Commands.NewContainerCommand'
        @(Get-Container -All).Count | Should -Be 2
        $a | Start-Container
        $out = Invoke-InContainer pester-s 'ip -4 -o addr show eth0; ip route; timeout 2 wget -q -O - http://sa:1/ 2>&1; nslookup sa'
        ($out -join "`n") | Should -Match '10\.231\.7\.9'
        ($out -join "`n") | Should -Match 'default via 10\.231\.7\.254'
    }

    It 'exhausts a /30 pool with a clear error' {
        New-ContainerNetwork pester-tiny -Subnet 10.231.9.0/30 | Out-Null
        $one = New-Container pester/netbox:1 -Network pester-tiny -Command true
        $one.IPAddress | Should -Be '10.231.9.2'
        { New-Container pester/netbox:1 -Name two -Network pester-tiny -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'AddressPoolExhausted,PSContainer.Commands.NewContainerCommand'
        Get-Container two -All -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $one | Remove-Container
        (New-Container pester/netbox:1 -Network pester-tiny -Command true).IPAddress | Should -Be '10.231.9.2'
    }

    It 'refuses bad network input with clear errors and makes nothing' {
        $before = @(Get-ContainerNetwork).Count
        { New-ContainerNetwork bad1 -Subnet 10.1.2.3/24 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSubnet,PSContainer.Commands.NewContainerNetworkCommand'
        { New-ContainerNetwork bad2 -Subnet nonsense -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSubnet,PSContainer.Commands.NewContainerNetworkCommand'
        { New-ContainerNetwork bad3 -Subnet 10.232.0.0/24 -Gateway 10.233.0.1 -ErrorAction Stop } | Should -Throw -ErrorId 'GatewayOutOfSubnet,PSContainer.Commands.NewContainerNetworkCommand'
        New-ContainerNetwork good -Subnet 10.232.0.0/24 | Out-Null
        { New-ContainerNetwork bad4 -Subnet 10.232.0.0/16 -ErrorAction Stop } | Should -Throw -ErrorId 'SubnetOverlap,PSContainer.Commands.NewContainerNetworkCommand'
        $hostRoute = @(& ip -4 route show scope link | Where-Object { $_ -match '^(\d+\.\d+\.\d+\.\d+/\d+) ' -and $_ -notmatch 'psc' } | ForEach-Object { ($_ -split ' ')[0] })[0]
        if ($hostRoute) {
            { New-ContainerNetwork bad5 -Subnet $hostRoute -ErrorAction Stop } | Should -Throw -ErrorId 'SubnetOverlap,PSContainer.Commands.NewContainerNetworkCommand'
        }
        { New-ContainerNetwork good -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkExists,PSContainer.Commands.NewContainerNetworkCommand'
        { New-Container pester/netbox:1 -Network nosuchnet -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkNotFound,PSContainer.Commands.NewContainerCommand'
        { New-Container pester/netbox:1 -Publish '80:99999' -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidPublish,PSContainer.Commands.NewContainerCommand'
        @(Get-ContainerNetwork).Count | Should -Be ($before + 1)
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'refuses a host port that is in use or already published' {
        $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try {
            $busy = $listener.LocalEndpoint.Port
            { New-Container pester/netbox:1 -Publish "127.0.0.1:${busy}:80" -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'PortInUse,PSContainer.Commands.NewContainerCommand'
        }
        finally { $listener.Stop() }
        $p = Get-Random -Minimum 40000 -Maximum 50000
        New-Container pester/netbox:1 -Publish "${p}:80" -Command true | Out-Null
        { New-Container pester/netbox:1 -Publish "${p}:81" -Command true -ErrorAction Stop } | Should -Throw -ErrorId 'PortAllocated,PSContainer.Commands.NewContainerCommand'
        @(Get-Container -All).Count | Should -Be 1
    }

    It 'refuses to remove a network in use unless -Force' {
        New-ContainerNetwork pester-busy | Out-Null
        New-Container pester/netbox:1 -Name busy1 -Network pester-busy -Command true | Out-Null
        { Remove-ContainerNetwork pester-busy -ErrorAction Stop } | Should -Throw -ErrorId 'NetworkInUse,PSContainer.Commands.RemoveContainerNetworkCommand'
        Get-ContainerNetwork pester-busy | Should -Not -BeNullOrEmpty
        Remove-ContainerNetwork pester-busy -WhatIf
        Get-ContainerNetwork pester-busy | Should -Not -BeNullOrEmpty
        Remove-ContainerNetwork pester-busy -Force
        Get-ContainerNetwork pester-busy -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-Container busy1 -All).Networks | Should -BeNullOrEmpty
    }

    It 'shares a network namespace with -Network container:NAME' {
        $web = Start-Web shared
        $out = @(Start-Container -Image pester/netbox:1 -Network container:shared -AutoRemove -Command sh, -c, 'ip -4 -o addr show eth0; timeout 5 wget -q -O - http://127.0.0.1/; readlink /proc/self/ns/net')
        ($out -join "`n") | Should -Match ([regex]::Escape($web.IPAddress))
        $out | Should -Contain 'shared'
        $out[-1] | Should -Be (& readlink "/proc/$($web.Pid)/ns/net")
    }

    It 'connects and disconnects a running container' {
        New-ContainerNetwork pester-c1 | Out-Null
        New-ContainerNetwork pester-c2 | Out-Null
        $web = Start-Web multi -Extra @{ Network = 'pester-c1' }
        $c = Connect-ContainerNetwork -Name multi -Network pester-c2 -NetworkAlias multi-two -PassThru
        $c.Networks | Should -Be @('pester-c1', 'pester-c2')
        (Invoke-InContainer container:multi 'ip -o link') -join "`n" | Should -Match 'eth1'
        Invoke-InContainer pester-c2 'timeout 5 wget -q -O - http://multi-two/' | Should -Contain 'multi'
        $d = Disconnect-ContainerNetwork -Name multi -Network pester-c2 -PassThru
        $d.Networks | Should -Be @('pester-c1')
        (Invoke-InContainer container:multi 'ip -o link') -join "`n" | Should -Not -Match 'eth1'
        Invoke-InContainer pester-c2 'nslookup multi-two || echo gone' | Should -Contain 'gone'
        Invoke-InContainer pester-c1 'timeout 5 wget -q -O - http://multi/' | Should -Contain 'multi'
        { Disconnect-ContainerNetwork -Name multi -Network pester-c2 -ErrorAction Stop } | Should -Throw -ErrorId 'NotConnected,PSContainer.Commands.DisconnectContainerNetworkCommand'
    }

    It 'writes -AddHost and -DnsServer into the container files' {
        $out = Invoke-InContainer bridge 'cat /etc/hosts /etc/resolv.conf' -Extra @{ AddHost = 'db.example:127.0.0.7'; DnsServer = '127.0.0.9'; Hostname = 'h1' }
        ($out -join "`n") | Should -Match '127\.0\.0\.7\s+db\.example'
        $out | Should -Contain 'nameserver 127.0.0.9'
        ($out -join "`n") | Should -Match '10\.\d+\.\d+\.\d+\s+h1'
    }

    It 'keeps an internal network off the outside' {
        $net = New-ContainerNetwork pester-int -Internal
        $net.Internal | Should -BeTrue
        $out = Invoke-InContainer pester-int "ip route; timeout 5 wget -q -O - http://$($net.Gateway):1/ 2>&1 | head -1"
        ($out -join "`n") | Should -Not -Match 'default'
        $rules = & nft list table inet (Get-OurTable)
        ($rules -join "`n") | Should -Match ([regex]::Escape("iifname `"$($net.Bridge)`" oifname != `"$($net.Bridge)`" drop"))
    }

    It 'tears the network down when a container exits and on a failed start' {
        $net = New-ContainerNetwork pester-t
        Invoke-InContainer pester-t 'true' | Out-Null
        Wait-NoDns
        @(Get-OurDns).Count | Should -Be 0
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        @(& ip -o link | Where-Object { $_ -match 'pscv' -and $_ -match [regex]::Escape($script:tag) }).Count | Should -Be 0
        $bad = New-Container pester/netbox:1 -Name bad -Network pester-t -Publish 80 -Command /no/such/binary
        { $bad | Start-Container -ErrorAction Stop } | Should -Throw
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        @(& ip -o link | Where-Object { $_ -match 'pscv' -and $_ -match [regex]::Escape($script:tag) }).Count | Should -Be 0
        (& nft list table inet (Get-OurTable)) -join "`n" | Should -Not -Match 'dnat ip to'
        Wait-NoDns
        @(Get-OurDns).Count | Should -Be 0
    }

    It 'allocates distinct addresses to containers made at once by two sessions' {
        New-ContainerNetwork pester-race -Subnet 10.231.11.0/24 | Out-Null
        $script = "Import-Module '$(Get-TestModulePath)'; 1..8 | ForEach-Object { (New-Container pester/netbox:1 -Network pester-race -Command true).IPAddress }"
        $jobs = 1..2 | ForEach-Object { Start-TestPwsh -Script $script }
        $results = $jobs | Wait-TestPwsh
        $results | ForEach-Object { $_.ExitCode | Should -Be 0 -Because $_.Stderr }
        $addresses = @($results | ForEach-Object { $_.Stdout -split "`n" } | Where-Object { $_ -match '^10\.' } | ForEach-Object Trim)
        $addresses.Count | Should -Be 16
        @($addresses | Sort-Object -Unique).Count | Should -Be 16
    }

    It 'removes what a killed session left behind (Repair-ContainerState)' {
        $net = New-ContainerNetwork pester-r
        & ip link add pscvdeadbeef000 type veth peer name pscvdeadbeef001
        & ip link set pscvdeadbeef000 alias $script:tag
        & ip link add psc0deadbe type bridge
        & ip link set psc0deadbe alias $script:tag
        New-Item -ItemType Directory -Force "$($script:state.RunRoot)/netns" | Out-Null
        & ip netns add dummy-psc-test 2>$null
        New-Item -ItemType File "$($script:state.RunRoot)/netns/0000deadbeef" | Out-Null
        & mount --bind /run/netns/dummy-psc-test "$($script:state.RunRoot)/netns/0000deadbeef"
        & ip netns delete dummy-psc-test
        Repair-ContainerState -Verbose 4>&1 | Out-String | Should -Match 'pscvdeadbeef000'
        (& ip -o link) -join "`n" | Should -Not -Match 'pscvdeadbeef|psc0deadbe'
        Test-Path "$($script:state.RunRoot)/netns/0000deadbeef" | Should -BeFalse
        (& ip -o link show $net.Bridge) | Should -Not -BeNullOrEmpty
    }
}
