#Requires -Version 7.4
# Volumes seen from elsewhere: -VolumesFrom (docker --volumes-from) on New-Container and Start-Container, and
# Copy-ContainerItem on a stopped container reading and writing its volumes and binds (docker cp mounts them),
# with mount points resolved inside the container's root, read-only mounts refused, and no mount left behind.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-volshared'
    Import-Module (Get-TestModulePath) -Force
    $script:w = $script:state.Work
    $base = New-TestBusyboxRootFs -Path "$($script:w)/base.tar" -Applet @('sh', 'cat', 'echo', 'sleep', 'touch', 'grep', 'ls', 'test')
    Import-ContainerImage $base -Format RootFs -Name 'pester/shared:1' -Command sh | Out-Null
    function script:Run([hashtable]$Arguments, [string]$Script) {
        Start-Container -Image pester/shared:1 -Network none @Arguments -Command sh, -c, $Script
    }
    # Everything mounted under the state root or the host directories the tests bind (a copy leaves nothing).
    function script:Leftovers { @(Get-TestMount -Path $script:state.Root, $script:w | Where-Object { $_ -notlike '*/shm' }) }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerVolume -ErrorAction SilentlyContinue | Remove-ContainerVolume -Force -Confirm:$false -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe '-VolumesFrom' {
    BeforeEach {
        $script:hostDir = Join-Path $script:w "bind-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        New-Item -ItemType Directory -Force $script:hostDir | Out-Null
        Set-Content "$script:hostDir/b.txt" 'from the host'
        # The source: a named volume, an anonymous volume, a read-only bind and a tmpfs; stopped after writing.
        Run -Arguments @{ Name = 'src'; Volume = @('shared:/data', '/anon', "$($script:hostDir):/bind:ro"); Tmpfs = '/scratch' } -Script 'echo hello > /data/f; echo anon > /anon/a; echo t > /scratch/t' | Out-Null
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force -Volumes
        Get-ContainerVolume | Remove-ContainerVolume -Confirm:$false
        Leftovers | Should -BeNullOrEmpty
    }

    It 'mounts the other container''s volumes and binds at the same paths, each with its own mode, but not its tmpfs' {
        $out = Run -Arguments @{ Name = 'user1'; VolumesFrom = 'src' } -Script 'cat /data/f /anon/a /bind/b.txt; echo w > /data/g && echo data-rw; echo w > /bind/x 2>/dev/null || echo bind-ro; grep -c " /scratch " /proc/mounts || true'
        $out | Should -Be @('hello', 'anon', 'from the host', 'data-rw', 'bind-ro', '0')
        Get-Content "$((Get-ContainerVolume shared).Mountpoint)/g" | Should -Be 'w'
        (Get-ContainerVolume shared).UsedBy | Should -Be @('src', 'user1')
        $anon = Get-ContainerVolume | Where-Object Anonymous
        $anon.UsedBy | Should -Be @('src', 'user1')
        # The source's anonymous volume is its own: removing it with -Volumes keeps it while the other uses it.
        Remove-Container src -Volumes
        Get-ContainerVolume $anon.Name | Should -Not -BeNullOrEmpty
    }

    It 'makes every inherited mount read-only with :ro, and never makes a read-only one writable with :rw' {
        Run -Arguments @{ Name = 'ro1'; VolumesFrom = 'src:ro' } -Script 'cat /data/f; echo w > /data/g 2>/dev/null || echo data-ro; echo w > /anon/g 2>/dev/null || echo anon-ro' |
            Should -Be @('hello', 'data-ro', 'anon-ro')
        Run -Arguments @{ Name = 'rw1'; VolumesFrom = 'src:rw' } -Script 'echo w > /data/g && echo data-rw; echo w > /bind/x 2>/dev/null || echo bind-ro' |
            Should -Be @('data-rw', 'bind-ro')
    }

    It 'lets the new container''s own mount win at the same path, and works on New-Container too' {
        $c = New-Container pester/shared:1 -Name own1 -Network none -VolumesFrom src -Volume mine:/data -Command sh, -c, 'ls /data; cat /anon/a'
        Start-Container $c.Id -Wait | Out-Null
        @(Get-ContainerLog own1 | ForEach-Object Line) | Should -Be @('anon')
        (Get-ContainerVolume shared).UsedBy | Should -Be @('src')
        (Get-ContainerVolume mine).UsedBy | Should -Be @('own1')
    }

    It 'takes volumes from several containers, the later winning at the same path' {
        Run -Arguments @{ Name = 'src2'; Volume = @('other:/data', 'extra:/extra') } -Script 'echo second > /data/f; echo x > /extra/e' | Out-Null
        Run -Arguments @{ Name = 'multi'; VolumesFrom = @('src', 'src2') } -Script 'cat /data/f /anon/a /extra/e' | Should -Be @('second', 'anon', 'x')
    }

    It 'refuses <Case> and creates nothing' -ForEach @(
        @{ Case = 'an unknown container'; From = 'nosuchcontainer'; Id = 'ContainerNotFound' }
        @{ Case = 'an unknown mode'; From = 'src:z'; Id = 'InvalidVolumesFrom' }
        @{ Case = 'a mode without a container'; From = ':ro'; Id = 'InvalidVolumesFrom' }
        @{ Case = 'too many parts'; From = 'src:ro:rw'; Id = 'InvalidVolumesFrom' }
    ) {
        $before = @(Get-ContainerVolume).Count
        { New-Container pester/shared:1 -Name bad1 -Network none -VolumesFrom $From -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$Id*"
        { Start-Container -Image pester/shared:1 -Name bad2 -Network none -VolumesFrom $From -Command true -ErrorAction Stop } | Should -Throw -ErrorId "$Id*"
        Get-Container bad1, bad2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        @(Get-ContainerVolume).Count | Should -Be $before
    }
}

Describe 'Copy-ContainerItem on a stopped container with volumes and binds' {
    BeforeEach {
        $script:hostDir = Join-Path $script:w "cbind-$([guid]::NewGuid().ToString('N').Substring(0, 6))"
        New-Item -ItemType Directory -Force $script:hostDir | Out-Null
        Set-Content "$script:hostDir/on-host.txt" 'bound'
        Set-Content "$script:w/conf.txt" 'a bound file'
        'cvol', 'crovol' | ForEach-Object { New-ContainerVolume $_ } | Out-Null
        Set-Content "$((Get-ContainerVolume crovol).Mountpoint)/ro.txt" 'read me'
        $script:in = Join-Path $script:w 'in.txt'
        Set-Content $script:in 'copied in'
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerVolume | Remove-ContainerVolume -Confirm:$false
        Leftovers | Should -BeNullOrEmpty
        Remove-Item -Recurse -Force "$script:w/out-*" -ErrorAction SilentlyContinue
    }

    It 'writes into and reads from the volume and the bind of the <Kind> container' -ForEach @(
        @{ Kind = 'created (never started)'; Started = $false }
        @{ Kind = 'exited'; Started = $true }
    ) {
        $c = New-Container pester/shared:1 -Name cp1 -Network none -Volume 'cvol:/data', "$($script:hostDir):/srv/bind", 'crovol:/ro:ro', "$($script:w)/conf.txt:/etc/conf.txt" -Command sh, -c, 'echo ran > /data/ran.txt'
        if ($Started) { Start-Container $c.Id -Wait | Out-Null }
        $vol = (Get-ContainerVolume cvol).Mountpoint

        # Host to container: lands in the volume and in the host directory, not in the container's own layer.
        Copy-ContainerItem $script:in -Destination cp1:/data/in.txt
        Copy-ContainerItem $script:in -Destination cp1:/srv/bind/
        Get-Content "$vol/in.txt" | Should -Be 'copied in'
        Get-Content "$script:hostDir/in.txt" | Should -Be 'copied in'
        Get-ChildItem -Recurse "$($script:state.Root)/containers/$($c.Id)/upper" -Filter in.txt | Should -BeNullOrEmpty

        # Container to host: the volume's, the bind's and the bound file's content.
        Copy-ContainerItem cp1:/ro/ro.txt -Destination "$script:w/out-ro.txt"
        Copy-ContainerItem cp1:/srv/bind/on-host.txt -Destination "$script:w/out-bind.txt"
        Copy-ContainerItem cp1:/etc/conf.txt -Destination "$script:w/out-conf.txt"
        Copy-ContainerItem cp1:/data -Destination "$script:w/out-data"
        Get-Content "$script:w/out-ro.txt" | Should -Be 'read me'
        Get-Content "$script:w/out-bind.txt" | Should -Be 'bound'
        Get-Content "$script:w/out-conf.txt" | Should -Be 'a bound file'
        Test-Path "$script:w/out-data/in.txt" | Should -BeTrue
        Test-Path "$script:w/out-data/ran.txt" | Should -Be $Started

        # A read-only volume is refused with a clear error, and nothing is written to it.
        { Copy-ContainerItem $script:in -Destination cp1:/ro/x.txt -ErrorAction Stop } | Should -Throw -ErrorId 'DestinationReadOnly*'
        Test-Path "$((Get-ContainerVolume crovol).Mountpoint)/x.txt" | Should -BeFalse
        Leftovers | Should -BeNullOrEmpty

        # The container sees what was copied in at its next start.
        Start-Container cp1 -Wait | Out-Null
        Get-Content "$vol/ran.txt" | Should -Be 'ran'
    }

    It 'reads what a finished container wrote to its volume (a tar stream too)' {
        Run -Arguments @{ Name = 'cp2'; Volume = 'cvol:/data' } -Script 'echo result > /data/result.txt' | Out-Null
        Copy-ContainerItem cp2:/data/result.txt -Destination "$script:w/out-result.txt"
        Get-Content "$script:w/out-result.txt" | Should -Be 'result'
        Copy-ContainerItem cp2:/data -Destination "$script:w/out-data.tar" -AsTar
        (& tar -tf "$script:w/out-data.tar") | Should -Contain 'data/result.txt'
    }

    It 'resolves a volume''s mount point inside the container''s root when a symlink on the way points out of it' {
        # /esc in the container is a link to the host's directory (absolute and with ..): the volume at /esc/data must be
        # mounted on the container's own /<that path>/data, and neither the mount nor the copy may reach the host's.
        $target = Join-Path $script:w 'escape-target'
        New-Item -ItemType Directory -Force "$target/data" | Out-Null
        $link = Join-Path $script:w 'esc'
        & ln -sfn "/../../..$target" $link
        $c = New-Container pester/shared:1 -Name cp3 -Network none -Volume 'cvol:/esc/data' -Command true
        Copy-ContainerItem $link -Destination cp3:/esc
        Copy-ContainerItem $script:in -Destination cp3:/esc/data/in.txt
        Get-ChildItem "$target/data" | Should -BeNullOrEmpty
        Get-Content "$((Get-ContainerVolume cvol).Mountpoint)/in.txt" | Should -Be 'copied in'
        Copy-ContainerItem cp3:/esc/data/in.txt -Destination "$script:w/out-esc.txt"
        Get-Content "$script:w/out-esc.txt" | Should -Be 'copied in'
    }

    It 'leaves no mount when a copy fails, and a killed copy''s mounts are undone by the next command' {
        $c = New-Container pester/shared:1 -Name cp4 -Network none -Volume 'cvol:/data', "$($script:hostDir):/srv/bind" -Command true
        { Copy-ContainerItem cp4:/data/missing.txt -Destination "$script:w/out-missing" -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound*'
        Leftovers | Should -BeNullOrEmpty
        $r = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Copy-ContainerItem cp4:/srv/bind/on-host.txt -Destination '$script:w/out-killed.txt'" -Environment @{ PSCONTAINER_CRASH_AT = 'copy-after-mount' } | Wait-TestPwsh
        $r.ExitCode | Should -Not -Be 0
        Copy-ContainerItem cp4:/srv/bind/on-host.txt -Destination "$script:w/out-after.txt"
        Get-Content "$script:w/out-after.txt" | Should -Be 'bound'
        Leftovers | Should -BeNullOrEmpty
    }
}
