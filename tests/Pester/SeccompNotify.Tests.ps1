#Requires -Version 7.4
# Seccomp agents (OCI linux.seccomp.listenerPath / listenerMetadata / SCMP_ACT_NOTIFY): a real agent
# (SeccompAgent.c, built here with gcc) listens on a unix socket, records the container process state and answers
# mkdir/mkdirat notifications with an errno of the test's choice (0: success without creating anything). Driven
# through psc-runtime on a bundle, under runc as a differential, and through Start-Container -SecurityOption.
# Linux, root, busybox-static, gcc.

BeforeDiscovery {
    $script:skipAll = -not ($IsLinux -and ((& id -u) -eq '0') -and (Test-Path /bin/busybox) -and (Get-Command gcc -ErrorAction SilentlyContinue))
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-notify'
    $script:work = $script:state.Work
    $script:runtimeRoot = Join-Path $work 'rt'
    $script:runcRoot = Join-Path $work 'runc'
    $script:bundle = Join-Path $work 'bundle'
    $script:rootfs = Join-Path $bundle 'rootfs'
    $script:cgroupParent = $script:state.CgroupParent
    $script:haveRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)

    $script:agentExe = Join-Path $work 'seccomp-agent'
    $log = & gcc -O2 -Wall -Wextra -Werror -o $agentExe "$PSScriptRoot/SeccompAgent.c" 2>&1
    if ($LASTEXITCODE -ne 0) { throw "gcc SeccompAgent.c failed: $log" }
    $script:runtime = Get-TestRuntimeBinary -WorkDirectory $work

    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/tmp", "$rootfs/proc", "$rootfs/dev", "$rootfs/etc" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($a in 'sh', 'mkdir', 'echo', 'test', 'sleep', 'cat', 'grep', 'true') { & ln -sf busybox "$rootfs/bin/$a" }

    # A bundle whose linux.seccomp sends mkdir/mkdirat to the agent at $Socket.
    function script:New-NotifySpec([string]$Id, [string[]]$Command, [string]$Socket, [string]$Metadata, [bool]$NoNewPrivileges = $true) {
        $seccomp = [ordered]@{
            defaultAction = 'SCMP_ACT_ALLOW'
            listenerPath  = $Socket
            syscalls      = @([ordered]@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_NOTIFY' })
        }
        if ($Metadata) { $seccomp.listenerMetadata = $Metadata }
        [ordered]@{
            ociVersion  = '1.0.2-dev'
            process     = [ordered]@{
                user = @{ uid = 0; gid = 0 }; args = $Command; env = @('PATH=/bin'); cwd = '/'
                noNewPrivileges = $NoNewPrivileges
                capabilities = [ordered]@{ bounding = @('CAP_KILL'); effective = @('CAP_KILL'); permitted = @('CAP_KILL') }
            }
            root        = @{ path = 'rootfs'; readonly = $false }
            mounts      = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' })
            annotations = @{ 'test.psc/agent' = 'yes' }
            linux       = [ordered]@{
                cgroupsPath = "/$cgroupParent/$Id"
                namespaces  = @('pid', 'network', 'ipc', 'uts', 'mount') | ForEach-Object { @{ type = $_ } }
                seccomp     = $seccomp
            }
        }
    }
    function script:Save-Spec($Spec) { $Spec | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $bundle 'config.json') }

    # stdio on files: a detached container keeps what it was given
    function script:Invoke-Runtime([string[]]$Arguments, [string]$Exe = $runtime, [string]$Root = $runtimeRoot) {
        $out = Join-Path $work "out-$([guid]::NewGuid().ToString('n'))"
        try {
            & /bin/sh -c 'o=$1; shift; exec "$@" </dev/null >"$o" 2>"$o.err"' sh $out $Exe --root $Root @Arguments
            [pscustomobject]@{
                ExitCode = $LASTEXITCODE
                Out = [string](Get-Content -Raw $out -ErrorAction SilentlyContinue)
                Err = [string](Get-Content -Raw "$out.err" -ErrorAction SilentlyContinue)
            }
        } finally { Remove-Item $out, "$out.err" -Force -ErrorAction SilentlyContinue }
    }

    $script:agents = [Collections.Generic.List[object]]::new()
    # Starts an agent answering mkdir with $Errno; returns {Process, Socket, Record}.
    function script:Start-Agent([int]$Errno = 0) {
        $tag = [guid]::NewGuid().ToString('N').Substring(0, 8)
        $a = [pscustomobject]@{ Socket = Join-Path $work "agent-$tag.sock"; Record = Join-Path $work "agent-$tag.log"; Process = $null }
        $a.Process = Start-Process -FilePath $agentExe -ArgumentList $a.Socket, $a.Record, $Errno -PassThru
        $agents.Add($a)
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not ((Test-Path $a.Record) -and (Get-Content $a.Record) -contains 'listening')) {
            if ([DateTime]::UtcNow -gt $deadline -or $a.Process.HasExited) { throw "the seccomp agent did not start" }
            Start-Sleep -Milliseconds 20
        }
        $a
    }
    function script:Stop-Agent($Agent) {
        if (-not $Agent.Process.HasExited) {
            & kill -TERM $Agent.Process.Id
            if (-not $Agent.Process.WaitForExit(10000)) { $Agent.Process.Kill(); $Agent.Process.WaitForExit() }
        }
        Remove-Item $Agent.Socket -Force -ErrorAction SilentlyContinue
    }
    # What the agent recorded: States (the container process states, parsed, with Fds = fds received) and Notified.
    function script:Read-Agent($Agent, [int]$States = 1) {
        $deadline = [DateTime]::UtcNow.AddSeconds(5)
        do {
            $lines = @(Get-Content $Agent.Record)
            $s = @($lines | Where-Object { $_ -like 'state *' })
            if ($s.Count -ge $States) { break }
            Start-Sleep -Milliseconds 20
        } while ([DateTime]::UtcNow -lt $deadline)
        [pscustomobject]@{
            States = @($s | ForEach-Object {
                    $null = $_ -match '^state (.*) fds=(\d+)$'
                    $o = $Matches[1] | ConvertFrom-Json
                    $o | Add-Member Received ([int]$Matches[2]) -PassThru
                })
            Notified = @($lines | Where-Object { $_ -like 'notify *' })
        }
    }

    # A container's leftovers: cgroup in any hierarchy, runtime state, a live process in its cgroup.
    function script:Get-Leftover([string]$Id, [string]$Root = $runtimeRoot) {
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName "$cgroupParent/$Id" } | Where-Object { Test-Path $_ }) +
        @(Join-Path $Root $Id | Where-Object { Test-Path $_ }) +
        @(Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$' | Where-Object {
                ((Get-Content "$($_.FullName)/cgroup" -Raw -ErrorAction SilentlyContinue) -match "/$cgroupParent/$Id\b") -and
                ((Get-Content "$($_.FullName)/stat" -Raw -ErrorAction SilentlyContinue) -replace '^.*\) ', '') -notmatch '^[ZX]' } |
            ForEach-Object { "process $($_.Name)" })
    }
}

AfterAll {
    foreach ($a in $script:agents) { Stop-Agent $a }
    foreach ($root in $script:runtimeRoot) {
        if (Test-Path $root) { foreach ($d in Get-ChildItem $root -Directory) { Invoke-Runtime @('delete', '--force', $d.Name) | Out-Null } }
    }
    if ($script:haveRunc -and (Test-Path $script:runcRoot)) {
        foreach ($d in Get-ChildItem $script:runcRoot -Directory) { & runc --root $script:runcRoot delete --force $d.Name *> $null }
    }
    if (Get-Module PSContainer) {
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    }
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-TestStateRoot $script:state
}

Describe 'psc-runtime with a seccomp agent (listenerPath)' -Skip:$skipAll {
    AfterEach {
        foreach ($a in $script:agents) { Stop-Agent $a }
        # no agent, no socket file, no container process or cgroup of ours
        @($script:agents | Where-Object { -not $_.Process.HasExited }) | Should -BeNullOrEmpty
        @($script:agents | Where-Object { Test-Path $_.Socket }) | Should -BeNullOrEmpty
        $script:agents.Clear()
        foreach ($d in @(Get-ChildItem $runtimeRoot -Directory -ErrorAction SilentlyContinue)) { Invoke-Runtime @('delete', '--force', $d.Name) | Out-Null }
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $cgroupParent } | Where-Object { Test-Path $_ } |
            ForEach-Object { Get-ChildItem $_ -Directory }) | Should -BeNullOrEmpty
    }

    It 'sends the container process state and the listener; the agent''s answer is mkdir''s (noNewPrivileges <Nnp>)' -ForEach @(
        @{ Nnp = $true }, @{ Nnp = $false }
    ) {
        $agent = Start-Agent 0
        $id = 'na' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $meta = "meta-$id"
        Save-Spec (New-NotifySpec $id @('sh', '-c', 'mkdir /tmp/fake; echo rc=$?; test -e /tmp/fake && echo exists || echo absent') $agent.Socket $meta $Nnp)
        $r = Invoke-Runtime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        # the agent said success without creating anything: only it can have answered
        $r.Out | Should -Match 'rc=0'
        $r.Out | Should -Match 'absent'
        Test-Path "$rootfs/tmp/fake" | Should -BeFalse
        $rec = Read-Agent $agent
        $rec.States.Count | Should -Be 1
        $s = $rec.States[0]
        $s.Received | Should -Be 1
        $s.ociVersion | Should -Not -BeNullOrEmpty
        $s.fds | Should -Be @('seccompFd')
        $s.metadata | Should -Be $meta
        $s.pid | Should -BeGreaterThan 1
        $s.state.id | Should -Be $id
        $s.state.status | Should -Be 'creating'
        $s.state.pid | Should -Be $s.pid
        $s.state.bundle | Should -Be $bundle
        $s.state.annotations.'test.psc/agent' | Should -Be 'yes'
        @($rec.Notified | Where-Object { $_ -match 'path=/tmp/fake$' }).Count | Should -Be 1
        Get-Leftover $id | Should -BeNullOrEmpty
    }

    It 'returns the errno the agent chooses, with TSYNC and WAIT_KILLABLE_RECV among the flags' {
        $agent = Start-Agent 13
        $id = 'ne' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-NotifySpec $id @('sh', '-c', 'mkdir /tmp/denied 2>&1; echo rc=$?') $agent.Socket $null
        # the kernel takes TSYNC with a listener only with TSYNC_ESRCH, which the runtime adds
        $spec.linux.seccomp.flags = @('SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV')
        Save-Spec $spec
        $r = Invoke-Runtime @('run', '--bundle', $bundle, $id)
        $r.Out | Should -Match 'Permission denied'
        $r.Out | Should -Match 'rc=1'
        $s = (Read-Agent $agent).States[0]
        $s.PSObject.Properties.Name | Should -Not -Contain 'metadata'
    }

    It 'gives an exec''d process with the container''s filter its own listener, with status running' {
        $agent = Start-Agent 0
        $id = 'nx' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        Save-Spec (New-NotifySpec $id @('sleep', '300') $agent.Socket 'm')
        (Invoke-Runtime @('run', '--detach', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        $init = ((Invoke-Runtime @('state', $id)).Out | ConvertFrom-Json).pid
        $r = Invoke-Runtime @('exec', $id, 'sh', '-c', 'mkdir /tmp/byexec; echo rc=$?; test -e /tmp/byexec && echo exists || echo absent')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Match 'rc=0'
        $r.Out | Should -Match 'absent'
        $rec = Read-Agent $agent 2
        $rec.States.Count | Should -Be 2
        $rec.States[0].state.status | Should -Be 'creating'
        $x = $rec.States[1]
        $x.state.status | Should -Be 'running'
        $x.state.pid | Should -Be $init
        $x.pid | Should -Not -Be $init
        $x.fds | Should -Be @('seccompFd')
        @($rec.Notified | Where-Object { $_ -match 'path=/tmp/byexec$' }).Count | Should -Be 1
        (Invoke-Runtime @('delete', '--force', $id)).ExitCode | Should -Be 0
        Get-Leftover $id | Should -BeNullOrEmpty
    }

    It 'fails create with a clear error and leaves nothing when the agent is <Case>' -ForEach @(
        @{ Case = 'absent'; Kill = $false; Why = 'No such file or directory' }
        @{ Case = 'refusing'; Kill = $true; Why = 'Connection refused' }
    ) {
        $id = 'nf' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $socket = Join-Path $work "gone-$id.sock"
        if ($Kill) {
            # a socket file nobody listens on: the agent was killed without removing it
            $a = Start-Agent 0
            $a.Process.Kill(); $a.Process.WaitForExit()
            $socket = $a.Socket
            Test-Path $socket | Should -BeTrue
        }
        foreach ($nnp in $true, $false) {
            Save-Spec (New-NotifySpec "$id$nnp" @('true') $socket $null $nnp)
            $r = Invoke-Runtime @('run', '--bundle', $bundle, "$id$nnp")
            $r.ExitCode | Should -Be 1
            $r.Err | Should -Match ('connect to the seccomp agent at linux.seccomp.listenerPath ' + [regex]::Escape($socket) + ": $Why")
            Get-Leftover "$id$nnp" | Should -BeNullOrEmpty
        }
        Remove-Item $socket -Force -ErrorAction SilentlyContinue
    }

    It 'refuses what no agent could serve: <Case>' -ForEach @(
        @{ Case = 'SCMP_ACT_NOTIFY as the default action'; Seccomp = @{ defaultAction = 'SCMP_ACT_NOTIFY'; listenerPath = '/run/a.sock' }; Why = 'cannot be the default action' }
        @{ Case = 'SCMP_ACT_NOTIFY for sendmsg'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; listenerPath = '/run/a.sock'; syscalls = @(@{ names = @('sendmsg'); action = 'SCMP_ACT_NOTIFY' }) }; Why = 'cannot be used for sendmsg' }
        @{ Case = 'listenerMetadata without listenerPath'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; listenerMetadata = 'x' }; Why = 'listenerMetadata is set without listenerPath' }
        @{ Case = 'the listener flag without a notify rule'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; flags = @('SECCOMP_FILTER_FLAG_NEW_LISTENER') }; Why = 'need a rule with SCMP_ACT_NOTIFY' }
    ) {
        $id = 'nr' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-NotifySpec $id @('true') '/run/a.sock' $null
        $spec.linux.seccomp = $Seccomp
        Save-Spec $spec
        $r = Invoke-Runtime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match $Why
        Get-Leftover $id | Should -BeNullOrEmpty
    }

    It 'lists SCMP_ACT_NOTIFY among the actions of features' {
        ((Invoke-Runtime @('features')).Out | ConvertFrom-Json).linux.seccomp.actions | Should -Contain 'SCMP_ACT_NOTIFY'
    }

    It 'ignores listenerPath without a notify rule, as the spec says' {
        $id = 'ni' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-NotifySpec $id @('sh', '-c', 'echo ran') (Join-Path $work 'nobody.sock') $null
        $spec.linux.seccomp.syscalls = @(@{ names = @('mkdir'); action = 'SCMP_ACT_ERRNO' })
        Save-Spec $spec
        $r = Invoke-Runtime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Match 'ran'
    }

    It 'tells the agent what runc 1.1 tells it (differential)' {
        if (-not $script:haveRunc) { Set-ItResult -Skipped -Because 'runc is not installed' }
        $agent = Start-Agent 0
        $id = 'nd' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $cmd = @('sh', '-c', 'mkdir /tmp/fake; echo rc=$?; test -e /tmp/fake && echo exists || echo absent')
        Save-Spec (New-NotifySpec $id $cmd $agent.Socket 'same')
        $ours = Invoke-Runtime @('run', '--bundle', $bundle, $id)
        $theirs = Invoke-Runtime @('run', '--bundle', $bundle, "$id-runc") -Exe runc -Root $runcRoot
        $theirs.ExitCode | Should -Be 0 -Because $theirs.Err
        $theirs.Out | Should -Be $ours.Out
        $rec = Read-Agent $agent 2
        $rec.States.Count | Should -Be 2
        $o, $t = $rec.States
        foreach ($s in $o, $t) {
            $s.Received | Should -Be 1
            $s.fds | Should -Be @('seccompFd')
            $s.metadata | Should -Be 'same'
            $s.state.status | Should -Be 'creating'
            $s.state.pid | Should -Be $s.pid
            $s.state.bundle | Should -Be $bundle
        }
        $t.state.id | Should -Be "$id-runc"
        # the same fields (runc leaves out empty annotations)
        @($o.PSObject.Properties.Name | Where-Object { $_ -ne 'Received' } | Sort-Object) | Should -Be @($t.PSObject.Properties.Name | Where-Object { $_ -ne 'Received' } | Sort-Object)
        @($rec.Notified | Where-Object { $_ -match 'path=/tmp/fake$' }).Count | Should -Be 2
        Get-Leftover "$id-runc" $runcRoot | Should -BeNullOrEmpty
    }
}

Describe 'Start-Container -SecurityOption seccomp=PROFILE with an agent' -Skip:$skipAll {
    BeforeAll {
        Import-Module (Get-TestModulePath) -Force
        $native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:haveEngine = (Test-Path "$native/psc-runtime") -and (Test-Path "$native/psc-monitor")
        $tar = New-TestBusyboxRootFs -Path (Join-Path $work 'busybox.tar') -Applet @('sh', 'mkdir', 'echo', 'test', 'sleep', 'true')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/notify:1' -Command sh | Out-Null
        function script:Write-AgentProfile([string]$Socket, [string]$Name = 'agent.json') {
            $p = Join-Path $work $Name
            [ordered]@{
                defaultAction = 'SCMP_ACT_ALLOW'; listenerPath = $Socket; listenerMetadata = 'engine'
                syscalls = @(@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_NOTIFY' })
            } | ConvertTo-Json -Depth 5 | Set-Content $p
            $p
        }
        function script:Get-EngineLeak {
            @(
                Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
                Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $cgroupParent } |
                    Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object { "cgroup $($_.FullName)" }
                Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.ProcessName -like 'psc-*' } | Where-Object {
                    (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($script:state.Root) } |
                    ForEach-Object { "monitor $($_.Id)" }
            )
        }
    }
    BeforeEach {
        if (-not $script:haveEngine) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        foreach ($a in $script:agents) { Stop-Agent $a }
        @($script:agents | Where-Object { -not $_.Process.HasExited -or (Test-Path $_.Socket) }) | Should -BeNullOrEmpty
        $script:agents.Clear()
        Get-EngineLeak | Should -BeNullOrEmpty
    }

    It 'runs the container with the agent answering its mkdir (<Runtime>)' -ForEach @(
        @{ Runtime = 'psc-runtime' }, @{ Runtime = 'runc' }
    ) {
        if ($Runtime -eq 'runc' -and -not $script:haveRunc) { Set-ItResult -Skipped -Because 'runc is not installed' }
        $agent = Start-Agent 0
        $profile = Write-AgentProfile $agent.Socket
        $extra = if ($Runtime -eq 'runc') { @{ Runtime = 'runc' } } else { @{} }
        $out = Start-Container -Image pester/notify:1 -Name "notify-$Runtime" -SecurityOption "seccomp=$profile" @extra -Command sh, -c, 'mkdir /tmp/fake; echo rc=$?; test -e /tmp/fake && echo exists || echo absent'
        $out | Should -Contain 'rc=0'
        $out | Should -Contain 'absent'
        $c = Get-Container "notify-$Runtime" -All
        $c.SecurityOptions | Should -Contain "seccomp=$profile"
        $s = (Read-Agent $agent).States
        $s.Count | Should -Be 1
        $s[0].metadata | Should -Be 'engine'
        $s[0].fds | Should -Be @('seccompFd')
        $s[0].state.id | Should -Be $c.Id
        $s[0].state.status | Should -Be 'creating'
        @((Read-Agent $agent).Notified | Where-Object { $_ -match 'path=/tmp/fake$' }).Count | Should -Be 1
    }

    It 'makes an absent agent socket a clear error of Start-Container, with nothing left running' {
        $profile = Write-AgentProfile (Join-Path $work 'no-agent.sock') 'no-agent.json'
        { Start-Container -Image pester/notify:1 -Name notify-noagent -SecurityOption "seccomp=$profile" -Command true -ErrorAction Stop } |
            Should -Throw -ExpectedMessage '*connect to the seccomp agent at linux.seccomp.listenerPath*no-agent.sock*'
        Get-EngineLeak | Should -BeNullOrEmpty
        Test-Path (Join-Path $work 'no-agent.sock') | Should -BeFalse
    }

    It 'refuses an agent profile the runtimes cannot serve, when the container is made' {
        $p = Join-Path $work 'relative.json'
        @{ defaultAction = 'SCMP_ACT_ALLOW'; listenerPath = 'agent.sock'; syscalls = @(@{ names = @('mkdir'); action = 'SCMP_ACT_NOTIFY' }) } |
            ConvertTo-Json -Depth 5 | Set-Content $p
        $e = { New-Container pester/notify:1 -SecurityOption "seccomp=$p" -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Match '^InvalidSeccompProfile'
        $e.Exception.Message | Should -Match 'must be an absolute path'
    }
}
