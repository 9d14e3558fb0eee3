#Requires -Version 7.4
# Events beyond containers (issue 13 section 1): the service layer records image (pull, push, tag, untag, delete,
# load, save, import), network (create, connect, disconnect, destroy) and volume (create, destroy) events in the one
# events log, whichever front end made the change. Get-ContainerEvent shows them (-Type narrows), and GET /events
# serves them in docker's shape with docker's type/event/image/network/volume filters, read by the real docker CLI
# on a private socket over a private state root.

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'Image, network and volume events (service layer, Get-ContainerEvent, docker events)' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-events'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")

        $script:rootfs = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet 'sh', 'true', 'sleep'
        $script:image = Import-ContainerImage $script:rootfs -Format RootFs -Name 'pester/events:base' -Command sh
        $script:img = 'pester/events:base'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state

        # docker events over a closed window (--since/--until as Unix seconds): its lines, formatted.
        function script:Get-DockerEvents([long]$Since, [string[]]$Filter, [string]$Format = '{{.Type}} {{.Action}} {{.Actor.Attributes.name}}') {
            Start-Sleep -Milliseconds 1100 # the window must end after the last event, in whole seconds
            $until = [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() + 1
            $arguments = @('events', '--since', $Since, '--until', $until, '--format', $Format)
            foreach ($f in $Filter) { $arguments += '--filter', $f }
            $r = Invoke-DockerProcess -TimeoutSeconds 30 -Arguments $arguments
            $r.Code | Should -Be 0 -Because $r.Err
            @($r.Lines | Where-Object { $_ })
        }
        # The start of a window (whole seconds, as the CLI sends them) that no earlier test's event falls in.
        function script:Get-UnixNow { Start-Sleep -Milliseconds 1100; [DateTimeOffset]::UtcNow.ToUnixTimeSeconds() }
    }

    AfterAll {
        # Checked after the clean-up, so a failure here leaves nothing behind either.
        Remove-TestApiSuite $script:service $script:state | Should -BeNullOrEmpty -Because 'no server, socket or bridge of the test root outlives it'
    }

    Context 'recorded by the cmdlets' {
        It 'records the root filesystem import of the suite''s image as import' {
            $import = @(Get-ContainerEvent -Type image -Action import)
            $import.Count | Should -Be 1
            $import[0].Type | Should -Be 'image'
            $import[0].Id | Should -Be $script:image.Id
        }

        It 'records tag, untag, delete, save and load for Add-ContainerImageTag, Remove-ContainerImage, Export and Import-ContainerImage' {
            $since = [DateTime]::UtcNow
            Add-ContainerImageTag $script:img 'pester/events:tagged', 'pester/events:other'
            Remove-ContainerImage 'pester/events:tagged'
            $file = Join-Path $script:state.Work 'saved.tar'
            Export-ContainerImage 'pester/events:other' -Path $file | Out-Null
            Remove-ContainerImage 'pester/events:other'
            $copy = Import-ContainerImage (Join-Path $script:state.Work 'busybox.tar') -Format RootFs -Name 'pester/events:copy'
            Remove-ContainerImage $copy.Id -Force
            Import-ContainerImage $file | Out-Null
            $events = @(Get-ContainerEvent -Type image -Since $since)
            $events.Action | Should -Be @('tag', 'tag', 'untag', 'save', 'untag', 'import', 'untag', 'delete', 'load')
            $events | ForEach-Object { $_.Type | Should -Be 'image' }
            $events[0].Id | Should -Be $script:image.Id
            $events[0].Attributes['name'] | Should -Be 'pester/events:tagged'
            $events[1].Attributes['name'] | Should -Be 'pester/events:other'
            # dockerd names untag, delete, save and load by the image id.
            $events[2].Id | Should -Be $script:image.Id
            $events[2].Attributes['name'] | Should -Be $script:image.Id
            ($events | Where-Object Action -eq delete).Id | Should -Be $copy.Id
            ($events | Where-Object Action -eq load).Id | Should -Be $script:image.Id
            @(Get-ContainerEvent -Since $since -Action tag).Count | Should -Be 2 -Because '-Action takes the image actions'
            @(Get-ContainerEvent -Since $since -Type container).Count | Should -Be 0
            Remove-ContainerImage 'pester/events:other' -ErrorAction SilentlyContinue
        }

        It 'records create, connect, disconnect and destroy for the network cmdlets, with the container' {
            if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
            $since = [DateTime]::UtcNow
            $network = New-ContainerNetwork ev-net -Internal
            try {
                $c = New-Container $script:img -Name ev-netc -Command true
                Connect-ContainerNetwork ev-netc ev-net
                Disconnect-ContainerNetwork ev-netc ev-net
                Remove-Container ev-netc
            }
            finally { Remove-ContainerNetwork ev-net }
            $events = @(Get-ContainerEvent -Type network -Since $since)
            $events.Action | Should -Be @('create', 'connect', 'disconnect', 'destroy')
            $events.Id | Sort-Object -Unique | Should -Be $network.Id
            $events | ForEach-Object { $_.Name | Should -Be 'ev-net'; $_.Attributes['type'] | Should -Be 'bridge' }
            ($events | Where-Object Action -eq connect).Attributes['container'] | Should -Be $c.Id
            ($events | Where-Object Action -eq disconnect).Attributes['container'] | Should -Be $c.Id
            # Get-ContainerEvent NAME selects network events by the network's name too.
            @(Get-ContainerEvent ev-net -Since $since).Count | Should -Be 4
        }

        It 'records create and destroy for New-ContainerVolume and Remove-ContainerVolume, and for a prune' {
            $since = [DateTime]::UtcNow
            New-ContainerVolume ev-vol | Out-Null
            Remove-ContainerVolume ev-vol -Confirm:$false
            New-ContainerVolume ev-pruned | Out-Null
            Remove-ContainerVolume -Unused -Confirm:$false | Out-Null
            Remove-ContainerVolume ev-missing -Force -Confirm:$false
            $events = @(Get-ContainerEvent -Type volume -Since $since)
            ($events | ForEach-Object { "$($_.Action) $($_.Id)" }) | Should -Be @('create ev-vol', 'destroy ev-vol', 'create ev-pruned', 'destroy ev-pruned')
            $events | ForEach-Object { $_.Attributes['driver'] | Should -Be 'local' }
        }

        It 'refuses an unknown -Type' {
            { Get-ContainerEvent -Type plugin -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
        }
    }

    Context 'served by GET /events (docker events)' {
        It 'docker events --filter type=network shows the network''s lifecycle made through the API, in docker''s JSON shape' {
            if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
            $since = Get-UnixNow
            (Invoke-Docker network create --internal ev-apinet).Code | Should -Be 0
            $created = Invoke-Docker create --name ev-apic $script:img true
            $created.Code | Should -Be 0 -Because $created.Err
            $cid = $created.Out.Trim()
            (Invoke-Docker network connect ev-apinet ev-apic).Code | Should -Be 0
            (Invoke-Docker network disconnect ev-apinet ev-apic).Code | Should -Be 0
            (Invoke-Docker rm ev-apic).Code | Should -Be 0
            (Invoke-Docker network rm ev-apinet).Code | Should -Be 0
            $networkOnly = Get-DockerEvents $since 'type=network'
            $networkOnly | Should -Not -BeNullOrEmpty
            $networkOnly | ForEach-Object { $_ | Should -Match '^network ' }
            Get-DockerEvents $since 'network=ev-apinet' | Should -Be @('network create ev-apinet', 'network connect ev-apinet', 'network disconnect ev-apinet', 'network destroy ev-apinet')
            Get-DockerEvents $since 'type=network', 'event=connect' '{{.Action}} {{.Actor.Attributes.container}}' | Should -Be @("connect $cid")
            $json = @(Get-DockerEvents $since 'network=ev-apinet', 'event=create' '{{json .}}')
            $e = $json[0] | ConvertFrom-Json -AsHashtable
            $e.Type | Should -Be 'network'
            $e.Action | Should -Be 'create'
            $e.Actor.ID | Should -Match '^[0-9a-f]{64}$'
            $e.Actor.Attributes.name | Should -Be 'ev-apinet'
            $e.Actor.Attributes.type | Should -Be 'bridge'
            $e.scope | Should -Be 'local'
            $e.timeNano | Should -BeGreaterThan ([long]$since * 1000000000)
            $e.time | Should -Be ([long][Math]::Floor($e.timeNano / 1000000000))
            $e.ContainsKey('status') | Should -BeFalse -Because 'the pre-1.22 fields are a container event''s only'
            # The container's own events are not network events.
            Get-DockerEvents $since 'type=container', 'container=ev-apic' '{{.Action}}' | Should -Be @('create', 'destroy')
        }

        It 'docker events --filter type=image and image=… show docker tag and docker rmi, and a cmdlet''s tag' {
            $since = Get-UnixNow
            (Invoke-Docker tag $script:img pester/events:api).Code | Should -Be 0
            Add-ContainerImageTag $script:img 'pester/events:cmdlet'
            (Invoke-Docker rmi pester/events:api).Code | Should -Be 0
            Remove-ContainerImage 'pester/events:cmdlet'
            $lines = Get-DockerEvents $since 'type=image'
            $lines | Should -Be @('image tag pester/events:api', 'image tag pester/events:cmdlet', "image untag $($script:image.Id)", "image untag $($script:image.Id)")
            Get-DockerEvents $since 'image=pester/events:api' | Should -Be @('image tag pester/events:api')
            Get-DockerEvents $since 'type=image', 'event=untag' '{{.Actor.ID}}' | Should -Be @($script:image.Id, $script:image.Id)
        }

        It 'docker push and docker pull record push and pull by reference, docker save and docker load save and load' {
            $registry = Start-TestDockerRegistry -Directory (Join-Path $script:state.Work 'registry')
            try {
                $since = Get-UnixNow
                $target = "$($registry.Host)/events/pushed:1"
                (Invoke-Docker tag $script:img $target).Code | Should -Be 0
                $push = Invoke-Docker push $target
                $push.Code | Should -Be 0 -Because $push.Err
                (Invoke-Docker rmi $target).Code | Should -Be 0
                $pull = Invoke-Docker pull $target
                $pull.Code | Should -Be 0 -Because $pull.Err
                $file = Join-Path $script:state.Work 'api-saved.tar'
                (Invoke-Docker save -o $file $target).Code | Should -Be 0
                (Invoke-Docker load -i $file).Code | Should -Be 0
                (Invoke-Docker rmi $target).Code | Should -Be 0
                $lines = Get-DockerEvents $since 'type=image' '{{.Action}} {{.Actor.ID}} {{.Actor.Attributes.name}}'
                $id = $script:image.Id
                $lines | Should -Be @("tag $id $target", "push $target $($registry.Host)/events/pushed", "untag $id $id",
                    "pull $target $($registry.Host)/events/pushed", "save $id $id", "load $id $id", "untag $id $id")
            }
            finally { Stop-TestDockerRegistry $registry }
        }

        It 'a volume made by docker create -v and deleted by docker rm -v, and one New-Container makes, are recorded too' {
            if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
            $since = Get-UnixNow
            $created = Invoke-Docker create --name ev-volc -v ev-implicit:/named -v /anonymous $script:img true
            $created.Code | Should -Be 0 -Because $created.Err
            $anonymous = @(Get-ContainerVolume | Where-Object Name -ne 'ev-implicit' | Where-Object { $_.UsedBy -contains 'ev-volc' }).Name
            $anonymous.Count | Should -Be 1
            (Invoke-Docker rm -v ev-volc).Code | Should -Be 0
            New-Container $script:img -Name ev-volcmdlet -Volume ev-cmdletvol:/data -Command true | Remove-Container
            $lines = Get-DockerEvents $since 'type=volume' '{{.Action}} {{.Actor.ID}}'
            @($lines | Where-Object { $_ -match '^create ' } | Sort-Object) | Should -Be @(@("create $anonymous", 'create ev-cmdletvol', 'create ev-implicit') | Sort-Object)
            @($lines | Where-Object { $_ -match '^destroy ' }) | Should -Be @("destroy $anonymous") -Because 'docker rm -v deletes the anonymous volume, not the named one'
            Remove-ContainerVolume ev-implicit, ev-cmdletvol -Confirm:$false
        }

        It 'docker events --filter type=volume and volume=… show docker volume create and rm; a bad type is no error but matches nothing' {
            $since = Get-UnixNow
            (Invoke-Docker volume create ev-apivol).Code | Should -Be 0
            (Invoke-Docker volume rm ev-apivol).Code | Should -Be 0
            Get-DockerEvents $since 'type=volume' '{{.Type}} {{.Action}} {{.Actor.ID}} {{.Actor.Attributes.driver}}' |
                Should -Be @('volume create ev-apivol local', 'volume destroy ev-apivol local')
            Get-DockerEvents $since 'volume=ev-apivol', 'event=destroy' '{{.Action}}' | Should -Be @('destroy')
            Get-DockerEvents $since 'type=plugin' | Should -BeNullOrEmpty
        }

        It 'docker events shows connect when docker run joins the container''s network and disconnect when it exits' {
            if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
            $since = Get-UnixNow
            (Invoke-Docker network create --internal ev-apirun).Code | Should -Be 0
            try {
                $run = Invoke-Docker run --rm --name ev-apirunc --network ev-apirun $script:img true
                $run.Code | Should -Be 0 -Because $run.Err
            }
            finally { (Invoke-Docker network rm ev-apirun).Code | Should -Be 0 }
            # type=network too: the network filter matches any actor by name prefix, the container ev-apirunc as well.
            Get-DockerEvents $since 'type=network', 'network=ev-apirun' | Should -Be @('network create ev-apirun', 'network connect ev-apirun', 'network disconnect ev-apirun', 'network destroy ev-apirun')
        }
    }

    Context 'of a container''s own run' {
        It 'records a connect for each network a start joins, before the start, and a disconnect for each after the container stops' {
            if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
            $since = [DateTime]::UtcNow
            $first = New-ContainerNetwork ev-run1 -Internal
            $second = New-ContainerNetwork ev-run2 -Internal
            try {
                $c = New-Container $script:img -Name ev-runc -Network ev-run1 -Command sleep, 300
                Connect-ContainerNetwork ev-runc ev-run2
                Start-Container ev-runc
                Stop-Container ev-runc -Timeout 1
                Remove-Container ev-runc
            }
            finally { Remove-ContainerNetwork ev-run1, ev-run2 }
            $ours = @(Get-ContainerEvent -Since $since | Where-Object { $_.Id -in $c.Id, $first.Id, $second.Id } | ForEach-Object { "$($_.Type) $($_.Action) $($_.Name)" })
            $run = @($ours | Where-Object { $_ -match '^network (connect|disconnect)|^container (start|die)' })
            # The connect of Connect-ContainerNetwork on the created container first, then the run's own.
            $run | Should -Be @('network connect ev-run2', 'network connect ev-run1', 'network connect ev-run2', 'container start ev-runc',
                'container die ev-runc', 'network disconnect ev-run1', 'network disconnect ev-run2')
            $events = @(Get-ContainerEvent -Type network -Since $since -Action connect, disconnect)
            $events | ForEach-Object { $_.Attributes['container'] | Should -Be $c.Id; $_.Attributes['type'] | Should -Be 'bridge' }
        }
    }
}
