#Requires -Version 7.4
# User namespaces (-UserNamespace Host|Auto|c:h:n): root in the container is an unprivileged id on the host, image
# layers are shared through idmapped mounts (or a shifted copy where idmapping is off), Auto ranges come from the
# pscontainer user's subordinate ids and are recorded in the state db. Real kernel, real mounts; runs whether or not
# the pscontainer user and its /etc/subuid entries exist yet (the first Auto container makes them: product setup).

BeforeDiscovery {
    $script:idmapKernel = [version]((uname -r) -replace '^(\d+\.\d+).*', '$1') -ge [version]'5.19'
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-userns'
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
        'sh', 'id', 'cat', 'ls', 'touch', 'sleep', 'mount', 'grep', 'stat', 'echo', 'true', 'hostname')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/userns:1' -Command sh | Out-Null

    function script:Get-Range([string]$Name) {
        $text = (Get-Container $Name).UserNamespace
        $text | Should -Match '^0:\d+:65536$'
        [long]($text -split ':')[1]
    }
    function script:Get-HostUid([int]$ProcessId) {
        $line = Get-Content "/proc/$ProcessId/status" | Where-Object { $_ -like 'Uid:*' }
        [long](($line -split '\s+')[1])
    }
    function script:Get-OurLeak {
        @(
            Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
            if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object { "dir $($_.Name)" } }
            if (Test-Path "$($script:state.Root)/userns-layers") { Get-ChildItem "$($script:state.Root)/userns-layers" | ForEach-Object { "copy $($_.Name)" } }
        )
    }
    function script:Invoke-Run([string]$UserNamespace, [string[]]$Volume = @(), [string[]]$Command) {
        $out = & { Start-Container -Image pester/userns:1 -Network none -UserNamespace $UserNamespace -Volume $Volume -Command $Command } 2>&1
        [pscustomobject]@{ Lines = @($out | ForEach-Object { "$_" }); ExitCode = $LASTEXITCODE }
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-Item Env:PSCONTAINER_USERNS, Env:PSCONTAINER_NO_IDMAP, Env:PSCONTAINER_IDMAP_ATTACHED -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe '-UserNamespace' {
    AfterEach {
        Remove-Item Env:PSCONTAINER_USERNS, Env:PSCONTAINER_NO_IDMAP, Env:PSCONTAINER_IDMAP_ATTACHED -ErrorAction SilentlyContinue
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'Auto: id says root inside, and the process is an id of the allocated range on the host' {
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command sleep, 60
        $start = Get-Range $c.Name
        $c | Start-Container
        $pid1 = (Get-Container $c.Name).Pid
        Get-HostUid $pid1 | Should -Be $start -Because 'root in the container is the first id of its range on the host'
        $start | Should -BeGreaterOrEqual 65536
        $r = Invoke-Run -UserNamespace 'Auto' -Command 'sh', '-c', 'id; cat /proc/self/uid_map'
        $r.Lines[0] | Should -Match '^uid=0\(root\) gid=0\(root\)'
        $r.Lines[1] | Should -Match '^\s*0\s+\d+\s+65536$'
        $r.Lines[1] | Should -Not -Match '^\s*0\s+0\s'
    }

    It 'Host (the default) has no user namespace' {
        $c = New-Container pester/userns:1 -Network none -Command sleep, 60
        $c.UserNamespace | Should -Be 'host'
        $c | Start-Container
        Get-HostUid (Get-Container $c.Name).Pid | Should -Be 0
    }

    It 'a file created in a bind mount is owned by the mapped id on the host' {
        $dir = Join-Path $script:state.Work "bind-$(Get-Random)"
        New-Item -ItemType Directory $dir | Out-Null
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Volume "${dir}:/data" -Command sh, -c, 'touch /data/by-root; ls -ln /data'
        $start = Get-Range $c.Name
        # Documented: bind mounts are not idmapped; the container's root owns what it may write as the mapped id.
        & chown "${start}:${start}" $dir
        $c | Start-Container -Wait
        (Get-Item "$dir/by-root").UnixFileMode | Should -Not -BeNullOrEmpty
        & stat -c '%u:%g' "$dir/by-root" | Should -Be "${start}:${start}"
        (Get-ContainerLog $c.Name | ForEach-Object Line) -join "`n" | Should -Match '\s0\s+0\s.*by-root'
    }

    It 'two Auto containers get disjoint ranges, and a removed one''s range is reused' {
        $a = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command true
        $b = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command true
        $ra, $rb = (Get-Range $a.Name), (Get-Range $b.Name)
        [math]::Abs($ra - $rb) | Should -BeGreaterOrEqual 65536 -Because 'each range is 65536 ids and none overlaps'
        $a | Remove-Container
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command true
        Get-Range $c.Name | Should -Be $ra -Because 'the freed range is the first free one again'
    }

    It 'a host root-only file bind-mounted read-only cannot be read in an Auto container (and can with Host)' {
        $secret = Join-Path $script:state.Work "secret-$(Get-Random)"
        Set-Content $secret 'top secret'
        & chown 0:0 $secret; & chmod 0600 $secret
        $r = Invoke-Run -UserNamespace 'Auto' -Volume "${secret}:/secret:ro" -Command 'cat', '/secret'
        $r.ExitCode | Should -Not -Be 0
        ($r.Lines -join "`n") | Should -Match 'Permission denied'
        ($r.Lines -join "`n") | Should -Not -Match 'top secret'
        $h = Invoke-Run -UserNamespace 'Host' -Volume "${secret}:/secret:ro" -Command 'cat', '/secret'
        $h.Lines | Should -Contain 'top secret' -Because 'root without a user namespace reads it: the difference is the user namespace'
    }

    It 'image files look root-owned inside while the shared layer directories keep their owners (idmapped, <Layers> layers)' -Skip:(-not $script:idmapKernel) -ForEach @(
        @{ Layers = 'detached'; Attached = '0'; Lower = '^/proc/self/fd/\d+$' },
        # What kernels that refuse detached overlay layers get (before "fs: allow detached mounts in clone_private_mount()").
        @{ Layers = 'attached'; Attached = '1'; Lower = '/containers/[0-9a-f]{64}/idmap/0$' }) {
        $env:PSCONTAINER_IDMAP_ATTACHED = $Attached
        $r = Invoke-Run -UserNamespace 'Auto' -Command 'sh', '-c', 'ls -ln /bin/busybox; stat -c %u:%g /; grep -m 1 -o "lowerdir=[^,]*" /proc/self/mountinfo'
        $r.Lines[0] | Should -Match '^\S+\s+\d+\s+0\s+0\s'
        $r.Lines[1] | Should -Be '0:0'
        $r.Lines[2] -replace '^lowerdir=' | Should -Match $Lower -Because 'the layers of the overlay are the idmapped clones'
        Remove-Item Env:PSCONTAINER_IDMAP_ATTACHED
        $layerFiles = @(Get-ChildItem "$($script:state.Root)/layers/*/diff/bin/busybox")
        $layerFiles.Count | Should -BeGreaterThan 0
        foreach ($f in $layerFiles) { & stat -c '%u:%g' $f.FullName | Should -Be '0:0' }
        Test-Path "$($script:state.Root)/userns-layers" | Should -BeFalse -Because 'idmapped mounts need no copy'
    }

    It 'without idmapped mounts ($env:PSCONTAINER_NO_IDMAP) a shifted copy per range is used, with a warning, and removed with the container' {
        $env:PSCONTAINER_NO_IDMAP = '1'
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command sh, -c, 'ls -ln /bin/busybox; touch /made'
        $start = Get-Range $c.Name
        $c | Start-Container -Wait -WarningVariable warned -WarningAction SilentlyContinue
        "$warned" | Should -Match 'shifted owners'
        (Get-ContainerLog $c.Name | ForEach-Object Line) | Select-Object -First 1 | Should -Match '^\S+\s+\d+\s+0\s+0\s'
        $copies = @(Get-ChildItem "$($script:state.Root)/userns-layers/*/*/bin/busybox")
        $copies.Count | Should -BeGreaterThan 0
        & stat -c '%u' $copies[0].FullName | Should -Be "$start"
        foreach ($f in Get-ChildItem "$($script:state.Root)/layers/*/diff/bin/busybox") { & stat -c '%u:%g' $f.FullName | Should -Be '0:0' }
        $c | Remove-Container
        Test-Path "$($script:state.Root)/userns-layers/*" | Should -BeFalse -Because 'the copies go with the last container of the range'
    }

    It 'Repair-ContainerState removes shifted layer copies of a range no container uses, and keeps those of one in use' {
        $env:PSCONTAINER_NO_IDMAP = '1'
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command sleep, 60
        $c | Start-Container -WarningAction SilentlyContinue
        $inUse = @(Get-ChildItem "$($script:state.Root)/userns-layers" -Directory)
        $inUse.Count | Should -Be 1
        # What a removal killed before releasing its range leaves.
        $stale = "$($script:state.Root)/userns-layers/3000000-3000000-65536"
        New-Item -ItemType Directory -Force "$stale/sha256-x/bin" | Out-Null
        Set-Content "$stale/sha256-x/bin/file" 'x'
        $removed = @(Repair-ContainerState -Confirm:$false -Verbose 4>&1)
        ($removed | Out-String) | Should -Match 'shifted layer copies 3000000-3000000-65536'
        Test-Path $stale | Should -BeFalse
        Test-Path $inUse[0].FullName | Should -BeTrue -Because 'a running container of that range uses them'
        @(Get-ChildItem "$($script:state.Root)/tmp" -ErrorAction SilentlyContinue).Count | Should -Be 0
        (Get-Container $c.Name).State | Should -Be 'Running'
    }

    It 'a copy-fallback start waits for a garbage collection holding the store lock (the copy is made in tmp/, which a collection empties)' {
        $env:PSCONTAINER_NO_IDMAP = '1'
        # What CollectGarbage holds: the store lock, exclusive. flock(1) holds it for 3 s.
        $holder = Start-Process -FilePath flock -ArgumentList '-x', "$($script:state.Root)/store.lock", 'sleep', '3' -PassThru
        try {
            Start-Sleep -Milliseconds 300
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $r = Invoke-Run -UserNamespace 'Auto' -Command 'sh', '-c', 'ls -ln /bin/busybox'
            $watch.Stop()
            $r.Lines[-1] | Should -Match '^\S+\s+\d+\s+0\s+0\s'
            $watch.Elapsed.TotalSeconds | Should -BeGreaterThan 2 -Because 'the copy into tmp/ waits for the collection to end'
        } finally {
            $holder.WaitForExit()
        }
    }

    It 'copy-fallback starts all succeed while another session removes an unrelated image (a garbage collection) in a loop' {
        $other = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'other.tar') -Applet @('true')
        $gc = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; `$end = (Get-Date).AddSeconds(15); while ((Get-Date) -lt `$end) { Import-ContainerImage '$other' -Format RootFs -Name pester/userns-other:1 -Command true | Out-Null; Remove-ContainerImage pester/userns-other:1 | Out-Null }"
        try {
            $env:PSCONTAINER_NO_IDMAP = '1'
            foreach ($i in 1..6) {
                $r = Invoke-Run -UserNamespace 'Auto' -Command 'sh', '-c', 'ls -ln /bin/busybox'
                $r.Lines[-1] | Should -Match '^\S+\s+\d+\s+0\s+0\s' -Because "start $i ($($r.Lines -join ' '))"
                Get-Container -All | Remove-Container -Force
            }
        } finally {
            ($gc | Wait-TestPwsh -TimeoutSeconds 60).ExitCode | Should -Be 0
        }
        Test-Path "$($script:state.Root)/userns-layers/*" | Should -BeFalse
    }

    It 'a fixed map containeruid:hostuid:count is used as given' {
        $r = Invoke-Run -UserNamespace '0:300000:65536' -Command 'sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u'
        $r.Lines[0] | Should -Match '^\s*0\s+300000\s+65536$'
        $r.Lines[1] | Should -Match '^\s*0\s+300000\s+65536$'
        $r.Lines[2] | Should -Be '0'
    }

    It 'refuses a bad value with InvalidUserNamespace' -ForEach @(@{ V = 'bogus' }, @{ V = '1:100000:10' }, @{ V = '0:100000:0' }, @{ V = '0:4294967290:65536' }) {
        New-Container pester/userns:1 -UserNamespace $V -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'InvalidUserNamespace*'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses an explicit -UserNamespace <UserNamespace> with <What> (it needs the host''s user namespace) with UserNamespaceConflict' -ForEach @(
        @{ What = '-Privileged'; UserNamespace = 'Auto'; Extra = @{ Privileged = $true } },
        @{ What = '-Pid host'; UserNamespace = 'Auto'; Extra = @{ Pid = 'host' } },
        @{ What = '-Ipc host'; UserNamespace = 'Auto'; Extra = @{ Ipc = 'host' } },
        @{ What = '-Uts host'; UserNamespace = 'Auto'; Extra = @{ Uts = 'host' } },
        @{ What = '-Network host'; UserNamespace = 'Auto'; Extra = @{ Network = 'host' } },
        @{ What = '-Sysctl net.*'; UserNamespace = 'Auto'; Extra = @{ Network = 'none'; Sysctl = @{ 'net.ipv4.ip_unprivileged_port_start' = '80' } } },
        @{ What = '-Privileged'; UserNamespace = '0:300000:65536'; Extra = @{ Privileged = $true } }) {
        New-Container pester/userns:1 -UserNamespace $UserNamespace @Extra -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'UserNamespaceConflict*'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        "$($e[0])" | Should -BeLike "*$What*"
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'with Auto only as the module default, a container with <What> runs with Host and says so' -ForEach @(
        @{ What = '-Privileged'; Extra = @{ Privileged = $true; Network = 'none' }; Check = 'id -u' },
        @{ What = '-Pid host'; Extra = @{ Pid = 'host'; Network = 'none' }; Check = 'test -d /proc/1 && id -u' },
        @{ What = '-Ipc host'; Extra = @{ Ipc = 'host'; Network = 'none' }; Check = 'id -u' },
        @{ What = '-Uts host'; Extra = @{ Uts = 'host'; Network = 'none' }; Check = 'id -u' },
        @{ What = '-Network host'; Extra = @{ Network = 'host' }; Check = 'id -u' },
        @{ What = '-Sysctl net.ipv4.ip_unprivileged_port_start'; Extra = @{ Network = 'none'; Sysctl = @{ 'net.ipv4.ip_unprivileged_port_start' = '80' } }; Check = 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start' }) {
        $env:PSCONTAINER_USERNS = 'auto'
        $c = New-Container pester/userns:1 @Extra -Command sh, -c, $Check -WarningVariable warned -WarningAction SilentlyContinue
        $c.UserNamespace | Should -Be 'host'
        "$warned" | Should -BeLike "*without a user namespace*$What*"
        $c | Start-Container -Wait
        $LASTEXITCODE | Should -Be 0
        (Get-ContainerLog $c.Name | ForEach-Object Line) | Select-Object -Last 1 | Should -Be ($What -like '-Sysctl*' ? '80' : '0')
        (Get-Container $c.Name -All).UserNamespace | Should -Be 'host'
    }

    It 'refuses a fixed map onto host root (0:0:n) with UserNamespaceMapsHostRoot' {
        New-Container pester/userns:1 -UserNamespace '0:0:65536' -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $e[0].FullyQualifiedErrorId | Should -BeLike 'UserNamespaceMapsHostRoot*'
        $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses a fixed map overlapping the ids delegated for Auto containers with UserNamespaceOverlapsAuto' {
        # The first Auto container delegates the pscontainer user's range (if it is not yet).
        New-Container pester/userns:1 -UserNamespace Auto -Network none -Command true | Out-Null
        $line = Get-Content /etc/subuid | Where-Object { $_ -like 'pscontainer:*' } | Select-Object -First 1
        $line | Should -Not -BeNullOrEmpty
        $start = [long]($line -split ':')[1]
        foreach ($map in "0:${start}:65536", "0:$($start - 10):65536") {
            New-Container pester/userns:1 -UserNamespace $map -Command true -ErrorVariable e -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $e[0].FullyQualifiedErrorId | Should -BeLike 'UserNamespaceOverlapsAuto*'
            $e[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        }
        @(Get-Container -All).Count | Should -Be 1
    }

    It '$env:PSCONTAINER_USERNS=auto makes Auto the default, recorded at creation' {
        $env:PSCONTAINER_USERNS = 'auto'
        $c = New-Container pester/userns:1 -Network none -Command sleep, 60
        $start = Get-Range $c.Name
        Remove-Item Env:PSCONTAINER_USERNS
        $c | Start-Container
        Get-HostUid (Get-Container $c.Name).Pid | Should -Be $start
        (New-Container pester/userns:1 -Network none -Command true).UserNamespace | Should -Be 'host'
    }

    It 'nothing is left mounted while running or after stop: the idmapped layer mounts go as soon as the overlay holds them' {
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Command sleep, 60
        $c | Start-Container
        Get-TestMount -Path $script:state.Root | Should -BeNullOrEmpty
        $c | Stop-Container -Timeout 0
        Get-TestMount -Path $script:state.Root | Should -BeNullOrEmpty
    }

    It 'a start killed between the idmapped layer clones and the overlay leaves nothing mounted: the clones are detached' {
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Name crash-idmap -Command sleep, 60
        $job = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Start-Container crash-idmap" -Environment @{ PSCONTAINER_CRASH_AT = 'after-idmap' }
        ($job | Wait-TestPwsh -TimeoutSeconds 60).ExitCode | Should -Be 137
        Get-TestMount -Path $script:state.Root | Should -BeNullOrEmpty -Because 'detached mounts held by descriptors go with the killed process'
        $c | Start-Container
        (Get-Container crash-idmap).State | Should -Be 'Running'
    }

    It 'a start killed with the idmapped clones attached (kernels refusing detached layers) is undone by Repair-ContainerState' {
        $c = New-Container pester/userns:1 -UserNamespace Auto -Network none -Name crash-idmap -Command sleep, 60
        $job = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Start-Container crash-idmap" -Environment @{
            PSCONTAINER_CRASH_AT = 'after-idmap-attach'; PSCONTAINER_IDMAP_ATTACHED = '1' }
        ($job | Wait-TestPwsh -TimeoutSeconds 60).ExitCode | Should -Be 137
        @(Get-TestMount -Path "$($script:state.Root)/containers/$($c.Id)/idmap").Count | Should -BeGreaterThan 0 -Because 'the kill left idmapped mounts'
        Repair-ContainerState -Confirm:$false | Out-Null
        Get-TestMount -Path $script:state.Root | Should -BeNullOrEmpty
        $c | Start-Container
        (Get-Container crash-idmap).State | Should -Be 'Running'
    }
}

Describe 'the runtime in a user namespace' {
    BeforeAll {
        $script:bundle = Join-Path $script:state.Work 'bundle'
        New-Item -ItemType Directory -Force "$bundle/rootfs/bin", "$bundle/rootfs/data", "$bundle/rootfs/mnt" | Out-Null
        Copy-Item /bin/busybox "$bundle/rootfs/bin/busybox"
        foreach ($a in 'sh', 'id', 'cat', 'mount', 'touch', 'hostname', 'grep') { New-Item -ItemType SymbolicLink "$bundle/rootfs/bin/$a" -Target busybox | Out-Null }
        & chown -R 300000:300000 "$bundle/rootfs"
        $script:hostDir = Join-Path $script:state.Work 'hostdir'
        New-Item -ItemType Directory -Force $hostDir | Out-Null
        & chown 300000:300000 $hostDir
        $script:blockDevice = (& findmnt -no SOURCE /) -replace '\[.*$', ''

        function script:Invoke-Bundle([string]$Script, [hashtable]$LinuxExtra, [string[]]$Caps = @('CAP_KILL'), [object[]]$Devices = @()) {
            $id = 'u' + [guid]::NewGuid().ToString('N').Substring(0, 12)
            $linux = @{ namespaces = @(@{ type = 'pid' }, @{ type = 'mount' }, @{ type = 'uts' }, @{ type = 'ipc' }, @{ type = 'network' })
                cgroupsPath = "/$($script:state.CgroupParent)/$id"; devices = $Devices; resources = @{ devices = @(@{ allow = $true; access = 'rwm' }) } }
            foreach ($k in $LinuxExtra.Keys) { $linux[$k] = $LinuxExtra[$k] }
            @{
                ociVersion = '1.1.0'; hostname = 'inside'; root = @{ path = 'rootfs' }
                process = @{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = @('sh', '-c', $Script); env = @('PATH=/bin', "DISK=$($script:blockDevice)"); cwd = '/'
                    capabilities = @{ bounding = $Caps; effective = $Caps; permitted = $Caps } }
                mounts = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' }, @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'mode=755') },
                    @{ destination = '/data'; type = 'bind'; source = $script:hostDir; options = @('rbind') })
                linux = $linux
            } | ConvertTo-Json -Depth 8 | Set-Content "$($script:bundle)/config.json"
            $out = & "$($script:native)/psc-runtime" --root "$($script:state.RunRoot)/rt" run --bundle $script:bundle $id 2>&1
            [pscustomobject]@{ ExitCode = $LASTEXITCODE; Lines = @($out | ForEach-Object { "$_" }) }
        }
        $script:maps = @{ uidMappings = @(@{ containerID = 0; hostID = 300000; size = 65536 }); gidMappings = @(@{ containerID = 0; hostID = 300000; size = 65536 }) }
    }

    It 'CAP_SYS_ADMIN in a user namespace does not reach host mounts: a tmpfs over a bound host dir stays inside, a host block device cannot be mounted' {
        $linux = $script:maps.Clone(); $linux.namespaces = @(@{ type = 'pid' }, @{ type = 'mount' }, @{ type = 'uts' }, @{ type = 'ipc' }, @{ type = 'network' }, @{ type = 'user' })
        $dev = @(@{ path = $script:blockDevice; type = 'b'; fileMode = 432; uid = 0; gid = 0; major = [int](& stat -L -c '%t' $script:blockDevice | ForEach-Object { [Convert]::ToInt32($_, 16) }); minor = [int](& stat -L -c '%T' $script:blockDevice | ForEach-Object { [Convert]::ToInt32($_, 16) }) })
        $r = Invoke-Bundle -LinuxExtra $linux -Caps @('CAP_SYS_ADMIN', 'CAP_KILL') -Devices $dev -Script 'grep CapEff /proc/self/status; mount -t tmpfs tmpfs /data && touch /data/inside && echo tmpfs-ok; mount -o ro "$DISK" /mnt && echo block-mounted || echo block-refused'
        $r.Lines | Should -Contain 'tmpfs-ok' -Because ($r.Lines -join "`n")
        $r.Lines | Should -Contain 'block-refused'
        $r.Lines[0] | Should -Match 'CapEff:\s+0*2[0-9a-f]{5}$' -Because 'CAP_SYS_ADMIN (bit 21) is effective inside'
        Test-Path (Join-Path $script:hostDir 'inside') | Should -BeFalse
        Get-TestMount -Path $script:hostDir | Should -BeNullOrEmpty
        # The capability is really there (effective), only the user namespace stops it reaching the host.
        ($r.Lines -join "`n") | Should -Not -Match 'block-mounted'
    }

    It 'a user namespace joined by path: the new mount, uts and pid namespaces are made inside it' {
        $holder = Start-Process -FilePath unshare -ArgumentList '--user', 'sleep', '120' -PassThru
        try {
            Start-Sleep -Milliseconds 300
            Set-Content "/proc/$($holder.Id)/uid_map" '0 300000 65536' -NoNewline
            Set-Content "/proc/$($holder.Id)/gid_map" '0 300000 65536' -NoNewline
            $linux = @{ namespaces = @(@{ type = 'pid' }, @{ type = 'mount' }, @{ type = 'uts' }, @{ type = 'ipc' }, @{ type = 'network' }, @{ type = 'user'; path = "/proc/$($holder.Id)/ns/user" }) }
            $r = Invoke-Bundle -LinuxExtra $linux -Script 'id -u; cat /proc/self/uid_map; hostname; touch /data/joined'
            $r.ExitCode | Should -Be 0 -Because ($r.Lines -join "`n")
            $r.Lines[0] | Should -Be '0'
            $r.Lines[1] | Should -Match '^\s*0\s+300000\s+65536$'
            $r.Lines[2] | Should -Be 'inside'
            & stat -c '%u' (Join-Path $script:hostDir 'joined') | Should -Be '300000'
        } finally {
            Stop-Process -Id $holder.Id -Force -ErrorAction SilentlyContinue
        }
    }
}
