#Requires -Version 7.4
# Several networks at create (docker 28's run --network a --network b, API 1.44; New-Container -Network a,b), docker
# stats per interface and per CPU, and docker system df's build cache, through psc-api on a private socket and state
# root (issue 13).

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'Docker API: several networks, per-interface stats, build cache in df (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dnet'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
        $script:haveDns = Test-Path (Join-Path (Split-Path (Get-TestModulePath)) 'psc-dns')
        # docker 28 sends every --network in one create (API 1.44); Debian's 20.10 cannot.
        $script:docker28 = if (Test-Path /usr/local/bin/docker) { '/usr/local/bin/docker' }

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh | Out-Null
        $script:img = 'pester/busybox:1'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:socket = $script:service.Socket
        $script:octet = Get-Random -Minimum 150 -Maximum 240
        function script:Get-OurLeak { Get-TestApiLeak -State $script:state }
        function script:Invoke-Docker28 { Invoke-DockerProcess -FilePath $script:docker28 -Arguments @($args | ForEach-Object { "$_" }) }
        # The host ends of a container's veths on the networks named (they carry the container and network ids).
        function script:Get-Veth([string]$Id, [string[]]$Network) {
            $names = $Network | ForEach-Object { [PSContainer.Engine.Networks.NetworkManager]::VethName($Id, (Get-ContainerNetwork $_).Id) }
            @(& ip -o link show 2>$null) | Where-Object { $line = $_; $names | Where-Object { $line -match "\b$_\b" } }
        }
        function script:Invoke-Api([string]$Path, [string]$Method = 'Get', $Body) {
            $p = @{ UnixSocket = $script:socket; Uri = "http://localhost$Path"; Method = $Method; SkipHttpErrorCheck = $true; TimeoutSec = 60 }
            if ($null -ne $Body) { $p.Body = ($Body | ConvertTo-Json -Depth 10 -Compress); $p.ContentType = 'application/json' }
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
        Get-ContainerNetwork | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    Context 'several networks at create' {
        It 'docker 28 run --network a --network b joins both, names resolve on each, inspect and stats show both, rm tears both down' {
            if (-not $script:docker28) { Set-ItResult -Skipped -Because 'no docker 28 CLI at /usr/local/bin/docker'; return }
            if (-not $script:haveDns) { Set-ItResult -Skipped -Because 'psc-dns is not built'; return }
            (Invoke-Docker network create pester-na).Code | Should -Be 0
            (Invoke-Docker network create --subnet "10.215.$script:octet.0/24" pester-nb).Code | Should -Be 0
            $run = Invoke-Docker28 run -d --name pester-mn --network pester-na --network "name=pester-nb,alias=bee,ip=10.215.$script:octet.9" `
                --network-alias ay $script:img sh -c 'echo hello > /tmp/i.html; exec httpd -f -p 80 -h /tmp'
            $run.Code | Should -Be 0 -Because $run.Err
            $id = $run.Out

            $nets = Invoke-Docker28 inspect -f '{{range $k, $v := .NetworkSettings.Networks}}{{$k}}={{$v.IPAddress}} {{end}}' pester-mn
            $nets.Code | Should -Be 0 -Because $nets.Err
            $pairs = @($nets.Out.Trim() -split ' ')
            $pairs | Should -HaveCount 2
            $pairs | Should -Contain "pester-nb=10.215.$script:octet.9"
            $pairs | Where-Object { $_ -like 'pester-na=*' } | Should -Match '^pester-na=\d+\.\d+\.\d+\.\d+$'
            (Invoke-Docker28 inspect -f '{{json (index .NetworkSettings.Networks "pester-nb").Aliases}}' pester-mn).Out | Should -Match '"bee"'
            (Get-Container pester-mn).Networks | Sort-Object | Should -Be @('pester-na', 'pester-nb')
            (Invoke-Docker network inspect -f '{{range .Containers}}{{.Name}}{{end}}' pester-nb).Out | Should -Be 'pester-mn'
            (Invoke-Docker exec pester-mn cat /proc/net/dev).Out | Should -Match 'eth1:'

            # By name and alias on the first network, by name and its own alias on the second; the first's alias is not the second's.
            $loop = 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://{0}/i.html && exit 0; sleep 0.5; done; exit 1'
            foreach ($case in @(@('pester-na', 'pester-mn'), @('pester-na', 'ay'), @('pester-nb', 'pester-mn'), @('pester-nb', 'bee'))) {
                $get = Invoke-Docker run --rm --network $case[0] $script:img sh -c ($loop -f $case[1])
                $get.Out | Should -Be 'hello' -Because "$($case[1]) on $($case[0]): $($get.Err)"
            }
            (Invoke-Docker run --rm --network pester-nb $script:img nslookup ay).Code | Should -Not -Be 0 -Because 'an alias is only for its own network'

            # CPU time in the container's cgroup (an exec runs there): user time shows in cpuacct.stat's 10 ms ticks.
            (Invoke-Docker exec pester-mn sh -c 'i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done').Code | Should -Be 0
            $stats = Invoke-Docker28 stats --no-stream --format '{{json .}}' pester-mn
            $stats.Code | Should -Be 0 -Because $stats.Err
            $s = $stats.Out | ConvertFrom-Json
            $s.Name | Should -Be 'pester-mn'
            $s.NetIO | Should -Not -Match '^0B / 0B$'

            $raw = Invoke-Api "/v1.44/containers/$id/stats?stream=false"
            [int]$raw.StatusCode | Should -Be 200
            $j = $raw.Content | ConvertFrom-Json -AsHashtable
            $j.networks.Keys | Sort-Object | Should -Be @('eth0', 'eth1')
            foreach ($if in 'eth0', 'eth1') {
                $j.networks[$if].rx_bytes | Should -BeGreaterThan 0 -Because "$if carried the clients' requests"
                $j.networks[$if].tx_bytes | Should -BeGreaterThan 0
                $j.networks[$if].rx_packets | Should -BeGreaterThan 0
                $j.networks[$if].Keys | Should -Contain 'rx_dropped'
                $j.networks[$if].Keys | Should -Contain 'tx_errors'
            }
            if (Test-Path /sys/fs/cgroup/cgroup.controllers) {
                $j.cpu_stats.cpu_usage.Keys | Should -Not -Contain 'percpu_usage' -Because 'docker leaves it out on cgroup v2'
            }
            else {
                $per = @($j.cpu_stats.cpu_usage.percpu_usage)
                $per.Count | Should -BeGreaterOrEqual ([Environment]::ProcessorCount)
                ($per | Measure-Object -Sum).Sum | Should -BeGreaterThan 0
                ($per | Measure-Object -Sum).Sum | Should -BeLessOrEqual ($j.cpu_stats.cpu_usage.total_usage + 1)
                $j.cpu_stats.cpu_usage.usage_in_usermode + $j.cpu_stats.cpu_usage.usage_in_kernelmode | Should -BeGreaterThan 0 -Because 'cpuacct.stat counted the loop'
            }

            @(Get-Veth $id 'pester-na', 'pester-nb') | Should -HaveCount 2
            $rm = Invoke-Docker28 rm -f pester-mn
            $rm.Code | Should -Be 0 -Because $rm.Err
            Get-Veth $id 'pester-na', 'pester-nb' | Should -BeNullOrEmpty
            (Get-ContainerNetwork pester-na).Containers | Should -Not -Contain 'pester-mn'
            (Get-ContainerNetwork pester-nb).Containers | Should -Not -Contain 'pester-mn'
        }

        It 'before API 1.44 refuses several endpoints with dockerd''s message, making nothing' {
            (Invoke-Docker network create pester-na).Code | Should -Be 0
            (Invoke-Docker network create pester-nb).Code | Should -Be 0
            $body = @{ Image = $script:img; HostConfig = @{ NetworkMode = 'pester-na' }
                NetworkingConfig = @{ EndpointsConfig = [ordered]@{ 'pester-na' = @{}; 'pester-nb' = @{} } } }
            $r = Invoke-Api '/v1.43/containers/create' Post $body
            [int]$r.StatusCode | Should -Be 400
            ($r.Content | ConvertFrom-Json).message | Should -Be 'Container cannot be connected to network endpoints: pester-na, pester-nb'
            Get-Container -All | Should -BeNullOrEmpty
            $ok = Invoke-Api '/v1.44/containers/create?name=pester-two' Post $body
            [int]$ok.StatusCode | Should -Be 201 -Because $ok.Content
            (Get-Container pester-two).Networks | Sort-Object | Should -Be @('pester-na', 'pester-nb')
        }

        It 'New-Container -Network a,b joins both with per-network aliases; a bad second network makes nothing' {
            if (-not $script:haveDns) { Set-ItResult -Skipped -Because 'psc-dns is not built'; return }
            New-ContainerNetwork pester-na | Out-Null
            New-ContainerNetwork pester-nb -Subnet "10.216.$script:octet.0/24" | Out-Null
            $c = New-Container $script:img -Name pester-ps -Network pester-na, "name=pester-nb,alias=pee,ip=10.216.$script:octet.7" -NetworkAlias first `
                -Command 'sh', '-c', 'echo ps > /tmp/i.html; exec httpd -f -p 80 -h /tmp'
            $c.Networks | Sort-Object | Should -Be @('pester-na', 'pester-nb')
            Start-Container pester-ps | Out-Null
            $get = Invoke-Docker run --rm --network pester-nb $script:img sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://pee/i.html && exit 0; sleep 0.5; done; exit 1'
            $get.Out | Should -Be 'ps' -Because $get.Err
            $get = Invoke-Docker run --rm --network pester-na $script:img wget -qO- http://first/i.html
            $get.Out | Should -Be 'ps' -Because $get.Err
            (Invoke-Docker inspect -f '{{(index .NetworkSettings.Networks "pester-nb").IPAddress}}' pester-ps).Out | Should -Be "10.216.$script:octet.7"
            $id = (Get-Container pester-ps).Id
            Remove-Container pester-ps -Force
            Get-Veth $id 'pester-na', 'pester-nb' | Should -BeNullOrEmpty

            # The second network's address is outside its subnet: the create fails whole, no endpoint left on the first.
            { New-Container $script:img -Name pester-bad -Network pester-na, 'name=pester-nb,ip=10.1.2.3' -Command true -ErrorAction Stop } | Should -Throw
            Get-Container -All | Should -BeNullOrEmpty
            (Get-ContainerNetwork pester-na).Containers | Should -BeNullOrEmpty
            $e = { New-Container $script:img -Network host, pester-na -Command true -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Match '^ConflictingNetworkModes'
            $e.CategoryInfo.Category | Should -Be 'InvalidArgument'
            $e.TargetObject | Should -Be 'host'
            $e = { New-Container $script:img -Network pester-na, pester-na -Command true -ErrorAction Stop } | Should -Throw -PassThru
            $e.FullyQualifiedErrorId | Should -Match '^DuplicateNetwork'
            Get-Container -All | Should -BeNullOrEmpty
        }
    }

    Context 'system df' {
        It 'docker system df -v lists the build cache of a Build-ContainerImage' {
            $ctx = Join-Path $script:state.Work 'dfctx'
            New-Item -ItemType Directory -Force $ctx | Out-Null
            Set-Content -LiteralPath "$ctx/Dockerfile" -Value "FROM $script:img`nRUN echo cached > /greeting`nENV PESTER=1`n"
            Build-ContainerImage $ctx -Tag 'pester/dfbuilt:1' -Network none | Out-Null

            $r = Invoke-Api '/v1.44/system/df'
            [int]$r.StatusCode | Should -Be 200
            $df = $r.Content | ConvertFrom-Json
            $runStep = @($df.BuildCache | Where-Object Description -Match 'echo cached')
            $runStep | Should -HaveCount 1
            $runStep[0].Type | Should -Be 'regular'
            $runStep[0].Size | Should -BeGreaterThan 0
            $runStep[0].Shared | Should -BeTrue -Because 'the tagged image holds the layer the RUN step made'
            $runStep[0].InUse | Should -BeFalse
            $runStep[0].PSObject.Properties.Name | Should -Contain 'LastUsedAt'
            $runStep[0].PSObject.Properties.Name | Should -Contain 'UsageCount'
            $runStep[0].PSObject.Properties.Name | Should -Contain 'Shared'
            [DateTime]::Parse($runStep[0].CreatedAt).ToUniversalTime() | Should -BeGreaterThan ([DateTime]::UtcNow.AddMinutes(-30))
            @($df.BuildCache | Where-Object Description -Match 'ENV') | ForEach-Object { $_.Size | Should -Be 0 -Because 'ENV makes no layer' }

            $v = Invoke-Docker system df -v
            $v.Code | Should -Be 0 -Because $v.Err
            $v.Out | Should -Not -Match '-\d[\d.e+]*B' -Because 'no image has a negative unique size'
            # The docker CLI sums the records no image outside the cache shares: the tagged result holds the RUN layer.
            $v.Out | Should -Match 'Build cache usage: \S+'
            $v.Lines | Where-Object { $_ -like "$($runStep[0].ID.Substring(0, 12))*" } | Should -Match 'regular'
            $v.Lines | Where-Object { $_ -like "$($runStep[0].ID.Substring(0, 12))*" } | Should -Match 'true$' -Because 'SHARED'
            $rows = Invoke-Docker system df --format '{{.Type}}:{{.TotalCount}}'
            $rows.Lines | Should -Contain "Build Cache:$(@($df.BuildCache).Count)"
            $df.BuilderSize | Should -Be (@($df.BuildCache) | Measure-Object -Property Size -Sum).Sum -Because 'dockerd sums its records'

            # Without the tagged result only the cache holds the RUN layer: it is what a builder prune would free.
            Remove-ContainerImage 'pester/dfbuilt:1' | Out-Null
            $after = (Invoke-Api '/v1.44/system/df').Content | ConvertFrom-Json
            ($after.BuildCache | Where-Object ID -eq $runStep[0].ID).Shared | Should -BeFalse
            $v = Invoke-Docker system df -v
            $v.Out | Should -Match 'Build cache usage: [1-9]'
            Remove-ContainerBuildCache -Confirm:$false | Out-Null
            @(((Invoke-Api '/v1.44/system/df').Content | ConvertFrom-Json).BuildCache) | Should -BeNullOrEmpty
        }
    }
}
