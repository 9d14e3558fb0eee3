#Requires -Version 7.4
# The network provider on the host object ledger, and its teardown off the user's path: a start records the
# namespace, veth and address before making them; a stop or removal unpins the namespace and returns while the kernel
# destroys it and the veth pair in the background; the ledger keeps naming what is pending, a new lease never takes
# a pending address, WaitForNetworkTeardown (the test hook) waits for it, Repair removes what the kernel could not.
# A pending teardown is made observable by holding the container's namespace with a process of the test's own
# (nsenter --net=... sleep): the kernel cannot destroy a namespace a process is in.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-netdown'
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $script:haveNft = [bool](Get-Command nft -ErrorAction SilentlyContinue)
    $script:haveNsenter = [bool](Get-Command nsenter -ErrorAction SilentlyContinue)
    $script:tag = "pscontainer:$($script:state.Root)"
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'sleep', 'true', 'ip')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/netdown:1' -Command sh | Out-Null
    $script:db = Join-Path $script:state.Root 'state.db'

    function script:Get-Ledger([string]$Id) {
        @(Invoke-TestSqlite -Database $script:db -Query "SELECT kind, name FROM host_objects WHERE container_id = '$Id' AND kind IN ('netns', 'veth', 'lease') ORDER BY kind")
    }
    function script:Get-Veth([string]$Id, [string]$Network) {
        [PSContainer.Engine.Networks.NetworkManager]::VethName($Id, (Get-ContainerNetwork $Network).Id)
    }
    function script:Test-Link([string]$Name) { [bool](& ip -o link show $Name 2>$null) }
    function script:Start-Holder([string]$Id) {
        # A process in the container's network namespace keeps the namespace (and the veth peer in it) alive after
        # the engine unpins it, as a slow kernel would.
        $p = Start-Process -FilePath nsenter -ArgumentList "--net=$($script:state.RunRoot)/netns/$Id", 'sleep', '120' -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ([DateTime]::UtcNow -lt $deadline -and -not (Test-Path "/proc/$($p.Id)/ns/net")) { Start-Sleep -Milliseconds 20 }
        $p
    }
    function script:Stop-Holder($Process) {
        if ($Process -and -not $Process.HasExited) { $Process.Kill(); $Process.WaitForExit(10000) | Out-Null }
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    $pending = Wait-TestNetworkTeardown
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    $links = @(& ip -o link | Where-Object { $_ -match [regex]::Escape($script:tag) })
    $netns = @(if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" })
    Remove-TestStateRoot $script:state
    $pending | Should -BeNullOrEmpty -Because 'every background teardown finished'
    $links | Should -BeNullOrEmpty -Because 'no veth or bridge of the suite is left'
    $netns | Should -BeNullOrEmpty
}

Describe 'Network teardown on the host object ledger' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
        elseif (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed' }
        elseif (-not $script:haveNsenter) { Set-ItResult -Skipped -Because 'nsenter (util-linux) is not installed' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        $null = Wait-TestNetworkTeardown
        Get-ContainerNetwork | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force
    }

    It 'records the namespace, veth and address of a start, and forgets them once they are gone' {
        $c = New-Container pester/netdown:1 -Command sleep, 60 | Start-Container -PassThru
        $veth = Get-Veth $c.Id bridge
        $rows = Get-Ledger $c.Id
        ($rows | Where-Object kind -eq 'netns').name | Should -Be "$($script:state.RunRoot)/netns/$($c.Id)"
        ($rows | Where-Object kind -eq 'veth').name | Should -Be $veth
        ($rows | Where-Object kind -eq 'lease').name | Should -Match "^[0-9a-f]{64} $([regex]::Escape($c.IPAddress)) $veth$"
        Test-Link $veth | Should -BeTrue
        $c | Remove-Container -Force
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        Test-Link $veth | Should -BeFalse
        Test-Path "$($script:state.RunRoot)/netns/$($c.Id)" | Should -BeFalse
        Get-Ledger $c.Id | Should -BeNullOrEmpty -Because 'entries are forgotten once their objects are gone'
    }

    It 'returns from Remove-Container while the veth is still going, and never leases its address meanwhile' {
        New-ContainerNetwork pester-down -Subnet 10.231.41.0/29 | Out-Null
        $c = New-Container pester/netdown:1 -Network pester-down -Command sleep, 60 | Start-Container -PassThru
        $veth = Get-Veth $c.Id pester-down
        $holder = Start-Holder $c.Id
        try {
            $c | Remove-Container -Force
            Test-Path "$($script:state.RunRoot)/netns/$($c.Id)" | Should -BeFalse -Because 'the namespace is unpinned at once'
            Test-Link $veth | Should -BeTrue -Because 'the veth goes with the namespace, which a process still holds'
            $left = @(Wait-TestNetworkTeardown -TimeoutSeconds 0.3 | Sort-Object)
            $left | Should -Be @("lease $((Get-ContainerNetwork pester-down).Id) $($c.IPAddress) $veth", "veth $veth")
            # Its address is still answered for inside that namespace: a new container must get another one.
            $next = New-Container pester/netdown:1 -Network pester-down -Command true
            $next.IPAddress | Should -Not -Be $c.IPAddress
            # Asked for by name, the address is freed at once (the old veth deleted here).
            $again = New-Container pester/netdown:1 -Network pester-down -IPAddress $c.IPAddress -Command true
            $again.IPAddress | Should -Be $c.IPAddress
            Test-Link $veth | Should -BeFalse
        }
        finally { Stop-Holder $holder }
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
    }

    It 'lets the kernel finish a held teardown once the namespace is let go' {
        $c = New-Container pester/netdown:1 -Command sleep, 60 | Start-Container -PassThru
        $veth = Get-Veth $c.Id bridge
        $holder = Start-Holder $c.Id
        try {
            $c | Stop-Container -Timeout 0
            Test-Link $veth | Should -BeTrue
        }
        finally { Stop-Holder $holder }
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        Test-Link $veth | Should -BeFalse
        # The stopped container starts again with a fresh pair under the same name.
        $c | Start-Container
        Test-Link $veth | Should -BeTrue
        (Invoke-ContainerCommand $c.Id -Command ip, -o, addr, show, eth0) -join "`n" | Should -Match ([regex]::Escape($c.IPAddress))
    }

    It 'has Repair remove a veth the kernel could not take down' {
        $c = New-Container pester/netdown:1 -Command sleep, 60 | Start-Container -PassThru
        $veth = Get-Veth $c.Id bridge
        $holder = Start-Holder $c.Id
        try {
            $c | Remove-Container -Force
            Test-Link $veth | Should -BeTrue
            (Repair-ContainerState -Verbose 4>&1 | Out-String) | Should -Match ([regex]::Escape($veth))
            Test-Link $veth | Should -BeFalse -Because 'Repair deletes it even though its namespace lives on'
            Get-Ledger $c.Id | Should -BeNullOrEmpty
        }
        finally { Stop-Holder $holder }
    }
}

Describe 'The FORWARD policy read over netlink' {
    # EnsureForwardAccept asks on every start whether iptables-nft's FORWARD policy is DROP; it reads the policy of
    # the nftables chain over netlink instead of running `iptables -S`. Checked on a chain of our own that drops only
    # what enters a veth of the test's own (netdev ingress), so nothing else on the host is affected.
    BeforeAll {
        $script:suffix = [guid]::NewGuid().ToString('N').Substring(0, 8)
        $script:dev = "psctd$($script:suffix.Substring(0, 6))"
        $script:table = "psctest_$script:suffix"
    }
    AfterAll {
        & nft delete table netdev $script:table 2>$null
        & ip link del $script:dev 2>$null
    }
    It 'tells a drop policy from an accept policy and from a missing chain' {
        if (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed'; return }
        & ip link add $script:dev type veth peer name "$($script:dev)p"
        $LASTEXITCODE | Should -Be 0
        & nft add table netdev $script:table
        & nft "add chain netdev $script:table c { type filter hook ingress device `"$script:dev`" priority 0; policy drop; }"
        $LASTEXITCODE | Should -Be 0
        $nft = [PSContainer.Native.Netlink.NftablesNetlink]
        $netdev = [byte]5
        $nft::ChainPolicyDrops($netdev, $script:table, 'c') | Should -BeTrue
        & nft "chain netdev $script:table c { policy accept; }"
        $nft::ChainPolicyDrops($netdev, $script:table, 'c') | Should -BeFalse
        $nft::ChainPolicyDrops($netdev, $script:table, 'nosuchchain') | Should -BeFalse
        $nft::ChainPolicyDrops($netdev, "nosuch_$script:suffix", 'c') | Should -BeFalse
        # The chain iptables-nft keeps -P FORWARD in, as `iptables -S FORWARD` reports it.
        $expected = [bool]((& iptables -w -S FORWARD 2>$null) -match '^-P FORWARD DROP$')
        $nft::ChainPolicyDrops([byte]2, 'filter', 'FORWARD') | Should -Be $expected
    }
}
