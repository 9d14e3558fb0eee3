#Requires -Version 7.4
# Volumes (docker volume): named and anonymous volumes in real containers, copy-up of image content, -Mount forms,
# local driver options (tmpfs, bind), in-use refusal, races between sessions, crash recovery, and no leaked mounts.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-volumes'
    Import-Module (Get-TestModulePath) -Force
    $work = $script:state.Work
    $base = New-TestBusyboxRootFs -Path "$work/base.tar" -Applet @('sh', 'cat', 'echo', 'sleep', 'stat', 'ls', 'readlink', 'touch', 'mount', 'grep', 'id')
    Import-ContainerImage $base -Format RootFs -Name 'pester/vol:1' -Command sh | Out-Null
    # An image with VOLUME /data whose /data holds a file with its own owner and mode, and a symlink.
    New-Item -ItemType Directory -Force "$work/l2/data/sub" | Out-Null
    [IO.File]::WriteAllText("$work/l2/data/seed.txt", 'from the image')
    & chown 1234:5678 "$work/l2/data/seed.txt"; & chmod 0640 "$work/l2/data/seed.txt"
    & chown 4321:4321 "$work/l2/data"; & chmod 0750 "$work/l2/data"
    & ln -s seed.txt "$work/l2/data/link"
    & tar --numeric-owner -C "$work/l2" -cf "$work/l2.tar" data
    $archive = New-TestDockerArchive -Path "$work/withvolume.tar" -Image @(@{
            RepoTags = @('pester/withvolume:1'); Layers = @($base.FullName, "$work/l2.tar")
            Config = @{ Cmd = @('sh'); Env = @('PATH=/bin'); Volumes = @{ '/data' = @{} } } })
    Import-ContainerImage $archive.Path | Out-Null

    function script:Run([hashtable]$Arguments, [string]$Script) {
        Start-Container -Image pester/vol:1 -Network none @Arguments -Command sh, -c, $Script
    }
    # Starts an existing container, waits for it, and returns what it printed this run.
    function script:StartAndRead($Container) {
        $before = @(Get-ContainerLog $Container.Id).Count
        Start-Container $Container.Id -Wait | Out-Null
        @(Get-ContainerLog $Container.Id) | Select-Object -Skip $before | ForEach-Object { $_.Line }
    }
    function script:VolumeMounts { @(Get-TestMount -Path "$($script:state.Root)/volumes") }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerVolume -ErrorAction SilentlyContinue | Remove-ContainerVolume -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'named volumes' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        VolumeMounts | Should -BeNullOrEmpty
    }

    It 'keeps what one container wrote for the next, and outlives both' {
        $v = New-ContainerVolume shared1 -Label @{ team = 'a' }
        $v.Name | Should -Be 'shared1'
        $v.Driver | Should -Be 'local'
        $v.Mountpoint | Should -Be "$($script:state.Root)/volumes/shared1/_data"
        $v.Labels['team'] | Should -Be 'a'
        Run -Arguments @{ Volume = 'shared1:/data' } -Script 'echo hello > /data/f'
        Run -Arguments @{ Name = 'reader'; Volume = 'shared1:/data:ro' } -Script 'cat /data/f; echo x > /data/g || echo readonly' | Should -Be @('hello', 'readonly')
        (Get-ContainerVolume shared1).UsedBy | Should -Contain 'reader'
        Get-Container -All | Remove-Container
        (Get-ContainerVolume shared1).UsedBy | Should -BeNullOrEmpty
        Get-Content "$($v.Mountpoint)/f" | Should -Be 'hello'
    }

    It 'creates a named volume on first use of -Volume name:/path, as docker' {
        Get-ContainerVolume auto1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Run -Arguments @{ Volume = 'auto1:/v' } -Script 'echo made > /v/x'
        $v = Get-ContainerVolume auto1
        $v.Anonymous | Should -BeFalse
        Get-Content "$($v.Mountpoint)/x" | Should -Be 'made'
        Get-Container -All | Remove-Container -Volumes
        Get-ContainerVolume auto1 | Should -Not -BeNullOrEmpty   # named volumes stay with -Volumes
    }

    It 'refuses to remove a volume in use, even with -Force, and removes it once unused' {
        New-ContainerVolume busy1 | Out-Null
        $c = New-Container pester/vol:1 -Volume busy1:/d -Network none -Command true
        { Remove-ContainerVolume busy1 -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeInUse*'
        { Remove-ContainerVolume busy1 -Force -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'VolumeInUse*'
        $c | Remove-Container
        Get-ContainerVolume busy1 | Remove-ContainerVolume -Confirm:$false
        Get-ContainerVolume busy1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path "$($script:state.Root)/volumes/busy1" | Should -BeFalse
    }

    It 'reports sizes on request and honours -WhatIf' {
        New-ContainerVolume sized1 | Out-Null
        Run -Arguments @{ Volume = 'sized1:/d' } -Script 'echo 123456789 > /d/a'
        (Get-ContainerVolume sized1).Size | Should -BeNullOrEmpty
        (Get-ContainerVolume sized1 -Size).Size | Should -Be 10
        Get-Container -All | Remove-Container
        Remove-ContainerVolume sized1 -WhatIf
        Get-ContainerVolume sized1 | Should -Not -BeNullOrEmpty
        [pscustomobject]@{ Name = 'sized1' } | Remove-ContainerVolume -Confirm:$false
        Get-ContainerVolume 'sized*' | Should -BeNullOrEmpty
    }

    It 'completes volume names' {
        New-ContainerVolume complete-me | Out-Null
        $r = TabExpansion2 -inputScript 'Get-ContainerVolume comp' -cursorColumn 'Get-ContainerVolume comp'.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'complete-me'
        Remove-ContainerVolume complete-me -Confirm:$false
    }
}

Describe 'anonymous volumes and copy-up' {
    AfterEach {
        Get-Container -All | Remove-Container -Force -Volumes
        VolumeMounts | Should -BeNullOrEmpty
    }

    It 'gives an image VOLUME an anonymous volume holding the image content, owners, modes and links kept' {
        $c = New-Container pester/withvolume:1 -Network none -Command sh, -c, 'stat -c "%u:%g %a" /data /data/seed.txt; readlink /data/link; cat /data/seed.txt'
        $vol = (Get-ContainerVolume | Where-Object { $_.UsedBy -contains $c.Name })
        @($vol).Count | Should -Be 1
        $vol.Anonymous | Should -BeTrue
        $out = StartAndRead $c
        $out | Should -Be @('4321:4321 750', '1234:5678 640', 'seed.txt', 'from the image')
        & stat -c '%u:%g %a' "$($vol.Mountpoint)/seed.txt" | Should -Be '1234:5678 640'
        # Written content survives a restart of the container; no second copy-up over it.
        StartAndRead $c | Out-Null
        $c | Remove-Container -Volumes
        Get-ContainerVolume $vol.Name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path "$($script:state.Root)/volumes/$($vol.Name)" | Should -BeFalse
    }

    It 'copies image content into an empty named volume, but not with nocopy nor into a non-empty one' {
        Start-Container -Image pester/withvolume:1 -Network none -Volume cu1:/data -Command sh, -c, 'cat /data/seed.txt; echo mine > /data/seed.txt' | Should -Be 'from the image'
        Start-Container -Image pester/withvolume:1 -Network none -Volume cu1:/data -Command cat, /data/seed.txt | Should -Be 'mine'
        Start-Container -Image pester/withvolume:1 -Network none -Volume cu2:/data:nocopy -Command ls, -A, /data | Should -BeNullOrEmpty
        Get-Container -All | Remove-Container
        Remove-ContainerVolume cu1, cu2 -Confirm:$false
    }

    It 'makes an anonymous volume for -Volume /path and removes it with -Volumes, also at -AutoRemove' {
        $c = New-Container pester/vol:1 -Network none -Volume /scratch -Command sh, -c, 'echo a > /scratch/a'
        $name = (Get-ContainerVolume | Where-Object { $_.UsedBy -contains $c.Name }).Name
        $name | Should -Match '^[0-9a-f]{64}$'
        StartAndRead $c | Out-Null
        $c | Remove-Container -Volumes
        Get-ContainerVolume $name -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $before = @(Get-ContainerVolume).Count
        Start-Container -Image pester/vol:1 -Network none -Volume /scratch -AutoRemove -Command sh, -c, 'exit 0' | Out-Null
        @(Get-ContainerVolume).Count | Should -Be $before
    }
}

Describe '-Mount forms' {
    AfterEach {
        Get-Container -All | Remove-Container -Force -Volumes
        VolumeMounts | Should -BeNullOrEmpty
    }

    It 'mounts volumes, binds and tmpfs from docker''s CSV' {
        $hostDir = Join-Path $script:state.Work 'bindsrc'
        New-Item -ItemType Directory -Force $hostDir | Out-Null
        Set-Content "$hostDir/h" 'host file'
        $out = Run -Arguments @{ Mount = @('type=volume,source=mnt1,target=/v', "type=bind,source=$hostDir,target=/b,readonly", 'type=tmpfs,target=/t,tmpfs-size=1m', 'type=volume,target=/anon') } -Script 'echo v > /v/x && cat /b/h && (echo no > /b/y || echo ro) && grep " /t " /proc/mounts'
        $out[0] | Should -Be 'host file'
        $out[1] | Should -Be 'ro'
        $out[2] | Should -Match 'tmpfs /t tmpfs .*size=1024k'
        Get-Content "$((Get-ContainerVolume mnt1).Mountpoint)/x" | Should -Be 'v'
        Get-Container -All | Remove-Container -Volumes
        Remove-ContainerVolume mnt1 -Confirm:$false
    }

    It 'refuses a bind source that does not exist (docker --mount does not make it)' {
        { Start-Container -Image pester/vol:1 -Network none -Mount "type=bind,source=$($script:state.Work)/missing,target=/m" -Command true -ErrorAction Stop } |
            Should -Throw -ErrorId 'BindSourceNotFound*'
        Test-Path "$($script:state.Work)/missing" | Should -BeFalse
    }
}

Describe 'bad input' {
    It 'refuses <Case>' -ForEach @(
        @{ Case = 'a name escaping the volumes directory'; Script = { New-ContainerVolume '../x' -ErrorAction Stop }; Id = 'InvalidVolumeName' }
        @{ Case = 'a one-letter name'; Script = { New-ContainerVolume 'x' -ErrorAction Stop }; Id = 'InvalidVolumeName' }
        @{ Case = 'an unknown driver option'; Script = { New-ContainerVolume badopt -Option @{ size = '1g' } -ErrorAction Stop }; Id = 'InvalidVolumeOption' }
        @{ Case = 'o without type'; Script = { New-ContainerVolume badopt -Option @{ o = 'size=1m' } -ErrorAction Stop }; Id = 'InvalidVolumeOption' }
        @{ Case = 'a bind volume of a missing directory'; Script = { New-ContainerVolume badopt -Option @{ type = 'none'; o = 'bind'; device = '/nonexistent/dir' } -ErrorAction Stop }; Id = 'VolumeDeviceNotFound' }
        @{ Case = 'another driver'; Script = { New-ContainerVolume baddrv -Driver nfs -ErrorAction Stop }; Id = 'UnsupportedVolumeDriver' }
        @{ Case = 'an unknown volume'; Script = { Get-ContainerVolume nosuchvol -ErrorAction Stop }; Id = 'VolumeNotFound' }
        @{ Case = 'removing an unknown volume'; Script = { Remove-ContainerVolume nosuchvol -Confirm:$false -ErrorAction Stop }; Id = 'VolumeNotFound' }
        @{ Case = 'an unknown -Mount key'; Script = { New-Container pester/vol:1 -Mount 'type=volume,source=vv,target=/d,bogus=1' -Command true -ErrorAction Stop }; Id = 'InvalidMount' }
        @{ Case = 'a -Volume name escaping the root'; Script = { New-Container pester/vol:1 -Volume 'a:b:/d' -Command true -ErrorAction Stop }; Id = 'InvalidVolume' }
        @{ Case = 'one destination twice'; Script = { New-Container pester/vol:1 -Volume 'v1x:/d' -Mount 'type=tmpfs,target=/d' -Command true -ErrorAction Stop }; Id = 'DuplicateMountPoint' }
    ) {
        $Script | Should -Throw -ErrorId "$Id*"
        Get-ContainerVolume badopt, baddrv, vv, v1x -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'is quiet about a missing volume with -Force, as docker volume rm -f' {
        Remove-ContainerVolume nosuchvol -Force -Confirm:$false -ErrorAction Stop
    }
}

Describe 'local driver options' {
    AfterEach {
        Get-Container -All | Remove-Container -Force -Volumes
        VolumeMounts | Should -BeNullOrEmpty
    }

    It 'mounts a tmpfs volume while a container using it runs, and unmounts it after the last one stops' {
        $v = New-ContainerVolume tmpvol -Option @{ type = 'tmpfs'; device = 'tmpfs'; o = 'size=2m' }
        $v.Options['type'] | Should -Be 'tmpfs'
        VolumeMounts | Should -BeNullOrEmpty
        $a = Start-Container -Image pester/vol:1 -Network none -Volume tmpvol:/t -Detach -Command sh, -c, 'echo a > /t/a; sleep 300'
        $b = Start-Container -Image pester/vol:1 -Network none -Volume tmpvol:/t -Detach -Command sleep, 300
        VolumeMounts | Should -Be @($v.Mountpoint)
        (Get-Content /proc/self/mountinfo | Where-Object { $_ -like "* $($v.Mountpoint) *" }) | Should -Match 'tmpfs tmpfs .*size=2048k'
        Invoke-ContainerCommand $b.Id -Command cat, /t/a | Should -Be 'a'
        $a | Stop-Container -Timeout 0 | Out-Null
        VolumeMounts | Should -Be @($v.Mountpoint)
        $b | Stop-Container -Timeout 0 | Out-Null
        VolumeMounts | Should -BeNullOrEmpty
        Get-Container -All | Remove-Container
        Remove-ContainerVolume tmpvol -Confirm:$false
    }

    It 'binds an existing host directory as a volume (type=none, o=bind)' {
        $dir = Join-Path $script:state.Work 'bindvol'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content "$dir/in" 'inside'
        New-ContainerVolume bindvol -Option @{ type = 'none'; o = 'bind'; device = $dir } | Out-Null
        Run -Arguments @{ Volume = 'bindvol:/b' } -Script 'cat /b/in; echo out > /b/out' | Should -Be 'inside'
        Get-Content "$dir/out" | Should -Be 'out'
        VolumeMounts | Should -BeNullOrEmpty
        Get-Container -All | Remove-Container
        Remove-ContainerVolume bindvol -Confirm:$false
        Get-Content "$dir/in" | Should -Be 'inside'   # removing the volume leaves the bound directory alone
    }
}

Describe 'concurrent sessions and crashes' {
    It 'lets exactly one of two sessions create the same name' {
        $script = "Import-Module '$(Get-TestModulePath)'; try { New-ContainerVolume race1 -ErrorAction Stop | Out-Null; 'won' } catch { `$_.FullyQualifiedErrorId }"
        $jobs = 1..2 | ForEach-Object { Start-TestPwsh -Script $script }
        $results = $jobs | Wait-TestPwsh | ForEach-Object { $_.Stdout.Trim() }
        @($results | Where-Object { $_ -eq 'won' }).Count | Should -Be 1
        @($results | Where-Object { $_ -like 'VolumeExists*' }).Count | Should -Be 1
        Remove-ContainerVolume race1 -Confirm:$false
    }

    It 'keeps a volume and a container consistent when a removal races a creation that uses it' {
        foreach ($i in 1..3) {
            New-ContainerVolume "race2-$i" | Out-Null
            $rm = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; try { Remove-ContainerVolume race2-$i -Confirm:`$false -ErrorAction Stop; 'removed' } catch { `$_.FullyQualifiedErrorId }"
            $mk = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; try { New-Container pester/vol:1 -Name race2c-$i -Network none -Volume race2-${i}:/d -Command true -ErrorAction Stop | Out-Null; 'created' } catch { `$_.FullyQualifiedErrorId }"
            $r = ($rm | Wait-TestPwsh).Stdout.Trim(); $m = ($mk | Wait-TestPwsh).Stdout.Trim()
            $c = Get-Container "race2c-$i" -ErrorAction SilentlyContinue
            $v = Get-ContainerVolume "race2-$i" -ErrorAction SilentlyContinue
            if ($m -eq 'created') {
                $c | Should -Not -BeNullOrEmpty
                $v | Should -Not -BeNullOrEmpty          # either it was never removed, or it was made anew on first use
                $v.UsedBy | Should -Be @("race2c-$i")
                Test-Path $v.Mountpoint | Should -BeTrue
                $r | Should -BeIn @('removed', 'VolumeInUse,PSContainer.Commands.RemoveContainerVolumeCommand')
            }
            else {
                $m | Should -BeLike 'VolumeBeingRemoved*'
                $c | Should -BeNullOrEmpty
                $r | Should -Be 'removed'
            }
            Get-Container -All | Remove-Container
            Remove-ContainerVolume "race2-$i" -Force -Confirm:$false
        }
    }

    It 'finishes a creation killed after its record (<Step>)' -ForEach @(
        @{ Step = 'volume-create-after-record'; Command = 'New-ContainerVolume crash1' }
        @{ Step = 'create-after-volume-record'; Command = 'New-Container pester/vol:1 -Name crashc -Network none -Volume crash1:/d -Command true' }
    ) {
        $r = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; $Command" -Environment @{ PSCONTAINER_CRASH_AT = $Step } | Wait-TestPwsh
        $r.ExitCode | Should -Not -Be 0
        $v = Get-ContainerVolume crash1
        $v | Should -Not -BeNullOrEmpty
        Test-Path $v.Mountpoint -PathType Container | Should -BeTrue
        Get-Container -All | Remove-Container -Force
        Remove-ContainerVolume crash1 -Confirm:$false
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'finishes a removal killed half-way, by the next command or Repair-ContainerState' {
        foreach ($next in 'Get-ContainerVolume', 'Repair-ContainerState') {
            New-ContainerVolume crash2 | Out-Null
            Set-Content "$((Get-ContainerVolume crash2).Mountpoint)/f" 'x'
            $r = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Remove-ContainerVolume crash2 -Confirm:`$false" -Environment @{ PSCONTAINER_CRASH_AT = 'volume-remove-after-mark' } | Wait-TestPwsh
            $r.ExitCode | Should -Not -Be 0
            & $next | Out-Null
            Get-ContainerVolume crash2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            Test-Path "$($script:state.Root)/volumes/crash2" | Should -BeFalse
        }
    }

    It 'unmounts a tmpfs volume a killed session left mounted (Repair-ContainerState)' {
        $v = New-ContainerVolume orphanmnt -Option @{ type = 'tmpfs'; device = 'tmpfs' }
        & mount -t tmpfs tmpfs $v.Mountpoint
        VolumeMounts | Should -Be @($v.Mountpoint)
        Repair-ContainerState
        VolumeMounts | Should -BeNullOrEmpty
        Remove-ContainerVolume orphanmnt -Confirm:$false
    }
}

Describe 'user namespaces' {
    It 'gives a new volume to the mapped root of an Auto container' {
        $c = New-Container pester/vol:1 -Network none -UserNamespace Auto -Volume usrvol:/d -Command sh, -c, 'touch /d/made && stat -c %u /d/made'
        $uid = [long](((Get-Container $c.Id).UserNamespace -split ':')[1])
        StartAndRead $c | Should -Be '0'
        & stat -c %u (Get-ContainerVolume usrvol).Mountpoint | Should -Be "$uid"
        & stat -c %u "$((Get-ContainerVolume usrvol).Mountpoint)/made" | Should -Be "$uid"
        $c | Remove-Container
        Remove-ContainerVolume usrvol -Confirm:$false
    }
}
