#Requires -Version 7.4
# docker volume prune (Remove-ContainerVolume -Unused) and docker system df's volumes line (Get-ContainerDiskUsage):
# which volumes go (unused ones, named or anonymous; not those of existing or stopped containers), -WhatIf, the
# result object, a prune racing a New-Container that takes the volume, and no leaked mounts.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-volprune'
    Import-Module (Get-TestModulePath) -Force
    $base = New-TestBusyboxRootFs -Path "$($script:state.Work)/base.tar" -Applet @('sh', 'cat', 'echo', 'sleep', 'head')
    Import-ContainerImage $base -Format RootFs -Name 'pester/prune:1' -Command sh | Out-Null
    function script:VolumeMounts { @(Get-TestMount -Path "$($script:state.Root)/volumes") }
    function script:Fill([string]$Name, [int]$Bytes) {
        [IO.File]::WriteAllBytes("$((Get-ContainerVolume $Name).Mountpoint)/blob", [byte[]]::new($Bytes))
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerVolume -ErrorAction SilentlyContinue | Remove-ContainerVolume -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Remove-ContainerVolume -Unused' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerVolume | Remove-ContainerVolume -Confirm:$false
        VolumeMounts | Should -BeNullOrEmpty
        Test-Path "$($script:state.Root)/volumes/*" | Should -BeFalse
    }

    It 'removes every volume no container uses, named and anonymous, and keeps those of existing and stopped containers' {
        'free1', 'free2' | ForEach-Object { New-ContainerVolume $_ } | Out-Null
        Fill free1 3000; Fill free2 5000
        'keptstopped', 'keptcreated' | ForEach-Object { New-ContainerVolume $_ } | Out-Null
        Fill keptstopped 7
        Start-Container -Image pester/prune:1 -Name stopped -Network none -Volume keptstopped:/a -Command true | Out-Null
        New-Container pester/prune:1 -Name created -Network none -Volume keptcreated:/a -Command true | Out-Null
        # An anonymous volume whose container is gone (removed without -Volumes) is unused too.
        $anon = New-Container pester/prune:1 -Name anon -Network none -Volume /scratch -Command true
        $anonName = (Get-ContainerVolume | Where-Object UsedBy -Contains anon).Name
        Remove-Container anon
        (Get-ContainerVolume $anonName).Anonymous | Should -BeTrue

        $r = Remove-ContainerVolume -Unused -Confirm:$false
        $r | Should -HaveCount 1
        $r.GetType().Name | Should -Be 'VolumePruneResult'
        @($r.VolumesDeleted | Sort-Object) | Should -Be @(@('free1', 'free2', $anonName) | Sort-Object)
        $r.SpaceReclaimed | Should -Be 8000
        ($r | Out-String) | Should -Match 'Total reclaimed space : 8kB'
        @(Get-ContainerVolume | ForEach-Object Name | Sort-Object) | Should -Be @('keptcreated', 'keptstopped')
        foreach ($gone in 'free1', 'free2', $anonName) { Test-Path "$($script:state.Root)/volumes/$gone" | Should -BeFalse }
        Get-Content "$((Get-ContainerVolume keptstopped).Mountpoint)/blob" -AsByteStream | Should -HaveCount 7

        # Nothing left to remove: no object, no error.
        Remove-ContainerVolume -Unused -Confirm:$false -ErrorAction Stop | Should -BeNullOrEmpty
    }

    It 'keeps the volume of a running container and removes it once that container is gone' {
        $c = Start-Container -Image pester/prune:1 -Name runner -Network none -Volume busy:/a -Command sleep, 60 -Detach
        Remove-ContainerVolume -Unused -Confirm:$false | Should -BeNullOrEmpty
        Get-ContainerVolume busy | Should -Not -BeNullOrEmpty
        Remove-Container $c.Id -Force
        (Remove-ContainerVolume -Unused -Confirm:$false).VolumesDeleted | Should -Be @('busy')
    }

    It 'unmounts a tmpfs volume and frees nothing of a bind volume''s directory' {
        $dir = Join-Path $script:state.Work 'lent'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content "$dir/keep.txt" 'mine'
        New-ContainerVolume lent -Option @{ type = 'none'; o = 'bind'; device = $dir } | Out-Null
        $t = New-ContainerVolume tmpv -Option @{ type = 'tmpfs'; device = 'tmpfs' }
        & mount -t tmpfs tmpfs $t.Mountpoint     # as a killed session could leave it
        $r = Remove-ContainerVolume -Unused -Confirm:$false
        @($r.VolumesDeleted | Sort-Object) | Should -Be @('lent', 'tmpv')
        $r.SpaceReclaimed | Should -Be 0
        Get-Content "$dir/keep.txt" | Should -Be 'mine'
        VolumeMounts | Should -BeNullOrEmpty
    }

    It 'lists without removing under -WhatIf' {
        New-ContainerVolume whatif1 | Out-Null
        Remove-ContainerVolume -Unused -WhatIf | Should -BeNullOrEmpty
        Get-ContainerVolume whatif1 | Should -Not -BeNullOrEmpty
    }

    It 'does not take -Unused together with names or -Force' {
        { Remove-ContainerVolume -Name x1 -Unused -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
        { Remove-ContainerVolume -Unused -Force -Confirm:$false -ErrorAction Stop } | Should -Throw -ErrorId 'AmbiguousParameterSet*'
    }

    It 'never leaves a container with a deleted volume when a prune races New-Container taking it' {
        foreach ($i in 1..3) {
            New-ContainerVolume "race-$i" | Out-Null
            Fill "race-$i" 10
            $prune = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; `$r = Remove-ContainerVolume -Unused -Confirm:`$false -ErrorAction Stop; if (`$r.VolumesDeleted -contains 'race-$i') { 'removed' } else { 'kept' }"
            $make = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; try { New-Container pester/prune:1 -Name racer-$i -Network none -Volume race-${i}:/d -Command true -ErrorAction Stop | Out-Null; 'created' } catch { `$_.FullyQualifiedErrorId }"
            $p = ($prune | Wait-TestPwsh).Stdout.Trim(); $m = ($make | Wait-TestPwsh).Stdout.Trim()
            $c = Get-Container "racer-$i" -ErrorAction SilentlyContinue
            $v = Get-ContainerVolume "race-$i" -ErrorAction SilentlyContinue
            if ($m -eq 'created') {
                $c | Should -Not -BeNullOrEmpty
                $v | Should -Not -BeNullOrEmpty
                $v.UsedBy | Should -Be @("racer-$i")
                Test-Path $v.Mountpoint -PathType Container | Should -BeTrue
                # Either the container came first (the volume and its data stay) or after a finished prune (made anew, empty).
                if ($p -eq 'kept') { Test-Path "$($v.Mountpoint)/blob" | Should -BeTrue }
                else { $p | Should -Be 'removed'; Test-Path "$($v.Mountpoint)/blob" | Should -BeFalse }
            }
            else {
                $m | Should -BeLike 'VolumeBeingRemoved*'
                $c | Should -BeNullOrEmpty
                $p | Should -Be 'removed'
                $v | Should -BeNullOrEmpty
            }
            Get-Container -All | Remove-Container
            Remove-ContainerVolume "race-$i" -Force -Confirm:$false
        }
    }

    It 'finishes a prune killed after it claimed a volume (next command)' {
        New-ContainerVolume crashprune | Out-Null
        Fill crashprune 10
        $r = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Remove-ContainerVolume -Unused -Confirm:`$false" -Environment @{ PSCONTAINER_CRASH_AT = 'volume-remove-after-mark' } | Wait-TestPwsh
        $r.ExitCode | Should -Not -Be 0
        Get-ContainerVolume crashprune -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Test-Path "$($script:state.Root)/volumes/crashprune" | Should -BeFalse
    }
}

Describe 'Get-ContainerDiskUsage volumes' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerVolume | Remove-ContainerVolume -Confirm:$false
    }

    It 'counts volumes, their size, the active ones and what -Unused would free' {
        'dfused', 'dffree' | ForEach-Object { New-ContainerVolume $_ } | Out-Null
        Fill dfused 4096; Fill dffree 1000
        New-Container pester/prune:1 -Name dfc -Network none -Volume dfused:/a -Command true | Out-Null
        $v = Get-ContainerDiskUsage | Where-Object Type -eq 'Volumes'
        $v | Should -HaveCount 1
        $v.TotalCount | Should -Be 2
        $v.Active | Should -Be 1
        $v.Size | Should -Be 5096
        $v.Reclaimable | Should -Be 1000
        [math]::Round($v.ReclaimablePercent) | Should -Be 20
        (Get-ContainerDiskUsage | Format-Table | Out-String) | Should -Match 'Volumes\s+2\s+1\s+5\.1\s?kB\s+1(\.0)?\s?kB \(20%\)'
        (Remove-ContainerVolume -Unused -Confirm:$false).SpaceReclaimed | Should -Be $v.Reclaimable
        $after = Get-ContainerDiskUsage | Where-Object Type -eq 'Volumes'
        $after.TotalCount, $after.Reclaimable | Should -Be @(1, 0)
    }

    It 'shows an empty volumes line without volumes' {
        $v = Get-ContainerDiskUsage | Where-Object Type -eq 'Volumes'
        $v.TotalCount, $v.Active, $v.Size, $v.Reclaimable | Should -Be @(0, 0, 0, 0)
    }
}
