#Requires -Version 7.4
# kill -9 of the session in the middle of Start-Container: at each named step (the engine kills its own process
# there when $env:PSCONTAINER_CRASH_AT names it), the host holds what the start had made so far. Then the next
# command that looks at the container (Get-Container, or Repair-ContainerState) undoes it all, and the next start
# runs the container for real instead of reporting one that an old monitor is about to record as killed.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-crash'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'sleep', 'true', 'cat')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/crash:1' -Command sh | Out-Null
    $script:tag = "pscontainer:$($script:state.Root)"

    # What a container of this root can leave on the host.
    function script:Get-OurHostObject {
        @(
            Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
            Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:state.CgroupParent } |
                Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object { "cgroup $($_.FullName)" }
            # A monitor names itself psc-<first 12 of the container id> (its whole command line).
            $monitors = @(if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object { 'psc-' + $_.Name.Substring(0, 12) } })
            Get-Process -ErrorAction SilentlyContinue | Where-Object {
                ((Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -split "`0")[0] -in $monitors } | ForEach-Object { "monitor $($_.Id)" }
            if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
            Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }
            & ip -o link | Where-Object { $_ -match [regex]::Escape($script:tag) -and $_ -match 'veth|@' } | ForEach-Object { "veth $(($_ -split ': ')[1])" }
        )
    }

    # Runs -Command in another pwsh that kills itself at -Step (PSCONTAINER_CRASH_AT); returns its exit code.
    function script:Invoke-Crashing([string]$Command, [string]$Step) {
        (Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; $Command" -Environment @{ PSCONTAINER_CRASH_AT = $Step } |
            Wait-TestPwsh -TimeoutSeconds 60).ExitCode
    }
    function script:Get-ContainerDirectory { @(if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object Name }) }
}

AfterAll {
    Remove-TestStateRoot $script:state
}

Describe 'kill -9 during Start-Container' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurHostObject | Should -BeNullOrEmpty -Because 'removing the container leaves nothing either'
    }

    It 'at <Step> (<Network>): Get-Container undoes the half-made start, and the next start tells the truth' -ForEach @(
        @{ Step = 'after-mount'; Network = 'none'; Leaves = 'mount' }
        @{ Step = 'after-network'; Network = 'bridge'; Leaves = 'veth' }
        @{ Step = 'after-monitor'; Network = 'bridge'; Leaves = 'monitor' }
        @{ Step = 'after-start'; Network = 'none'; Leaves = 'monitor' }
    ) {
        $name = "crash-$Step"
        New-Container pester/crash:1 -Name $name -Network $Network -Command sleep, 300 | Out-Null
        Invoke-Crashing "Start-Container $name" $Step | Should -Be 137 -Because 'the session was killed (SIGKILL)'
        # The crash really left host objects behind for the next command to deal with.
        @(Get-OurHostObject | Where-Object { $_ -like "$Leaves *" }).Count | Should -BeGreaterThan 0

        $after = Get-Container $name
        $after.State | Should -Be 'Created'
        $after.Error | Should -Match 'interrupted'
        Get-OurHostObject | Should -BeNullOrEmpty

        $started = Start-Container $name -PassThru
        $started.State | Should -Be 'Running'
        Start-Sleep -Milliseconds 1500
        $again = Get-Container $name
        $again.State | Should -Be 'Running' -Because 'no monitor of the interrupted start may record its kill as this run''s exit'
        $again.Error | Should -BeNullOrEmpty
    }

    It 'after the store says Running (the marker not yet cleared): the start stands' {
        New-Container pester/crash:1 -Name crash-committed -Network none -Command sleep, 300 | Out-Null
        Invoke-Crashing "Start-Container crash-committed" 'after-commit' | Should -Be 137
        $c = Get-Container crash-committed
        $c.State | Should -Be 'Running' -Because 'that start had finished: undoing it would kill a healthy container'
        $c.Error | Should -BeNullOrEmpty
        Test-Path "/proc/$($c.Pid)" | Should -BeTrue
    }

    It 'Repair-ContainerState undoes it too, without a Get-Container first' {
        New-Container pester/crash:1 -Name crash-repair -Command sleep, 300 | Out-Null
        Invoke-Crashing "Start-Container crash-repair" 'after-monitor' | Should -Be 137
        @(Get-OurHostObject).Count | Should -BeGreaterThan 0
        Repair-ContainerState | Out-Null
        Get-OurHostObject | Should -BeNullOrEmpty
        (Get-Container crash-repair -All).State | Should -Be 'Created'
    }

    It 'Remove-Container of a half-started container leaves nothing' {
        New-Container pester/crash:1 -Name crash-remove -Command sleep, 300 | Out-Null
        Invoke-Crashing "Start-Container crash-remove" 'after-start' | Should -Be 137
        Remove-Container crash-remove -Force
        Get-OurHostObject | Should -BeNullOrEmpty
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe 'kill -9 during Stop-Container' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurHostObject | Should -BeNullOrEmpty
    }

    It 'at <Step>: the next Get-Container records the exit and removes what the run left, and the next start runs' -ForEach @(
        @{ Step = 'stop-after-signal' }
        @{ Step = 'stop-after-exit' }
        @{ Step = 'cleanup-after-cgroup' }
    ) {
        $name = "stop-$Step"
        # pid 1 ignores a signal it has no handler for: this one ends on SIGTERM with 143.
        New-Container pester/crash:1 -Name $name -Publish 80 -Command sh, -c, 'trap "exit 143" TERM; sleep 300 & wait' | Start-Container
        Invoke-Crashing "Stop-Container $name -Timeout 5" $Step | Should -Be 137
        # The container got its signal before the session died: it exits on its own.
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while ((Get-Container $name -All).State -ne 'Exited' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        $c = Get-Container $name -All
        $c.State | Should -Be 'Exited'
        $c.ExitCode | Should -Be 143 -Because 'it ended on the SIGTERM the killed Stop-Container had sent'
        Get-OurHostObject | Should -BeNullOrEmpty
        (Start-Container $name -PassThru).State | Should -Be 'Running'
        (Stop-Container $name -Timeout 5 -PassThru).State | Should -Be 'Exited'
        Get-OurHostObject | Should -BeNullOrEmpty
    }
}

Describe 'kill -9 during Connect-/Disconnect-ContainerNetwork' {
    BeforeAll {
        $script:netName = 'crashnet'
        New-ContainerNetwork $script:netName | Out-Null
        function script:Get-Veth([string]$Id) {
            $veth = [PSContainer.Engine.Networks.NetworkManager]::VethName($Id, (Get-ContainerNetwork $script:netName).Id)
            @(& ip -o link show $veth 2>$null)
        }
    }
    AfterAll { Remove-ContainerNetwork $script:netName -Force }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurHostObject | Should -BeNullOrEmpty
    }

    It 'connect killed at <Step>: the container ends <Ends>, with host and record agreeing' -ForEach @(
        @{ Step = 'connect-after-record'; Ends = 'disconnected' }
        @{ Step = 'connect-after-veth'; Ends = 'disconnected' }
        @{ Step = 'connect-after-active'; Ends = 'connected' }
    ) {
        $name = "conn-$Step"
        $c = New-Container pester/crash:1 -Name $name -Command sleep, 300 | Start-Container -PassThru
        Invoke-Crashing "Connect-ContainerNetwork $name $script:netName" $Step | Should -Be 137
        $after = Get-Container $name
        $dev = @(Invoke-ContainerCommand $name -Command cat, /proc/net/dev)
        $dev | Where-Object { $_ -match '^\s*eth0:' } | Should -Not -BeNullOrEmpty -Because 'the container still has its first network'
        $inside = @($dev | Where-Object { $_ -match '^\s*eth1:' })
        if ($Ends -eq 'connected') {
            $after.Networks | Should -Contain $script:netName
            Get-Veth $c.Id | Should -Not -BeNullOrEmpty
            $inside.Count | Should -Be 1
            # /etc/hosts names the container once per network.
            @(Get-Content (Join-Path $script:state.Root "containers/$($c.Id)/hosts") | Where-Object { $_ -match "\s$name(\s|$)" }).Count | Should -Be 2
        }
        else {
            $after.Networks | Should -Not -Contain $script:netName
            Get-Veth $c.Id | Should -BeNullOrEmpty
            $inside.Count | Should -Be 0 -Because 'the half-made interface went with its veth'
            # Connecting again works: nothing of the killed attempt is in the way.
            (Connect-ContainerNetwork $name $script:netName -PassThru).Networks | Should -Contain $script:netName
            Get-Veth $c.Id | Should -Not -BeNullOrEmpty
        }
    }

    It 'disconnect killed after the veth went: the next command finishes it' {
        $c = New-Container pester/crash:1 -Name disc -Network $script:netName -Command sleep, 300 | Start-Container -PassThru
        Connect-ContainerNetwork disc bridge
        Invoke-Crashing "Disconnect-ContainerNetwork disc $script:netName" 'disconnect-after-veth' | Should -Be 137
        (Get-Container disc).Networks | Should -Be @('bridge')
        Get-Veth $c.Id | Should -BeNullOrEmpty
        Get-Content (Join-Path $script:state.Root "containers/$($c.Id)/hosts") -Raw | Should -Not -Match ([regex]::Escape($c.IPAddress))
    }
}

Describe 'kill -9 during New-Container' {
    BeforeAll {
        function script:Invoke-CrashingCreate([string]$Name, [string]$Step) {
            Invoke-Crashing "New-Container pester/crash:1 -Name $Name -Publish 80 -Command sleep, 300" $Step
        }
    }
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'after the record, before the network: the half-made container is undone and its name is free again' {
        Invoke-CrashingCreate 'half-made' 'create-after-insert' | Should -Be 137
        # Without its endpoint it would start with loopback only: the next command undoes the creation instead.
        Get-Container -All | Where-Object Name -eq 'half-made' | Should -BeNullOrEmpty
        Get-ContainerDirectory | Should -BeNullOrEmpty
        $made = New-Container pester/crash:1 -Name half-made -Command sleep, 300 | Start-Container -PassThru
        $made.Networks | Should -Be @('bridge')
        $made.IPAddress | Should -Not -BeNullOrEmpty
    }

    It 'before the record: Repair-ContainerState removes the directory nothing accounts for' {
        Invoke-CrashingCreate 'no-record' 'create-after-dir' | Should -Be 137
        $orphan = @(Get-ContainerDirectory)
        $orphan.Count | Should -Be 1
        Get-Container -All | Should -BeNullOrEmpty
        $removed = @(Repair-ContainerState -Verbose 4>&1 | ForEach-Object { "$_" })
        $removed | Should -Contain "Removed container directory $($orphan[0])"
        Get-ContainerDirectory | Should -BeNullOrEmpty
    }
}

Describe 'kill -9 during Remove-Container' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'after its files, before its record: the next Remove-Container finishes it' {
        New-Container pester/crash:1 -Name rm-files -Command sleep, 300 | Start-Container
        Invoke-Crashing 'Remove-Container rm-files -Force' 'remove-after-files' | Should -Be 137
        Get-OurHostObject | Should -BeNullOrEmpty -Because 'the host objects went before the crash'
        (Get-Container rm-files -All).Name | Should -Be 'rm-files'
        Remove-Container rm-files
        Get-Container -All | Should -BeNullOrEmpty
        Get-ContainerDirectory | Should -BeNullOrEmpty
    }

    It 'after its record, before its directory: Repair-ContainerState removes the directory' {
        New-Container pester/crash:1 -Name rm-record -Command sleep, 300 | Start-Container
        Invoke-Crashing 'Remove-Container rm-record -Force' 'remove-after-record' | Should -Be 137
        Get-Container -All | Should -BeNullOrEmpty
        $orphan = @(Get-ContainerDirectory)
        $orphan.Count | Should -Be 1
        @(Repair-ContainerState -Verbose 4>&1 | ForEach-Object { "$_" }) | Should -Contain "Removed container directory $($orphan[0])"
        Get-ContainerDirectory | Should -BeNullOrEmpty
        Get-OurHostObject | Should -BeNullOrEmpty
    }
}

Describe 'Clean-up the runtime cannot do' {
    It 'Remove-Container removes the cgroup in every hierarchy when the runtime binary is gone by the time it exits' {
        # A copy of psc-runtime the container is started with, deleted while the container runs: its exit then
        # cannot be cleaned up by the runtime, and the engine's own fallback must reach every hierarchy.
        $dir = Join-Path $script:state.Work 'gone-runtime'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Copy-Item (Join-Path (Split-Path (Get-TestModulePath)) 'native/psc-runtime') $dir
        $runtime = Join-Path $dir 'psc-runtime'
        $c = New-Container pester/crash:1 -Name gone-runtime -Network none -Runtime $runtime -Command sh, -c, 'sleep 1' | Start-Container -PassThru
        $cgroups = @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName "$($script:state.CgroupParent)/$($c.Id)" } | Where-Object { Test-Path $_ })
        $cgroups.Count | Should -BeGreaterThan 0
        if (Test-Path /sys/fs/cgroup/unified/cgroup.procs) { $cgroups | Should -Contain "/sys/fs/cgroup/unified/$($script:state.CgroupParent)/$($c.Id)" }
        Remove-Item $runtime
        (Wait-Container gone-runtime).ExitCode | Should -Be 0
        Remove-Container gone-runtime
        $cgroups | Where-Object { Test-Path $_ } | Should -BeNullOrEmpty
    }
}

Describe 'kill -9 during Import-ContainerImage' {
    BeforeAll {
        $script:importTar = (New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'import.tar') -Applet @('sh')).FullName
        function script:Get-Temporary { @(if (Test-Path "$($script:state.Root)/tmp") { Get-ChildItem "$($script:state.Root)/tmp" -Force | ForEach-Object Name }) }
        function script:Invoke-CrashingImport([string]$Name) {
            Invoke-Crashing "Import-ContainerImage '$script:importTar' -Format RootFs -Name $Name" 'import-layer-written'
        }
    }

    It 'the next import removes what the killed one left in tmp/, and stores the image' {
        Invoke-CrashingImport 'crash/import:1' | Should -Be 137
        @(Get-Temporary | Where-Object { $_ -like 'layer-*' }).Count | Should -BeGreaterThan 0 -Because 'the killed import had unpacked a layer'
        (Import-ContainerImage $script:importTar -Format RootFs -Name 'crash/import:1' -Command sh).RepoTags | Should -Be 'crash/import:1'
        Get-Temporary | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $script:state.Root | Should -BeNullOrEmpty
    }

    It 'Repair-ContainerState removes them too, and never a live session''s' {
        Invoke-CrashingImport 'crash/import:2' | Should -Be 137
        $left = @(Get-Temporary)
        $left.Count | Should -BeGreaterThan 0
        # A temporary of this live session, named as the engine names its own.
        $start = ((Get-Content "/proc/$PID/stat" -Raw) -replace '^.*\) ', '' -split ' ')[19]
        $pidNs = (Get-Item /proc/self/ns/pid).LinkTarget -replace '\D', ''
        $live = Join-Path "$($script:state.Root)/tmp" "blob-$PID.$start.$pidNs-$([guid]::NewGuid().ToString('N'))"
        Set-Content $live 'in use'
        $removed = @(Repair-ContainerState -Verbose 4>&1 | ForEach-Object { "$_" })
        @($removed | Where-Object { $_ -like 'Removed temporary *' }).Count | Should -Be $left.Count
        Get-Temporary | Should -Be @(Split-Path $live -Leaf)
        Remove-Item $live
    }
}

Describe 'A state root deleted under live host objects' {
    BeforeAll {
        $script:goneRoot = Join-Path $script:state.Work 'deleted-root'
        $script:goneRun = Join-Path $script:state.Work 'deleted-run'
        $script:rootfsTar = (New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'deleted.tar') -Applet @('sh', 'echo', 'true', 'sleep')).FullName
        $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:goneRoot))).ToLowerInvariant()
        $script:goneBridge = 'psc0' + $hash.Substring(0, 6)
        $script:goneTable = 'pscontainer_' + $hash.Substring(0, 8)
        function script:Invoke-InGoneRoot([string]$Script) {
            Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; `$ErrorActionPreference = 'Stop'; $Script" -Environment @{
                PSCONTAINER_ROOT = $script:goneRoot; PSCONTAINER_RUNROOT = $script:goneRun } | Wait-TestPwsh -TimeoutSeconds 120
        }
    }
    AfterAll {
        & ip link delete $script:goneBridge 2>$null
        if (Get-Command nft -ErrorAction SilentlyContinue) { & nft delete table inet $script:goneTable 2>$null }
        & rm -rf --one-file-system -- $script:goneRoot $script:goneRun
    }

    It 'adopts its own default bridge after the root was deleted, and refuses a foreign device clearly' {
        $first = Invoke-InGoneRoot "Import-ContainerImage '$script:rootfsTar' -Format RootFs -Name gone/box:1 -Command sh | Out-Null; Start-Container -Image gone/box:1 -AutoRemove -Command true"
        $first.ExitCode | Should -Be 0 -Because $first.Stderr
        (& ip -o link show $script:goneBridge) | Should -Match ([regex]::Escape("alias pscontainer:$script:goneRoot"))

        & rm -rf --one-file-system -- $script:goneRoot   # a user resetting the engine
        $again = Invoke-InGoneRoot "Import-ContainerImage '$script:rootfsTar' -Format RootFs -Name gone/box:1 -Command sh | Out-Null; Start-Container -Image gone/box:1 -AutoRemove -Command echo, ok"
        $again.Stderr | Should -BeNullOrEmpty
        $again.Stdout.Trim() | Should -Be 'ok'
        (& ip -o link show $script:goneBridge) | Should -Match ([regex]::Escape("alias pscontainer:$script:goneRoot"))

        # A device of that name that is not ours is left alone, with an error that says what to do.
        & ip link delete $script:goneBridge
        & rm -rf --one-file-system -- $script:goneRoot
        & ip link add $script:goneBridge type bridge   # someone else's bridge: no alias of ours
        try {
            $foreign = Invoke-InGoneRoot "Import-ContainerImage '$script:rootfsTar' -Format RootFs -Name gone/box:1 -Command sh | Out-Null; Start-Container -Image gone/box:1 -AutoRemove -Command true"
            $foreign.ExitCode | Should -Not -Be 0
            $foreign.Stderr | Should -Match "ip link delete $script:goneBridge"
            (& ip -o link show $script:goneBridge) | Should -Not -BeNullOrEmpty
            (& ip -o link show $script:goneBridge) | Should -Not -Match 'alias'
        }
        finally { & ip link delete $script:goneBridge 2>$null }
    }

    It 'Repair-ContainerState of another state root sharing the run root leaves this root''s running container alone' {
        $started = Invoke-InGoneRoot "Import-ContainerImage '$script:rootfsTar' -Format RootFs -Name gone/box:1 -Command sh | Out-Null; (New-Container gone/box:1 -Publish 80 -Command sleep, 300 | Start-Container -PassThru).Id"
        $started.ExitCode | Should -Be 0 -Because $started.Stderr
        $id = $started.Stdout.Trim()
        try {
            $otherRoot = Join-Path $script:state.Work 'other-root'
            $repair = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Repair-ContainerState -Verbose 4>&1 | ForEach-Object { `"`$_`" }" -Environment @{
                PSCONTAINER_ROOT = $otherRoot; PSCONTAINER_RUNROOT = $script:goneRun } | Wait-TestPwsh -TimeoutSeconds 120
            $repair.ExitCode | Should -Be 0 -Because $repair.Stderr
            $repair.Stdout | Should -Not -Match $id
            Test-Path (Join-Path $script:goneRun "netns/$id") | Should -BeTrue
            $state = Invoke-InGoneRoot "(Get-Container $($id.Substring(0, 12))).State"
            $state.Stdout.Trim() | Should -Be 'Running'
        }
        finally {
            Invoke-InGoneRoot 'Get-Container -All | Remove-Container -Force' | Out-Null
            & rm -rf --one-file-system -- (Join-Path $script:state.Work 'other-root')
        }
    }

    It 'Repair-ContainerState stops a container whose record went with the root (<Deleted>), and removes its cgroups, namespace, veth and rules' -ForEach @(
        @{ Deleted = 'state root'; AlsoRunRoot = $false }
        @{ Deleted = 'state root and run root'; AlsoRunRoot = $true }
    ) {
        $started = Invoke-InGoneRoot "Import-ContainerImage '$script:rootfsTar' -Format RootFs -Name gone/box:1 -Command sh | Out-Null; (New-Container gone/box:1 -Publish 80 -Command sleep, 300 | Start-Container -PassThru).Id"
        $started.ExitCode | Should -Be 0 -Because $started.Stderr
        $id = $started.Stdout.Trim()
        $cgroups = @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName "$($script:state.CgroupParent)/$id" } | Where-Object { Test-Path $_ })
        $cgroups.Count | Should -BeGreaterThan 0
        $pids = @(Get-Content (Join-Path $cgroups[0] 'cgroup.procs'))
        $pids.Count | Should -BeGreaterThan 0
        $ourVeths = { @(& ip -o link | Where-Object { $_ -match [regex]::Escape("pscontainer:$script:goneRoot") -and $_ -match '^\d+: pscv' }) }
        (& $ourVeths).Count | Should -Be 1
        if (Get-Command nft -ErrorAction SilentlyContinue) { (& nft list table inet $script:goneTable) -join "`n" | Should -Match 'dnat' }

        & rm -rf --one-file-system -- $script:goneRoot   # a user resetting the engine while the container runs
        if ($AlsoRunRoot) { & rm -rf --one-file-system -- $script:goneRun }
        $repair = Invoke-InGoneRoot 'Repair-ContainerState -Verbose 4>&1 | ForEach-Object { "$_" }'
        $repair.ExitCode | Should -Be 0 -Because $repair.Stderr
        # Found by its runtime state while the run root is there, else by its cgroup (its processes run on this root's layers).
        $repair.Stdout | Should -Match ($AlsoRunRoot ? [regex]::Escape("cgroup /$($script:state.CgroupParent)/$id") : "runtime state $id")
        $cgroups | Where-Object { Test-Path $_ } | Should -BeNullOrEmpty
        # Killed: gone, or a zombie until whoever inherited it reaps it.
        $running = { @($pids | Where-Object { (Get-Content "/proc/$_/stat" -Raw -ErrorAction SilentlyContinue) -match '^\d+ \(.*\) [^Z] ' }) }
        & $running | Should -BeNullOrEmpty -Because 'the container''s processes were stopped'
        Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.ProcessName -eq "psc-$($id.Substring(0, 12))" } | Should -BeNullOrEmpty
        (& $ourVeths).Count | Should -Be 0
        Test-Path (Join-Path $script:goneRun "netns/$id") | Should -BeFalse
        Test-Path (Join-Path $script:goneRun "runtime/psc/$id") | Should -BeFalse
        if (Get-Command nft -ErrorAction SilentlyContinue) { (& nft list table inet $script:goneTable 2>$null) -join "`n" | Should -Not -Match 'dnat' }
        & ip link delete $script:goneBridge 2>$null
        & rm -rf --one-file-system -- $script:goneRoot $script:goneRun
    }
}

Describe 'An import that would fill the file system' {
    BeforeAll {
        # A small tmpfs as the state root, and a layer bigger than what it can take above the 64 MiB kept free.
        $script:small = Join-Path $script:state.Work 'small-fs'
        New-Item -ItemType Directory -Force $script:small | Out-Null
        & mount -t tmpfs -o size=96m tmpfs $script:small
        $dir = Join-Path $script:state.Work 'big-rootfs'
        New-Item -ItemType Directory -Force $dir | Out-Null
        & head -c 60M /dev/urandom > (Join-Path $dir 'big')
        $script:bigTar = Join-Path $script:state.Work 'big.tar'
        & tar -C $dir -cf $script:bigTar .
        Remove-Item -Recurse $dir
    }
    AfterAll {
        & umount -l $script:small 2>$null
    }

    It 'stops with InsufficientSpace before the file system is full, and removes what it wrote' {
        $run = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Import-ContainerImage '$script:bigTar' -Format RootFs -Name big/one:1 -ErrorAction Stop" -Environment @{
            PSCONTAINER_ROOT = "$script:small/root"; PSCONTAINER_RUNROOT = "$script:small/run" } | Wait-TestPwsh -TimeoutSeconds 120
        $run.ExitCode | Should -Not -Be 0
        $run.Stderr | Should -Match 'InsufficientSpace|left: stopped before it fills up'
        $free = [IO.DriveInfo]::new($script:small).AvailableFreeSpace
        $free | Should -BeGreaterThan 32MB -Because 'it stopped well before the file system filled up'
        @(Get-ChildItem "$script:small/root/tmp" -Force -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        @(Get-ChildItem "$script:small/root/layers" -Force -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
    }
}

# The providers record each host object in the ledger (host_objects) before they make it, and forget it only once it
# is gone (crash points KIND-after-record and KIND-after-remove, see HostObjectLedger). A kill between the two steps
# of either leaves an entry whose object may or may not exist: the next command under the container's lock, or
# Repair-ContainerState, removes it through the entry's provider and forgets it.
Describe 'kill -9 between a ledger entry and its host object' {
    BeforeAll {
        function script:Get-LedgerEntry {
            # A stopped container's network namespace and veths are the kernel's to take down: the hook forgets their
            # entries once they are gone (a namespace a killed start left pinned stays, and is listed below).
            Wait-TestNetworkTeardown -Root $script:state.Root -RunRoot $script:state.RunRoot | Out-Null
            $c = [Microsoft.Data.Sqlite.SqliteConnection]::new("Data Source=$($script:state.Root)/state.db;Mode=ReadOnly;Pooling=False")
            try {
                $c.Open()
                $cmd = $c.CreateCommand()
                $cmd.CommandText = 'SELECT kind, name FROM host_objects ORDER BY kind, name'
                $r = $cmd.ExecuteReader()
                @(while ($r.Read()) { "$($r.GetString(0)) $($r.GetString(1))" })
            }
            finally { $c.Dispose() }
        }
        # A loaded machine can take over a minute to import the module and start: the kill must be the crash point's.
        # Entries that may stay while a container exists: its upper and work directories (removed with it).
        function script:Get-RunLedgerEntry { @(Get-LedgerEntry | Where-Object { $_ -notlike 'directory *' }) }
        function script:Invoke-CrashingWith([string]$Command, [string]$Step, [hashtable]$Environment = @{}) {
            $Environment['PSCONTAINER_CRASH_AT'] = $Step
            $run = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; $Command" -Environment $Environment | Wait-TestPwsh -TimeoutSeconds 240
            $run.TimedOut | Should -BeFalse -Because 'a session killed by the timeout proves nothing about the crash point'
            $run.ExitCode
        }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurHostObject | Should -BeNullOrEmpty -Because 'removing the container leaves nothing either'
        Get-LedgerEntry | Should -BeNullOrEmpty -Because 'every entry is forgotten once its object is gone'
        Get-ContainerDirectory | Should -BeNullOrEmpty
    }

    It 'Start-Container killed at <Step> (<What>): <Next> finishes the undo, and the next start runs' -ForEach @(
        @{ Step = 'directory-after-record'; What = 'upper directory recorded, not made'; Next = 'Get-Container' }
        @{ Step = 'mount-after-record'; What = 'overlay recorded, not mounted'; Next = 'Get-Container' }
        @{ Step = 'cgroup-after-record'; What = 'cgroup recorded, not made'; Next = 'Repair-ContainerState' }
        @{ Step = 'mount-after-remove'; What = 'overlay taken off after the runtime started, still recorded'; Next = 'Repair-ContainerState' }
    ) {
        $name = "ledger-$Step"
        New-Container pester/crash:1 -Name $name -Network none -Command sleep, 300 | Out-Null
        Invoke-CrashingWith "Start-Container $name" $Step | Should -Be 137 -Because 'the session was killed at that step'
        Get-LedgerEntry | Should -Not -BeNullOrEmpty -Because 'the kill left entries behind'

        if ($Next -eq 'Get-Container') { Get-Container $name | Out-Null } else { Repair-ContainerState | Out-Null }
        $after = Get-Container $name -All
        $after.State | Should -Be 'Created'
        $after.Error | Should -Match 'interrupted'
        Get-OurHostObject | Should -BeNullOrEmpty
        Get-RunLedgerEntry | Should -BeNullOrEmpty -Because 'the run''s entries are forgotten with their objects'

        (Start-Container $name -PassThru).State | Should -Be 'Running'
        Get-TestMount -Path $script:state.Root | Should -BeNullOrEmpty -Because 'the host''s copy of the root is dropped once the container holds it'
        @(Get-RunLedgerEntry | Where-Object { $_ -like 'cgroup *' }).Count | Should -Be 1
    }

    It 'Remove-Container killed at directory-after-remove: Repair leaves the existing container''s files, the next removal finishes' {
        New-Container pester/crash:1 -Name ledger-remove -Network none -Command true | Start-Container -Wait | Out-Null
        @(Get-LedgerEntry | Where-Object { $_ -like 'directory *' }).Count | Should -BeGreaterThan 1
        Invoke-CrashingWith 'Remove-Container ledger-remove' 'directory-after-remove' | Should -Be 137
        Repair-ContainerState | Out-Null
        (Get-Container ledger-remove -All).Name | Should -Be 'ledger-remove' -Because 'its record still stands: Repair removes no files of a container'
        @(Get-LedgerEntry | Where-Object { $_ -like 'directory *' }).Count | Should -BeGreaterThan 0
        Remove-Container ledger-remove
        Get-Container -All | Should -BeNullOrEmpty
    }

    Context 'a tmpfs volume''s mount (volume-mount)' {
        BeforeAll { New-ContainerVolume crashtmp -Option @{ type = 'tmpfs'; device = 'tmpfs'; o = 'size=2m' } | Out-Null }
        AfterAll { Remove-ContainerVolume crashtmp -Confirm:$false -ErrorAction SilentlyContinue }

        It 'Start-Container killed at volume-mount-after-record: Repair leaves no mount, and the next start mounts it' {
            $data = "$($script:state.Root)/volumes/crashtmp/_data"
            New-Container pester/crash:1 -Name ledger-vol -Network none -Volume crashtmp:/v -Command sleep, 300 | Out-Null
            Invoke-CrashingWith 'Start-Container ledger-vol' 'volume-mount-after-record' | Should -Be 137
            Get-LedgerEntry | Should -Contain 'volume-mount crashtmp'
            Repair-ContainerState | Out-Null
            Get-TestMount -Path $data | Should -BeNullOrEmpty
            Get-RunLedgerEntry | Should -BeNullOrEmpty
            Start-Container ledger-vol
            Get-TestMount -Path $data | Should -Not -BeNullOrEmpty
        }

        It 'Stop-Container killed at volume-mount-after-remove: the next Get-Container forgets the mount it took off' {
            $data = "$($script:state.Root)/volumes/crashtmp/_data"
            New-Container pester/crash:1 -Name ledger-vol2 -Network none -Volume crashtmp:/v -Command sleep, 300 | Start-Container
            Get-TestMount -Path $data | Should -Not -BeNullOrEmpty
            Invoke-CrashingWith 'Stop-Container ledger-vol2 -Timeout 0' 'volume-mount-after-remove' | Should -Be 137
            Get-TestMount -Path $data | Should -BeNullOrEmpty -Because 'the killed stop had unmounted it'
            Get-LedgerEntry | Should -Contain 'volume-mount crashtmp'
            (Get-Container ledger-vol2 -All).State | Should -Be 'Exited'
            Get-RunLedgerEntry | Should -BeNullOrEmpty
            Get-OurHostObject | Should -BeNullOrEmpty
        }

        It 'a mount two containers hold stays until the last of them stops, whichever made it' {
            $data = "$($script:state.Root)/volumes/crashtmp/_data"
            New-Container pester/crash:1 -Name ledger-first -Network none -Volume crashtmp:/v -Command sleep, 300 | Start-Container
            New-Container pester/crash:1 -Name ledger-second -Network none -Volume crashtmp:/v -Command sleep, 300 | Start-Container
            @(Get-LedgerEntry | Where-Object { $_ -eq 'volume-mount crashtmp' }).Count | Should -Be 2
            Stop-Container ledger-first -Timeout 0 | Out-Null
            Get-TestMount -Path $data | Should -Not -BeNullOrEmpty -Because 'the second container still runs with it'
            Stop-Container ledger-second -Timeout 0 | Out-Null
            Get-TestMount -Path $data | Should -BeNullOrEmpty
            Get-RunLedgerEntry | Should -BeNullOrEmpty
        }
    }

    It 'shifted layer copies (no idmapped mounts): killed at <Step>, <Next> finishes' -ForEach @(
        @{ Step = 'shifted-layers-after-record'; Command = 'Start-Container ledger-shift'; Next = 'the next start and removal' }
        @{ Step = 'shifted-layers-after-remove'; Command = 'Remove-Container ledger-shift'; Next = 'Repair-ContainerState' }
    ) {
        $copies = "$($script:state.Root)/userns-layers"
        New-Container pester/crash:1 -Name ledger-shift -Network none -UserNamespace Auto -Command true | Out-Null
        if ($Step -like '*-after-remove') {
            $env:PSCONTAINER_NO_IDMAP = '1'
            try { Start-Container ledger-shift -Wait -WarningAction SilentlyContinue | Out-Null } finally { Remove-Item Env:PSCONTAINER_NO_IDMAP }
            @(Get-ChildItem $copies -Directory).Count | Should -Be 1
        }
        Invoke-CrashingWith $Command $Step @{ PSCONTAINER_NO_IDMAP = '1' } | Should -Be 137
        @(Get-LedgerEntry | Where-Object { $_ -like 'shifted-layers *' }).Count | Should -Be 1
        if ($Step -like '*-after-record') {
            $env:PSCONTAINER_NO_IDMAP = '1'
            try { (Start-Container ledger-shift -Wait -WarningAction SilentlyContinue -PassThru).ExitCode | Should -Be 0 } finally { Remove-Item Env:PSCONTAINER_NO_IDMAP }
            @(Get-ChildItem $copies -Directory).Count | Should -Be 1
            Remove-Container ledger-shift
        }
        else {
            Get-Container -All | Should -BeNullOrEmpty -Because 'the record went before the copies'
            Repair-ContainerState | Out-Null
        }
        @(Get-ChildItem $copies -Directory -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        Get-LedgerEntry | Should -BeNullOrEmpty
    }
}
