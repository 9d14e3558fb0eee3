#Requires -Version 7.4
# Seccomp, no_new_privs, session keyrings and -SecurityOption, end to end: the default profile (Docker's) is in every
# container's spec and psc-runtime loads it; the probes are what issue 11 lists as escapes. A static C probe
# (fixtures/seccomp-probe.c, built with gcc -static) makes the calls busybox cannot.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-sec'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    Import-Module (Get-TestModulePath) -Force
    $native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$native/psc-runtime") -and (Test-Path "$native/psc-monitor")
    $script:haveRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)
    $script:haveKeyctl = [bool](Get-Command keyctl -ErrorAction SilentlyContinue)
    $script:haveGcc = (Test-Path /usr/lib/x86_64-linux-gnu/libc.a) -or (Test-Path /usr/lib/aarch64-linux-gnu/libc.a)

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @(
        'sh', 'cat', 'echo', 'true', 'grep', 'mkdir', 'mount', 'unshare', 'sleep', 'id')
    if ($script:haveGcc) {
        # the probe goes into the image's bin/ (a plain tar can be appended to)
        $stage = Join-Path $script:state.Work 'probe'
        New-Item -ItemType Directory -Force "$stage/bin" | Out-Null
        $log = & gcc -static -O2 "-o$stage/bin/probe" "$PSScriptRoot/fixtures/seccomp-probe.c" 2>&1
        if ($LASTEXITCODE -ne 0) { throw "gcc -static seccomp-probe.c failed: $log" }
        $log = & tar --numeric-owner --owner=0 --group=0 -C $stage -rf $tar ./bin/probe 2>&1
        if ($LASTEXITCODE -ne 0) { throw "tar -r failed: $log" }
        # a host tool: the largest number libseccomp (the library both runtimes link) gives a profile's names
        $script:maxNr = Join-Path $script:state.Work 'seccomp-maxnr'
        $log = & gcc -O2 "-o$script:maxNr" "$PSScriptRoot/fixtures/seccomp-maxnr.c" -l:libseccomp.a 2>&1
        if ($LASTEXITCODE -ne 0) { throw "gcc seccomp-maxnr.c failed: $log" }
    }
    Import-ContainerImage $tar -Format RootFs -Name 'pester/seccomp:1' -Command sh | Out-Null
    $script:statusProbe = 'grep -E "^(Seccomp|Seccomp_filters|NoNewPrivs):" /proc/self/status'
    $script:escapes = @('keyctl', 'add_key', 'bpf', 'perf_event_open', 'reboot', 'init_module', 'finit_module', 'unshare_user')

    function script:Get-OurLeak {
        @(
            Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
            Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:cgroupParent } |
                Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object { "cgroup $($_.FullName)" }
            Get-Process -ErrorAction SilentlyContinue | Where-Object { $_.ProcessName -like 'psc-*' } | Where-Object {
                (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($script:state.Root) } |
                ForEach-Object { "monitor $($_.Id)" }
        )
    }
    function script:Get-Probe([string[]]$Output) {
        $h = @{}
        foreach ($l in $Output) { if ($l -match '^([a-z0-9_]+)=(.*)$') { $h[$Matches[1]] = $Matches[2] } }
        $h
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Seccomp and security options' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built (out/PSContainer/native)' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'filters every container with one seccomp filter and leaves no_new_privs off, as Docker does' {
        $out = Start-Container -Image pester/seccomp:1 -Command sh, -c, $script:statusProbe -Name sec-default
        $out | Should -Contain "Seccomp:`t2"
        $out | Should -Contain "Seccomp_filters:`t1"
        $out | Should -Contain "NoNewPrivs:`t0"
        $c = Get-Container sec-default -All
        $c.SecurityOptions | Should -Be @('seccomp=default', 'no-new-privileges=false')
    }

    It 'stops the escapes of issue 11 with EPERM, and only the filter does (seccomp=unconfined lifts it)' {
        if (-not $script:haveGcc) { Set-ItResult -Skipped -Because 'gcc -static needs libc6-dev (libc.a) to build the probe' }
        $filtered = Get-Probe (Start-Container -Image pester/seccomp:1 -Command (@('/bin/probe') + $script:escapes))
        foreach ($call in $script:escapes) { $filtered[$call] | Should -Be 'EPERM' -Because "$call must be denied by the default profile" }

        $open = Get-Probe (Start-Container -Image pester/seccomp:1 -Command (@('/bin/probe') + $script:escapes) -SecurityOption seccomp=unconfined)
        # Without the filter the kernel answers these itself: the filter is what made them EPERM. (reboot and the
        # module calls fail with EPERM either way: the container lacks CAP_SYS_BOOT and CAP_SYS_MODULE.)
        $open['bpf'] | Should -Be 'EINVAL'
        $open['perf_event_open'] | Should -Be 'EFAULT'
        $open['keyctl'] | Should -Be 'OK'
        $open['unshare_user'] | Should -Be 'OK'
        (Start-Container -Image pester/seccomp:1 -Command sh, -c, $script:statusProbe -SecurityOption seccomp=unconfined) |
            Should -Contain "Seccomp:`t0"
    }

    It 'lets no unshare -U -r -m reach a mount, which works without the filter' {
        $script = 'unshare -U -r -m sh -c "mount -t tmpfs none /tmp && echo mounted" 2>&1; true'
        $out = Start-Container -Image pester/seccomp:1 -Command sh, -c, $script
        $out | Should -Not -Contain 'mounted'
        ($out -join "`n") | Should -Match 'Operation not permitted'
        Start-Container -Image pester/seccomp:1 -Command sh, -c, $script -SecurityOption seccomp=unconfined | Should -Contain 'mounted'
    }

    It 'cannot ptrace a host process (the pid namespace hides it; the profile allows ptrace as Docker''s does)' {
        if (-not $script:haveGcc) { Set-ItResult -Skipped -Because 'gcc -static needs libc6-dev (libc.a) to build the probe' }
        $probe = Get-Probe (Start-Container -Image pester/seccomp:1 -Command /bin/probe, ptrace, "$PID")
        $probe['ptrace'] | Should -BeIn @('ESRCH', 'EPERM')
    }

    It 'keeps the host''s keys out and the container''s keys in' {
        if (-not $script:haveGcc) { Set-ItResult -Skipped -Because 'gcc -static needs libc6-dev (libc.a) to build the probe' }
        if (-not $script:haveKeyctl) { Set-ItResult -Skipped -Because 'keyctl is not installed (Debian package keyutils)' }
        $name = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
        $serial = (Invoke-TestTool keyctl add user $name host-secret '@u' | Select-Object -Last 1).Trim()
        try {
            $probe = Get-Probe (Start-Container -Image pester/seccomp:1 -Command /bin/probe, keyread, $serial, add_key)
            $probe['keyread'] | Should -Be 'EPERM'
            $probe['add_key'] | Should -Be 'EPERM'
            # Even unfiltered, the process has a session keyring of its own (runc's _ses.ID), not the caller's,
            # so what it adds there stays there.
            $c = New-Container pester/seccomp:1 -Command /bin/probe, session, add_key -SecurityOption seccomp=unconfined
            $c | Start-Container -Wait
            $open = Get-Probe (Get-ContainerLog $c.Id).Line
            $open['session'] | Should -Match ";_ses\.$($c.Id)$"
            $open['add_key'] | Should -Be 'OK'
            & keyctl search '@s' user psc-probe 2>$null | Should -BeNullOrEmpty
            & keyctl search '@u' user psc-probe 2>$null | Should -BeNullOrEmpty
        }
        finally {
            & keyctl unlink $serial '@u' | Out-Null
        }
    }

    It 'filters exec''d processes too, each with a new session keyring' {
        $c = Start-Container -Image pester/seccomp:1 -Command sleep, 300 -Detach -Name sec-exec
        $out = Invoke-ContainerCommand sec-exec -Command sh, -c, $script:statusProbe
        $out | Should -Contain "Seccomp:`t2"
        $out | Should -Contain "NoNewPrivs:`t0"
        if ($script:haveGcc) {
            $probe = Get-Probe (Invoke-ContainerCommand sec-exec -Command /bin/probe, keyctl, bpf)
            $probe['keyctl'] | Should -Be 'EPERM'
            $probe['bpf'] | Should -Be 'EPERM'
            $c2 = Start-Container -Image pester/seccomp:1 -Command sleep, 300 -Detach -SecurityOption seccomp=unconfined
            (Get-Probe (Invoke-ContainerCommand $c2.Id -Command /bin/probe, session))['session'] | Should -Match ";_ses\.$($c2.Id)$"
        }
    }

    It 'turns no_new_privs on with -SecurityOption no-new-privileges' {
        foreach ($opt in 'no-new-privileges', 'no-new-privileges=true', 'no-new-privileges:true') {
            $out = Start-Container -Image pester/seccomp:1 -Command sh, -c, $script:statusProbe -SecurityOption $opt
            $out | Should -Contain "NoNewPrivs:`t1"
            $out | Should -Contain "Seccomp:`t2"
        }
        $c = New-Container pester/seccomp:1 -SecurityOption no-new-privileges, label=disable
        $c.SecurityOptions | Should -Be @('seccomp=default', 'no-new-privileges=true', 'label=disable')
    }

    It 'applies a custom profile: mkdir fails with the errno it names' {
        $profile = Join-Path $script:state.Work 'deny-mkdir.json'
        @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('mkdir', 'mkdirat'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13 }) } |
            ConvertTo-Json -Depth 5 | Set-Content $profile
        $out = Start-Container -Image pester/seccomp:1 -Command sh, -c, 'mkdir /tmp/x 2>&1; echo rc=$?' -SecurityOption "seccomp=$profile" -Name sec-custom
        $out | Should -Contain 'rc=1'
        ($out -join "`n") | Should -Match 'Permission denied'
        (Get-Container sec-custom -All).SecurityOptions | Should -Contain "seccomp=$profile"
        # the text was stored when the container was made: a changed file does not change it
        Set-Content $profile 'not json'
        Start-Container sec-custom -Wait
        @((Get-ContainerLog sec-custom).Line | Where-Object { $_ -eq 'rc=1' }).Count | Should -Be 2
    }

    It 'shows the same seccomp state and answers under runc' {
        if (-not $script:haveRunc) { Set-ItResult -Skipped -Because 'runc is not installed' }
        $ours = Start-Container -Image pester/seccomp:1 -Command sh, -c, $script:statusProbe
        $runc = Start-Container -Image pester/seccomp:1 -Command sh, -c, $script:statusProbe -Runtime runc
        $runc | Should -Contain "Seccomp:`t2"
        $runc | Should -Be $ours
        if ($script:haveGcc) {
            $cmd = @('/bin/probe') + $script:escapes
            Start-Container -Image pester/seccomp:1 -Command $cmd -Runtime runc | Should -Be (Start-Container -Image pester/seccomp:1 -Command $cmd)
        }
    }

    It 'gives ENOSYS to syscalls newer than the profile and EPERM to the ones it denies, as runc does' {
        if (-not $script:haveGcc) { Set-ItResult -Skipped -Because 'gcc -static needs libc6-dev (libc.a) to build the probe' }
        if ([Runtime.InteropServices.RuntimeInformation]::OSArchitecture -ne 'X64') { Set-ItResult -Skipped -Because 'the probe''s numbers are x86-64''s' }
        # the largest number the default profile names on x86-64, as libseccomp resolves its names
        $c = New-Container pester/seccomp:1 -Command true
        $c | Start-Container -Wait
        $profile = (Get-Content -Raw (Join-Path $script:state.Root "containers/$($c.Id)/config.json") | ConvertFrom-Json).linux.seccomp
        $c | Remove-Container
        $names = @($profile.syscalls | ForEach-Object { $_.names } | Sort-Object -Unique)
        $max = [int]($names | & $script:maxNr x86_64)
        $max | Should -BeGreaterThan 400
        $max | Should -BeLessThan 999
        # 1000 and max+1: newer than the profile. 400: no syscall has it, but it is below max, so the profile's
        # EPERM answers (runc's stub is as coarse). keyctl/reboot: known and denied. x32 calls (the x32 bit on
        # x86-64's arch) and i386 calls (int 0x80) have their own largest number; x32 keyctl is 250.
        $calls = @('nr', 1000, 'nr', ($max + 1), 'nr', 400, 'keyctl', 'reboot', 'x32', 1000, 'x32', 250, 'i386', 1000, 'i386', 288)
        $cmd = @('/bin/probe') + $calls
        $ours = Start-Container -Image pester/seccomp:1 -Command $cmd
        $p = Get-Probe $ours
        $p['nr_1000'] | Should -Be 'ENOSYS'
        $p["nr_$($max + 1)"] | Should -Be 'ENOSYS'
        $p['nr_400'] | Should -Be 'EPERM'
        $p['keyctl'] | Should -Be 'EPERM'
        $p['reboot'] | Should -Be 'EPERM'
        $p['x32_1000'] | Should -Be 'ENOSYS'
        $p['x32_250'] | Should -Be 'EPERM'
        if ($p['i386_1000'] -ne 'NOIA32') {
            $p['i386_1000'] | Should -Be 'ENOSYS'
            $p['i386_288'] | Should -Be 'EPERM'
        }

        # unconfined: the kernel's own answers (no syscall 1000 or 400; x32 off or no such call)
        $open = Get-Probe (Start-Container -Image pester/seccomp:1 -Command $cmd -SecurityOption seccomp=unconfined)
        $open['nr_1000'] | Should -Be 'ENOSYS'
        $open['nr_400'] | Should -Be 'ENOSYS'
        $open['x32_1000'] | Should -Be 'ENOSYS'
        $open['keyctl'] | Should -Be 'OK'

        if ($script:haveRunc) {
            Start-Container -Image pester/seccomp:1 -Command $cmd -Runtime runc | Should -Be $ours
        }

        # Docker's profile with defaultErrnoRet 1 spelled out and keyctl answering EACCES: the same stub, the
        # profile's own errnos below it
        $custom = $profile | ConvertTo-Json -Depth 20 | ConvertFrom-Json -AsHashtable
        $custom['defaultErrnoRet'] = 1
        $custom['syscalls'] = @(@{ names = @('keyctl'); action = 'SCMP_ACT_ERRNO'; errnoRet = 13 }) + @($custom['syscalls'])
        $file = Join-Path $script:state.Work 'errno1.json'
        $custom | ConvertTo-Json -Depth 20 | Set-Content $file
        $mine = Start-Container -Image pester/seccomp:1 -Command $cmd -SecurityOption "seccomp=$file"
        $q = Get-Probe $mine
        $q['nr_1000'] | Should -Be 'ENOSYS'
        $q['nr_400'] | Should -Be 'EPERM'
        $q['keyctl'] | Should -Be 'EACCES'
        $q['x32_250'] | Should -Be 'EACCES'
        if ($script:haveRunc) {
            Start-Container -Image pester/seccomp:1 -Command $cmd -SecurityOption "seccomp=$file" -Runtime runc | Should -Be $mine
        }

        # a permissive default gets no stub (runc's rule): getrandom (318, above keyctl's 250, the only name here)
        # still reaches the kernel
        $allow = Join-Path $script:state.Work 'allow.json'
        @{ defaultAction = 'SCMP_ACT_ALLOW'; syscalls = @(@{ names = @('keyctl'); action = 'SCMP_ACT_ERRNO'; errnoRet = 1 }) } |
            ConvertTo-Json -Depth 5 | Set-Content $allow
        $a = Get-Probe (Start-Container -Image pester/seccomp:1 -Command /bin/probe, keyctl, nr, 318, nr, 1000 -SecurityOption "seccomp=$allow")
        $a['keyctl'] | Should -Be 'EPERM'
        $a['nr_318'] | Should -Be 'OK'
        $a['nr_1000'] | Should -Be 'ENOSYS'
    }

    It 'refuses bad options with an error id' {
        { New-Container pester/seccomp:1 -SecurityOption privileged -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSecurityOption*'
        { New-Container pester/seccomp:1 -SecurityOption no-new-privileges=maybe -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSecurityOption*'
        { New-Container pester/seccomp:1 -SecurityOption "seccomp=$($script:state.Work)/missing.json" -ErrorAction Stop } |
            Should -Throw -ErrorId 'SeccompProfileNotFound*'
        $bad = Join-Path $script:state.Work 'bad.json'
        Set-Content $bad '{"defaultAction":"SCMP_ACT_SOMETIMES"}'
        { New-Container pester/seccomp:1 -SecurityOption "seccomp=$bad" -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidSeccompProfile*'
        if (-not (Test-Path /sys/kernel/security/apparmor)) {
            { New-Container pester/seccomp:1 -SecurityOption apparmor=docker-default -ErrorAction Stop } | Should -Throw -ErrorId 'AppArmorNotEnabled*'
        }
        Get-Container -All | Should -BeNullOrEmpty
    }
}
