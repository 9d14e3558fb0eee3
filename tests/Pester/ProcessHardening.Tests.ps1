#Requires -Version 7
# psc-runtime from its first step into a container until execve (issue 11, "holes to close"): the process is not
# dumpable (CVE-2016-9962), its working directory is inside the container's root and every descriptor of the
# runtime is closed by execve (CVE-2024-21626), and its supplementary groups are exactly the spec's. Driven through
# the runtime's command line on a busybox bundle, as Runtime.Tests.ps1; runc runs the same bundle where it is cheap
# to compare. strace (fault and delay injection) makes the rare paths deterministic. Linux, root.

BeforeDiscovery {
    $script:skipAll = -not ($IsLinux -and ((& id -u) -eq '0') -and (Test-Path /bin/busybox))
    $script:noStrace = -not (Get-Command strace -ErrorAction SilentlyContinue)
    $script:noSetpriv = -not (Get-Command setpriv -ErrorAction SilentlyContinue)
    $script:runtimes = @(@{ Runtime = 'psc' }; if (Get-Command runc -ErrorAction SilentlyContinue) { @{ Runtime = 'runc' } })
}

BeforeAll {
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-hardening-test-$PID"
    $script:bundle = Join-Path $work 'bundle'
    $script:rootfs = Join-Path $bundle 'rootfs'
    $script:hostDir = Join-Path $work 'host-dir'
    $script:cgroupParent = "psc-hardening-$PID"
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp", "$rootfs/proc", "$rootfs/dev", "$rootfs/sys", $hostDir | Out-Null
    Set-Content (Join-Path $hostDir 'host-marker') 'on the host'

    # The runtime: $env:PSC_RUNTIME, else a fresh cmake build (never a stale copy), else what build.ps1 put in out/.
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:runtime = Get-TestRuntimeBinary -WorkDirectory $work
    $script:roots = @{ psc = Join-Path $work 'psc-state'; runc = Join-Path $work 'runc-state' }
    $script:binaries = @{ psc = $runtime; runc = 'runc' }

    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($applet in 'sh', 'ls', 'id', 'cat', 'pwd', 'sleep', 'tr', 'readlink', 'true', 'echo') {
        New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox -Force | Out-Null
    }
    Set-Content "$rootfs/etc/passwd" "root:x:0:0:root:/root:/bin/sh`nuser:x:1000:1000::/tmp:/bin/sh"
    Set-Content "$rootfs/etc/group" "root:x:0:`nwheel:x:10:`naudio:x:20:`nuser:x:1000:"
    $caps = 'CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL AUDIT_WRITE' -split ' ' |
        ForEach-Object { "CAP_$_" }

    # Docker's default process (capabilities, no_new_privs) in pid, mount, ipc, uts and network namespaces.
    function Save-HardeningSpec([string]$Id, [string[]]$Command, [scriptblock]$Edit) {
        $spec = [ordered]@{
            ociVersion = '1.0.2'
            process    = [ordered]@{
                terminal = $false; user = [ordered]@{ uid = 0; gid = 0 }; args = $Command; cwd = '/'
                env = @('PATH=/bin'); noNewPrivileges = $true
                capabilities = [ordered]@{ bounding = $caps; effective = $caps; permitted = $caps }
                rlimits = @(@{ type = 'RLIMIT_NOFILE'; hard = 1024; soft = 1024 })
            }
            root       = @{ path = 'rootfs'; readonly = $false }
            mounts     = @(
                @{ destination = '/proc'; type = 'proc'; source = 'proc' }
                @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'mode=755') }
            )
            linux      = [ordered]@{
                cgroupsPath = "/$cgroupParent/$Id"
                namespaces  = @('pid', 'mount', 'ipc', 'uts', 'network') | ForEach-Object { @{ type = $_ } }
            }
        }
        if ($Edit) { & $Edit $spec }
        $spec | ConvertTo-Json -Depth 10 | Set-Content (Join-Path $bundle 'config.json')
    }

    # Runs a runtime command with stdio on files (a created container keeps the stdio it was given). -Before is
    # bash run first (e.g. opening descriptors the runtime is given), -Under a command the runtime runs under
    # (strace, setpriv).
    function Invoke-Hardening([string[]]$Arguments, [string]$Runtime = 'psc', [string]$Before = '', [string]$Under = '') {
        $out = Join-Path $work "out-$([guid]::NewGuid().ToString('n'))"
        try {
            & /bin/bash -c "o=`$1; shift; $Before exec $Under `"`$@`" </dev/null >`"`$o`" 2>`"`$o.err`"" bash $out `
                $binaries[$Runtime] --root $roots[$Runtime] @Arguments
            [pscustomobject]@{
                ExitCode = $LASTEXITCODE
                Out      = [string](Get-Content -Raw $out -ErrorAction SilentlyContinue)
                Err      = [string](Get-Content -Raw "$out.err" -ErrorAction SilentlyContinue)
            }
        }
        finally { Remove-Item $out, "$out.err" -Force -ErrorAction SilentlyContinue }
    }

    function New-HardeningId { 'h' + [guid]::NewGuid().ToString('n').Substring(0, 12) }

    # A running (or, with -NoStart, created) container whose process sleeps.
    function Start-HardeningContainer([string]$Runtime = 'psc', [switch]$NoStart) {
        $id = New-HardeningId
        Save-HardeningSpec $id @('sleep', '300')
        $r = Invoke-Hardening @('create', '--bundle', $bundle, $id) -Runtime $Runtime
        $r.ExitCode | Should -Be 0 -Because $r.Err
        if (-not $NoStart) { (Invoke-Hardening @('start', $id) -Runtime $Runtime).ExitCode | Should -Be 0 }
        $id
    }
}

AfterAll {
    foreach ($rt in 'psc', 'runc') {
        if (Test-Path $roots[$rt]) {
            foreach ($d in Get-ChildItem $roots[$rt] -Directory) { Invoke-Hardening @('delete', '--force', $d.Name) -Runtime $rt | Out-Null }
        }
    }
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
        $parent = Join-Path $h.FullName $cgroupParent
        if (Test-Path $parent) { Get-ChildItem $parent -Directory | ForEach-Object { & rmdir $_.FullName 2>$null }; & rmdir $parent 2>$null }
    }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'not dumpable until execve (CVE-2016-9962)' -Skip:$skipAll {
    It 'a created container''s process, waiting for start, is closed to the other processes of the container' {
        $id = Start-HardeningContainer -NoStart
        try {
            # Same uid, no more capabilities than the probe: only "not dumpable" keeps it from /proc/1/{fd,cwd,environ}.
            $probe = 'for t in "readlink /proc/1/fd/0" "ls /proc/1/cwd/" "cat /proc/1/environ"; do $t >/dev/null 2>&1 && echo "$t: open" || echo "$t: closed"; done'
            $r = Invoke-Hardening @('exec', $id, 'sh', '-c', $probe)
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $r.Out.Trim() -split "`n" | Should -Be @('readlink /proc/1/fd/0: closed', 'ls /proc/1/cwd/: closed', 'cat /proc/1/environ: closed')
            # execve makes the container's own command dumpable again: the probe itself sees it then.
            (Invoke-Hardening @('start', $id)).ExitCode | Should -Be 0
            $after = Invoke-Hardening @('exec', $id, 'sh', '-c', $probe)
            $after.Out.Trim() -split "`n" | Should -Be @('readlink /proc/1/fd/0: open', 'ls /proc/1/cwd/: open', 'cat /proc/1/environ: open')
        }
        finally { Invoke-Hardening @('delete', '--force', $id) | Out-Null }
    }

    It 'an exec''d process, between joining the container and execve, is closed to the container''s processes' -Skip:$noStrace {
        $id = Start-HardeningContainer
        $marker = "marker$([guid]::NewGuid().ToString('n').Substring(0, 8))"
        $bg = Join-Path $work "bg-$marker"
        try {
            # strace holds the exec'd process 4 s in umask(), which it calls after taking the container's user and
            # capabilities and before execve: the window a container process would use.
            & /bin/sh -c 'o=$1; shift; (strace -f -qq -o /dev/null -e trace=umask -e inject=umask:delay_exit=4000000 "$@" >"$o" 2>&1; echo "rc=$?" >>"$o") </dev/null >/dev/null 2>&1 &' `
                sh $bg $runtime --root $roots.psc exec $id true $marker
            $list = 'for p in /proc/[0-9]*; do echo "${p#/proc/} $(tr "\0" " " < $p/cmdline)"; done'
            $target = $null
            $deadline = [DateTime]::UtcNow.AddSeconds(3)
            while (-not $target -and [DateTime]::UtcNow -lt $deadline) {
                $ps = (Invoke-Hardening @('exec', $id, 'sh', '-c', $list)).Out -split "`n"
                $target = $ps | Where-Object { $_ -match "^(\d+) \S*psc-runtime .* $marker\s*$" } | ForEach-Object { $Matches[1] } | Select-Object -First 1
            }
            $target | Should -Not -BeNullOrEmpty -Because 'the exec''d process must be seen in the container while strace holds it'
            $r = Invoke-Hardening @('exec', $id, 'sh', '-c', "readlink /proc/$target/fd/0 >/dev/null 2>&1 && echo open || echo closed; ls -L /proc/$target/cwd >/dev/null 2>&1 && echo open || echo closed")
            $r.Out.Trim() -split "`n" | Should -Be @('closed', 'closed')
            $deadline = [DateTime]::UtcNow.AddSeconds(15)
            while (-not ((Get-Content -Raw $bg -ErrorAction SilentlyContinue) -match 'rc=') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Get-Content -Raw $bg | Should -Match 'rc=0'
        }
        finally { Invoke-Hardening @('delete', '--force', $id) | Out-Null }
    }
}

Describe 'the working directory and descriptors (CVE-2024-21626)' -Skip:$skipAll {
    It 'refuses a cwd that is a leaked host directory named /proc/self/fd/3 (run and exec)' {
        $id = New-HardeningId
        Save-HardeningSpec $id @('sh', '-c', 'ls; pwd') { param($s) $s.process.cwd = '/proc/self/fd/3' }
        $r = Invoke-Hardening @('run', '--preserve-fds', '1', '--bundle', $bundle, $id) -Before "exec 3<'$hostDir';"
        $r.Out | Should -Not -Match 'host-marker'
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match 'process.cwd /proc/self/fd/3 .*refused'

        $c = Start-HardeningContainer
        try {
            $e = Invoke-Hardening @('exec', '--preserve-fds', '1', '--cwd', '/proc/self/fd/3', $c, 'ls') -Before "exec 3<'$hostDir';"
            $e.Out | Should -Not -Match 'host-marker'
            $e.ExitCode | Should -Be 1
            $e.Err | Should -Match 'process.cwd /proc/self/fd/3 is outside the container''s root.*refused'
        }
        finally { Invoke-Hardening @('delete', '--force', $c) | Out-Null }
    }

    It 'makes a missing cwd inside the root only, never through /proc/self/fd/N on the host' {
        $id = New-HardeningId
        Save-HardeningSpec $id @('true') { param($s) $s.process.cwd = '/proc/self/fd/3/made-by-runtime' }
        $r = Invoke-Hardening @('run', '--preserve-fds', '1', '--bundle', $bundle, $id) -Before "exec 3<'$hostDir';"
        Test-Path (Join-Path $hostDir 'made-by-runtime') | Should -BeFalse
        $r.ExitCode | Should -Be 1
        $r.Err | Should -Match 'process.cwd /proc/self/fd/3/made-by-runtime'
    }

    It 'closes every descriptor of the runtime when close_range is missing, even one above 4096' -Skip:$noStrace {
        $id = New-HardeningId
        Save-HardeningSpec $id @('ls', '/proc/self/fd')
        # close_range fails with ENOSYS as on kernels before 5.11; fd 5000 is one the runtime was given and must not pass.
        $r = Invoke-Hardening @('run', '--bundle', $bundle, $id) `
            -Before "exec 5000<'$hostDir/host-marker';" -Under 'strace -f -qq -o /dev/null -e trace=close_range -e inject=close_range:error=ENOSYS' 
        $r.ExitCode | Should -Be 0 -Because $r.Err
        ($r.Out.Trim() -split "`n") | Should -Be @('0', '1', '2', '3') # 3: ls's own directory
    }
}

Describe 'supplementary groups under <Runtime>' -ForEach $runtimes -Skip:$skipAll {
    It 'setgroups failing is an error, not the runtime''s own groups kept' -Skip:$noSetpriv {
        foreach ($gids in @(), @(10)) {
            $id = New-HardeningId
            Save-HardeningSpec $id @('id') {
                param($s)
                $s.process.user.additionalGids = $gids
                foreach ($set in 'bounding', 'effective', 'permitted') { $s.process.capabilities[$set] = @($caps -ne 'CAP_SETGID') }
            }
            # The runtime runs with a host group the container must not get, and without CAP_SETGID to replace it.
            $r = Invoke-Hardening @('run', '--bundle', $bundle, $id) -Runtime $Runtime -Under 'setpriv --groups 4242 --bounding-set -setgid --'
            $r.Out | Should -Not -Match '4242'
            $r.ExitCode | Should -Not -Be 0
            $r.Err | Should -Match 'setgroups'
            Invoke-Hardening @('delete', '--force', $id) -Runtime $Runtime | Out-Null
        }
    }

    It 'exec --user --additional-gids gives exactly those groups' {
        $id = Start-HardeningContainer -Runtime $Runtime
        try {
            $r = Invoke-Hardening @('exec', '--user', '1000:1000', '--additional-gids', '10', '--additional-gids', '20', $id, 'id') -Runtime $Runtime
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $r.Out.Trim() | Should -Be 'uid=1000(user) gid=1000(user) groups=10(wheel),20(audio)'
        }
        finally { Invoke-Hardening @('delete', '--force', $id) -Runtime $Runtime | Out-Null }
    }
}
