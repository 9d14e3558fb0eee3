#Requires -Version 7.4
# Containers end to end: real namespaces, cgroups, overlay mounts, the native runtime and monitor.
# Run twice by the suite: as it is (-UserNamespace Host, docker's default), and from
# ContainersUserNamespaceAuto.Tests.ps1 with $env:PSCONTAINER_USERNS=auto, so that every container made without
# -UserNamespace gets its own id range: the lifecycle must hold in both (issue 11).
param([ValidateSet('Host', 'Auto')][string]$UserNamespace = 'Host')

Describe 'Containers (-UserNamespace <UserNamespace> by default)' -ForEach @(@{ UserNamespace = $UserNamespace }) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-ctr'
        $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
        $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
        # The module default for containers made without -UserNamespace; Start-TestPwsh sessions inherit it.
        $env:PSCONTAINER_USERNS = $UserNamespace
        Import-Module (Get-TestModulePath) -Force
        $script:modulePath = Get-TestModulePath
        $script:native = Join-Path (Split-Path $script:modulePath) 'native'
        $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
        $script:haveRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
            'sh', 'ls', 'cat', 'echo', 'true', 'false', 'sleep', 'env', 'id', 'ps', 'hostname', 'grep', 'test', 'readlink', 'head', 'tr', 'wc', 'dd', 'mkdir', 'touch', 'seq', 'kill')
        $script:image = Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh
        $env:PSC_TEST_IMAGE = 'pester/busybox:1'

        function script:Get-OurCgroupDirectory {
            @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:cgroupParent } |
                Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object FullName)
        }
        function script:Get-OurMonitor {
            @(Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.ProcessName -like 'psc-*' } | Where-Object {
                (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($script:state.Root) })
        }
        function script:Get-Lines($result) { @($result.Stdout -split "\r?\n" | Where-Object { $_ }) }
        function script:Get-ContainerRoot($Container) {
            # Who root in the container is on the host: uid and gid 0 without a user namespace, else the first ids of
            # its maps (Get-Container shows "0:H:N", or "uid 0:H:N, gid 0:G:N" when they differ).
            $text = (Get-Container $Container.Id -All).UserNamespace
            if ($text -eq 'host') { return @{ Uid = 0; Gid = 0 } }
            $firsts = @([regex]::Matches($text, '\b0:(\d+):\d+') | ForEach-Object { [long]$_.Groups[1].Value })
            $firsts.Count | Should -BeIn 1, 2 -Because "'$text' is the container's maps"
            @{ Uid = $firsts[0]; Gid = $firsts[-1] }
        }
        function script:Get-OurLeak {
            # What a removed container must not leave: mounts, cgroups, monitors, network namespaces, container dirs.
            @(
                Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
                Get-OurCgroupDirectory | ForEach-Object { "cgroup $_" }
                Get-OurMonitor | ForEach-Object { "monitor $($_.Id)" }
                if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
                if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object { "dir $($_.Name)" } }
                if (Test-Path "$($script:state.Root)/userns-layers") { Get-ChildItem "$($script:state.Root)/userns-layers" | ForEach-Object { "layer copy $($_.Name)" } }
            )
        }
    }

    AfterAll {
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
        foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
            $p = Join-Path $h.FullName $script:cgroupParent
            if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
        }
        Remove-Item Env:PSCONTAINER_CGROUP_PARENT, Env:PSC_TEST_IMAGE, Env:PSCONTAINER_USERNS -ErrorAction SilentlyContinue
        Remove-TestStateRoot $script:state
    }

    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'gives containers made without -UserNamespace the user namespace of this run' {
        $c = New-Container pester/busybox:1 -Command sleep, 60
        $made = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Detach
        foreach ($one in $c, $made) {
            $text = (Get-Container $one.Id -All).UserNamespace
            if ($UserNamespace -eq 'Host') { $text | Should -Be 'host' } else { $text | Should -Match '^0:\d+:65536$' }
        }
        $c | Start-Container
        $root = Get-ContainerRoot $c
        $status = Get-Content "/proc/$((Get-Container $c.Id).Pid)/status"
        ($status | Where-Object { $_ -like 'Uid:*' }) -split '\s+' | Select-Object -Skip 1 | Should -Be (@($root.Uid) * 4) -Because 'root in the container is this id on the host'
    }

    It 'runs true, false and exit 3 with their exit codes' {
        Start-Container -Image pester/busybox:1 -Command true
        $LASTEXITCODE | Should -Be 0
        Start-Container -Image pester/busybox:1 -Command false
        $LASTEXITCODE | Should -Be 1
        $c = New-Container pester/busybox:1 -Command sh, -c, 'exit 3' -Name three
        $c.State | Should -Be 'Created'
        $c | Start-Container
        $exit = Wait-Container three
        $exit.ExitCode | Should -Be 3
        $after = Get-Container three -All
        $after.State | Should -Be 'Exited'
        $after.ExitCode | Should -Be 3
        $after.Status | Should -Match '^Exited \(3\) '
        $after.FinishedAt | Should -Not -BeNullOrEmpty
    }

    It 'streams stdout to the pipeline and stderr to the error stream' {
        $out = Start-Container -Image pester/busybox:1 -Command sh, -c, 'echo one; echo two >&2; echo three' -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be @('one', 'three')
        @($err).Count | Should -Be 1
        $err[0].Exception.Message | Should -Be 'two'
    }

    It 'isolates the process in its own namespaces' {
        $c = New-Container pester/busybox:1 -Command sh, -c, @'
echo "pid=$$"; echo "host=$(hostname)"; echo "procs=$(ls /proc | grep -c '^[0-9]')"
for n in ipc mnt net pid uts cgroup; do echo "ns_$n=$(readlink /proc/self/ns/$n)"; done
grep -c . /proc/self/mountinfo | sed 's/^/mounts=/'
'@ -Hostname pester-host
        $out = Start-Container -Image pester/busybox:1 -Command sh, -c, 'echo pid=$$; hostname' -Hostname probe
        $out | Should -Be @('pid=1', 'probe')
        $c | Start-Container -Wait
        $lines = (Get-ContainerLog $c.Id).Line
        $values = @{}; foreach ($l in $lines) { $k, $v = $l -split '=', 2; $values[$k] = $v }
        $values.pid | Should -Be 1
        $values.host | Should -Be 'pester-host'
        [int]$values.procs | Should -BeLessOrEqual 5 -Because "only sh, its subshell, ls and grep run in the container"
        foreach ($ns in 'ipc', 'mnt', 'net', 'pid', 'uts', 'cgroup') {
            $values["ns_$ns"] | Should -Match '^[a-z]+:\[\d+\]$'
            $values["ns_$ns"] | Should -Not -Be (& readlink "/proc/self/ns/$ns") -Because "the $ns namespace must be the container's own"
        }
    }

    It 'has Docker''s default capabilities, no_new_privs off and masked /proc paths' {
        $out = Start-Container -Image pester/busybox:1 -Command sh, -c, 'grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; cat /proc/kcore | wc -c; echo x > /proc/sysrq-trigger && echo writable || echo readonly' -ErrorAction SilentlyContinue
        $out | Should -Contain "CapEff:`t00000000a80425fb"
        $out | Should -Contain "CapBnd:`t00000000a80425fb"
        $out | Should -Contain "NoNewPrivs:`t0"
        $out | Should -Contain '0'
        $out | Should -Contain 'readonly'
    }

    It 'sets environment, working directory and user' {
        $out = Start-Container -Image pester/busybox:1 -Command sh, -c, 'echo "$GREETING"; pwd; id -u; id -g' -Environment @{ GREETING = 'hello world' } -WorkingDirectory /tmp -User 'nobody'
        $out | Should -Be @('hello world', '/tmp', '65534', '65534')
    }

    It 'applies memory, CPU and pids limits in the container''s cgroup' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 30 -Memory 64MB -Cpus 0.5 -PidsLimit 50 -Detach
        $c.State | Should -Be 'Running'
        $limits = (Get-Module PSContainer).Invoke({ param($id) [PSContainer.Engine.ContainerEngine]::ForEnvironment().Containers.ReadCgroupLimits($id) }, $c.Id)
        $limits.MemoryBytes | Should -Be 64MB
        $limits.CpuQuotaMicroseconds | Should -Be 50000
        $limits.Pids | Should -Be 50
        $c.Limits.Memory | Should -Be 64MB
        $c.Limits.Cpus | Should -Be 0.5
    }

    It 'reports OOMKilled when the memory limit is exceeded' {
        $c = New-Container pester/busybox:1 -Command sh, -c, 'x=a; while true; do x="$x$x"; done' -Memory 16MB -MemorySwap 16MB
        $c | Start-Container
        $exit = Wait-Container $c.Id -Timeout 60
        $exit.OOMKilled | Should -BeTrue
        $exit.ExitCode | Should -Be 137
        (Get-Container $c.Id -All).OOMKilled | Should -BeTrue
    }

    It 'stops a fork bomb with the pids limit' {
        $out = Start-Container -Image pester/busybox:1 -Command sh, -c, 'for i in $(seq 1 100); do sleep 5 & done 2>/dev/null; ps | wc -l' -PidsLimit 20 -ErrorAction SilentlyContinue
        [int]($out | Select-Object -Last 1) | Should -BeLessOrEqual 22
    }

    It 'keeps logs with stdout and stderr in order, with -Tail and -Since' {
        # stdout and stderr are two pipes: lines written in the same instant have no order between them (docker and
        # podman alike), so the writer pauses between lines.
        $c = New-Container pester/busybox:1 -Command sh, -c, 'for i in 1 2 3; do echo out$i; sleep 0.05; echo err$i >&2; sleep 0.05; done'
        $c | Start-Container -Wait
        $log = Get-ContainerLog $c.Id
        $log.Line | Should -Be @('out1', 'err1', 'out2', 'err2', 'out3', 'err3')
        $log.Stream | Should -Be @('stdout', 'stderr', 'stdout', 'stderr', 'stdout', 'stderr')
        (Get-ContainerLog $c.Id -Tail 2).Line | Should -Be @('out3', 'err3')
        @(Get-ContainerLog $c.Id -Since ([DateTime]::UtcNow.AddMinutes(5))).Count | Should -Be 0
    }

    It 'stops with SIGTERM, then SIGKILL after the timeout' {
        $c = Start-Container -Image pester/busybox:1 -Command sh, -c, 'trap "echo term; exit 7" TERM; while true; do sleep 0.1; done' -Detach
        Start-Sleep -Milliseconds 300
        $stopped = $c | Stop-Container -PassThru
        $stopped.State | Should -Be 'Exited'
        $stopped.ExitCode | Should -Be 7
        $d = Start-Container -Image pester/busybox:1 -Command sh, -c, 'trap "" TERM; while true; do sleep 0.1; done' -Detach
        Start-Sleep -Milliseconds 300
        $watch = [Diagnostics.Stopwatch]::StartNew()
        ($d | Stop-Container -Timeout 1 -PassThru).ExitCode | Should -Be 137
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 8
    }

    It 'stops through the monitor: no runtime process from the session, the runtime''s delete done by the monitor before the exit' {
        # A runtime that logs who ran it (the parent's name: the monitor calls itself psc-ID) before it runs psc-runtime.
        $log = Join-Path $script:state.Work 'runtime-calls.log'
        $wrapper = Join-Path $script:state.Work 'logging-runtime'
        Set-Content $wrapper "#!/bin/sh`necho `"`$(cat /proc/`$PPID/comm) `$*`" >> '$log'`nexec '$script:native/psc-runtime' `"`$@`"`n"
        & chmod 755 $wrapper
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Network none -Detach -Runtime $wrapper
        $t = Start-Container -Image pester/busybox:1 -Command sh, -c, 'trap "exit 7" TERM; while true; do sleep 0.1; done' -Network none -Detach -Runtime $wrapper
        $r = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Network none -Detach -Runtime $wrapper
        Start-Sleep -Milliseconds 300
        Remove-Item $log
        ($c | Stop-Container -Timeout 0 -PassThru).ExitCode | Should -Be 137
        ($t | Stop-Container -Timeout 5 -PassThru).ExitCode | Should -Be 7 -Because 'the stop signal (SIGTERM) is relayed too'
        Remove-Container $r.Id -Force
        $calls = @(Get-Content $log)
        $calls | Where-Object { $_ -match ' kill ' } | Should -BeNullOrEmpty -Because 'the monitors signal their containers'
        @($calls | Where-Object { $_ -match ' delete ' }).Count | Should -Be 3
        $calls | Where-Object { $_ -match ' delete ' -and $_ -notmatch '^psc-' } | Should -BeNullOrEmpty -Because 'each monitor deleted its container'
        Get-OurCgroupDirectory | Where-Object { $_ -match "$($c.Id)|$($t.Id)" } | Should -BeNullOrEmpty -Because 'the cgroups are gone once Stop-Container returns'
        $c, $t | Remove-Container
    }

    It 'is seen running and stopped from another pwsh session' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Name cross -Detach
        $other = Start-TestPwsh -Script "Import-Module '$script:modulePath'; (Get-Container cross).State; Stop-Container cross -Timeout 1; (Get-Container cross -All).State"
        $result = Wait-TestPwsh $other
        Get-Lines $result | Should -Be @('Running', 'Exited')
        (Get-Container cross -All).State | Should -Be 'Exited'
    }

    It 'keeps running when the pwsh that started it is killed, and its exit is recorded' {
        $other = Start-TestPwsh -Script "Import-Module '$script:modulePath'; Start-Container -Image pester/busybox:1 -Name orphan -Command sh, -c, 'sleep 2; exit 5' -Detach | Out-Null; 'started'; Start-Sleep 60"
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-Container orphan -ErrorAction SilentlyContinue).State -ne 'Running' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
        (Get-Container orphan).State | Should -Be 'Running'
        Stop-Process -Id $other.Process.Id -Force
        $other.Process.WaitForExit()
        (Get-Container orphan).State | Should -Be 'Running'
        (Wait-Container orphan -Timeout 30).ExitCode | Should -Be 5
        (Get-Container orphan -All).Status | Should -Match '^Exited \(5\)'
    }

    It 'fails a bad command with docker''s exit codes and leaves nothing behind' {
        Start-Container -Image pester/busybox:1 -Command /no/such/command -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Match '^CommandNotFound'
        $err[0].Exception.Message | Should -Match 'no/such/command'
        $LASTEXITCODE | Should -Be 127
        Start-Container -Image pester/busybox:1 -Command /etc/passwd -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -Match '^CommandNotExecutable'
        $LASTEXITCODE | Should -Be 126
        Get-OurLeak | Where-Object { $_ -notlike 'dir *' } | Should -BeNullOrEmpty
    }

    It 'fails a bad mount source and a missing image with clear errors' {
        # A missing source is made, as docker -v does; one that cannot be made (below a file) is a clear error.
        $file = Join-Path $script:state.Work 'not-a-dir'
        Set-Content $file 'x'
        $c = New-Container pester/busybox:1 -Command true -Volume "$file/sub:/data"
        { $c | Start-Container -ErrorAction Stop } | Should -Throw -ExpectedMessage '*not-a-dir/sub*'
        (Get-Container $c.Id -All).State | Should -Be 'Created'
        Get-OurLeak | Where-Object { $_ -notlike 'dir *' } | Should -BeNullOrEmpty
        { New-Container no/such:image -Pull never -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound*'
        @(Get-Container -All | Where-Object Image -eq 'no/such:image').Count | Should -Be 0
    }

    It 'binds volumes and tmpfs, and honours -ReadOnly' {
        $dir = Join-Path $script:state.Work 'vol'
        New-Item -ItemType Directory -Force $dir | Out-Null
        Set-Content "$dir/in.txt" 'from host'
        $c = New-Container pester/busybox:1 -Command sh, -c, 'cat /data/in.txt; echo back > /data/out.txt; touch /ro/x 2>/dev/null && echo rw || echo ro; touch /scratch/x && echo tmpfs-ok; touch /x 2>/dev/null && echo root-rw || echo root-ro' `
            -Volume "${dir}:/data", "${dir}:/ro:ro" -Tmpfs /scratch -ReadOnly
        # A bind mount is the host's directory as it is (docker's userns-remap): the container's root may write in it
        # when it owns it, so the directory is given to whoever that root is on the host (root itself without a user
        # namespace, the first id of the container's range with one).
        $root = Get-ContainerRoot $c
        & chown "$($root.Uid):$($root.Gid)" $dir
        $c | Start-Container -Wait
        (Get-ContainerLog $c.Id).Line | Should -Be @('from host', 'ro', 'tmpfs-ok', 'root-ro')
        Get-Content "$dir/out.txt" | Should -Be 'back'
        (Get-Item "$dir/out.txt").User | Should -Be (Get-Item $dir).User -Because 'what root in the container writes belongs to its id on the host'
    }

    It 'gives exactly one of two sessions a contested name' {
        $script = "Import-Module '$script:modulePath'; try { New-Container pester/busybox:1 -Command true -Name contested -ErrorAction Stop | Out-Null; 'won' } catch { `$_.FullyQualifiedErrorId }"
        $a = Start-TestPwsh -Script $script
        $b = Start-TestPwsh -Script $script
        $results = @(Get-Lines (Wait-TestPwsh $a)) + @(Get-Lines (Wait-TestPwsh $b))
        @($results | Where-Object { $_ -eq 'won' }).Count | Should -Be 1
        @($results | Where-Object { $_ -like 'ContainerNameInUse*' }).Count | Should -Be 1
        @(Get-Container contested -All).Count | Should -Be 1
    }

    It 'restarts a container and lists it with Get-Container filters' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Name listed -Detach
        (Get-Container).Name | Should -Contain 'listed'
        (Get-Container -Status Running).Name | Should -Contain 'listed'
        (Get-Container list*).Name | Should -Be 'listed'
        $r = Restart-Container listed -Timeout 0 -PassThru
        $r.State | Should -Be 'Running'
        $r.Pid | Should -Not -Be $c.Pid
        Stop-Container listed -Timeout 0
        (Get-Container).Name | Should -Not -Contain 'listed'
        (Get-Container -All).Name | Should -Contain 'listed'
        Remove-Container listed -WhatIf
        (Get-Container -All).Name | Should -Contain 'listed'
    }

    It 'refuses to remove a running container without -Force, and an image in use' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Detach
        { Remove-Container $c.Id -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerRunning*'
        { Remove-ContainerImage pester/busybox:1 -ErrorAction Stop } | Should -Throw -ErrorId 'ImageInUse*'
        Remove-Container $c.Id -Force
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'says so when a container''s monitor dies, and still stops and removes it' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Network none -Detach
        $monitor = Get-Process | Where-Object { $_.ProcessName -like ('psc-' + $c.Id.Substring(0, 11) + '*') }
        $monitor | Should -HaveCount 1
        Stop-Process -Id $monitor.Id -Force
        $monitor.WaitForExit()
        $seen = Get-Container $c.Id
        $seen.Error | Should -Match 'monitor'
        $watch = [Diagnostics.Stopwatch]::StartNew()
        Stop-Container $c.Id -Timeout 1
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 8
        (Get-Container $c.Id -All).State | Should -BeIn 'Dead', 'Exited'
        Remove-Container $c.Id
    }

    It 'stops and removes a paused container' {
        $c = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Network none -Detach
        (Suspend-Container $c.Id -PassThru).State | Should -Be 'Paused'
        ($c | Stop-Container -Timeout 1 -PassThru).State | Should -Be 'Exited'
        $d = Start-Container -Image pester/busybox:1 -Command sleep, 60 -Network none -Detach
        Suspend-Container $d.Id
        Remove-Container $d.Id -Force
        Get-Container $d.Id -All -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'keeps the content of an image a container uses when the image is force-removed (only untags it)' {
        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'inuse.tar') -Applet @('sh', 'sleep', 'echo')
        $img = Import-ContainerImage $tar -Format RootFs -Name 'pester/inuse:1' -Command sh
        $c = Start-Container -Image pester/inuse:1 -Command sleep, 60 -Network none -Detach
        Remove-ContainerImage pester/inuse:1 -Force
        Get-ContainerImage pester/inuse:1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-ContainerImage -Id $img.Id).Id | Should -Be $img.Id
        $c | Stop-Container -Timeout 0
        $c | Start-Container
        (Get-Container $c.Id).State | Should -Be 'Running'
        $c | Remove-Container -Force
        Remove-ContainerImage $img.Id
        Get-ContainerImage -Id $img.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'removes an -AutoRemove container when it exits' {
        Start-Container -Image pester/busybox:1 -Command true -AutoRemove -Name gone
        Get-Container -All | Where-Object Name -eq 'gone' | Should -BeNullOrEmpty
    }

    It 'leaks nothing over 50 create/start/remove cycles' {
        $fdsBefore = (Get-ChildItem /proc/self/fd).Count
        for ($i = 0; $i -lt 50; $i++) {
            $c = New-Container pester/busybox:1 -Command true
            $c | Start-Container -Wait
            $c | Remove-Container
        }
        Get-OurLeak | Should -BeNullOrEmpty
        (Get-ChildItem /proc/self/fd).Count | Should -BeLessOrEqual ($fdsBefore + 5)
        @(Get-Process | Where-Object { $_.ProcessName -eq 'psc-runtime' }).Count | Should -Be 0
    }

    Context 'the same container under runc' {
        BeforeEach {
            if (-not $script:haveRunc) { Set-ItResult -Skipped -Because 'runc is not installed' }
        }
        It 'shows the same isolation under both runtimes' {
            $probe = 'echo pid=$$; hostname; id; grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status; env | sort; pwd; cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; cut -d" " -f5 /proc/self/mountinfo | sort'
            $ours = Start-Container -Image pester/busybox:1 -Command sh, -c, $probe -Hostname same -PidsLimit 42 -Environment @{ A = 'b' } -WorkingDirectory /tmp
            $oursExit = $LASTEXITCODE
            $runc = Start-Container -Image pester/busybox:1 -Command sh, -c, $probe -Hostname same -PidsLimit 42 -Environment @{ A = 'b' } -WorkingDirectory /tmp -Runtime runc
            $LASTEXITCODE | Should -Be $oursExit
            $ours | Should -Be $runc
            Start-Container -Image pester/busybox:1 -Command sh, -c, 'exit 9' -Runtime runc
            $LASTEXITCODE | Should -Be 9
        }
    }
}
