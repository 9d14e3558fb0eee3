#Requires -Version 7
# psc-runtime (src/PSContainer.Native/native/runtime): the OCI runtime, driven through its command line only, on a
# busybox bundle whose config.json is what `runc spec` + Docker's defaults produce. Where runc is installed the same
# bundle also runs under runc and the two must agree. Linux, root.

BeforeDiscovery {
    $script:isRoot = $IsLinux -and ((& id -u) -eq '0')
    $script:hasBusybox = (Test-Path /bin/busybox) -and ((& file -L /bin/busybox) -match 'statically linked')
    $script:hasRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)
    $script:cgroupV2 = Test-Path /sys/fs/cgroup/cgroup.controllers
    $script:skipAll = -not ($isRoot -and $hasBusybox)
    $script:skipWhy = 'needs Linux, root and busybox-static'
}

BeforeAll {
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-runtime-test-$PID"
    $script:stateRoot = Join-Path $work 'state'
    $script:runcRoot = Join-Path $work 'runc-state'
    $script:bundle = Join-Path $work 'bundle'
    $script:rootfs = Join-Path $bundle 'rootfs'
    $script:cgroupParent = 'pscontainer-test'
    $script:cgroupV2 = Test-Path /sys/fs/cgroup/cgroup.controllers
    New-Item -ItemType Directory -Force $work, "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp", "$rootfs/home/user" | Out-Null

    # The runtime: $env:PSC_RUNTIME, else a fresh cmake build (never a stale copy), else what build.ps1 put in out/.
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:runtime = Get-TestRuntimeBinary -WorkDirectory $work

    # busybox rootfs: the static binary and one relative symlink per applet
    if (Test-Path /bin/busybox) {
        Copy-Item /bin/busybox "$rootfs/bin/busybox"
        foreach ($applet in (& /bin/busybox --list)) {
            if ($applet -ne 'busybox') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox -Force | Out-Null }
        }
    }
    Set-Content "$rootfs/etc/passwd" "root:x:0:0:root:/root:/bin/sh`nuser:x:1000:1000::/home/user:/bin/sh"
    Set-Content "$rootfs/etc/group" "root:x:0:`nuser:x:1000:"
    Set-Content "$rootfs/etc/not-executable" 'echo hi'
    & chmod 0644 "$rootfs/etc/not-executable"

    $script:dockerCaps = 'CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE' -split ' ' | ForEach-Object { "CAP_$_" }
    $script:masked = @('/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list',
        '/proc/timer_stats', '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap')
    $script:readonly = @('/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger')

    # config.json as `runc spec` writes it, with Docker's default capabilities, masked and read-only paths
    function New-TestSpec([string]$Id, [string[]]$Command) {
        [ordered]@{
            ociVersion = '1.0.2-dev'
            process = [ordered]@{
                terminal = $false
                user = @{ uid = 0; gid = 0 }
                args = $Command
                env = @('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm')
                cwd = '/'
                capabilities = [ordered]@{ bounding = $dockerCaps; effective = $dockerCaps; permitted = $dockerCaps; inheritable = @() }
                rlimits = @(@{ type = 'RLIMIT_NOFILE'; hard = 1024; soft = 1024 })
                noNewPrivileges = $true
            }
            root = @{ path = 'rootfs'; readonly = $true }
            hostname = 'psc-test'
            mounts = @(
                @{ destination = '/proc'; type = 'proc'; source = 'proc' }
                @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'strictatime', 'mode=755', 'size=65536k') }
                @{ destination = '/dev/pts'; type = 'devpts'; source = 'devpts'; options = @('nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5') }
                @{ destination = '/dev/shm'; type = 'tmpfs'; source = 'shm'; options = @('nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k') }
                @{ destination = '/dev/mqueue'; type = 'mqueue'; source = 'mqueue'; options = @('nosuid', 'noexec', 'nodev') }
                @{ destination = '/sys'; type = 'sysfs'; source = 'sysfs'; options = @('nosuid', 'noexec', 'nodev', 'ro') }
                @{ destination = '/sys/fs/cgroup'; type = 'cgroup'; source = 'cgroup'; options = @('nosuid', 'noexec', 'nodev', 'relatime', 'ro') }
            )
            linux = [ordered]@{
                resources = @{ devices = @(@{ allow = $false; access = 'rwm' }) }
                cgroupsPath = "/$cgroupParent/$Id"
                namespaces = @('pid', 'network', 'ipc', 'uts', 'mount', 'cgroup') | ForEach-Object { @{ type = $_ } }
                maskedPaths = $masked
                readonlyPaths = $readonly
            }
        }
    }

    function Save-TestSpec($Spec) { $Spec | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $bundle 'config.json') }

    # Runs a runtime with stdio on files (a created container keeps the stdio it was given, so never a pipe of ours).
    function Invoke-TestRuntime([string[]]$Arguments, [string]$Exe = $runtime, [string]$Root = $stateRoot) {
        $out = Join-Path $work "out-$([guid]::NewGuid().ToString('n'))"
        $err = "$out.err"
        try {
            & /bin/sh -c 'o=$1; e=$2; shift 2; exec "$@" </dev/null >"$o" 2>"$e"' sh $out $err $Exe --root $Root @Arguments
            [pscustomobject]@{
                ExitCode = $LASTEXITCODE
                Out = [string](Get-Content -Raw $out -ErrorAction SilentlyContinue)
                Err = [string](Get-Content -Raw $err -ErrorAction SilentlyContinue)
            }
        } finally { Remove-Item $out, $err -Force -ErrorAction SilentlyContinue }
    }

    # Writes the spec for a command and runs it to the end: exit code and output.
    function Invoke-TestContainer([string[]]$Command, [scriptblock]$Edit, [string]$Exe = $runtime, [string]$Root = $stateRoot) {
        $id = 't' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        $spec = New-TestSpec $id $Command
        if ($Edit) { & $Edit $spec }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--bundle', $bundle, $id) -Exe $Exe -Root $Root
        $r | Add-Member Id $id -PassThru
    }

    function Get-TestCgroupDir([string]$Id) {
        if ($cgroupV2) { return @("/sys/fs/cgroup/$cgroupParent/$Id") }
        Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName "$cgroupParent/$Id" }
    }

    # What a container may leave behind: its cgroup in any hierarchy, its state dir, a live process of its cgroup.
    # (A killed container whose parent was a `create` that has exited is reaped by the host's init: until then it
    # is a zombie, which runs nothing and holds nothing.)
    function Get-TestLeftover([string]$Id, [string]$Root = $stateRoot) {
        @(Get-TestCgroupDir $Id | Where-Object { Test-Path $_ }) +
        @(Join-Path $Root $Id | Where-Object { Test-Path $_ }) +
        @(Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$' | Where-Object {
            ((Get-Content "$($_.FullName)/cgroup" -Raw -ErrorAction SilentlyContinue) -match "/$cgroupParent/$Id\b") -and
            ((Get-Content "$($_.FullName)/stat" -Raw -ErrorAction SilentlyContinue) -replace '^.*\) ', '') -notmatch '^[ZX]' } |
            ForEach-Object { "process $($_.Name)" })
    }

    function ConvertFrom-TestMountInfo([string]$Text) {
        foreach ($line in ($Text -split "`n" | Where-Object { $_ })) {
            $f = $line -split ' '
            $dash = [array]::IndexOf($f, '-')
            [pscustomobject]@{ Root = $f[3]; MountPoint = $f[4]; Options = $f[5] -split ','; FsType = $f[$dash + 1]; Super = $f[$dash + 3] -split ',' }
        }
    }
}

AfterAll {
    if (Test-Path $stateRoot) {
        foreach ($d in Get-ChildItem $stateRoot -Directory) { Invoke-TestRuntime @('delete', '--force', $d.Name) | Out-Null }
    }
    if ($hasRunc -and (Test-Path $runcRoot)) {
        foreach ($d in Get-ChildItem $runcRoot -Directory) { & runc --root $runcRoot delete --force $d.Name *> $null }
    }
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
        $parent = Join-Path $h.FullName $cgroupParent
        if (Test-Path $parent) { Get-ChildItem $parent -Directory | ForEach-Object { & rmdir $_.FullName 2>$null }; & rmdir $parent 2>$null }
    }
    if ($cgroupV2 -and (Test-Path "/sys/fs/cgroup/$cgroupParent")) { & rmdir "/sys/fs/cgroup/$cgroupParent" 2>$null }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'psc-runtime run' -Skip:$skipAll {
    It 'exits with the command''s status: <Command>' -ForEach @(
        @{ Command = @('true'); Code = 0 }
        @{ Command = @('false'); Code = 1 }
        @{ Command = @('sh', '-c', 'exit 3'); Code = 3 }
    ) {
        $r = Invoke-TestContainer $Command
        $r.ExitCode | Should -Be $Code -Because $r.Err
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'exits 128+N when the command is killed by signal N' {
        # pid 1 of a pid namespace ignores even its own SIGKILL: without a pid namespace the shell is killable
        $r = Invoke-TestContainer @('sh', '-c', 'kill -9 $$') -Edit { param($s) $s.linux.namespaces = @($s.linux.namespaces | Where-Object type -ne 'pid') }
        $r.ExitCode | Should -Be 137 -Because $r.Err
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'runs the command as pid 1 of its own pid namespace' {
        $r = Invoke-TestContainer @('sh', '-c', 'echo $$; cat /proc/1/comm; ls -d /proc/[0-9]*')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $lines = $r.Out.Trim() -split "`n"
        $lines[0] | Should -Be '1'
        $lines[1] | Should -Be 'sh'
        $procs = $lines[2..($lines.Count - 1)]
        $procs | Should -Contain '/proc/1'
        $procs.Count | Should -BeLessOrEqual 2 # sh and ls, nothing of the host
    }

    It 'sets the hostname' {
        (Invoke-TestContainer @('hostname')).Out.Trim() | Should -Be 'psc-test'
    }

    It 'builds the mount table: proc, /dev, devpts, shm, mqueue, read-only sysfs and cgroup' {
        $r = Invoke-TestContainer @('cat', '/proc/self/mountinfo')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $m = ConvertFrom-TestMountInfo $r.Out
        ($m | Where-Object MountPoint -eq '/').Options | Should -Contain 'ro' # root.readonly
        ($m | Where-Object MountPoint -eq '/proc').FsType | Should -Be 'proc'
        ($m | Where-Object MountPoint -eq '/dev').FsType | Should -Be 'tmpfs'
        $pts = $m | Where-Object MountPoint -eq '/dev/pts'
        $pts.FsType | Should -Be 'devpts'
        $pts.Super | Should -Contain 'ptmxmode=666'
        ($m | Where-Object MountPoint -eq '/dev/shm').FsType | Should -Be 'tmpfs'
        ($m | Where-Object MountPoint -eq '/dev/mqueue').FsType | Should -Be 'mqueue'
        $sys = $m | Where-Object MountPoint -eq '/sys'
        $sys.FsType | Should -Be 'sysfs'
        $sys.Options | Should -Contain 'ro'
        $cg = @($m | Where-Object { $_.MountPoint -like '/sys/fs/cgroup*' })
        $cg | Should -Not -BeNullOrEmpty
        $cg | Where-Object FsType -in 'cgroup', 'cgroup2' | ForEach-Object { $_.Options | Should -Contain 'ro' }
    }

    It 'masks the masked paths and makes the read-only paths read-only' {
        $r = Invoke-TestContainer @('cat', '/proc/self/mountinfo')
        $m = ConvertFrom-TestMountInfo $r.Out
        foreach ($p in $masked | Where-Object { Test-Path $_ }) {
            $mp = $m | Where-Object MountPoint -eq $p | Select-Object -Last 1
            $mp | Should -Not -BeNullOrEmpty -Because "$p exists on the host and must be masked"
            if (Test-Path $p -PathType Container) { $mp.FsType | Should -Be 'tmpfs'; $mp.Options | Should -Contain 'ro' }
            else { $mp.Root | Should -Be '/null' }
        }
        foreach ($p in $readonly | Where-Object { Test-Path $_ }) {
            ($m | Where-Object MountPoint -eq $p | Select-Object -Last 1).Options | Should -Contain 'ro' -Because $p
        }
        $w = Invoke-TestContainer @('sh', '-c', 'echo 1 > /proc/sys/kernel/domainname')
        $w.ExitCode | Should -Not -Be 0
        $w.Err | Should -Match 'Read-only file system'
    }

    It 'gives Docker''s default capabilities and no_new_privs' {
        $r = Invoke-TestContainer @('cat', '/proc/self/status')
        $r.Out | Should -Match 'CapEff:\s+00000000a80425fb'
        $r.Out | Should -Match 'CapPrm:\s+00000000a80425fb'
        $r.Out | Should -Match 'CapBnd:\s+00000000a80425fb'
        $r.Out | Should -Match 'CapAmb:\s+0000000000000000'
        $r.Out | Should -Match 'NoNewPrivs:\s+1'
    }

    It 'runs as process.user with its additional groups and umask' {
        $r = Invoke-TestContainer @('sh', '-c', 'id; umask') -Edit {
            param($s) $s.process.user = @{ uid = 1000; gid = 1000; additionalGids = @(10, 20); umask = 63 }
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        ($r.Out -split "`n")[0] | Should -Match '^uid=1000\(user\) gid=1000\(user\) groups=10,20'
        ($r.Out -split "`n")[1] | Should -Be '0077'
    }

    It 'passes env and cwd' {
        $r = Invoke-TestContainer @('sh', '-c', 'echo "$FOO"; pwd') -Edit {
            param($s) $s.process.env += 'FOO=bar baz'; $s.process.cwd = '/home/user'
        }
        $r.Out.Trim() -split "`n" | Should -Be @('bar baz', '/home/user')
    }

    It 'sets rlimits' {
        $r = Invoke-TestContainer @('sh', '-c', 'ulimit -n; ulimit -Hn') -Edit {
            param($s) $s.process.rlimits = @(@{ type = 'RLIMIT_NOFILE'; soft = 512; hard = 2048 })
        }
        $r.Out.Trim() -split "`n" | Should -Be @('512', '2048')
    }

    It 'sets namespaced sysctls and refuses the others' {
        $r = Invoke-TestContainer @('cat', '/proc/sys/net/ipv4/ip_forward', '/proc/sys/kernel/shmmax') -Edit {
            param($s) $s.linux.sysctl = @{ 'net.ipv4.ip_forward' = '1'; 'kernel.shmmax' = '123456789' }
        }
        $r.Out.Trim() -split "`n" | Should -Be @('1', '123456789')
        $bad = Invoke-TestContainer @('true') -Edit { param($s) $s.linux.sysctl = @{ 'kernel.panic' = '1' } }
        $bad.ExitCode | Should -Be 1
        $bad.Err | Should -Match 'kernel.panic'
        Get-TestLeftover $bad.Id | Should -BeNullOrEmpty
    }

    It 'forwards nothing of the runtime: only fds 0-2 and a cwd inside the container (CVE-2024-21626)' {
        $r = Invoke-TestContainer @('sh', '-c', 'ls /proc/self/fd; echo cwd=$(readlink /proc/1/cwd)') -Edit {
            param($s) $s.process.cwd = '/tmp'
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $lines = $r.Out.Trim() -split "`n"
        # 0 1 2, and 3 is ls's own directory fd
        ($lines | Where-Object { $_ -match '^\d+$' }) | Should -Be @('0', '1', '2', '3')
        $lines[-1] | Should -Be 'cwd=/tmp'
    }

    It 'joins a user namespace with the spec''s id maps' {
        $r = Invoke-TestContainer @('sh', '-c', 'cat /proc/self/uid_map /proc/self/gid_map; id -u') -Edit {
            param($s)
            $s.linux.namespaces += @{ type = 'user' }
            $s.linux.uidMappings = @(@{ containerID = 0; hostID = 200000; size = 65536 })
            $s.linux.gidMappings = @(@{ containerID = 0; hostID = 200000; size = 65536 })
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $lines = $r.Out.Trim() -split "`n"
        $lines[0] | Should -Match '^\s*0\s+200000\s+65536$'
        $lines[1] | Should -Match '^\s*0\s+200000\s+65536$'
        $lines[2] | Should -Be '0'
    }

    It 'bind-mounts with options, creating the mount point inside the rootfs' {
        $src = Join-Path $work 'bindsrc'
        New-Item -ItemType Directory -Force $src | Out-Null
        Set-Content "$src/hello" 'from the host'
        $r = Invoke-TestContainer @('sh', '-c', 'cat /data/sub/hello; grep " /data/sub " /proc/self/mountinfo; touch /data/sub/x') -Edit {
            param($s) $s.mounts += @{ destination = '/data/sub'; type = 'bind'; source = $src; options = @('rbind', 'ro', 'nosuid', 'nodev') }
        } 
        $r.Out | Should -Match 'from the host'
        $r.Out | Should -Match ' /data/sub ro,nosuid,nodev'
        $r.Err | Should -Match 'Read-only file system'
        Test-Path "$rootfs/data/sub" | Should -BeTrue # made in the image (readonly root is remounted after the mounts)
        Remove-Item -Recurse -Force "$rootfs/data"
    }

    It 'does not follow a symlink out of the rootfs when making a mount point' {
        $outside = Join-Path $work 'outside'
        New-Item -ItemType Directory -Force $outside | Out-Null
        New-Item -ItemType SymbolicLink -Path "$rootfs/escape" -Target $outside -Force | Out-Null
        try {
            $r = Invoke-TestContainer @('true') -Edit {
                param($s) $s.mounts += @{ destination = '/escape/victim'; type = 'tmpfs'; source = 'tmpfs'; options = @('size=1m') }
            }
            # the link is resolved inside the rootfs, where its target does not exist
            $r.ExitCode | Should -Be 1
            $r.Err | Should -Match 'escape'
            Test-Path "$outside/victim" | Should -BeFalse
            Get-TestLeftover $r.Id | Should -BeNullOrEmpty
        } finally {
            Remove-Item "$rootfs/escape" -Force
        }
    }

    It 'creates linux.devices' {
        $r = Invoke-TestContainer @('ls', '-l', '/dev/mydev') -Edit {
            param($s)
            $s.linux.devices = @(@{ path = '/dev/mydev'; type = 'c'; major = 1; minor = 3; fileMode = 438; uid = 0; gid = 0 })
            $s.linux.resources.devices += @{ allow = $true; type = 'c'; major = 1; minor = 3; access = 'rwm' }
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Match '^crw-rw-rw-.*1,\s+3'
    }
}

Describe 'psc-runtime lifecycle' -Skip:$skipAll {
    BeforeEach {
        $script:id = 'l' + [guid]::NewGuid().ToString('n').Substring(0, 12)
    }
    AfterEach {
        Invoke-TestRuntime @('delete', '--force', $id) | Out-Null
    }

    It 'create -> created -> start -> running -> kill -> stopped -> delete, leaving nothing' {
        $spec = New-TestSpec $id @('sleep', '300')
        Save-TestSpec $spec
        $pidFile = Join-Path $work "$id.pid"
        $c = Invoke-TestRuntime @('create', '--bundle', $bundle, '--pid-file', $pidFile, $id)
        $c.ExitCode | Should -Be 0 -Because $c.Err
        $state = (Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json
        $state.status | Should -Be 'created'
        $state.id | Should -Be $id
        $state.bundle | Should -Be $bundle
        $state.pid | Should -Be ([int](Get-Content $pidFile))
        # before start the process is the runtime itself, from a sealed memfd (CVE-2019-5736)
        (& readlink "/proc/$($state.pid)/exe") | Should -Match '^/memfd:psc-runtime'
        (Invoke-TestRuntime @('list', '-q')).Out.Trim() -split "`n" | Should -Contain $id
        $s = Invoke-TestRuntime @('start', $id)
        $s.ExitCode | Should -Be 0 -Because $s.Err
        ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status | Should -Be 'running'
        (Get-Content "/proc/$($state.pid)/cmdline" -Raw) -replace "`0", ' ' | Should -Match '^sleep 300'
        $list = (Invoke-TestRuntime @('list', '--format', 'json')).Out | ConvertFrom-Json
        ($list | Where-Object id -eq $id).status | Should -Be 'running'
        (Invoke-TestRuntime @('start', $id)).ExitCode | Should -Be 1
        (Invoke-TestRuntime @('delete', $id)).ExitCode | Should -Be 1 # running, no --force
        (Invoke-TestRuntime @('kill', $id, 'KILL')).ExitCode | Should -Be 0
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do { Start-Sleep -Milliseconds 50; $st = ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status }
        while ($st -ne 'stopped' -and [DateTime]::UtcNow -lt $deadline)
        $st | Should -Be 'stopped'
        $d = Invoke-TestRuntime @('delete', $id)
        $d.ExitCode | Should -Be 0 -Because $d.Err
        Get-TestLeftover $id | Should -BeNullOrEmpty
        (Invoke-TestRuntime @('state', $id)).ExitCode | Should -Be 1
    }

    It 'kill takes <Signal>' -ForEach @(@{ Signal = 'TERM' }, @{ Signal = 'SIGTERM' }, @{ Signal = '15' }) {
        Save-TestSpec (New-TestSpec $id @('sh', '-c', 'trap "exit 42" TERM; while :; do sleep 0.05; done'))
        (Invoke-TestRuntime @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        (Invoke-TestRuntime @('start', $id)).ExitCode | Should -Be 0
        Start-Sleep -Milliseconds 200
        (Invoke-TestRuntime @('kill', $id, $Signal)).ExitCode | Should -Be 0
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do { Start-Sleep -Milliseconds 50; $st = ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status }
        while ($st -ne 'stopped' -and [DateTime]::UtcNow -lt $deadline)
        $st | Should -Be 'stopped'
        (Invoke-TestRuntime @('kill', $id, 'BOGUS')).ExitCode | Should -Be 1
    }

    It 'kill --all signals every process in the cgroup; delete --force of a running container cleans up' {
        Save-TestSpec (New-TestSpec $id @('sh', '-c', 'sleep 300 & sleep 300 & wait'))
        (Invoke-TestRuntime @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        (Invoke-TestRuntime @('start', $id)).ExitCode | Should -Be 0
        Start-Sleep -Milliseconds 300
        $procs = Get-Content ((Get-TestCgroupDir $id | Where-Object { $_ -match '/pids/|^/sys/fs/cgroup/pscontainer' } | Select-Object -First 1) + '/cgroup.procs')
        @($procs).Count | Should -Be 3
        (Invoke-TestRuntime @('kill', '--all', $id, 'STOP')).ExitCode | Should -Be 0
        Start-Sleep -Milliseconds 200
        foreach ($p in $procs) { (Get-Content "/proc/$p/stat" -Raw) -replace '^.*\) ', '' | Should -Match '^T' }
        $d = Invoke-TestRuntime @('delete', '--force', $id)
        $d.ExitCode | Should -Be 0 -Because $d.Err
        Get-TestLeftover $id | Should -BeNullOrEmpty
        # gone, or zombies waiting for the host's reaper: none runs
        foreach ($p in $procs) { (Get-Content "/proc/$p/stat" -Raw -ErrorAction SilentlyContinue) -replace '^.*\) ', '' | Should -Not -Match '^[RST]' }
    }

    It 'writes the spec''s limits into the container''s cgroup before it runs' {
        $spec = New-TestSpec $id @('sleep', '300')
        $spec.linux.resources.memory = @{ limit = 67108864 }
        $spec.linux.resources.cpu = @{ shares = 512; quota = 50000; period = 100000 }
        $spec.linux.resources.pids = @{ limit = 42 }
        Save-TestSpec $spec
        (Invoke-TestRuntime @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        if ($cgroupV2) {
            $d = "/sys/fs/cgroup/$cgroupParent/$id"
            (Get-Content "$d/memory.max").Trim() | Should -Be '67108864'
            (Get-Content "$d/cpu.max").Trim() | Should -Be '50000 100000'
            (Get-Content "$d/pids.max").Trim() | Should -Be '42'
        } else {
            (Get-Content "/sys/fs/cgroup/memory/$cgroupParent/$id/memory.limit_in_bytes").Trim() | Should -Be '67108864'
            (Get-Content "/sys/fs/cgroup/cpu/$cgroupParent/$id/cpu.cfs_quota_us").Trim() | Should -Be '50000'
            (Get-Content "/sys/fs/cgroup/cpu/$cgroupParent/$id/cpu.cfs_period_us").Trim() | Should -Be '100000'
            (Get-Content "/sys/fs/cgroup/cpu/$cgroupParent/$id/cpu.shares").Trim() | Should -Be '512'
            (Get-Content "/sys/fs/cgroup/pids/$cgroupParent/$id/pids.max").Trim() | Should -Be '42'
            (Get-Content "/sys/fs/cgroup/devices/$cgroupParent/$id/devices.list") | Should -Contain 'c 1:3 rwm'
        }
        $pid1 = ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).pid
        foreach ($d in Get-TestCgroupDir $id) { Get-Content "$d/cgroup.procs" | Should -Contain "$pid1" -Because $d } # hybrid's unified too
        (Invoke-TestRuntime @('delete', $id)).ExitCode | Should -Be 0 # created: delete kills it
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'writes the rest of linux.resources: reservation, swappiness, OOM killer, cpuset, cpu burst and idle, block I/O' {
        $disk = (Get-ChildItem /sys/block | Where-Object { $_.Name -notmatch '^(loop|ram|zram|nbd)' } | Select-Object -First 1 |
            ForEach-Object { (Get-Content "$($_.FullName)/dev").Trim() })
        $major, $minor = $disk -split ':'
        $spec = New-TestSpec $id @('sleep', '300')
        $spec.linux.resources.memory = @{ limit = 67108864; reservation = 33554432; swappiness = 7; disableOOMKiller = $true }
        $spec.linux.resources.cpu = @{ cpus = '0'; mems = '0'; burst = 1000; idle = 1 }
        $spec.linux.resources.blockIO = @{ weight = 300; throttleReadBpsDevice = @(@{ major = [int]$major; minor = [int]$minor; rate = 1048576 })
            throttleWriteIOPSDevice = @(@{ major = [int]$major; minor = [int]$minor; rate = 100 }) }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        if ($cgroupV2) {
            $d = "/sys/fs/cgroup/$cgroupParent/$id"
            (Get-Content "$d/memory.low").Trim() | Should -Be '33554432'
            (Get-Content "$d/cpuset.cpus").Trim() | Should -Be '0'
            (Get-Content "$d/cpu.idle").Trim() | Should -Be '1'
            Get-Content "$d/io.max" | Should -Contain "$disk rbps=1048576 wbps=max riops=max wiops=100"
        } else {
            $cg = { param($c, $f) (Get-Content "/sys/fs/cgroup/$c/$cgroupParent/$id/$f" | Select-Object -First 1).Trim() }
            & $cg memory memory.soft_limit_in_bytes | Should -Be '33554432'
            & $cg memory memory.swappiness | Should -Be '7'
            & $cg memory memory.oom_control | Should -Be 'oom_kill_disable 1'
            & $cg cpuset cpuset.cpus | Should -Be '0'
            & $cg cpuset cpuset.mems | Should -Be '0'
            & $cg cpu cpu.cfs_burst_us | Should -Be '1000'
            & $cg cpu cpu.idle | Should -Be '1'
            $weight = @('blkio.weight', 'blkio.bfq.weight') | Where-Object { Test-Path "/sys/fs/cgroup/blkio/$cgroupParent/$id/$_" } | Select-Object -First 1
            & $cg blkio $weight | Should -Match '^(default )?300$'
            & $cg blkio blkio.throttle.read_bps_device | Should -Be "$disk 1048576"
            & $cg blkio blkio.throttle.write_iops_device | Should -Be "$disk 100"
        }
        (Invoke-TestRuntime @('delete', $id)).ExitCode | Should -Be 0
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'refuses <Case> before the container runs, and leaves nothing' -TestCases @(
        @{ Case = 'a kernel memory limit'; Resources = @{ memory = @{ kernel = 1048576 } }; Message = 'kernel' }
        @{ Case = 'swappiness over 100'; Resources = @{ memory = @{ swappiness = 101 } }; Message = 'swappiness' }
        @{ Case = 'a blkio leaf weight'; Resources = @{ blockIO = @{ leafWeight = 100 } }; Message = 'leafWeight' }
        @{ Case = 'rdma limits'; Resources = @{ rdma = @{ mlx4_0 = @{ hcaHandles = 1 } } }; Message = 'rdma' }
        @{ Case = 'a unified key with a slash'; Resources = @{ unified = @{ '../x' = '1' } }; Message = 'unified' }
        @{ Case = 'the unified map on cgroup v1'; Resources = @{ unified = @{ 'memory.high' = '1000000' } }; Message = 'unified'; V1Only = $true }
        @{ Case = 'huge page limits without the hugetlb controller'; Resources = @{ hugepageLimits = @(@{ pageSize = '2MB'; limit = 2097152 }) }; Message = 'hugetlb'; Needs = 'hugetlb' }
        @{ Case = 'a net_cls class without the net_cls controller'; Resources = @{ network = @{ classID = 1048577 } }; Message = 'net_cls'; Needs = 'net_cls' }
    ) {
        if ($V1Only -and $cgroupV2) { Set-ItResult -Skipped -Because 'this host runs cgroup v2, where the unified map applies'; return }
        if ($Needs -and -not $cgroupV2 -and (Test-Path "/sys/fs/cgroup/$Needs")) { Set-ItResult -Skipped -Because "this host has mounted the $Needs controller"; return }
        $spec = New-TestSpec $id @('true')
        foreach ($k in $Resources.Keys) { $spec.linux.resources[$k] = $Resources[$k] }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Not -Be 0
        $r.Err | Should -Match $Message
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'refuses a second container with the same id' {
        Save-TestSpec (New-TestSpec $id @('sleep', '300'))
        (Invoke-TestRuntime @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        $again = Invoke-TestRuntime @('create', '--bundle', $bundle, $id)
        $again.ExitCode | Should -Be 1
        $again.Err | Should -Match 'already exists'
        ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status | Should -Be 'created'
    }
}

Describe 'psc-runtime errors before execve' -Skip:$skipAll {
    It '<Name>: exit <Code>, one error line, nothing left behind' -ForEach @(
        @{ Name = 'missing command'; Code = 127; Command = @('nosuchcmd'); Message = 'exec: "nosuchcmd": executable file not found in \$PATH' }
        @{ Name = 'missing path'; Code = 127; Command = @('/bin/nosuch'); Message = '/bin/nosuch' }
        @{ Name = 'not executable'; Code = 126; Command = @('/etc/not-executable'); Message = 'Permission denied' }
        @{ Name = 'a directory'; Code = 126; Command = @('/etc'); Message = '[Ii]s a directory' }
        @{ Name = 'bad mount source'; Code = 1; Command = @('true'); Message = 'mount source /nonexistent/psc-src: No such file or directory \(errno 2\)'
           Edit = { param($s) $s.mounts += @{ destination = '/data'; type = 'bind'; source = '/nonexistent/psc-src'; options = @('rbind') } } }
        @{ Name = 'invalid capability'; Code = 1; Command = @('true'); Message = 'CAP_BOGUS'
           Edit = { param($s) $s.process.capabilities.bounding += 'CAP_BOGUS' } }
        @{ Name = 'unknown rlimit'; Code = 1; Command = @('true'); Message = 'RLIMIT_BOGUS'
           Edit = { param($s) $s.process.rlimits += @{ type = 'RLIMIT_BOGUS'; soft = 1; hard = 1 } } }
        @{ Name = 'terminal without console socket'; Code = 1; Command = @('true'); Message = 'console-socket'
           Edit = { param($s) $s.process.terminal = $true } }
    ) {
        $r = Invoke-TestContainer $Command -Edit $Edit
        $r.ExitCode | Should -Be $Code
        $r.Err | Should -Match "^psc-runtime: .*$Message"
        @($r.Err.Trim() -split "`n").Count | Should -Be 1
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'create fails the same way (the check happens before create returns)' {
        $id = 'e' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        Save-TestSpec (New-TestSpec $id @('nosuchcmd'))
        $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 127
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'writes the error to --log as JSON' {
        $log = Join-Path $work 'runtime.log'
        $id = 'e' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        Save-TestSpec (New-TestSpec $id @('nosuchcmd'))
        $r = Invoke-TestRuntime @('--log', $log, '--log-format', 'json', 'run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 127
        $rec = Get-Content $log | Select-Object -Last 1 | ConvertFrom-Json
        $rec.level | Should -Be 'error'
        $rec.msg | Should -Be 'exec: "nosuchcmd": executable file not found in $PATH'
        $rec.time | Should -Not -BeNullOrEmpty
    }
}

Describe 'psc-runtime and CVE-2019-5736 (runtime binary overwrite through /proc/PID/exe)' -Skip:$skipAll {
    It 'a privileged container process cannot write the runtime through /proc/PID/exe of its runtime' {
        $before = (Get-FileHash -Algorithm SHA256 $runtime).Hash
        # no pid namespace and every capability the host has: the runtime (our parent) is visible and ptrace-able
        $hostCaps = [Convert]::ToUInt64(((Get-Content /proc/self/status | Select-String '^CapEff:').Line -split '\s+')[1], 16)
        $all = 0..40 | Where-Object { $hostCaps -band ([uint64]1 -shl $_) } | ForEach-Object {
            @('CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
              'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
              'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD',
              'LEASE', 'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND',
              'AUDIT_READ', 'PERFMON', 'BPF', 'CHECKPOINT_RESTORE')[$_] } | ForEach-Object { "CAP_$_" }
        $script = 'p=$PPID; echo exe=$(readlink /proc/$p/exe); ' +
            '(echo pwned >> /proc/$p/exe) 2>/dev/null && echo WROTE-APPEND; ' +
            '(echo pwned > /proc/$p/exe) 2>/dev/null && echo WROTE-TRUNC; ' +
            'exec 3</proc/$p/exe && echo held; (echo pwned >> /proc/self/fd/3) 2>/dev/null && echo WROTE-FD; true'
        $r = Invoke-TestContainer @('sh', '-c', $script) -Edit {
            param($s)
            $s.linux.namespaces = @($s.linux.namespaces | Where-Object type -ne 'pid')
            $s.process.capabilities = [ordered]@{ bounding = $all; effective = $all; permitted = $all; inheritable = @() }
            $s.process.noNewPrivileges = $false
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Match 'exe=/memfd:psc-runtime'
        $r.Out | Should -Match 'held'
        $r.Out | Should -Not -Match 'WROTE'
        (Get-FileHash -Algorithm SHA256 $runtime).Hash | Should -Be $before
    }

    It 'a container that execs /proc/self/exe runs the sealed copy, not the file on disk' {
        # the runtime is dynamically linked: give the rootfs its loader and libc so that it can run there at all
        $libs = @(& ldd $runtime | ForEach-Object { if ($_ -match '(/\S+)\s+\(0x') { $Matches[1] } })
        foreach ($l in $libs) { New-Item -ItemType Directory -Force (Split-Path "$rootfs$l") | Out-Null; Copy-Item $l "$rootfs$l" }
        try {
            $before = (Get-FileHash -Algorithm SHA256 $runtime).Hash
            $r = Invoke-TestContainer @('/proc/self/exe', '--version')
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $r.Out | Should -Match 'psc-runtime version'
            (Get-FileHash -Algorithm SHA256 $runtime).Hash | Should -Be $before
        } finally {
            foreach ($l in $libs) { Remove-Item "$rootfs$l" -Force -ErrorAction SilentlyContinue }
            Remove-Item -Recurse -Force "$rootfs/lib", "$rootfs/lib64" -ErrorAction SilentlyContinue
        }
    }
}

Describe 'psc-runtime against runc on the same bundle' -Skip:($skipAll -or -not $hasRunc) {
    BeforeAll {
        $script:probe = 'hostname; echo pid=$$; id; grep -E "^(CapEff|CapBnd|CapPrm|NoNewPrivs)" /proc/self/status; ' +
            'echo "foo=$FOO"; pwd; ulimit -n; ' +
            'cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max; ' +
            'cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max; ' +
            'cat /sys/fs/cgroup/cpu/cpu.cfs_quota_us 2>/dev/null || cat /sys/fs/cgroup/cpu.max; ' +
            'cat /proc/self/cgroup | grep -v "^0::" | sort; ls /dev | sort | tr "\n" " "; echo; exit 7'
        $script:edit = {
            param($s)
            $s.process.user = @{ uid = 1000; gid = 1000; additionalGids = @(10) }
            $s.process.env += 'FOO=bar'
            $s.process.cwd = '/home/user'
            $s.linux.resources.memory = @{ limit = 67108864 }
            $s.linux.resources.pids = @{ limit = 64 }
            $s.linux.resources.cpu = @{ quota = 20000; period = 100000 }
        }
    }

    It 'agrees on hostname, pid 1, user, capabilities, env, cwd, rlimits, cgroup limits, /dev and exit code' {
        $ours = Invoke-TestContainer @('sh', '-c', $probe) -Edit $edit
        $theirs = Invoke-TestContainer @('sh', '-c', $probe) -Edit $edit -Exe runc -Root $runcRoot
        $theirs.ExitCode | Should -Be 7 -Because $theirs.Err
        $ours.ExitCode | Should -Be 7 -Because $ours.Err
        $ours.Out | Should -Be $theirs.Out
        Get-TestLeftover $ours.Id | Should -BeNullOrEmpty
    }

    It 'agrees on the set of mount points' {
        $ours = Invoke-TestContainer @('cat', '/proc/self/mountinfo')
        $theirs = Invoke-TestContainer @('cat', '/proc/self/mountinfo') -Exe runc -Root $runcRoot
        $a = (ConvertFrom-TestMountInfo $ours.Out).MountPoint | Sort-Object -Unique
        $b = (ConvertFrom-TestMountInfo $theirs.Out).MountPoint | Sort-Object -Unique
        $a | Should -Be $b
        # and on what is read-only
        $roOurs = (ConvertFrom-TestMountInfo $ours.Out | Where-Object { $_.Options -contains 'ro' }).MountPoint | Sort-Object -Unique
        $roTheirs = (ConvertFrom-TestMountInfo $theirs.Out | Where-Object { $_.Options -contains 'ro' }).MountPoint | Sort-Object -Unique
        Compare-Object $roOurs $roTheirs | Where-Object { $_.InputObject -ne '/sys/fs/cgroup' } | Should -BeNullOrEmpty
    }

    It 'agrees on exit codes <Code>' -ForEach @(@{ Code = 0 }, @{ Code = 1 }, @{ Code = 3 }, @{ Code = 255 }) {
        $ours = Invoke-TestContainer @('sh', '-c', "exit $Code")
        $theirs = Invoke-TestContainer @('sh', '-c', "exit $Code") -Exe runc -Root $runcRoot
        $ours.ExitCode | Should -Be $theirs.ExitCode
    }
}

Describe 'psc-runtime exec, ps, pause and resume' -Skip:$skipAll {
    BeforeAll {
        $script:hasPython = [bool](Get-Command python3 -ErrorAction SilentlyContinue)
        # runc's recvtty in 20 lines: takes the pty master a runtime sends over --console-socket and reads it to the end
        $script:recvtty = Join-Path $work 'recvtty.py'
        Set-Content $recvtty @'
import socket, sys, os
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(20)
open(out + '.ready', 'w').close()
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 1)
data = b''
while True:
    try: d = os.read(fds[0], 4096)
    except OSError: break
    if not d: break
    data += d
open(out, 'w').write('NAME=' + msg.decode() + '\n' + data.decode(errors='replace'))
'@
        # Starts the receiver, returns the socket path; Receive-TestTty waits for what the pty showed.
        function Start-TestTty {
            $sock = Join-Path $work "tty-$([guid]::NewGuid().ToString('n').Substring(0, 8)).sock"
            $out = "$sock.out"
            $script:ttyProc = Start-Process python3 -ArgumentList $recvtty, $sock, $out -PassThru
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not (Test-Path "$out.ready") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            $sock
        }
        function Receive-TestTty([string]$Sock) {
            if (-not $ttyProc.WaitForExit(20000)) { $ttyProc.Kill() }
            $text = Get-Content -Raw "$Sock.out" -ErrorAction SilentlyContinue
            Remove-Item $Sock, "$Sock.out", "$Sock.out.ready" -Force -ErrorAction SilentlyContinue
            $text
        }
        function Wait-TestStatus([string]$Id, [string]$Status) {
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            do { $st = ((Invoke-TestRuntime @('state', $Id)).Out | ConvertFrom-Json).status; if ($st -eq $Status) { break }; Start-Sleep -Milliseconds 50 }
            while ([DateTime]::UtcNow -lt $deadline)
            $st
        }
    }
    BeforeEach {
        $script:id = 'x' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        $spec = New-TestSpec $id @('sleep', '300')
        Save-TestSpec $spec
        (Invoke-TestRuntime @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        (Invoke-TestRuntime @('start', $id)).ExitCode | Should -Be 0
        $script:initPid = ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).pid
    }
    AfterEach {
        Invoke-TestRuntime @('delete', '--force', $id) | Out-Null
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'exec runs a command in every namespace and the cgroup of the container, with its exit status' {
        $r = Invoke-TestRuntime @('exec', $id, 'sh', '-c', 'hostname; cat /proc/1/cmdline | tr "\0" " "; echo; cat /proc/self/cgroup; exit 7')
        $r.ExitCode | Should -Be 7 -Because $r.Err
        $lines = $r.Out -split "`n"
        $lines[0] | Should -Be 'psc-test'
        $lines[1].Trim() | Should -Be 'sleep 300' # pid 1 of the container's pid namespace
        $r.Out | Should -Not -Match ':/pscontainer-test/' # in its cgroup namespace its cgroup is "/"
        $r2 = Invoke-TestRuntime @('exec', $id, 'sh', '-c', 'cat /proc/self/status | grep -E "^(CapEff|NoNewPrivs)"; ls /proc/self/fd')
        $r2.Out | Should -Match 'CapEff:\s+00000000a80425fb'
        $r2.Out | Should -Match 'NoNewPrivs:\s+1'
        ($r2.Out -split "`n" | Where-Object { $_ -match '^\d+$' }) | Should -Be @('0', '1', '2', '3')
    }

    It 'exec --env --cwd --user --cap override the container''s process settings' {
        $r = Invoke-TestRuntime @('exec', '--env', 'FOO=bar', '--env', 'TERM=dumb', '--cwd', '/home/user', '--user', '1000:1000',
            '--cap', 'CAP_SYS_ADMIN', $id, 'sh', '-c', 'echo "$FOO $TERM"; pwd; id -u; id -g; grep CapBnd /proc/self/status')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $lines = $r.Out -split "`n"
        $lines[0] | Should -Be 'bar dumb'
        $lines[1] | Should -Be '/home/user'
        $lines[2] | Should -Be '1000'
        $lines[3] | Should -Be '1000'
        $lines[4] | Should -Match 'CapBnd:\s+00000000a82425fb' # + CAP_SYS_ADMIN (21)
    }

    It 'exec --process FILE runs a process.json' {
        $proc = @{ terminal = $false; user = @{ uid = 1000; gid = 1000; additionalGids = @(10) }; args = @('sh', '-c', 'id; echo $X; ulimit -n')
            env = @('PATH=/bin', 'X=from-process-json'); cwd = '/tmp'; rlimits = @(@{ type = 'RLIMIT_NOFILE'; soft = 300; hard = 300 }) }
        $pf = Join-Path $work "$id-process.json"
        $proc | ConvertTo-Json -Depth 5 | Set-Content $pf
        $r = Invoke-TestRuntime @('exec', '--process', $pf, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out -split "`n" | Select-Object -First 3 | Should -Be @('uid=1000(user) gid=1000(user) groups=10', 'from-process-json', '300')
    }

    It 'exec --detach --pid-file returns at once; the process runs in the container' {
        $pf = Join-Path $work "$id-exec.pid"
        $r = Invoke-TestRuntime @('exec', '--detach', '--pid-file', $pf, $id, 'sleep', '30')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $p = [int](Get-Content $pf)
        (Get-Content "/proc/$p/cmdline" -Raw) -replace "`0", ' ' | Should -Match '^sleep 30'
        (& readlink "/proc/$p/ns/pid") | Should -Be (& readlink "/proc/$initPid/ns/pid")
        (& readlink "/proc/$p/ns/mnt") | Should -Be (& readlink "/proc/$initPid/ns/mnt")
        (& readlink "/proc/$p/ns/net") | Should -Be (& readlink "/proc/$initPid/ns/net")
        $ps = (Invoke-TestRuntime @('ps', '--format', 'json', $id)).Out | ConvertFrom-Json
        $ps | Should -Contain $p
        $ps | Should -Contain $initPid
    }

    It 'exec fails like runc: missing command 127, unknown container, stopped container' {
        $r = Invoke-TestRuntime @('exec', $id, 'nosuchcmd')
        $r.ExitCode | Should -Be 127
        $r.Err | Should -Match 'executable file not found'
        $u = Invoke-TestRuntime @('exec', 'no-such-container', 'true')
        $u.ExitCode | Should -Be 1
        $u.Err | Should -Match 'does not exist'
        (Invoke-TestRuntime @('kill', $id, 'KILL')).ExitCode | Should -Be 0
        Wait-TestStatus $id 'stopped' | Should -Be 'stopped'
        $s = Invoke-TestRuntime @('exec', $id, 'true')
        $s.ExitCode | Should -Be 1
        $s.Err | Should -Match 'stopped'
    }

    It 'exec --tty sends a pty master over --console-socket; the process has it as its controlling terminal' -Skip:(-not (Get-Command python3 -ErrorAction SilentlyContinue)) {
        $sock = Start-TestTty
        $r = Invoke-TestRuntime @('exec', '--tty', '--console-socket', $sock, $id, 'sh', '-c', 'tty; cat /proc/self/stat | cut -d" " -f7; echo done')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $text = Receive-TestTty $sock
        $text | Should -Match 'NAME=/dev/pts/\d+'
        $text | Should -Match '(?m)^/dev/pts/\d+\r?$'
        $text | Should -Match '(?m)^\d*[1-9]\d*\r?$' # tty_nr is not 0: a controlling terminal
        $text | Should -Match 'done'
    }

    It 'ps lists the container''s processes (table and json)' {
        (Invoke-TestRuntime @('exec', '--detach', $id, 'sleep', '31')).ExitCode | Should -Be 0
        $t = Invoke-TestRuntime @('ps', $id)
        $t.ExitCode | Should -Be 0 -Because $t.Err
        $lines = $t.Out.Trim() -split "`n"
        $lines[0] | Should -Match '\bPID\b'
        $lines.Count | Should -Be 3
        $t.Out | Should -Match 'sleep 300'
        $t.Out | Should -Match 'sleep 31'
        @((Invoke-TestRuntime @('ps', '-f', 'json', $id)).Out | ConvertFrom-Json).Count | Should -Be 2
    }

    It 'pause freezes every process (state paused), resume thaws them; exec refuses a paused container' {
        $p = Invoke-TestRuntime @('pause', $id)
        $p.ExitCode | Should -Be 0 -Because $p.Err
        ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status | Should -Be 'paused'
        ((Invoke-TestRuntime @('list', '--format', 'json')).Out | ConvertFrom-Json | Where-Object id -eq $id).status | Should -Be 'paused'
        if ($cgroupV2) { Get-Content "/sys/fs/cgroup/$cgroupParent/$id/cgroup.events" | Should -Contain 'frozen 1' }
        else { (Get-Content "/sys/fs/cgroup/freezer/$cgroupParent/$id/freezer.state").Trim() | Should -Be 'FROZEN' }
        (Invoke-TestRuntime @('exec', $id, 'true')).Err | Should -Match 'paused'
        (Invoke-TestRuntime @('pause', $id)).ExitCode | Should -Be 1
        $r = Invoke-TestRuntime @('resume', $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        ((Invoke-TestRuntime @('state', $id)).Out | ConvertFrom-Json).status | Should -Be 'running'
        (Invoke-TestRuntime @('exec', $id, 'true')).ExitCode | Should -Be 0
        (Invoke-TestRuntime @('resume', $id)).ExitCode | Should -Be 1
    }

    It 'delete --force removes a paused container' {
        (Invoke-TestRuntime @('pause', $id)).ExitCode | Should -Be 0
        (Invoke-TestRuntime @('delete', $id)).ExitCode | Should -Be 1
        $d = Invoke-TestRuntime @('delete', '--force', $id)
        $d.ExitCode | Should -Be 0 -Because $d.Err
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }
}

Describe 'psc-runtime create options, terminal and hooks' -Skip:$skipAll {
    BeforeAll {
        Set-Content (Join-Path $work 'recvtty.py') @'
import socket, sys, os
path, out = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path); s.listen(1); s.settimeout(20)
open(out + '.ready', 'w').close()
c, _ = s.accept()
msg, fds, flags, addr = socket.recv_fds(c, 1024, 1)
data = b''
while True:
    try: d = os.read(fds[0], 4096)
    except OSError: break
    if not d: break
    data += d
open(out, 'w').write('NAME=' + msg.decode() + '\n' + data.decode(errors='replace'))
'@
        $script:hookLog = Join-Path $work 'hooks.log'
        $script:hook = Join-Path $work 'hook.sh'
        Set-Content $hook "#!/bin/sh`necho `"`$1 `$(cat) mnt=`$(readlink /proc/self/ns/mnt) x=`$X`" >> $hookLog`n[ `"`$2`" = fail ] && { echo failing on purpose; exit 3; }`nexit 0"
        & chmod 0755 $hook
    }

    It 'runs with process.terminal: the pty is the container''s, its master goes over --console-socket' -Skip:(-not (Get-Command python3 -ErrorAction SilentlyContinue)) {
        $sock = Join-Path $work 'create-tty.sock'
        $proc = Start-Process python3 -ArgumentList (Join-Path $work 'recvtty.py'), $sock, "$sock.out" -PassThru
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        while (-not (Test-Path "$sock.out.ready") -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
        $id = 'tty' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'tty; stty size; exit 4')
        $spec.process.terminal = $true
        $spec.process.consoleSize = @{ height = 30; width = 100 }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--console-socket', $sock, '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 4 -Because $r.Err
        if (-not $proc.WaitForExit(20000)) { $proc.Kill() }
        $text = Get-Content -Raw "$sock.out"
        Remove-Item $sock, "$sock.out", "$sock.out.ready" -Force -ErrorAction SilentlyContinue
        $text | Should -Match 'NAME=/dev/pts/0'
        $text | Should -Match '(?m)^/dev/pts/0\r?$'
        $text | Should -Match '(?m)^30 100\r?$'
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'keeps --preserve-fds N descriptors open into the container, closes the rest' {
        $id = 'pf' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        Save-TestSpec (New-TestSpec $id @('sh', '-c', 'ls /proc/self/fd | tr "\n" " "; echo; cat <&3; cat <&4'))
        Set-Content (Join-Path $work 'fd3') 'three'
        Set-Content (Join-Path $work 'fd4') 'four'
        Set-Content (Join-Path $work 'fd5') 'five'
        $out = & /bin/sh -c 'exec 3<"$1" 4<"$2" 5<"$3"; shift 3; exec "$@" </dev/null 2>&1' sh (Join-Path $work 'fd3') (Join-Path $work 'fd4') (Join-Path $work 'fd5') `
            $runtime --root $stateRoot run --preserve-fds 2 --bundle $bundle $id
        $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
        $out[0].Trim() | Should -Be '0 1 2 3 4 5' # 5 is ls's own directory fd: the host's fd 5 was closed
        $out[1] | Should -Be 'three'
        $out[2] | Should -Be 'four'
    }

    It 'runs with --no-pivot (MS_MOVE + chroot)' {
        $id = 'np' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        Save-TestSpec (New-TestSpec $id @('sh', '-c', 'hostname; ls /bin/busybox; echo $$'))
        $r = Invoke-TestRuntime @('run', '--no-pivot', '--no-new-keyring', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out.Trim() -split "`n" | Should -Be @('psc-test', '/bin/busybox', '1')
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }

    It 'rootfsPropagation <Propagation>: "/" in the container is <Expect>' -ForEach @(
        @{ Propagation = 'private'; Expect = 'private' }, @{ Propagation = 'rprivate'; Expect = 'private' }
        @{ Propagation = 'slave'; Expect = 'private' }, @{ Propagation = 'rslave'; Expect = 'private' }
        @{ Propagation = 'shared'; Expect = 'shared' }, @{ Propagation = 'rshared'; Expect = 'shared' }
        @{ Propagation = 'unbindable'; Expect = 'unbindable' }, @{ Propagation = 'runbindable'; Expect = 'unbindable' }
    ) {
        # (a slave of nothing is private: the root is a fresh bind of the rootfs, which no host mount propagates to)
        $r = Invoke-TestContainer @('cat', '/proc/self/mountinfo') -Edit { param($s) $s.linux.rootfsPropagation = $Propagation }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $root = ($r.Out -split "`n" | Where-Object { ($_ -split ' ')[4] -eq '/' } | Select-Object -Last 1) -split ' '
        $tags = $root[6..([array]::IndexOf($root, '-') - 1)] -join ' '
        switch ($Expect) {
            'private' { $tags | Should -Not -Match 'shared:|unbindable' }
            'shared' { $tags | Should -Match 'shared:\d+' }
            'unbindable' { $tags | Should -Match 'unbindable' }
        }
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'a new user namespace joins an existing network namespace by path' -Skip:(-not (Get-Command ip -ErrorAction SilentlyContinue)) {
        $ns = "psctest$PID"
        & ip netns add $ns
        try {
            $r = Invoke-TestContainer @('sh', '-c', 'readlink /proc/self/ns/net; cat /proc/self/uid_map') -Edit {
                param($s)
                $s.linux.namespaces = @($s.linux.namespaces | Where-Object type -ne 'network') + @(@{ type = 'network'; path = "/run/netns/$ns" }, @{ type = 'user' })
                $s.linux.uidMappings = @(@{ containerID = 0; hostID = 0; size = 65536 })
                $s.linux.gidMappings = @(@{ containerID = 0; hostID = 0; size = 65536 })
                # sysfs cannot be mounted for a network namespace the new user namespace does not own (runc: same)
                $s.mounts = @($s.mounts | ForEach-Object {
                    if ($_.destination -eq '/sys') { @{ destination = '/sys'; type = 'bind'; source = '/sys'; options = @('rbind', 'nosuid', 'noexec', 'nodev', 'ro') } } else { $_ } })
            }
            $r.ExitCode | Should -Be 0 -Because $r.Err
            ($r.Out -split "`n")[0] | Should -Be "net:[$(& stat -L -c %i "/run/netns/$ns")]"
            ($r.Out -split "`n")[1] | Should -Match '^\s*0\s+0\s+65536$'
            Get-TestLeftover $r.Id | Should -BeNullOrEmpty
        } finally { & ip netns delete $ns }
    }

    It 'runs every hook at its moment with the state on stdin: prestart, createRuntime, createContainer, startContainer, poststart, poststop' {
        Remove-Item $hookLog -ErrorAction SilentlyContinue
        $r = Invoke-TestContainer @('sh', '-c', 'cat /dev/shm/started') -Edit {
            param($s)
            $h = { param($k) , @(@{ path = $hook; args = @('hook.sh', $k); env = @('X=y'); timeout = 10 }) }
            $s.hooks = [ordered]@{
                prestart = & $h 'prestart'; createRuntime = & $h 'createRuntime'; createContainer = & $h 'createContainer'
                # startContainer runs in the container: its path is the container's
                startContainer = @(@{ path = '/bin/sh'; args = @('sh', '-c', 'cat > /dev/shm/started') })
                poststart = & $h 'poststart'; poststop = & $h 'poststop'
            }
        }
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $started = $r.Out | ConvertFrom-Json
        $started.id | Should -Be $r.Id
        $started.pid | Should -BeGreaterThan 0
        $lines = Get-Content $hookLog
        ($lines | ForEach-Object { ($_ -split ' ')[0] }) | Should -Be @('prestart', 'createRuntime', 'createContainer', 'poststart', 'poststop')
        $hostMnt = & readlink /proc/self/ns/mnt
        foreach ($l in $lines) {
            $kind, $json = $l -split ' ', 2
            $state = ($json -replace ' mnt=.*$', '') | ConvertFrom-Json
            $state.id | Should -Be $r.Id
            $state.pid | Should -Be $started.pid
            $state.bundle | Should -Be $bundle
            $l | Should -Match 'x=y$'
            if ($kind -eq 'createContainer') { $l | Should -Not -Match ([regex]::Escape("mnt=$hostMnt")) } # the container's
            else { $l | Should -Match ([regex]::Escape("mnt=$hostMnt")) }
        }
        ($lines[0] -replace '^prestart ', '' -replace ' mnt=.*$', '' | ConvertFrom-Json).status | Should -Be 'creating'
        ($lines[-1] -replace '^poststop ', '' -replace ' mnt=.*$', '' | ConvertFrom-Json).status | Should -Be 'stopped'
    }

    It 'a failing <Kind> hook is an error: exit 1, its output in the message, nothing left behind' -ForEach @(
        @{ Kind = 'prestart' }, @{ Kind = 'createRuntime' }, @{ Kind = 'createContainer' }
    ) {
        $r = Invoke-TestContainer @('true') -Edit { param($s) $s.hooks = @{ $Kind = @(@{ path = $hook; args = @('hook.sh', $Kind, 'fail') }) } }
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match "$Kind hook .*exit status 3: failing on purpose"
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'a hook that outlives its timeout is killed and fails the create' {
        $r = Invoke-TestContainer @('true') -Edit { param($s) $s.hooks = @{ createRuntime = @(@{ path = '/bin/sleep'; args = @('sleep', '30'); timeout = 1 }) } }
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match 'timed out'
        Get-TestLeftover $r.Id | Should -BeNullOrEmpty
    }

    It 'failing poststart and poststop hooks are warnings in --log; the container runs' {
        $log = Join-Path $work 'hooks-warn.log'
        $id = 'hw' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'exit 0')
        $spec.hooks = @{ poststart = @(@{ path = $hook; args = @('hook.sh', 'poststart', 'fail') }); poststop = @(@{ path = $hook; args = @('hook.sh', 'poststop', 'fail') }) }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('--log', $log, '--log-format', 'json', 'run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $recs = Get-Content $log | ConvertFrom-Json
        ($recs | Where-Object { $_.level -eq 'warning' -and $_.msg -match '^poststart hook' }) | Should -Not -BeNullOrEmpty
        ($recs | Where-Object { $_.level -eq 'warning' -and $_.msg -match '^poststop hook' }) | Should -Not -BeNullOrEmpty
        Get-TestLeftover $id | Should -BeNullOrEmpty
    }
}

Describe 'psc-runtime global options, features and errors' -Skip:$skipAll {
    It '--version prints the runtime and spec versions' {
        $v = Invoke-TestRuntime @('--version')
        $v.ExitCode | Should -Be 0
        $v.Out | Should -Match '(?m)^psc-runtime version \d+\.\d+\.\d+'
        $v.Out | Should -Match '(?m)^spec: 1\.\d+\.\d+'
    }

    It 'features describes the runtime (runtime-spec features.md)' {
        $f = (Invoke-TestRuntime @('features')).Out | ConvertFrom-Json
        $f.ociVersionMin | Should -Be '1.0.0'
        $f.ociVersionMax | Should -Match '^1\.1\.'
        $f.hooks | Should -Be @('prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop')
        $f.mountOptions | Should -Contain 'rbind'
        $f.mountOptions | Should -Contain 'runbindable'
        $f.linux.namespaces | Should -Contain 'user'
        $f.linux.capabilities | Should -Contain 'CAP_SYS_ADMIN'
        $f.linux.cgroup.v1 | Should -BeTrue
        $f.linux.cgroup.v2 | Should -BeTrue
        $f.linux.cgroup.systemd | Should -BeFalse
    }

    It '--systemd-cgroup: a "slice:prefix:name" cgroupsPath becomes a cgroupfs path, and --log says so' {
        $log = Join-Path $work 'systemd.log'
        $id = 'sd' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('cat', '/proc/self/cgroup')
        $spec.linux.cgroupsPath = "psctest-sd.slice:psc:$id"
        $spec.linux.namespaces = @($spec.linux.namespaces | Where-Object type -ne 'cgroup')
        Save-TestSpec $spec
        try {
            $r = Invoke-TestRuntime @('--systemd-cgroup', '--log', $log, '--log-format', 'json', 'run', '--bundle', $bundle, $id)
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $r.Out | Should -Match ([regex]::Escape("/psctest.slice/psctest-sd.slice/psc-$id.scope"))
            (Get-Content $log | ConvertFrom-Json | Where-Object msg -match 'systemd cgroup management is not supported').msg |
                Should -Match 'plain cgroupfs path'
            @(Get-ChildItem "/sys/fs/cgroup/*/psctest.slice/psctest-sd.slice/psc-$id.scope" -Directory -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        } finally {
            foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
                foreach ($d in "psctest.slice/psctest-sd.slice/psc-$id.scope", 'psctest.slice/psctest-sd.slice', 'psctest.slice') {
                    if (Test-Path "$($h.FullName)/$d") { & rmdir "$($h.FullName)/$d" 2>$null }
                }
                if ($cgroupV2 -and (Test-Path "/sys/fs/cgroup/psctest.slice")) { & rmdir "/sys/fs/cgroup/psctest.slice" 2>$null }
            }
        }
    }

    It '<Command> of an unknown container: exit 1, "does not exist" on stderr and in the JSON log' -ForEach @(
        @{ Command = 'state' }, @{ Command = 'start' }, @{ Command = 'kill' }, @{ Command = 'delete' }, @{ Command = 'pause' },
        @{ Command = 'resume' }, @{ Command = 'ps' }, @{ Command = 'exec' }
    ) {
        $log = Join-Path $work "unknown-$Command.log"
        $a = @('--log', $log, '--log-format', 'json', $Command, 'no-such-container')
        if ($Command -eq 'exec') { $a += 'true' }
        $r = Invoke-TestRuntime $a
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match '^psc-runtime: container "no-such-container" does not exist'
        (Get-Content $log | Select-Object -Last 1 | ConvertFrom-Json).msg | Should -Match 'does not exist'
    }

    It 'a missing bundle or a broken config.json: exit 1 with the reason' {
        $r = Invoke-TestRuntime @('run', '--bundle', (Join-Path $work 'no-such-bundle'), 'bad1')
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match 'no-such-bundle'
        $broken = Join-Path $work 'broken-bundle'
        New-Item -ItemType Directory -Force $broken | Out-Null
        Set-Content "$broken/config.json" '{ "ociVersion": "1.0.2", "process": '
        $r = Invoke-TestRuntime @('create', '--bundle', $broken, 'bad2')
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match 'config.json'
        Test-Path (Join-Path $stateRoot 'bad2') | Should -BeFalse
        $u = Invoke-TestRuntime @('frobnicate', 'x')
        $u.ExitCode | Should -Be 1
        $u.Err | Should -Match 'unknown command'
    }
}

# cgroup v2 device rules are an eBPF program (devices_bpf.c). On a v2 host the runtime itself is tested; on a hybrid
# host a private build whose v2 root is the controller-less /sys/fs/cgroup/unified runs the v2 driver (device
# programs attach there as anywhere in v2), or $env:PSC_RUNTIME_CG2, a runtime built with -DCG2_ROOT so.
# Nodes of the unregistered major 42 tell the outcome without touching a real device: the device cgroup refuses
# the open with EPERM, while an open it lets through fails in the driver lookup with ENXIO.
Describe 'psc-runtime cgroup v2 device rules (eBPF)' -Skip:($skipAll -or -not ($cgroupV2 -or (Test-Path /sys/fs/cgroup/unified/cgroup.controllers))) {
    BeforeAll {
        # The runtime enables the controllers it uses in every ancestor's subtree_control, the hybrid tree's root
        # included: host state these tests must give back (AfterAll).
        $script:subtreeBefore = if (-not $cgroupV2) { @(((Get-Content /sys/fs/cgroup/unified/cgroup.subtree_control -Raw) ?? '') -split '\s+' | Where-Object { $_ }) }
        $script:runtimeV2 = if ($cgroupV2) { $runtime } else { $env:PSC_RUNTIME_CG2 }
        if (-not $runtimeV2) {
            $build = Join-Path $work 'build-cg2'
            & cmake -S (Join-Path $repoRoot 'src/PSContainer.Native/native') -B $build -DCMAKE_BUILD_TYPE=Release '-DCMAKE_C_FLAGS=-DCG2_ROOT=\"/sys/fs/cgroup/unified\"' *> $null
            & cmake --build $build --target psc-runtime *> $null
            $script:runtimeV2 = "$build/psc-runtime"
        }
        # one line per probe: "<name> ok" or "<name> <error>"
        $script:probe = @'
mknod /dev/c0 c 42 0 && mknod /dev/c1 c 42 1 && mknod /dev/b0 b 42 0 || { echo mknod failed; exit 9; }
p() { if o=$(sh -c "$2" 2>&1); then echo "$1 ok"; else echo "$1 $o"; fi; }
p null-w 'echo x >/dev/null'
p zero-r 'head -c1 /dev/zero >/dev/null'
p c0-r 'cat /dev/c0'
p c0-w 'echo x >/dev/c0'
p c1-r 'cat /dev/c1'
p c1-w 'echo x >/dev/c1'
p b0-r 'cat /dev/b0'
'@
        function Invoke-TestDevices([object[]]$Rules) {
            $r = Invoke-TestContainer @('/bin/sh', '-c', $probe) -Exe $runtimeV2 -Edit { param($s) $s.linux.resources = @{ devices = $Rules } }.GetNewClosure()
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $res = @{}
            foreach ($line in ($r.Out -split "`n" | Where-Object { $_ })) {
                $name, $rest = $line -split ' ', 2
                $res[$name] = if ($rest -eq 'ok') { 'ok' } elseif ($rest -match 'Operation not permitted') { 'EPERM' }
                              elseif ($rest -match 'No such device') { 'ENXIO' } else { $rest }
            }
            $res
        }
    }

    AfterAll {
        if ($cgroupV2) { return }
        $now = @(((Get-Content /sys/fs/cgroup/unified/cgroup.subtree_control -Raw) ?? '') -split '\s+' | Where-Object { $_ })
        foreach ($c in $now | Where-Object { $_ -notin $script:subtreeBefore }) {
            foreach ($f in "/sys/fs/cgroup/unified/$cgroupParent/cgroup.subtree_control", '/sys/fs/cgroup/unified/cgroup.subtree_control') {
                if (Test-Path $f) { Set-Content $f "-$c" -ErrorAction SilentlyContinue }
            }
        }
    }

    It 'the binary runs the v2 driver: the container cgroup is in the v2 tree alone' {
        $id = 't' + [guid]::NewGuid().ToString('n').Substring(0, 12)
        Save-TestSpec (New-TestSpec $id @('/bin/true'))
        try {
            $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id) -Exe $runtimeV2
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $v2root = if ($cgroupV2) { '/sys/fs/cgroup' } else { '/sys/fs/cgroup/unified' }
            Test-Path "$v2root/$cgroupParent/$id" | Should -BeTrue
            if (-not $cgroupV2) { Test-Path "/sys/fs/cgroup/devices/$cgroupParent/$id" | Should -BeFalse }
        } finally { Invoke-TestRuntime @('delete', '--force', $id) -Exe $runtimeV2 | Out-Null }
    }

    It 'denies every device but the default ones under "deny all"' {
        $r = Invoke-TestDevices @(@{ allow = $false; access = 'rwm' })
        $r['null-w'] | Should -Be 'ok'
        $r['zero-r'] | Should -Be 'ok'
        foreach ($k in 'c0-r', 'c0-w', 'c1-r', 'c1-w', 'b0-r') { $r[$k] | Should -Be 'EPERM' -Because $k }
    }

    It 'lets through exactly the type, numbers and access of an allow rule' {
        $r = Invoke-TestDevices @(@{ allow = $false; access = 'rwm' }, @{ allow = $true; type = 'c'; major = 42; minor = 0; access = 'r' })
        $r['c0-r'] | Should -Be 'ENXIO'
        $r['c0-w'] | Should -Be 'EPERM'
        $r['c1-r'] | Should -Be 'EPERM'
        $r['b0-r'] | Should -Be 'EPERM'
        $r['zero-r'] | Should -Be 'ok'
    }

    It 'the last matching rule wins' {
        $r = Invoke-TestDevices @(@{ allow = $false; access = 'rwm' }, @{ allow = $true; type = 'c'; major = 42; access = 'rwm' },
            @{ allow = $false; type = 'c'; major = 42; minor = 0; access = 'w' })
        $r['c0-r'] | Should -Be 'ENXIO'
        $r['c0-w'] | Should -Be 'EPERM'
        $r['c1-r'] | Should -Be 'ENXIO'
        $r['c1-w'] | Should -Be 'ENXIO'
        $r = Invoke-TestDevices @(@{ allow = $false; access = 'rwm' }, @{ allow = $false; type = 'c'; major = 42; minor = 0; access = 'w' },
            @{ allow = $true; type = 'c'; major = 42; access = 'rwm' })
        $r['c0-w'] | Should -Be 'ENXIO'
        $r = Invoke-TestDevices @(@{ allow = $true; type = 'c'; major = 42; access = 'rwm' }, @{ allow = $false; access = 'rwm' })
        $r['c0-r'] | Should -Be 'EPERM' -Because 'a later "deny all" overrides it'
        $r['null-w'] | Should -Be 'ok' -Because 'the default allowances come after the spec''s rules'
    }

    It 'applies huge page limits and the unified map, and refuses what v2 does not have' {
        $hugetlbWasOn = (Get-Content /sys/fs/cgroup/unified/cgroup.subtree_control -ErrorAction SilentlyContinue) -match 'hugetlb'
        try {
            if (-not $cgroupV2 -and -not ((Get-Content /sys/fs/cgroup/unified/cgroup.controllers) -match 'hugetlb')) {
                Set-ItResult -Skipped -Because 'the v2 tree of this host has no hugetlb controller'; return
            }
            $id = 't' + [guid]::NewGuid().ToString('n').Substring(0, 12)
            $spec = New-TestSpec $id @('sleep', '300')
            $spec.linux.resources.hugepageLimits = @(@{ pageSize = '2MB'; limit = 4194304 })
            $spec.linux.resources.unified = @{ 'hugetlb.2MB.rsvd.max' = '2097152' }
            Save-TestSpec $spec
            $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id) -Exe $runtimeV2
            try {
                $r.ExitCode | Should -Be 0 -Because $r.Err
                $v2root = if ($cgroupV2) { '/sys/fs/cgroup' } else { '/sys/fs/cgroup/unified' }
                (Get-Content "$v2root/$cgroupParent/$id/hugetlb.2MB.max").Trim() | Should -Be '4194304'
                (Get-Content "$v2root/$cgroupParent/$id/hugetlb.2MB.rsvd.max").Trim() | Should -Be '2097152'
            } finally { Invoke-TestRuntime @('delete', '--force', $id) -Exe $runtimeV2 | Out-Null }

            foreach ($case in @(
                    @{ memory = @{ swappiness = 10 } }, @{ memory = @{ disableOOMKiller = $true } },
                    @{ network = @{ classID = 1 } }, @{ cpu = @{ realtimeRuntime = 1000 } })) {
                $id = 't' + [guid]::NewGuid().ToString('n').Substring(0, 12)
                $spec = New-TestSpec $id @('true')
                foreach ($k in $case.Keys) { $spec.linux.resources[$k] = $case[$k] }
                Save-TestSpec $spec
                $r = Invoke-TestRuntime @('create', '--bundle', $bundle, $id) -Exe $runtimeV2
                $r.ExitCode | Should -Not -Be 0 -Because "$($case.Keys) cannot be honoured on v2"
                $r.Err | Should -Match 'cgroup v2'
                Get-TestLeftover $id | Should -BeNullOrEmpty
            }
        }
        finally {
            # Enabling a controller in the root's subtree_control is host state this test must not leave.
            if (-not $cgroupV2 -and -not $hugetlbWasOn) {
                foreach ($f in "/sys/fs/cgroup/unified/$cgroupParent/cgroup.subtree_control", '/sys/fs/cgroup/unified/cgroup.subtree_control') {
                    if (Test-Path $f) { Set-Content $f '-hugetlb' -ErrorAction SilentlyContinue }
                }
                (Get-Content /sys/fs/cgroup/unified/cgroup.subtree_control) | Should -Not -Match 'hugetlb'
            }
        }
    }

    It 'removes the container cgroup (and with it the program)' {
        $r = Invoke-TestDevices @(@{ allow = $false; access = 'rwm' })
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Get-ChildItem (Join-Path $_.FullName $cgroupParent) -Directory -ErrorAction SilentlyContinue }) |
            Should -BeNullOrEmpty
    }
}

Describe 'psc-runtime leaves nothing behind' -Skip:$skipAll {
    It 'no container cgroup, state dir, mount or process remains' {
        @(Get-ChildItem $stateRoot -ErrorAction SilentlyContinue) | Should -BeNullOrEmpty
        $cgs = foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
            Get-ChildItem (Join-Path $h.FullName $cgroupParent) -Directory -ErrorAction SilentlyContinue
        }
        @($cgs) | Should -BeNullOrEmpty
        @(Get-Content /proc/self/mountinfo | Where-Object { $_ -match [regex]::Escape($work) }) | Should -BeNullOrEmpty
    }
}

Describe 'psc-runtime linux.seccomp, session keyrings and LSM labels' -Skip:$skipAll {
    BeforeEach { Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue }

    It 'features reports seccomp as this libseccomp and kernel support it, and labels only where the host has the module' {
        $f = (Invoke-TestRuntime @('features')).Out | ConvertFrom-Json
        $f.linux.seccomp.enabled | Should -BeTrue
        $f.linux.seccomp.actions | Should -Contain 'SCMP_ACT_ERRNO'
        $f.linux.seccomp.operators | Should -Contain 'SCMP_CMP_MASKED_EQ'
        $f.linux.seccomp.archs | Should -Contain 'SCMP_ARCH_X86_64'
        $f.linux.seccomp.supportedFlags | Should -Contain 'SECCOMP_FILTER_FLAG_TSYNC'
        $f.linux.apparmor.enabled | Should -Be ((Test-Path /sys/kernel/security/apparmor) -and (Get-Content /sys/module/apparmor/parameters/enabled -ErrorAction SilentlyContinue) -eq 'Y')
        $f.linux.selinux.enabled | Should -Be (Test-Path /sys/fs/selinux/enforce)
    }

    It 'applies a profile with errnoRet, argument conditions, flags and names it does not know, like runc' {
        $id = 'sc' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/x 2>&1; echo mkdir=$?; echo hi >/dev/null; echo done')
        $spec.root.readonly = $false
        $spec.linux.seccomp = [ordered]@{
            defaultAction = 'SCMP_ACT_ALLOW'
            architectures = @('SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32')
            flags = @('SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_LOG')
            syscalls = @(
                @{ names = @('mkdir', 'mkdirat', 'no_such_call_in_any_kernel'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13 }
                # two conditions on one argument: one rule each (runc's reading), so personality(0xffffffff) still works
                @{ names = @('personality'); action = 'SCMP_ACT_ERRNO'; args = @(@{ index = 0; value = 1; op = 'SCMP_CMP_EQ' }, @{ index = 0; value = 2; op = 'SCMP_CMP_EQ' }) }
            )
        }
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Match 'Seccomp:\s+2'
        $r.Out | Should -Match 'Permission denied'
        $r.Out | Should -Match 'mkdir=1'
        $r.Out | Should -Match 'done'
        if ($hasRunc) {
            Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
            $spec.linux.seccomp.Remove('flags') # runc 1.1 refuses flags (1.2 takes them)
            Save-TestSpec $spec
            $rr = Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-runc") -Exe runc -Root $runcRoot
            $rr.Out | Should -Be $r.Out -Because "runc runs the same profile ($($rr.Err))"
        }
    }

    It 'keeps the generated filter in ROOT/.seccomp-cache, and never loads a cached program of another profile' {
        $id = 'sc' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'mkdir /tmp/x 2>&1; true')
        $spec.root.readonly = $false
        $denyMkdir = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13; args = @(@{ index = 0; value = [guid]::NewGuid().GetHashCode() -band 0x7fffffff; op = 'SCMP_CMP_NE' }) }) }
        $spec.linux.seccomp = $denyMkdir
        Save-TestSpec $spec
        $before = @(Get-ChildItem "$stateRoot/.seccomp-cache" -ErrorAction SilentlyContinue).Count
        (Invoke-TestRuntime @('run', '--bundle', $bundle, $id)).Out | Should -Match 'Permission denied'
        $files = @(Get-ChildItem "$stateRoot/.seccomp-cache")
        $files.Count | Should -Be ($before + 1)
        $mine = $files | Sort-Object LastWriteTime | Select-Object -Last 1
        Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
        # another profile's program under this one's name (a hash collision, a stale build): the key inside the file
        # is compared in full, so it is compiled anew and mkdir is still denied
        $spec.linux.seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('acct'); action = 'SCMP_ACT_ERRNO'; args = @(@{ index = 0; value = [guid]::NewGuid().GetHashCode() -band 0x7fffffff; op = 'SCMP_CMP_NE' }) }) }
        Save-TestSpec $spec
        (Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-other")).Out | Should -Not -Match 'Permission denied'
        Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
        $other = Get-ChildItem "$stateRoot/.seccomp-cache" | Sort-Object LastWriteTime | Select-Object -Last 1
        $other.Name | Should -Not -Be $mine.Name
        Copy-Item $other.FullName $mine.FullName -Force
        $spec.linux.seccomp = $denyMkdir
        Save-TestSpec $spec
        (Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-again")).Out | Should -Match 'Permission denied'
        Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
    }

    It 'keys the cached program by the bytes of linux.seccomp as config.json has them, and applies it on a hit' {
        # the profile is not parsed on a hit, so the key must be its exact text: the same profile written another way
        # is another entry (never a re-serialisation that two texts could share), and a hit still applies it
        $id = 'sk' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'mkdir /tmp/x 2>&1; true')
        $spec.root.readonly = $false
        $spec.linux.seccomp = [ordered]@{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @([ordered]@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13; args = @([ordered]@{ index = 0; value = [guid]::NewGuid().GetHashCode() -band 0x7fffffff; op = 'SCMP_CMP_NE' }) }) }
        $config = Join-Path $bundle 'config.json'
        $n = 0
        foreach ($text in @(($spec | ConvertTo-Json -Depth 20 -Compress), ($spec | ConvertTo-Json -Depth 20))) {
            Set-Content $config $text
            $profileText = [regex]::Match($text, '"seccomp":\s*(\{.*\})\s*\}\s*\}\s*$', 'Singleline').Groups[1].Value
            $profileText | Should -Not -BeNullOrEmpty
            $before = @(Get-ChildItem "$stateRoot/.seccomp-cache" -ErrorAction SilentlyContinue)
            (Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-$n")).Out | Should -Match 'Permission denied'
            Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
            $new = @(Get-ChildItem "$stateRoot/.seccomp-cache" | Where-Object Name -NotIn $before.Name)
            $new.Count | Should -Be 1 -Because 'each way of writing the profile is its own entry'
            [IO.File]::ReadAllText($new[0].FullName, [Text.Encoding]::Latin1).Contains($profileText) | Should -BeTrue
            # the hit: no new entry, the profile still applies
            (Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-$n-hit")).Out | Should -Match 'Permission denied'
            Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
            @(Get-ChildItem "$stateRoot/.seccomp-cache").Count | Should -Be ($before.Count + 1)
            $n++
        }
    }

    It 'applies the linux.seccomp json-c reads where config.json is not plain JSON: <Case>' -ForEach @(
        @{ Case = 'seccomp given twice (the last counts)'; Edit = { param($t, $deny) $t -replace '"seccomp":', ('"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"},"seccomp":') } }
        @{ Case = 'an escaped key that is seccomp'; Edit = { param($t, $deny) $t -replace '"seccomp":', '"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"},"\u0073eccomp":' } }
        @{ Case = 'linux given twice'; Edit = { param($t, $deny) $t -replace '"linux":', ('"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}},"linux":') } }
        @{ Case = 'a comment'; Edit = { param($t, $deny) $t -replace '"seccomp":', '/* "seccomp":{} */"seccomp":' } }
    ) {
        $id = 'sj' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', 'mkdir /tmp/x 2>&1; echo mkdir=$?')
        $spec.root.readonly = $false
        $spec.linux.seccomp = [ordered]@{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @([ordered]@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13 }) }
        $text = & $Edit ($spec | ConvertTo-Json -Depth 20 -Compress)
        Set-Content (Join-Path $bundle 'config.json') $text
        foreach ($run in 'miss', 'hit') {
            $r = Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-$run")
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $r.Out | Should -Match 'Permission denied' -Because "the $run must apply the profile json-c keeps ($text)"
            Remove-Item (Join-Path $rootfs 'tmp/x') -Force -ErrorAction SilentlyContinue
        }
    }

    It 'loads the filter for exec too, from the container''s config.json' {
        $id = 'sx' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sleep', '300')
        $spec.root.readonly = $false
        $spec.process.noNewPrivileges = $false
        $spec.linux.seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_ERRNO'; errnoRet = 1 }) }
        Save-TestSpec $spec
        (Invoke-TestRuntime @('run', '--detach', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        try {
            $r = Invoke-TestRuntime @('exec', $id, 'sh', '-c', 'grep -E "^(Seccomp|NoNewPrivs):" /proc/self/status; mkdir /tmp/x 2>&1; true')
            $r.Out | Should -Match 'Seccomp:\s+2'
            $r.Out | Should -Match 'NoNewPrivs:\s+0'
            $r.Out | Should -Match 'Operation not permitted'
        } finally { Invoke-TestRuntime @('delete', '--force', $id) | Out-Null }
    }

    It 'refuses what it cannot honour: <Case>' -ForEach @(
        @{ Case = 'an unknown action'; Seccomp = @{ defaultAction = 'SCMP_ACT_SOMETIMES' }; Why = 'unknown action' }
        @{ Case = 'an unknown operator'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir'); action = 'SCMP_ACT_ERRNO'; args = @(@{ index = 0; value = 1; op = 'SCMP_CMP_ROUGHLY' }) }) }; Why = 'unknown operator' }
        @{ Case = 'an unknown flag'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; flags = @('SECCOMP_FILTER_FLAG_BOGUS') }; Why = 'unsupported flag' }
        @{ Case = 'an unknown architecture'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; architectures = @('SCMP_ARCH_VAX') }; Why = 'unknown architecture' }
        @{ Case = 'SCMP_ACT_NOTIFY without listenerPath'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir'); action = 'SCMP_ACT_NOTIFY' }) }; Why = 'SCMP_ACT_NOTIFY needs listenerPath' }
        @{ Case = 'errnoRet with ALLOW'; Seccomp = @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir'); action = 'SCMP_ACT_KILL'; errnoRet = 1 }) }; Why = 'errnoRet' }
    ) {
        $id = 'sb' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('true')
        $spec.linux.seccomp = $Seccomp
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match $Why
        Test-Path (Join-Path $stateRoot $id) | Should -BeFalse
    }

    It 'refuses an AppArmor profile or SELinux label the host cannot apply, accepts apparmorProfile unconfined' {
        $id = 'sl' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('true')
        $spec.process.apparmorProfile = 'unconfined'
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--bundle', $bundle, $id)
        $r.ExitCode | Should -Be 0 -Because $r.Err
        if (-not (Test-Path /sys/kernel/security/apparmor)) {
            $spec.process.apparmorProfile = 'docker-default'
            Save-TestSpec $spec
            $r = Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-aa")
            $r.ExitCode | Should -Be 1
            $r.Err | Should -Match 'AppArmor is not enabled'
        }
        if (-not (Test-Path /sys/fs/selinux/enforce)) {
            $spec.process.Remove('apparmorProfile')
            $spec.process.selinuxLabel = 'system_u:system_r:container_t:s0'
            Save-TestSpec $spec
            $r = Invoke-TestRuntime @('run', '--bundle', $bundle, "$id-se")
            $r.ExitCode | Should -Be 1
            $r.Err | Should -Match 'SELinux is not enabled'
        }
    }

    It 'gives every container a session keyring of its own, unless --no-new-keyring' {
        if (-not (Test-Path /proc/keys) -and -not (Get-Command keyctl -ErrorAction SilentlyContinue)) { Set-ItResult -Skipped -Because 'no keyctl' }
        $id = 'sk' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $spec = New-TestSpec $id @('sh', '-c', ('grep -c "keyring.*_ses\.' + $id + '" /proc/keys'))
        $spec.linux.maskedPaths = @()
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--bundle', $bundle, $id)
        $r.Out | Should -Match '^1' -Because $r.Err
        # Another id: the first container's keyring may linger until the kernel's key garbage collector runs.
        $id2 = "$($id)n"
        $spec = New-TestSpec $id2 @('sh', '-c', ('grep -c "keyring.*_ses\.' + $id2 + '" /proc/keys'))
        $spec.linux.maskedPaths = @()
        Save-TestSpec $spec
        $r = Invoke-TestRuntime @('run', '--no-new-keyring', '--bundle', $bundle, $id2)
        $r.Out | Should -Match '^0' -Because $r.Err
    }
}
