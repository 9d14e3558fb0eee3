#Requires -Version 7.4
# Restart policies (-RestartPolicy no|on-failure[:N]|always|unless-stopped) carried out by the container's monitor
# through its exit command (psc-service container-exited), the clean-up that exit command does when no session is
# waiting (AutoRemove, veth, netns, cgroup), and what a reboot leaves: Repair-ContainerState and the unit
# Install-ContainerService writes (psc-service boot), run for real against a simulated reboot.
# Every wait is bounded polling; the checks that the exit command did the work read files, the state database and
# `ip link` only, never a cmdlet that would reconcile the container itself.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-restart'
    Import-Module (Get-TestModulePath) -Force
    $script:moduleDir = Split-Path (Get-TestModulePath)
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'echo', 'sleep', 'true', 'cat')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/restart:1' -Command sh | Out-Null

    function script:Wait-Until([scriptblock]$Condition, [int]$TimeoutSeconds = 30, [string]$Because = 'the condition') {
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        while (-not (& $Condition)) {
            if ([DateTime]::UtcNow -gt $deadline) { throw "Timed out after $TimeoutSeconds s waiting for $Because" }
            Start-Sleep -Milliseconds 50
        }
    }
    # The container's row as the store has it, read without reconciling (no cmdlet, which would do the work itself).
    function script:Get-Row([string]$Id) {
        Invoke-TestSqlite -Database (Join-Path $script:state.Root 'state.db') -Query "SELECT c.state, c.exit_code, c.pid, c.monitor_pid, r.restart_count FROM containers c LEFT JOIN container_restarts r ON r.container_id = c.id WHERE c.id = '$Id'"
    }
    function script:Get-RunCount([string]$Id) { @(Get-ContainerLog $Id | Where-Object Line -EQ 'run').Count }
    function script:Get-OurCgroupDirectory {
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:state.CgroupParent } |
            Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object FullName)
    }
    function script:Get-OurProcess {
        # Monitors and psc-service runs of this root (a restart in its backoff wait is one).
        @(Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.ProcessName -like 'psc-*' -or $_.ProcessName -eq 'dotnet' } | Where-Object {
            (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($script:state.Root) })
    }
    function script:Get-OurVeth {
        @(& ip -o link show type veth 2>$null | Where-Object { $_ -match "alias pscontainer:$([regex]::Escape($script:state.Root))$" })
    }
    function script:Get-OurLeak {
        @(
            Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
            Get-OurCgroupDirectory | ForEach-Object { "cgroup $_" }
            Get-OurProcess | ForEach-Object { "process $($_.Id) $($_.ProcessName)" }
            if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
            if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object { "dir $($_.Name)" } }
            Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }
            Get-OurVeth | ForEach-Object { "veth $_" }
        )
    }
    # What a reboot takes away: every process of the container and its monitor (SIGKILL, the monitor first so no
    # exit is recorded and no exit command runs), and the runtime root, which is a tmpfs.
    function script:Invoke-SimulatedReboot([object[]]$Container) {
        foreach ($c in $Container) {
            $row = Get-Row $c.Id
            if ($row.monitor_pid -gt 0) { & kill -KILL $row.monitor_pid 2>$null }
        }
        foreach ($c in $Container) {
            $row = Get-Row $c.Id
            if ($row.pid -gt 0) { & kill -KILL $row.pid 2>$null }
        }
        foreach ($c in $Container) {
            $row = Get-Row $c.Id
            if ($row.pid -gt 0) { Wait-Until { -not (Test-Path "/proc/$($row.pid)") } -Because "process $($row.pid) to die" }
        }
        # The runtime root's mounts (network namespace files are nsfs bind mounts) go with the reboot, then its files.
        for ($i = 0; $i -lt 5 -and (Get-TestMount -Path $script:state.RunRoot); $i++) {
            foreach ($m in Get-TestMount -Path $script:state.RunRoot) { & umount -l $m 2>$null }
        }
        Get-ChildItem -LiteralPath $script:state.RunRoot -Force | ForEach-Object { & rm -rf --one-file-system -- $_.FullName }
    }
}

AfterAll {
    Remove-Item Env:PSCONTAINER_CRASH_AT -ErrorAction SilentlyContinue
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'restart policies' {
    AfterEach {
        Remove-Item Env:PSCONTAINER_CRASH_AT -ErrorAction SilentlyContinue
        Get-Container -All | Remove-Container -Force
        # A psc-service that lost the race to a removal exits on its own; give it a moment, bounded.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-OurProcess) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'on-failure:2 restarts a failing container exactly twice, then leaves it exited with RestartCount 2' {
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy 'on-failure:2' -Detach -Command sh, -c, 'echo run; exit 3'
        $c.RestartPolicy | Should -Be 'on-failure:2'
        Wait-Until { ($r = Get-Row $c.Id).state -eq 'Exited' -and $r.restart_count -eq 2 } -Because 'two restarts'
        # No third one: the policy is spent (100 + 200 ms of backoff would long have passed).
        Start-Sleep -Seconds 2
        $got = Get-Container $c.Id
        $got.State | Should -Be 'Exited'
        $got.RestartCount | Should -Be 2
        $got.ExitCode | Should -Be 3
        Get-RunCount $c.Id | Should -Be 3
    }

    It 'on-failure does not restart a container that exits 0' {
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy 'on-failure' -Detach -Command sh, -c, 'echo run; sleep 0.2'
        Wait-Until { (Get-Row $c.Id).state -eq 'Exited' } -Because 'the exit'
        Start-Sleep -Seconds 1
        (Get-Container $c.Id).RestartCount | Should -Be 0
        Get-RunCount $c.Id | Should -Be 1
    }

    It 'always restarts a container that exits 0, and a kill from outside the engine' {
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sh, -c, 'echo run; exec sleep 300'
        $first = (Get-Row $c.Id).pid
        & kill -KILL $first
        Wait-Until { ($r = Get-Row $c.Id).state -eq 'Running' -and $r.pid -ne $first -and $r.restart_count -eq 1 } -Because 'the restart after SIGKILL'
        (Get-Container $c.Id).RestartCount | Should -Be 1
        $d = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sh, -c, 'echo run; sleep 0.3; exit 0'
        Wait-Until { (Get-Row $d.Id).restart_count -ge 2 } -Because 'restarts after exit 0'
        Get-RunCount $d.Id | Should -BeGreaterOrEqual 2
    }

    It 'Stop-Container stops an always container for good, and Start-Container begins afresh' {
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -StopTimeout 1 -Command sh, -c, 'echo run; exec sleep 300'
        Stop-Container $c.Id
        Start-Sleep -Seconds 2
        (Get-Row $c.Id).state | Should -Be 'Exited'
        (Get-Container $c.Id).State | Should -Be 'Exited'
        Get-RunCount $c.Id | Should -Be 1
        # A kill (Stop-Container -Signal, docker kill) is a user's stop too.
        Start-Container $c.Id
        (Get-Container $c.Id).State | Should -Be 'Running'
        Stop-Container $c.Id -Signal KILL
        Start-Sleep -Seconds 2
        (Get-Container $c.Id).State | Should -Be 'Exited'
        Get-RunCount $c.Id | Should -Be 2
    }

    It 'Stop-Container and Remove-Container -Force win over a restart waiting in its backoff' {
        # Quick failures double the backoff (100, 200, 400, 800 ms…): soon it waits long enough to be caught.
        $a = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sh, -c, 'echo run; exit 1'
        $b = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sh, -c, 'echo run; exit 1'
        Wait-Until { (Get-Row $a.Id).state -eq 'Restarting' -and (Get-Row $a.Id).restart_count -ge 5 } -TimeoutSeconds 60 -Because 'a in its backoff'
        (Get-Container $a.Id).State | Should -Be 'Restarting'
        (Get-Container $a.Id).Status | Should -Match '^Restarting \(1\)'
        Stop-Container $a.Id
        Wait-Until { (Get-Row $b.Id).state -eq 'Restarting' -and (Get-Row $b.Id).restart_count -ge 5 } -TimeoutSeconds 60 -Because 'b in its backoff'
        { Remove-Container $b.Id -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerRestarting,*'
        Remove-Container $b.Id -Force
        $runs = Get-RunCount $a.Id
        Start-Sleep -Seconds 3
        (Get-Container $a.Id).State | Should -Be 'Exited'
        Get-RunCount $a.Id | Should -Be $runs
        Get-Container -All | Where-Object Id -EQ $b.Id | Should -BeNullOrEmpty
        Test-Path (Join-Path $script:state.Root "containers/$($b.Id)") | Should -BeFalse
    }

    It 'a psc-service killed in the backoff leaves a restart that Repair-ContainerState finishes' {
        $env:PSCONTAINER_CRASH_AT = 'restart-after-plan'
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy 'on-failure:5' -Detach -Command sh, -c, 'echo run; sleep 0.2; exit 1'
        Remove-Item Env:PSCONTAINER_CRASH_AT
        Wait-Until { (Get-Row $c.Id).state -eq 'Restarting' } -Because 'the planned restart'
        Wait-Until { -not (Get-OurProcess | Where-Object ProcessName -EQ 'dotnet') } -Because 'psc-service to die at its crash point'
        Start-Sleep -Milliseconds 500
        (Get-Row $c.Id).state | Should -Be 'Restarting' -Because 'nobody finished it'
        Repair-ContainerState
        (Get-Container $c.Id).RestartCount | Should -BeGreaterOrEqual 1
        Wait-Until { (Get-RunCount $c.Id) -ge 2 } -Because 'the restart Repair finished'
    }
}

Describe 'the exit command without a session' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-OurProcess) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'removes an -AutoRemove container started detached, with its cgroup and network, when nobody waits' {
        $c = Start-Container -Image pester/restart:1 -AutoRemove -Detach -Command sh, -c, 'sleep 1'
        $netns = Join-Path $script:state.RunRoot "netns/$($c.Id)"
        Test-Path $netns | Should -BeTrue
        @(Get-OurCgroupDirectory | Where-Object { $_ -like "*$($c.Id)*" }).Count | Should -BeGreaterThan 0
        Wait-Until { -not (Test-Path (Join-Path $script:state.Root "containers/$($c.Id)")) } -Because 'the exit command to remove it'
        Test-Path $netns | Should -BeFalse
        @(Get-OurCgroupDirectory | Where-Object { $_ -like "*$($c.Id)*" }) | Should -BeNullOrEmpty
        Get-Row $c.Id | Should -BeNullOrEmpty
        Get-Container -All | Where-Object Id -EQ $c.Id | Should -BeNullOrEmpty
    }

    It 'takes down the veth and netns of a detached container on the default bridge that exits, with no further command' {
        $before = Get-OurVeth
        $c = Start-Container -Image pester/restart:1 -Detach -Command sh, -c, 'sleep 1'
        $netns = Join-Path $script:state.RunRoot "netns/$($c.Id)"
        $veths = Get-OurVeth
        $veths.Count | Should -BeGreaterThan $before.Count
        Test-Path $netns | Should -BeTrue
        Wait-Until { -not (Test-Path $netns) } -Because 'the exit command to remove the netns'
        Wait-Until { (Get-OurVeth).Count -eq $before.Count } -Because 'the veth to go'
        (Get-Row $c.Id).state | Should -Be 'Exited' -Because 'the exit command recorded the exit'
    }
}

Describe 'after a reboot' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while ((Get-OurProcess) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'psc-service boot (the unit Install-ContainerService writes) starts always containers, and unless-stopped ones the user had not stopped' {
        $units = Join-Path $script:state.Work 'units'
        $unit = Install-ContainerService -UnitDirectory $units -WarningVariable warned -WarningAction SilentlyContinue
        $warned | Should -Not -BeNullOrEmpty -Because 'a private directory is never enabled'
        $always = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sleep, 300
        $alwaysStopped = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -StopTimeout 0 -Command sleep, 300
        $unless = Start-Container -Image pester/restart:1 -Network none -RestartPolicy unless-stopped -Detach -Command sleep, 300
        $unlessStopped = Start-Container -Image pester/restart:1 -Network none -RestartPolicy unless-stopped -Detach -StopTimeout 0 -Command sleep, 300
        $none = Start-Container -Image pester/restart:1 -Network none -Detach -Command sleep, 300
        Stop-Container $alwaysStopped.Id, $unlessStopped.Id
        Invoke-SimulatedReboot $always, $unless, $none

        # The unit's command, run as systemd would run it at boot.
        $exec = (Get-Content $unit.FullName | Where-Object { $_ -like 'ExecStart=*' }) -replace '^ExecStart=', ''
        $words = $exec -split ' '
        & $words[0] $words[1..($words.Count - 1)] | Out-Null
        $LASTEXITCODE | Should -Be 0

        (Get-Container $always.Id).State | Should -Be 'Running'
        (Get-Container $alwaysStopped.Id).State | Should -Be 'Running' -Because 'docker starts always containers at boot even if stopped'
        (Get-Container $unless.Id).State | Should -Be 'Running'
        (Get-Container $unlessStopped.Id).State | Should -Be 'Exited'
        (Get-Container $none.Id).State | Should -Be 'Dead'
        (Get-Container $always.Id).Pid | Should -Not -Be $always.Pid
        Uninstall-ContainerService -UnitDirectory $units
        Test-Path $unit.FullName | Should -BeFalse
    }

    It 'Repair-ContainerState starts an always container whose monitor and process are gone' {
        $c = Start-Container -Image pester/restart:1 -Network none -RestartPolicy always -Detach -Command sleep, 300
        $o = Start-Container -Image pester/restart:1 -Network none -RestartPolicy 'on-failure' -Detach -Command sleep, 300
        Invoke-SimulatedReboot $c, $o
        Repair-ContainerState
        (Get-Container $c.Id).State | Should -Be 'Running'
        (Get-Container $o.Id).State | Should -Be 'Dead' -Because 'on-failure is not started after a reboot'
    }
}

Describe 'Install-ContainerService' {
    It 'writes nothing with -WhatIf' {
        $units = Join-Path $script:state.Work 'units-whatif'
        Install-ContainerService -UnitDirectory $units -WhatIf
        Test-Path (Join-Path $units '*.service') | Should -BeFalse
    }

    It 'writes a oneshot unit running psc-service boot for the state root' {
        $units = Join-Path $script:state.Work 'units-text'
        $unit = Install-ContainerService -UnitDirectory $units -WarningAction SilentlyContinue
        $text = Get-Content -Raw $unit.FullName
        $text | Should -Match '(?m)^Type=oneshot$'
        $text | Should -Match '(?m)^WantedBy=multi-user.target$'
        $text | Should -Match ([regex]::Escape("psc-service.dll boot --root $($script:state.Root) --runroot $($script:state.RunRoot)"))
        $text | Should -Match "--env PSCONTAINER_CGROUP_PARENT=$($script:state.CgroupParent)"
        Uninstall-ContainerService -UnitDirectory $units
        { Uninstall-ContainerService -UnitDirectory $units -ErrorAction Stop } | Should -Throw -ErrorId 'ServiceUnitNotFound,*'
    }
}

Describe 'bad restart policies' {
    It 'refuses <Case> (<ErrorId>)' -TestCases @(
        @{ Case = 'an unknown policy'; Policy = 'bogus'; Extra = @{}; ErrorId = 'InvalidRestartPolicy' }
        @{ Case = 'a negative retry count'; Policy = 'on-failure:-1'; Extra = @{}; ErrorId = 'InvalidRestartPolicy' }
        @{ Case = 'a count that is no number'; Policy = 'on-failure:x'; Extra = @{}; ErrorId = 'InvalidRestartPolicy' }
        @{ Case = 'a count with always'; Policy = 'always:3'; Extra = @{}; ErrorId = 'InvalidRestartPolicy' }
        @{ Case = 'always with -AutoRemove'; Policy = 'always'; Extra = @{ AutoRemove = $true }; ErrorId = 'RestartPolicyConflict' }
    ) {
        { New-Container pester/restart:1 -RestartPolicy $Policy @Extra -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,*"
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'accepts no with -AutoRemove and shows the policy on the container' {
        (New-Container pester/restart:1 -RestartPolicy no -AutoRemove).RestartPolicy | Should -Be 'no'
        (New-Container pester/restart:1 -RestartPolicy 'ON-FAILURE:4').RestartPolicy | Should -Be 'on-failure:4'
        Get-Container -All | Remove-Container -Force
    }
}
