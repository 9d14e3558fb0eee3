#Requires -Version 7.4
# Container networks over the iptables backend ($env:PSCONTAINER_FIREWALL = 'iptables'): published ports, isolation
# between networks, internal networks, and nothing left behind (no PSC-<hash>- chain or jump) once the networks go.
# Traffic goes only to 127.0.0.0/8 and to the containers these tests make.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-ipt'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    $script:previousFirewall = $env:PSCONTAINER_FIREWALL
    $env:PSCONTAINER_FIREWALL = 'iptables'
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $script:haveIptables = [bool](Get-Command iptables-restore -ErrorAction SilentlyContinue)
    $script:tag = "pscontainer:$($script:state.Root)"
    $sha = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:state.Root))
    $script:hash = [Convert]::ToHexString($sha).Substring(0, 8).ToLowerInvariant()
    $script:prefix = "PSC-$($script:hash)-"
    # iptables-nft makes the nf_tables tables ip nat / filter / mangle (with empty built-in chains) on first use and, like
    # iptables everywhere, never removes them: AfterAll removes the ones this file caused, once they hold no rule.
    $script:nftTablesBefore = @(if (Get-Command nft -ErrorAction SilentlyContinue) { & nft list tables 2>$null })

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
        'sh', 'cat', 'echo', 'sleep', 'httpd', 'wget', 'ip', 'nslookup', 'mkdir', 'timeout', 'true', 'head')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/iptbox:1' -Command sh | Out-Null

    # The shared helpers of TestSupport.psm1, bound to this file's image.
    function script:Start-Web([string]$Name, [string]$Text = $Name, [hashtable]$Extra = @{}) { Start-TestWebContainer -Image pester/iptbox:1 -Name $Name -Text $Text -Extra $Extra }
    function script:Invoke-InContainer([string]$Network, [string]$Script, [hashtable]$Extra = @{}) { Invoke-TestInContainer -Image pester/iptbox:1 -Network $Network -Script $Script -Extra $Extra }
    function script:Wait-Http([string]$Uri) { Wait-TestHttp -Uri $Uri }
    # Our rules in iptables: chain declarations and rules of our chains, and the jumps to them.
    function script:Get-OurIptables {
        @(foreach ($t in 'nat', 'filter', 'mangle') { & iptables -w -t $t -S | Where-Object { $_ -match [regex]::Escape($script:prefix) } | ForEach-Object { "$t $_" } })
    }
    function script:Get-OurNetworkLeak {
        @(
            & ip -o link | Where-Object { $_ -match [regex]::Escape($script:tag) } | ForEach-Object { "link $(($_ -split ': ')[1])" }
            Get-OurIptables | ForEach-Object { "iptables $_" }
            if (Get-Command nft -ErrorAction SilentlyContinue) { & nft list tables | Where-Object { $_ -match "pscontainer_$($script:hash)" } | ForEach-Object { "nft $_" } }
            if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
        )
    }
    function script:Wait-NoDns {
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        while ([DateTime]::UtcNow -lt $deadline) {
            $left = @(Get-Process -Name 'psc-dns' -ErrorAction SilentlyContinue | Where-Object {
                (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($script:state.RunRoot) })
            if ($left.Count -eq 0) { return }
            Start-Sleep -Milliseconds 50
        }
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
    $env:PSCONTAINER_FIREWALL = $script:previousFirewall
    Remove-TestStateRoot $script:state
    if (Get-Command nft -ErrorAction SilentlyContinue) {
        foreach ($t in 'nat', 'filter', 'mangle') {
            $rules = @(& iptables -w -t $t -S 2>$null | Where-Object { $_ -notmatch '^-P ' })
            if ("table ip $t" -notin $script:nftTablesBefore -and $rules.Count -eq 0) { & nft delete table ip $t 2>$null }
        }
    }
    $leaks | Should -BeNullOrEmpty -Because 'the suite must leave no veth, bridge, iptables chain or jump, netns behind'
}

Describe 'Container networks over iptables' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
        elseif (-not $script:haveIptables) { Set-ItResult -Skipped -Because 'iptables-restore is not installed' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Where-Object Name -ne 'bridge' | Remove-ContainerNetwork -Force
        Wait-NoDns
    }

    It 'puts the rules in chains of our own, jumped to once, and no nft table' {
        $net = New-ContainerNetwork pester-ipt
        $rules = Get-OurIptables
        foreach ($c in 'DNAT', 'POST') { $rules | Should -Contain "nat -N $($script:prefix)$c" }
        $rules | Should -Contain "filter -N $($script:prefix)FWD"
        foreach ($hook in 'PREROUTING', 'OUTPUT', 'POSTROUTING') {
            @($rules | Where-Object { $_ -match "^nat -A $hook .*--comment `"?pscontainer:pscontainer_$($script:hash)`"? -j $([regex]::Escape($script:prefix))" }).Count | Should -Be 1
        }
        @($rules | Where-Object { $_ -match "^filter -A FORWARD .*-j $([regex]::Escape($script:prefix))FWD" }).Count | Should -Be 1
        # another rewrite (a second network) refills the chains without a second jump
        New-ContainerNetwork pester-ipt2 | Out-Null
        $again = Get-OurIptables
        @($again | Where-Object { $_ -match '^(nat|filter) -A (PREROUTING|OUTPUT|POSTROUTING|FORWARD) ' }).Count | Should -Be 4
        $again | Should -Contain "nat -A $($script:prefix)POST -s $($net.Subnet) ! -o $($net.Bridge) -j MASQUERADE"
        if (Get-Command nft -ErrorAction SilentlyContinue) {
            (& nft list tables) -join "`n" | Should -Not -Match "pscontainer_$($script:hash)"
        }
    }

    It 'publishes a port on 127.0.0.1 and through the gateway' {
        $p = Get-Random -Minimum 20000 -Maximum 30000
        $web = Start-Web pub -Extra @{ Publish = "127.0.0.1:${p}:80" }
        $web.Ports[0] | Should -Be "127.0.0.1:$p->80/tcp"
        Wait-Http "http://127.0.0.1:$p/" | Should -Be 'pub'
        $web2 = Start-Web pub2 -Extra @{ Publish = '80' }
        $port2 = [int](($web2.Ports[0] -split '[:\-]')[1])
        Wait-Http "http://127.0.0.1:$port2/" | Should -Be 'pub2'
        $gw = (Get-ContainerNetwork bridge).Gateway
        Invoke-InContainer bridge "timeout 5 wget -q -O - http://${gw}:$port2/" | Should -Contain 'pub2'
        Invoke-InContainer bridge "timeout 3 wget -q -O - http://${gw}:$p/ || echo refused" | Should -Not -Contain 'pub'
        Get-OurIptables | Should -Contain "nat -A $($script:prefix)DNAT -d 127.0.0.1/32 -p tcp -m tcp --dport $p -j DNAT --to-destination $($web.IPAddress):80"
        # the container stops: its port goes from the chain
        Get-Container pub | Stop-Container -Timeout 1
        (Get-OurIptables) -join "`n" | Should -Not -Match "--dport $p "
    }

    It 'isolates two user networks but lets each reach its own containers' {
        New-ContainerNetwork pester-x | Out-Null
        New-ContainerNetwork pester-y | Out-Null
        $x = Start-Web webx -Extra @{ Network = 'pester-x' }
        $out = Invoke-InContainer pester-y "timeout 2 wget -q -O - http://$($x.IPAddress)/ || echo blocked"
        $out | Should -Contain 'blocked'
        $out | Should -Not -Contain 'webx'
        Invoke-InContainer pester-x "timeout 5 wget -q -O - http://$($x.IPAddress)/" | Should -Contain 'webx'
    }

    It 'reaches a published port of another network through the gateway (DNAT crosses the isolation)' {
        New-ContainerNetwork pester-p | Out-Null
        $q = New-ContainerNetwork pester-q
        $p = Get-Random -Minimum 30000 -Maximum 40000
        Start-Web webp -Extra @{ Network = 'pester-p'; Publish = "${p}:80" } | Out-Null
        Wait-Http "http://127.0.0.1:$p/" | Should -Be 'webp'
        Invoke-InContainer pester-q "timeout 5 wget -q -O - http://$($q.Gateway):$p/" | Should -Contain 'webp'
    }

    It 'keeps an internal network off the outside' {
        $net = New-ContainerNetwork pester-int -Internal
        $other = New-ContainerNetwork pester-ext
        $ext = Start-Web webext -Extra @{ Network = 'pester-ext' }
        $in = Start-Web webint -Extra @{ Network = 'pester-int' }
        $out = Invoke-InContainer pester-int "ip route; timeout 2 wget -q -O - http://$($ext.IPAddress)/ || echo blocked; timeout 5 wget -q -O - http://$($in.IPAddress)/"
        ($out -join "`n") | Should -Not -Match 'default'
        $out | Should -Contain 'blocked'
        $out | Should -Not -Contain 'webext'
        $out | Should -Contain 'webint'
        Invoke-InContainer pester-ext "timeout 2 wget -q -O - http://$($in.IPAddress)/ || echo blocked" | Should -Contain 'blocked'
        $rules = Get-OurIptables
        $rules | Should -Contain "filter -A $($script:prefix)FWD -i $($net.Bridge) ! -o $($net.Bridge) -j DROP"
        ($rules -join "`n") | Should -Not -Match ([regex]::Escape("-s $($net.Subnet) ! -o $($net.Bridge) -j MASQUERADE"))
        $other | Out-Null
    }

    It 'removes every chain and jump when the last network goes' {
        New-ContainerNetwork pester-last | Out-Null
        Invoke-InContainer bridge 'true' | Out-Null
        @(Get-OurIptables).Count | Should -BeGreaterThan 0
        Get-ContainerNetwork | Remove-ContainerNetwork -Force
        Wait-NoDns
        @(Get-OurIptables) | Should -BeNullOrEmpty
        @(& iptables-save | Where-Object { $_ -match [regex]::Escape($script:prefix) }).Count | Should -Be 0
        Wait-TestNetworkTeardown | Should -BeNullOrEmpty
        @(Get-OurNetworkLeak) | Should -BeNullOrEmpty
    }
}
