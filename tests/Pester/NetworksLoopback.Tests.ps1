#Requires -Version 7.4
# CVE-2020-8558 class: every bridge has route_localnet=1, so without a drop rule a container with CAP_NET_RAW (a
# default capability) reaches services bound to the host's 127.0.0.1 by writing packets for 127.0.0.1 to the bridge's
# MAC address. NetworksLoopbackProbe.c (compiled here with gcc -static, bind-mounted into the container) does that
# with a packet socket; host listeners on 127.0.0.1 tell whether it came through. Each case runs over both firewall
# backends. Traffic goes only to 127.0.0.0/8 and to the namespaces these tests make.

BeforeDiscovery {
    $script:backends = @(@{ Backend = 'nftables'; Tool = 'nft' }, @{ Backend = 'iptables'; Tool = 'iptables-restore' })
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-lo'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    $script:previousFirewall = $env:PSCONTAINER_FIREWALL
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $sha = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:state.Root))
    $script:hash = [Convert]::ToHexString($sha).Substring(0, 8).ToLowerInvariant()
    $script:nftTablesBefore = @(if (Get-Command nft -ErrorAction SilentlyContinue) { & nft list tables 2>$null })

    $script:probe = Join-Path $script:state.Work 'probe'
    $script:probeError = $null
    if (-not (Get-Command gcc -ErrorAction SilentlyContinue)) { $script:probeError = 'gcc is not installed' }
    else {
        $out = & gcc -static -O2 -Wall -Wextra -Werror -o $script:probe "$PSScriptRoot/NetworksLoopbackProbe.c" 2>&1
        if ($LASTEXITCODE -ne 0) { $script:probeError = "gcc -static failed (is libc6-dev installed?): $out" }
    }
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'cat', 'echo', 'sleep', 'httpd', 'mkdir', 'true')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/lobox:1' -Command sh | Out-Null

    # Our objects on the host: links with this root's alias, our nft table, our iptables chains and jumps.
    function script:Get-OurFirewall {
        @(
            if (Get-Command nft -ErrorAction SilentlyContinue) { & nft list tables | Where-Object { $_ -match "pscontainer_$($script:hash)" } | ForEach-Object { "nft $_" } }
            if (Get-Command iptables -ErrorAction SilentlyContinue) {
                foreach ($t in 'nat', 'filter', 'mangle') { & iptables -w -t $t -S 2>$null | Where-Object { $_ -match "PSC-$($script:hash)-" } | ForEach-Object { "iptables $t $_" } }
            }
        )
    }
    function script:Get-OurLinks { @(& ip -o link | Where-Object { $_ -match [regex]::Escape("pscontainer:$($script:state.Root)") }) }

    # A container on -Network that sleeps, with the probe at /probe; returns it with the bridge's MAC (read after the
    # veth joined: a bridge takes the lowest MAC of its ports unless one was set).
    function script:Start-Attacker([string]$Network, [string]$Name) {
        $c = New-Container pester/lobox:1 -Name $Name -Network $Network -Volume "$($script:probe):/probe:ro" -Command sleep, 120 | Start-Container -PassThru
        $bridge = (Get-ContainerNetwork $Network).Bridge
        [pscustomobject]@{ Name = $Name; Address = $c.IPAddress; Mac = (Get-Content "/sys/class/net/$bridge/address").Trim() }
    }
    function script:Invoke-Probe($Attacker, [string]$Source, [string]$Target, [string]$Protocol, [int]$Port, [string]$Payload) {
        $out = @(Invoke-ContainerCommand $Attacker.Name -Command /probe, eth0, $Attacker.Mac, $Source, $Target, $Protocol, $Port, $Payload -ErrorAction Continue 2>&1 | ForEach-Object { "$_" })
        [pscustomobject]@{ Output = $out; ExitCode = $LASTEXITCODE }
    }
    # What a UDP listener got within 1.5 s (or $null), and what a TCP listener accepted (the first bytes, or $null).
    function script:Receive-Udp([Net.Sockets.UdpClient]$Udp) {
        $Udp.Client.ReceiveTimeout = 1500
        try { $from = [Net.IPEndPoint]::new([Net.IPAddress]::Any, 0); [Text.Encoding]::ASCII.GetString($Udp.Receive([ref]$from)) } catch { $null }
    }
    function script:Receive-Tcp([Net.Sockets.TcpListener]$Tcp) {
        $deadline = [DateTime]::UtcNow.AddSeconds(1.5)
        while (-not $Tcp.Pending() -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 50 }
        if (-not $Tcp.Pending()) { return $null }
        $client = $Tcp.AcceptTcpClient()
        try {
            $client.ReceiveTimeout = 1500
            $buffer = [byte[]]::new(256)
            $n = try { $client.GetStream().Read($buffer, 0, $buffer.Length) } catch { 0 }
            [Text.Encoding]::ASCII.GetString($buffer, 0, $n)
        }
        finally { $client.Dispose() }
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    $leaks = @(Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }) + @(Get-OurLinks) + @(Get-OurFirewall)
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    $env:PSCONTAINER_FIREWALL = $script:previousFirewall
    Remove-TestStateRoot $script:state
    # iptables-nft makes the nf_tables tables ip nat / filter / mangle on first use and never removes them: remove
    # the ones this file caused, once they hold no rule.
    if (Get-Command nft -ErrorAction SilentlyContinue) {
        foreach ($t in 'nat', 'filter', 'mangle') {
            $rules = @(& iptables -w -t $t -S 2>$null | Where-Object { $_ -notmatch '^-P ' })
            if ("table ip $t" -notin $script:nftTablesBefore -and $rules.Count -eq 0) { & nft delete table ip $t 2>$null }
        }
    }
    $leaks | Should -BeNullOrEmpty -Because 'the suite must leave no link, nft table or iptables chain behind'
}

Describe 'The host loopback behind a bridge over <Backend>' -ForEach $backends {
    BeforeAll {
        $env:PSCONTAINER_FIREWALL = $Backend
        $script:skip = if (-not $script:haveRuntime) { 'psc-runtime/psc-monitor are not built' }
        elseif (-not (Get-Command $Tool -ErrorAction SilentlyContinue)) { "$Tool is not installed" }
        elseif ($script:probeError) { $script:probeError }
    }
    BeforeEach {
        $env:PSCONTAINER_FIREWALL = $Backend
        if ($script:skip) { Set-ItResult -Skipped -Because $script:skip }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force
    }

    It 'keeps raw packets for 127.0.0.1 from a container off the host''s loopback services (UDP and TCP)' {
        $net = New-ContainerNetwork "pester-lo-$Backend"
        $attacker = Start-Attacker $net.Name "lo-$Backend"
        $port = Get-Random -Minimum 40000 -Maximum 50000
        $loUdp = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new([Net.IPAddress]::Loopback, $port))
        $loTcp = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, $port)
        $gw = [Net.IPAddress]::Parse($net.Gateway)
        $gwUdp = [Net.Sockets.UdpClient]::new([Net.IPEndPoint]::new($gw, $port))
        $gwTcp = [Net.Sockets.TcpListener]::new($gw, $port)
        try {
            $loTcp.Start(); $gwTcp.Start()
            # The probe works: the same raw packets addressed to the gateway reach listeners there. (For TCP from an
            # address of the subnet no container holds: the container's own kernel would answer the gateway's SYN-ACK
            # to its address with a reset; the probe answers the ARP request for the free address itself.)
            (Invoke-Probe $attacker $attacker.Address $net.Gateway udp $port 'to-gateway').Output | Should -Contain 'sent'
            Receive-Udp $gwUdp | Should -Be 'to-gateway'
            $network, $prefix = $net.Subnet -split '/'
            $bytes = [Net.IPAddress]::Parse($network).GetAddressBytes(); [Array]::Reverse($bytes)
            $free = [BitConverter]::GetBytes([BitConverter]::ToUInt32($bytes, 0) + [uint32]([math]::Pow(2, 32 - [int]$prefix) - 6)); [Array]::Reverse($free)
            $toGw = Invoke-Probe $attacker ([Net.IPAddress]::new($free)).ToString() $net.Gateway tcp $port 'tcp-to-gateway'
            $toGw.Output | Should -Contain 'delivered'
            Receive-Tcp $gwTcp | Should -Be 'tcp-to-gateway'

            # Addressed to 127.0.0.1 they are dropped: no datagram, no SYN-ACK, no connection.
            (Invoke-Probe $attacker $attacker.Address 127.0.0.1 udp $port 'to-loopback').Output | Should -Contain 'sent'
            Receive-Udp $loUdp | Should -BeNullOrEmpty
            $toLo = Invoke-Probe $attacker $attacker.Address 127.0.0.1 tcp $port 'tcp-to-loopback'
            $toLo.Output | Should -Contain 'no-reply'
            $toLo.ExitCode | Should -Be 3
            Receive-Tcp $loTcp | Should -BeNullOrEmpty
            # A loopback source does not help either (the kernel drops it as a martian too; the rule has no exception for it).
            (Invoke-Probe $attacker 127.0.0.1 127.0.0.1 udp $port 'spoofed').Output | Should -Contain 'sent'
            Receive-Udp $loUdp | Should -BeNullOrEmpty
        }
        finally {
            $loUdp.Dispose(); $loTcp.Stop(); $gwUdp.Dispose(); $gwTcp.Stop()
        }
    }

    It 'keeps a port published on 127.0.0.1 off other networks'' containers and working from the host' {
        New-ContainerNetwork "pester-lo-web-$Backend" | Out-Null
        $attackNet = New-ContainerNetwork "pester-lo-att-$Backend"
        $p = Get-Random -Minimum 30000 -Maximum 40000
        Start-TestWebContainer -Image pester/lobox:1 -Name "lo-web-$Backend" -Text 'loopback-only' -Extra @{ Network = "pester-lo-web-$Backend"; Publish = "127.0.0.1:${p}:80" } | Out-Null
        Wait-TestHttp "http://127.0.0.1:$p/" | Should -Be 'loopback-only'
        $attacker = Start-Attacker $attackNet.Name "lo-att-$Backend"
        # Without the rule the SYN is DNATed to the web container across the isolation of networks and answered.
        $r = Invoke-Probe $attacker $attacker.Address 127.0.0.1 tcp $p 'GET / HTTP/1.0'
        $r.Output | Should -Contain 'no-reply'
        Wait-TestHttp "http://127.0.0.1:$p/" | Should -Be 'loopback-only'
    }

    It 'takes the rule away with the last network' {
        $before = @(Get-OurFirewall)
        $net = New-ContainerNetwork "pester-lo-rm-$Backend"
        $rules = @(Get-OurFirewall)
        if ($Backend -eq 'iptables') {
            $rules | Should -Contain "iptables mangle -A PSC-$($script:hash)-LO -d 127.0.0.0/8 -i $($net.Bridge) -m conntrack ! --ctstate RELATED,ESTABLISHED -j DROP"
            @($rules | Where-Object { $_ -match "^iptables mangle -A PREROUTING .*-j PSC-$($script:hash)-LO$" }).Count | Should -Be 1
        }
        else {
            (& nft list table inet "pscontainer_$($script:hash)") -join "`n" | Should -Match ([regex]::Escape("iifname `"$($net.Bridge)`" ip daddr 127.0.0.0/8 ct state != { established, related } drop"))
        }
        Get-ContainerNetwork | Remove-ContainerNetwork -Force
        @(Get-OurFirewall) | Should -Be $before
        @(Get-OurFirewall) | Should -BeNullOrEmpty
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        @(Get-OurLinks) | Should -BeNullOrEmpty
    }
}
