#Requires -Version 7.4
# The Docker Engine API's object endpoints (psc-api) driven by the real docker CLI (20.10): networks, volumes,
# system df and container prune, on a private socket and state root. What docker makes shows in
# Get-ContainerNetwork / Get-ContainerVolume, and what the cmdlets make shows in docker (issue 13).

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'Docker API objects: networks, volumes, df, prune (psc-api)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dobj'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
        $script:haveDns = Test-Path (Join-Path (Split-Path (Get-TestModulePath)) 'psc-dns')

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh | Out-Null
        $script:img = 'pester/busybox:1'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:socket = $script:service.Socket
        # A third octet few other tests use, so that parallel suites on other state roots rarely want the same subnet.
        $script:octet = Get-Random -Minimum 150 -Maximum 240
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
        Get-ContainerNetwork | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force
        Get-ContainerVolume | Remove-ContainerVolume -Force -Confirm:$false
        Get-OurLeak | Should -BeNullOrEmpty
    }

    Context 'networks' {
        It 'docker network create/ls/inspect/rm, and the cmdlets see the same networks' {
            $made = Invoke-Docker network create --label team=a --subnet "10.213.$script:octet.0/24" --gateway "10.213.$script:octet.1" pester-net1
            $made.Code | Should -Be 0 -Because $made.Err
            $n = Get-ContainerNetwork pester-net1
            $n.Id | Should -Be $made.Out
            $n.Subnet | Should -Be "10.213.$script:octet.0/24"
            $n.Gateway | Should -Be "10.213.$script:octet.1"
            $n.Labels['team'] | Should -Be 'a'
            New-ContainerNetwork pester-cmdlet-net | Out-Null

            $ls = Invoke-Docker network ls --format '{{.Name}} {{.Driver}} {{.Scope}}'
            $ls.Code | Should -Be 0 -Because $ls.Err
            $ls.Lines | Should -Contain 'bridge bridge local'
            $ls.Lines | Should -Contain 'host host local'
            $ls.Lines | Should -Contain 'none null local'
            $ls.Lines | Should -Contain 'pester-net1 bridge local'
            $ls.Lines | Should -Contain 'pester-cmdlet-net bridge local'
            (Invoke-Docker network ls -q --filter label=team=a).Lines | Should -Be @($n.Id.Substring(0, 12))
            (Invoke-Docker network ls --format '{{.Name}}' --filter name=cmdlet).Lines | Should -Be @('pester-cmdlet-net')
            (Invoke-Docker network ls --format '{{.Name}}' --filter type=custom).Lines | Sort-Object | Should -Be @('pester-cmdlet-net', 'pester-net1')

            $i = Invoke-Docker network inspect -f '{{range .IPAM.Config}}{{.Subnet}} {{.Gateway}}{{end}} {{.Driver}} {{.Internal}} {{.Labels.team}}' pester-net1
            $i.Code | Should -Be 0 -Because $i.Err
            $i.Out | Should -Be "10.213.$script:octet.0/24 10.213.$script:octet.1 bridge false a"
            (Invoke-Docker network inspect -f '{{.Name}}' $n.Id.Substring(0, 12)).Out | Should -Be 'pester-net1'
            (Invoke-Docker network inspect -f '{{.Name}}' (Get-ContainerNetwork pester-cmdlet-net).Id).Out | Should -Be 'pester-cmdlet-net'
            (Invoke-Docker network create --internal pester-internal).Code | Should -Be 0
            (Get-ContainerNetwork pester-internal).Internal | Should -BeTrue

            $rm = Invoke-Docker network rm pester-net1 pester-cmdlet-net pester-internal
            $rm.Code | Should -Be 0 -Because $rm.Err
            Get-ContainerNetwork | Where-Object Name -like 'pester-*' | Should -BeNullOrEmpty
        }

        It 'refuses with docker''s messages what it cannot do or does not find' {
            (Invoke-Docker network create pester-dup).Code | Should -Be 0
            $dup = Invoke-Docker network create pester-dup
            $dup.Code | Should -Not -Be 0
            $dup.Err | Should -Match 'network with name pester-dup already exists'
            $v6 = Invoke-Docker network create --ipv6 pester-v6
            $v6.Err | Should -Match 'IPv6'
            $driver = Invoke-Docker network create -d macvlan pester-mac
            $driver.Err | Should -Match "driver 'macvlan' is not supported"
            $opt = Invoke-Docker network create -o com.docker.network.bridge.name=br9 pester-opt
            $opt.Err | Should -Match 'com.docker.network.bridge.name'
            Get-ContainerNetwork | Where-Object Name -in 'pester-v6', 'pester-mac', 'pester-opt' | Should -BeNullOrEmpty -Because 'a refused create makes nothing'
            $predefined = Invoke-Docker network rm bridge
            $predefined.Err | Should -Match 'pre-defined network and cannot be removed'
            $missing = Invoke-Docker network inspect pester-nothing
            $missing.Code | Should -Not -Be 0
            $missing.Err | Should -Match 'No such network: pester-nothing'
            $r = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/networks/pester-nothing' -SkipHttpErrorCheck -TimeoutSec 10
            [int]$r.StatusCode | Should -Be 404
            ($r.Content | ConvertFrom-Json).message | Should -Be 'network pester-nothing not found'
            $r = Invoke-WebRequest -UnixSocket $script:socket -Uri 'http://localhost/v1.41/networks/bridge' -Method Delete -SkipHttpErrorCheck -TimeoutSec 10
            [int]$r.StatusCode | Should -Be 403
        }

        It 'connects and disconnects containers with aliases that resolve by name on the network' {
            if (-not $script:haveDns) { Set-ItResult -Skipped -Because 'psc-dns is not built'; return }
            (Invoke-Docker network create pester-app).Code | Should -Be 0
            (Invoke-Docker network create --subnet "10.214.$script:octet.0/24" pester-app2).Code | Should -Be 0
            $srv = Invoke-Docker run -d --name pester-srv --network pester-app --network-alias websrv $script:img sh -c 'echo hello > /tmp/i.html; exec httpd -f -p 80 -h /tmp'
            $srv.Code | Should -Be 0 -Because $srv.Err
            $get = Invoke-Docker run --rm --network pester-app $script:img sh -c 'for i in 1 2 3 4 5 6 7 8 9 10; do wget -qO- http://websrv/i.html && exit 0; sleep 0.5; done; exit 1'
            $get.Code | Should -Be 0 -Because $get.Err
            $get.Out | Should -Be 'hello'

            $c = Invoke-Docker network connect --alias second --ip "10.214.$script:octet.50" pester-app2 pester-srv
            $c.Code | Should -Be 0 -Because $c.Err
            (Invoke-Docker inspect -f '{{(index .NetworkSettings.Networks "pester-app2").IPAddress}}' pester-srv).Out | Should -Be "10.214.$script:octet.50"
            (Invoke-Docker network inspect -f '{{range .Containers}}{{.Name}} {{.IPv4Address}}{{end}}' pester-app2).Out | Should -Be "pester-srv 10.214.$script:octet.50/24"
            (Get-ContainerNetwork pester-app2).Containers | Should -Be @('pester-srv')
            $second = Invoke-Docker run --rm --network pester-app2 $script:img wget -qO- http://second/i.html
            $second.Out | Should -Be 'hello' -Because $second.Err

            $again = Invoke-Docker network connect pester-app2 pester-srv
            $again.Code | Should -Not -Be 0
            $busy = Invoke-Docker network rm pester-app2
            $busy.Err | Should -Match 'has active endpoints'
            $d = Invoke-Docker network disconnect pester-app2 pester-srv
            $d.Code | Should -Be 0 -Because $d.Err
            (Get-ContainerNetwork pester-app2).Containers | Should -BeNullOrEmpty
            (Invoke-Docker network disconnect pester-app2 pester-srv).Code | Should -Not -Be 0
            (Invoke-Docker network disconnect -f pester-app2 pester-srv).Code | Should -Be 0 -Because 'docker network disconnect -f: not connected is no error'
            (Invoke-Docker network connect pester-app2 pester-nobody).Err | Should -Match 'No such container'
            (Invoke-Docker rm -f pester-srv).Code | Should -Be 0
            (Invoke-Docker network rm pester-app pester-app2).Code | Should -Be 0
        }

        It 'docker network prune removes the networks no container uses, narrowed by label and until' {
            (Invoke-Docker network create --label keep=no pester-pa).Code | Should -Be 0
            (Invoke-Docker network create --label keep=yes pester-pb).Code | Should -Be 0
            (Invoke-Docker network create pester-pused).Code | Should -Be 0
            (Invoke-Docker create --name pester-user --network pester-pused $script:img true).Code | Should -Be 0

            $labelled = Invoke-Docker network prune -f --filter label=keep=no
            $labelled.Code | Should -Be 0 -Because $labelled.Err
            $labelled.Out | Should -Match 'pester-pa'
            $old = Invoke-Docker network prune -f --filter until=1h
            $old.Out | Should -Not -Match 'pester-'
            (Get-ContainerNetwork).Name | Should -Contain 'pester-pb'
            $all = Invoke-Docker network prune -f
            $all.Out | Should -Match 'pester-pb'
            $all.Out | Should -Not -Match 'pester-pused' -Because 'a stopped container still uses its network'
            (Get-ContainerNetwork).Name | Should -Be @('pester-pused')
            (Invoke-Docker rm pester-user).Code | Should -Be 0
            (Invoke-Docker network prune -f).Out | Should -Match 'pester-pused'
            Get-ContainerNetwork | Where-Object Name -like 'pester-*' | Should -BeNullOrEmpty
        }
    }

    Context 'volumes' {
        It 'docker volume create/ls/inspect/rm, and the cmdlets see the same volumes' {
            $made = Invoke-Docker volume create --label team=b pester-vol1
            $made.Code | Should -Be 0 -Because $made.Err
            $made.Out | Should -Be 'pester-vol1'
            (Get-ContainerVolume pester-vol1).Labels['team'] | Should -Be 'b'
            (Invoke-Docker volume create pester-vol1).Code | Should -Be 0 -Because 'creating an existing volume gives it back, as dockerd does'
            New-ContainerVolume pester-vol-cmdlet | Out-Null
            $anon = Invoke-Docker volume create
            $anon.Out | Should -Match '^[0-9a-f]{64}$'

            (Invoke-Docker volume ls -q).Lines | Should -Contain 'pester-vol-cmdlet'
            (Invoke-Docker volume ls -q --filter label=team=b).Lines | Should -Be @('pester-vol1')
            (Invoke-Docker volume ls -q --filter name=cmdlet).Lines | Should -Be @('pester-vol-cmdlet')
            $i = Invoke-Docker volume inspect -f '{{.Name}} {{.Driver}} {{.Scope}} {{.Mountpoint}} {{.Labels.team}}' pester-vol1
            $i.Out | Should -Be "pester-vol1 local local $((Get-ContainerVolume pester-vol1).Mountpoint) b"

            $w = Invoke-Docker run --rm -v pester-vol1:/data $script:img sh -c 'echo kept > /data/f'
            $w.Code | Should -Be 0 -Because $w.Err
            (Invoke-Docker create --name pester-vuser -v pester-vol1:/data $script:img true).Code | Should -Be 0
            (Invoke-Docker volume ls -q --filter dangling=false).Lines | Should -Be @('pester-vol1')
            (Invoke-Docker volume ls -q --filter dangling=true).Lines | Should -Not -Contain 'pester-vol1'
            $busy = Invoke-Docker volume rm pester-vol1
            $busy.Code | Should -Not -Be 0
            $busy.Err | Should -Match 'in use'
            (Invoke-Docker rm pester-vuser).Code | Should -Be 0
            $rm = Invoke-Docker volume rm pester-vol1 pester-vol-cmdlet $anon.Out
            $rm.Code | Should -Be 0 -Because $rm.Err
            Get-ContainerVolume | Should -BeNullOrEmpty
            (Invoke-Docker volume inspect pester-vol1).Err | Should -Match 'No such volume'
            (Invoke-Docker volume rm -f pester-vol1).Code | Should -Be 0 -Because 'docker volume rm -f: a missing volume is no error'
        }

        It 'refuses what the local driver cannot do' {
            (Invoke-Docker volume create -d nfs pester-nfs).Err | Should -Match "driver 'nfs' is not supported"
            (Invoke-Docker volume create -o color=red pester-opt).Err | Should -Match "Unknown option 'color'"
            (Invoke-Docker volume create pester-vt).Code | Should -Be 0
            (Invoke-Docker volume create -o type=tmpfs pester-vt).Err | Should -Match 'already exists'
            Get-ContainerVolume | Select-Object -ExpandProperty Name | Should -Be @('pester-vt')
        }

        It 'docker volume prune removes the volumes no container uses, narrowed by label' {
            foreach ($v in 'pester-pv-a', 'pester-pv-used') { (Invoke-Docker volume create $v).Code | Should -Be 0 }
            (Invoke-Docker volume create --label x=1 pester-pv-b).Code | Should -Be 0
            [IO.File]::WriteAllBytes((Join-Path (Get-ContainerVolume pester-pv-b).Mountpoint 'z'), [byte[]]::new(100000))
            (Invoke-Docker create --name pester-pv-user -v pester-pv-used:/d $script:img true).Code | Should -Be 0
            $b = Invoke-Docker volume prune -f --filter label=x=1
            $b.Code | Should -Be 0 -Because $b.Err
            $b.Lines | Should -Contain 'pester-pv-b'
            $b.Out | Should -Match 'Total reclaimed space: 100(\.0)?kB'
            $all = Invoke-Docker volume prune -f
            $all.Lines | Should -Contain 'pester-pv-a'
            (Get-ContainerVolume).Name | Should -Be @('pester-pv-used')
        }

        It 'from API 1.42 volume prune takes only anonymous volumes unless all=true, as dockerd does' {
            (Invoke-Docker volume create pester-pv-named).Code | Should -Be 0
            # docker rm without -v keeps the container's anonymous volume.
            (Invoke-Docker create --name pester-pv-anon -v /data $script:img true).Code | Should -Be 0
            $anonymous = (Get-ContainerVolume | Where-Object Name -ne 'pester-pv-named').Name
            $anonymous | Should -HaveCount 1
            (Invoke-Docker rm pester-pv-anon).Code | Should -Be 0
            $new = Invoke-RestMethod -UnixSocket $script:socket -Uri 'http://localhost/v1.44/volumes/prune' -Method Post
            @($new.VolumesDeleted) | Should -Be @($anonymous)
            (Get-ContainerVolume).Name | Should -Be @('pester-pv-named')
            $filters = [uri]::EscapeDataString('{"all":["true"]}')
            $all = Invoke-RestMethod -UnixSocket $script:socket -Uri "http://localhost/v1.44/volumes/prune?filters=$filters" -Method Post
            @($all.VolumesDeleted) | Should -Be @('pester-pv-named')
            Get-ContainerVolume | Should -BeNullOrEmpty
        }
    }

    Context 'system df and container prune' {
        It 'docker system df counts what Get-ContainerDiskUsage counts' {
            (Invoke-Docker volume create pester-df).Code | Should -Be 0
            (Invoke-Docker run --name pester-df1 -v pester-df:/d $script:img sh -c 'echo data > /d/f; echo rw > /tmp/f').Code | Should -Be 0
            $df = Invoke-Docker system df --format '{{.Type}}:{{.TotalCount}}:{{.Active}}'
            $df.Code | Should -Be 0 -Because $df.Err
            $usage = Get-ContainerDiskUsage
            $df.Lines | Should -Contain "Images:$(($usage | Where-Object Type -eq Images).TotalCount):1"
            $df.Lines | Should -Contain 'Containers:1:0'
            $df.Lines | Should -Contain 'Local Volumes:1:1'
            $v = Invoke-Docker system df -v
            $v.Code | Should -Be 0 -Because $v.Err
            $v.Out | Should -Match 'pester-df1'
            $v.Out | Should -Match 'pester-df\s+1\s+5B'
        }

        It 'docker container prune removes stopped containers only, narrowed by label and until' {
            (Invoke-Docker run -d --name pester-running $script:img sleep 300).Code | Should -Be 0
            (Invoke-Docker run --name pester-exited $script:img true).Code | Should -Be 0
            (Invoke-Docker create --name pester-created $script:img true).Code | Should -Be 0
            (Invoke-Docker create --name pester-keep --label keep=1 $script:img true).Code | Should -Be 0
            $ids = @{}
            foreach ($n in 'pester-exited', 'pester-created', 'pester-keep') { $ids[$n] = (Get-Container $n).Id }

            (Invoke-Docker container prune -f --filter until=1h).Out | Should -Not -Match '[0-9a-f]{64}' -Because 'every container is younger than an hour'
            $p = Invoke-Docker container prune -f --filter 'label!=keep=1'
            $p.Code | Should -Be 0 -Because $p.Err
            $p.Lines | Should -Contain $ids['pester-exited']
            $p.Lines | Should -Contain $ids['pester-created']
            (Get-Container -All).Name | Sort-Object | Should -Be @('pester-keep', 'pester-running')
            $rest = Invoke-Docker container prune -f
            $rest.Lines | Should -Contain $ids['pester-keep']
            (Get-Container -All).Name | Should -Be @('pester-running')
        }
    }
}
