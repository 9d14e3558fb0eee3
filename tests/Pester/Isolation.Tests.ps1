#Requires -Version 7.4
# docker run's isolation and resource options on New-Container: capabilities, -Privileged, devices, sysctls,
# ulimits, /dev/shm, the pid/ipc/uts namespace modes, cpusets and the memory/blkio settings, -OomScoreAdj and
# -Init. Each is looked at from inside the container and in the host's cgroup files; where runc is installed the
# same container under -Runtime runc must get the same cgroup values.

BeforeDiscovery {
    $script:cgroupV1 = -not (Test-Path /sys/fs/cgroup/cgroup.controllers)
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-iso'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
        'sh', 'cat', 'grep', 'hostname', 'readlink', 'sleep', 'ls', 'wc', 'head', 'echo', 'true', 'id', 'ps')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/iso:1' -Command sh | Out-Null

    function script:Invoke-Probe([string]$Script, [hashtable]$Options = @{}) {
        # One container per probe: output lines, and the exit code in $LASTEXITCODE.
        Start-Container -Image pester/iso:1 -AutoRemove -Network none @Options -Command sh, -c, $Script
    }
    function script:Get-CapEff([string[]]$Lines) {
        [Convert]::ToUInt64((($Lines | Where-Object { $_ -like 'CapEff:*' }) -split '\s+')[1], 16)
    }
    function script:Get-CapMask([string[]]$Names) {
        $all = [PSContainer.Engine.Containers.IsolationSpec]::AllCapabilities
        $mask = [uint64]0
        foreach ($n in $Names) { $mask = $mask -bor ([uint64]1 -shl [array]::IndexOf($all, $n)) }
        $mask
    }
    function script:Read-Cgroup([string]$Id, [string]$Controller, [string]$File) {
        (Get-Content "/sys/fs/cgroup/$Controller/$($script:state.CgroupParent)/$Id/$File" | Select-Object -First 1).Trim()
    }
    $script:defaultCaps = [PSContainer.Engine.Containers.RuntimeSpecBuilder]::DefaultCapabilities
    $script:hostBounding = [Convert]::ToUInt64(((Get-Content /proc/self/status | Where-Object { $_ -like 'CapBnd:*' }) -split '\s+')[1], 16)
}

AfterAll {
    Get-Container -All | Remove-Container -Force
    Remove-TestStateRoot $script:state
}

Describe 'capabilities' {
    It 'adds and drops by name (with or without CAP_, any case) from docker''s default set' {
        $lines = Invoke-Probe 'grep Cap /proc/self/status' @{ CapAdd = 'sys_admin', 'CAP_NET_ADMIN'; CapDrop = 'NET_RAW' }
        $expected = ($defaultCaps | Where-Object { $_ -ne 'CAP_NET_RAW' }) + 'CAP_SYS_ADMIN', 'CAP_NET_ADMIN'
        Get-CapEff $lines | Should -Be (Get-CapMask $expected)
    }

    It 'drops ALL, then adds back only what is asked' {
        Get-CapEff (Invoke-Probe 'grep Cap /proc/self/status' @{ CapDrop = 'ALL'; CapAdd = 'CHOWN' }) | Should -Be (Get-CapMask 'CAP_CHOWN')
    }

    It 'adds ALL: every capability this host lets a process hand on' {
        Get-CapEff (Invoke-Probe 'grep Cap /proc/self/status' @{ CapAdd = 'ALL' }) | Should -Be $hostBounding
    }

    It 'refuses an unknown capability (InvalidCapability) and one this host cannot grant (CapabilityNotGrantable)' {
        { New-Container pester/iso:1 -CapAdd NOT_A_CAP -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidCapability,*'
        $missing = [PSContainer.Engine.Containers.IsolationSpec]::AllCapabilities |
            Where-Object { ($hostBounding -band (Get-CapMask $_)) -eq 0 } | Select-Object -First 1
        if (-not $missing) { Set-ItResult -Skipped -Because 'this process holds every capability'; return }
        { New-Container pester/iso:1 -CapAdd $missing -ErrorAction Stop } | Should -Throw -ErrorId 'CapabilityNotGrantable,*'
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe '-Privileged' {
    It 'gives every grantable capability, writable /sys and /proc/sys, and the host''s devices' {
        $lines = Invoke-Probe 'grep CapEff /proc/self/status; grep -E " /sys sysfs| /proc/sys " /proc/self/mounts; ls /dev' @{ Privileged = $true }
        Get-CapEff $lines | Should -Be $hostBounding
        ($lines | Where-Object { $_ -like 'sysfs /sys sysfs *' }) | Should -Match '\brw\b'
        ($lines | Where-Object { $_ -like '* /proc/sys *' }) | Should -BeNullOrEmpty -Because '/proc/sys is not made read-only'
        (Invoke-Probe 'grep " /proc/sys " /proc/self/mounts') | Should -Match '\bro\b' -Because 'a default container has it read-only'
        $hostDevice = @('kmsg', 'loop-control', 'mem') | Where-Object { Test-Path "/dev/$_" } | Select-Object -First 1
        $lines | Should -Contain $hostDevice -Because "a default container has no /dev/$hostDevice"
        Invoke-Probe 'ls /dev' | Should -Not -Contain $hostDevice
        Invoke-Probe 'grep " /sys sysfs" /proc/self/mounts' | Should -Match '\bro\b'
    }
}

Describe '-Device' {
    It 'gives a host device under another name with only the access asked for' {
        # A device outside docker's default allow-list, so only -Device can let the container open it.
        $device = @('/dev/loop-control', '/dev/kmsg') | Where-Object { Test-Path $_ } | Select-Object -First 1
        if (-not $device) { Set-ItResult -Skipped -Because 'this host has neither /dev/loop-control nor /dev/kmsg'; return }
        $probe = 'ls /dev/mydev && (exec 3</dev/mydev) && echo open-r-ok; (exec 4>/dev/mydev) && echo open-w-ok; true'
        $lines = Invoke-Probe $probe @{ Device = "$($device):/dev/mydev:r" }
        $lines | Should -Contain '/dev/mydev'
        $lines | Should -Contain 'open-r-ok'
        $lines | Should -Not -Contain 'open-w-ok' -Because 'the device cgroup allows only r'
        Invoke-Probe 'ls /dev/mydev 2>&1; true' | Should -Match 'No such file'
    }

    It 'refuses a path that is no device (InvalidDevice)' {
        { New-Container pester/iso:1 -Device /etc/hostname -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDevice,*'
        { New-Container pester/iso:1 -Device '/dev/null:/dev/x:rwx' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidDevice,*'
    }
}

Describe '-Sysctl, -Ulimit, -ShmSize, -OomScoreAdj' {
    It 'sets a namespaced sysctl, the process limits, the size of /dev/shm and the OOM score' {
        $lines = Invoke-Probe 'cat /proc/sys/net/ipv4/ip_unprivileged_port_start; ulimit -n; ulimit -Hn; grep " /dev/shm " /proc/self/mounts; cat /proc/self/oom_score_adj' @{
            Sysctl = @{ 'net.ipv4.ip_unprivileged_port_start' = '99' }; Ulimit = 'nofile=1024:2048'; ShmSize = '8MB'; OomScoreAdj = 500 }
        $lines[0] | Should -Be '99'
        $lines[1] | Should -Be '1024'
        $lines[2] | Should -Be '2048'
        $lines[3] | Should -Match 'size=8192k'
        $lines[4] | Should -Be '500'
    }

    It 'refuses <Case> (<Id>)' -TestCases @(
        @{ Case = 'a sysctl of the host'; Id = 'InvalidSysctl'; Options = @{ Sysctl = @{ 'kernel.panic' = '1' } } }
        @{ Case = 'a net sysctl with the host network'; Id = 'InvalidSysctl'; Options = @{ Sysctl = @{ 'net.ipv4.ip_forward' = '1' }; Network = 'host' } }
        @{ Case = 'an unknown ulimit'; Id = 'InvalidUlimit'; Options = @{ Ulimit = 'files=10' } }
        @{ Case = 'a soft limit over the hard one'; Id = 'InvalidUlimit'; Options = @{ Ulimit = 'nofile=20:10' } }
        @{ Case = 'an OOM score out of range'; Id = 'InvalidOomScoreAdj'; Options = @{ OomScoreAdj = 2000 } }
        @{ Case = 'swappiness over 100'; Id = 'InvalidMemorySwappiness'; Options = @{ MemorySwappiness = 101 } }
        @{ Case = 'a blkio weight under 10'; Id = 'InvalidBlkioWeight'; Options = @{ BlkioWeight = 5 } }
        @{ Case = 'CPUs the host does not have'; Id = 'InvalidCpuset'; Options = @{ CpusetCpus = "0-$([Environment]::ProcessorCount)" } }
        @{ Case = 'a cpu list that is no list'; Id = 'InvalidCpuset'; Options = @{ CpusetCpus = 'all' } }
        @{ Case = 'an unknown pid mode'; Id = 'InvalidPidMode'; Options = @{ Pid = 'private' } }
        @{ Case = 'a host name with the host''s UTS namespace'; Id = 'InvalidUtsMode'; Options = @{ Uts = 'host'; Hostname = 'x' } }
    ) {
        { New-Container pester/iso:1 @Options -ErrorAction Stop } | Should -Throw -ErrorId "$Id,*"
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe 'namespace modes' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It '-Pid host sees the host''s processes; -Pid container:NAME sees the other container''s' {
        (Invoke-Probe 'cat /proc/1/comm; true' @{ Pid = 'host' }) | Should -Be (Get-Content /proc/1/comm) -Because 'pid 1 is the host''s init'
        New-Container pester/iso:1 -Name pid-donor -Network none -Command sleep, 300 | Start-Container
        (Invoke-Probe 'cat /proc/1/comm; true' @{ Pid = 'container:pid-donor' }) | Should -Be 'sleep' -Because 'pid 1 is the donor''s sleep'
        (Invoke-Probe 'cat /proc/1/comm; true') | Should -Be 'sh' -Because 'a default container is pid 1 of its own namespace'
    }

    It '-Pid container:NAME never joins another process''s namespace when the container exits and its pid is reused before the runtime joins' {
        $donor = New-Container pester/iso:1 -Name pid-racer -Network none -Command sleep, 300 | Start-Container -PassThru
        $pause = Join-Path $script:state.Work 'pause-join'
        $script = "Import-Module '$(Get-TestModulePath)'; try { Start-Container -Image pester/iso:1 -Network none -Pid container:pid-racer -Command sh, -c, 'cat /proc/1/comm' -ErrorAction Stop } catch { 'ERROR ' + `$_.FullyQualifiedErrorId; exit 1 }"
        $job = Start-TestPwsh -Script $script -Environment @{ PSCONTAINER_PAUSE_AT = "join-before-pin:$pause" }
        $hostSleep = $null
        try {
            $deadline = (Get-Date).AddSeconds(60)
            while (-not (Test-Path $pause) -and (Get-Date) -lt $deadline -and -not $job.Process.HasExited) { Start-Sleep -Milliseconds 20 }
            Test-Path $pause | Should -BeTrue -Because 'the start pauses after resolving the donor, before it pins its namespace'
            # The donor dies and a host process takes its pid (the kernel hands out ns_last_pid + 1 next).
            kill -9 $donor.Pid
            $deadline = (Get-Date).AddSeconds(10)
            while ((Test-Path "/proc/$($donor.Pid)") -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 10 }
            foreach ($attempt in 1..20) {
                $hostSleep = [int](bash -c "echo $($donor.Pid - 1) > /proc/sys/kernel/ns_last_pid; setsid sleep 120 >/dev/null 2>&1 & echo `$!")
                if ($hostSleep -eq $donor.Pid) { break }
                kill -9 $hostSleep; $hostSleep = $null
            }
            $hostSleep | Should -Be $donor.Pid -Because 'a host process holds the pid the donor had'
            Remove-Item $pause
            $result = $job | Wait-TestPwsh
        }
        finally {
            if ($hostSleep) { kill -9 $hostSleep }
            Remove-Item $pause -ErrorAction Ignore
        }
        $result.Stdout | Should -Match 'ERROR ContainerNotRunning' -Because "joining pid $($donor.Pid) now would join the host's namespace"
        $result.Stdout | Should -Not -Match ((Get-Content /proc/1/comm) + '$')
        @(Get-Content /proc/self/mountinfo) -match 'join-pid' | Should -BeNullOrEmpty -Because 'no pin outlives the failed start'
    }

    It '-Ipc container:NAME joins a shareable container''s IPC namespace and /dev/shm, and refuses a private one' {
        $donor = New-Container pester/iso:1 -Name ipc-donor -Network none -Ipc shareable -Command sh, -c, 'echo shared > /dev/shm/token; sleep 300' | Start-Container -PassThru
        Start-Sleep -Milliseconds 300
        $donorIpc = (Get-Item "/proc/$($donor.Pid)/ns/ipc").LinkTarget
        $lines = Invoke-Probe 'readlink /proc/self/ns/ipc; cat /dev/shm/token' @{ Ipc = 'container:ipc-donor' }
        $lines[0] | Should -Be $donorIpc
        $lines[1] | Should -Be 'shared'
        New-Container pester/iso:1 -Name ipc-private -Network none -Command sleep, 300 | Start-Container
        $err = $null
        New-Container pester/iso:1 -Network none -Ipc container:ipc-private | Start-Container -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'IpcNotShareable,*'
    }

    It '-Ipc host and -Uts host use the host''s namespaces, and the host''s /dev/shm' {
        $token = "psc-test-$([guid]::NewGuid().ToString('N'))"
        Set-Content "/dev/shm/$token" 'from the host'
        try {
            $lines = Invoke-Probe "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname; cat /dev/shm/$token" @{ Ipc = 'host'; Uts = 'host' }
        }
        finally { Remove-Item "/dev/shm/$token" }
        $lines[0] | Should -Be (Get-Item /proc/self/ns/ipc).LinkTarget
        $lines[1] | Should -Be (Get-Item /proc/self/ns/uts).LinkTarget
        $lines[2] | Should -Be (& hostname)
        $lines[3] | Should -Be 'from the host' -Because 'POSIX shared memory is shared with the host too'
    }
}

Describe 'cgroup settings' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'writes reservation, swappiness, the OOM killer switch, the cpuset and the blkio weight — the same values as runc' -Skip:(-not $cgroupV1) {
        $options = @{ MemoryReservation = '32MB'; MemorySwappiness = 10; OomKillDisable = $true; CpusetCpus = '0'; CpusetMems = '0'; BlkioWeight = 300; CpuShares = 512 }
        $read = {
            param($id)
            $weightFile = @('blkio.weight', 'blkio.bfq.weight') | Where-Object { Test-Path "/sys/fs/cgroup/blkio/$($script:state.CgroupParent)/$id/$_" } | Select-Object -First 1
            [ordered]@{
                reservation = Read-Cgroup $id memory memory.soft_limit_in_bytes
                swappiness = Read-Cgroup $id memory memory.swappiness
                oom = Read-Cgroup $id memory memory.oom_control
                cpus = Read-Cgroup $id cpuset cpuset.cpus
                mems = Read-Cgroup $id cpuset cpuset.mems
                weight = (Read-Cgroup $id blkio $weightFile) -replace '^default ', ''
                shares = Read-Cgroup $id cpu cpu.shares
            }
        }
        $ours = New-Container pester/iso:1 -Network none @options -Command sleep, 300 | Start-Container -PassThru
        $mine = & $read $ours.Id
        $mine.reservation | Should -Be '33554432'
        $mine.swappiness | Should -Be '10'
        $mine.oom | Should -Be 'oom_kill_disable 1'
        $mine.cpus | Should -Be '0'
        $mine.weight | Should -Be '300'
        if (-not (Get-Command runc -ErrorAction SilentlyContinue)) { Set-ItResult -Skipped -Because 'runc is not installed for the differential'; return }
        $theirs = New-Container pester/iso:1 -Network none -Runtime runc @options -Command sleep, 300 | Start-Container -PassThru
        (& $read $theirs.Id | ConvertTo-Json) | Should -Be ($mine | ConvertTo-Json)
    }
}

Describe '-Init' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'runs the command under an init that forwards SIGTERM and passes the exit code through' {
        (Invoke-Probe 'cat /proc/1/cmdline' @{ Init = $true }) | Should -Match '^/sbin/docker-init'
        Invoke-Probe 'exit 3' @{ Init = $true } | Out-Null
        $LASTEXITCODE | Should -Be 3

        # pid 1 ignores SIGTERM without a handler: without -Init, Stop-Container must wait and SIGKILL.
        New-Container pester/iso:1 -Name with-init -Network none -Init -Command sleep, 300 | Start-Container
        $watch = [Diagnostics.Stopwatch]::StartNew()
        $stopped = Stop-Container with-init -Timeout 20 -PassThru
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
        $stopped.ExitCode | Should -Be 143
    }

    It 'reaps orphaned children, which a plain pid 1 leaves as zombies' {
        # The subshell exits at once, so its sleep is reparented to pid 1; sh then execs sleep, which never reaps.
        $orphaning = '(sleep 0.2 &) ; exec sleep 300'
        New-Container pester/iso:1 -Name no-init -Network none -Command sh, -c, $orphaning | Start-Container
        New-Container pester/iso:1 -Name init -Network none -Init -Command sh, -c, $orphaning | Start-Container
        Start-Sleep -Seconds 1
        $zombies = { param($name) @(Invoke-ContainerCommand $name -Command ps, -o, 'stat,comm' | Where-Object { $_ -match '^\s*Z' }) }
        (& $zombies no-init).Count | Should -Be 1 -Because 'without an init the orphan is never reaped'
        (& $zombies init).Count | Should -Be 0
    }
}

Describe '-StopSignal and -StopTimeout' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'Stop-Container sends the container''s stop signal first' {
        New-Container pester/iso:1 -Name stop-int -Network none -StopSignal SIGINT -Command sh, -c, 'trap "exit 7" INT; sleep 300 & wait' | Start-Container
        Start-Sleep -Milliseconds 300
        $stopped = Stop-Container stop-int -PassThru
        $stopped.ExitCode | Should -Be 7 -Because 'only SIGINT runs the trap'
    }

    It 'Stop-Container waits the container''s stop timeout, unless -Timeout says otherwise' {
        # sleep as pid 1 ignores SIGTERM: the stop ends with SIGKILL after the grace period.
        New-Container pester/iso:1 -Name stop-fast -Network none -StopTimeout 1 -Command sleep, 300 | Start-Container
        $watch = [Diagnostics.Stopwatch]::StartNew()
        (Stop-Container stop-fast -PassThru).ExitCode | Should -Be 137
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because 'the container asked for 1 s, not docker''s 10'
        $watch.Elapsed.TotalSeconds | Should -BeGreaterThan 0.9
        Start-Container stop-fast
        $watch.Restart()
        Stop-Container stop-fast -Timeout 0
        $watch.Elapsed.TotalSeconds | Should -BeLessThan 1 -Because '-Timeout 0 kills at once'
    }

    It 'refuses a signal that is none (InvalidSignal)' {
        { New-Container pester/iso:1 -StopSignal SIGFOO -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
        { New-Container pester/iso:1 -StopSignal 99 -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSignal,*'
        Get-Container -All | Should -BeNullOrEmpty
    }
}
