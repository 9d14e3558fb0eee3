#Requires -Version 7
# How psc-runtime puts a container's init (create) and an exec's process into the container's cgroups (issue 15):
# never by writing a pid into cgroup.procs from another process, which takes the kernel's cgroup_threadgroup_rwsem
# for writing and waits for an RCU grace period (12-15 ms on an idle machine) on every create and exec. The v2 tree
# (the whole tree on a v2 host, "unified" on a hybrid one) is entered by clone3(CLONE_INTO_CGROUP), each v1 hierarchy
# by the new process writing "0" to its `tasks`. Where clone3 is refused (older kernels, an outer seccomp filter) the
# parent writes the v2 cgroup.procs as before. strace shows which calls were made and injects the refusal; the
# process's /proc/PID/cgroup, read on the host, shows where it landed. Linux, root.

BeforeDiscovery {
    $script:skipAll = -not ($IsLinux -and ((& id -u) -eq '0') -and (Test-Path /bin/busybox))
    $script:noStrace = -not (Get-Command strace -ErrorAction SilentlyContinue)
    $script:hasV2 = (Test-Path /sys/fs/cgroup/cgroup.controllers) -or (Test-Path /sys/fs/cgroup/unified/cgroup.controllers)
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-placement-test-$PID"
    $script:bundle = Join-Path $work 'bundle'
    $rootfs = Join-Path $bundle 'rootfs'
    $script:stateRoot = Join-Path $work 'state'
    $script:cgroupParent = "psc-placement-$PID"
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/proc", "$rootfs/dev", "$rootfs/tmp" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($applet in 'sh', 'sleep', 'true') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox -Force | Out-Null }
    $script:runtime = Get-TestRuntimeBinary -WorkDirectory $work
    $script:isV2Host = Test-Path /sys/fs/cgroup/cgroup.controllers

    function Save-PlacementSpec([string]$Id) {
        [ordered]@{
            ociVersion = '1.0.2'
            process    = [ordered]@{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = @('sleep', '300'); cwd = '/'; env = @('PATH=/bin') }
            root       = @{ path = 'rootfs' }
            mounts     = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' })
            linux      = [ordered]@{
                cgroupsPath = "/$cgroupParent/$Id"
                namespaces  = @('pid', 'mount', 'ipc', 'uts', 'network') | ForEach-Object { @{ type = $_ } }
            }
        } | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $bundle 'config.json')
    }

    # Runs the runtime (under strace writing -Trace when given, with -Inject faults, only into calls on -OnlyPath when
    # given); returns exit code and stderr. strace -f would wait for the container's process (it is traced too, and
    # lives on), so it runs in the background and is told to detach (SIGTERM) once the runtime has exited.
    function Invoke-Placement([string[]]$Arguments, [string]$Exe = $runtime, [string]$Trace, [string]$Inject, [string]$OnlyPath) {
        $err = Join-Path $work "err-$([guid]::NewGuid().ToString('n'))"
        $rc = "$err.rc"
        $strace = @()
        if ($Trace) {
            $strace = @('strace', '-I1', '-f', '-qq', '-o', $Trace, '-e', 'trace=openat,clone,clone3,write')
            if ($Inject) { $strace += @('-e', "inject=$Inject") }
            if ($OnlyPath) { $strace += @('-P', $OnlyPath) }
        }
        # bash: strace (or nothing) runs sh, which runs the runtime and leaves its exit code in $rc; bash waits for that
        # file (bounded: 30 s), then has strace detach
        $driver = 'r=$1; shift; "$@" & s=$!; i=0; while [ ! -e "$r" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; kill -TERM $s 2>/dev/null; wait $s'
        $inner = 'e=$1; r=$2; shift 2; "$@" </dev/null >/dev/null 2>"$e"; echo $? >"$r.tmp"; mv "$r.tmp" "$r"'
        $all = @($rc) + $strace + @('/bin/sh', '-c', $inner, 'sh', $err, $rc, $Exe, '--root', $stateRoot) + $Arguments
        & /bin/bash -c "exec </dev/null >/dev/null 2>&1; $driver" bash @all
        $code = if (Test-Path $rc) { [int](Get-Content $rc) } else { -1 }
        [pscustomobject]@{ ExitCode = $code; Err = [string](Get-Content -Raw $err -ErrorAction SilentlyContinue) }
        Remove-Item $err, $rc -Force -ErrorAction SilentlyContinue
    }

    function New-PlacementId { 'p' + [guid]::NewGuid().ToString('n').Substring(0, 12) }

    # Every hierarchy line of /proc/PID/cgroup as the host sees it, e.g. "4:memory:/psc-placement-1/p123".
    function Get-ProcessCgroup([int]$ProcessId) { @(Get-Content "/proc/$ProcessId/cgroup" | Where-Object { $_ }) }

    function Get-InitPid([string]$Id, [string]$Exe = $runtime) {
        ((& $Exe --root $stateRoot state $Id) | ConvertFrom-Json).pid
    }

    # The lines of a trace that open some cgroup.procs for writing (a parent moving a process by its pid).
    function Get-ProcsWrites([string]$Trace) { @(Get-Content $Trace | Where-Object { $_ -match 'openat\(.*/cgroup\.procs", O_WRONLY' }) }
}

AfterAll {
    if (Test-Path $stateRoot) {
        foreach ($d in Get-ChildItem $stateRoot -Directory) { & $runtime --root $stateRoot delete --force $d.Name 2>$null }
    }
    foreach ($h in @(Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) + @(Get-Item /sys/fs/cgroup)) {
        $parent = Join-Path $h.FullName $cgroupParent
        if (Test-Path $parent) { Get-ChildItem $parent -Directory | ForEach-Object { & rmdir $_.FullName 2>$null }; & rmdir $parent 2>$null }
    }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'psc-runtime places processes into cgroups without a cgroup.procs write' -Skip:($skipAll -or $noStrace) {
    BeforeEach {
        $script:id = New-PlacementId
        Save-PlacementSpec $id
        $script:trace = Join-Path $work "trace-$id"
    }
    AfterEach { & $runtime --root $stateRoot delete --force $id 2>$null; Remove-Item "$trace*" -Force -ErrorAction SilentlyContinue }

    It 'create: the init is in the container''s cgroup of every hierarchy, moved there by clone3 and by itself' {
        $r = Invoke-Placement @('create', '--bundle', $bundle, $id) -Trace $trace
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $lines = Get-ProcessCgroup (Get-InitPid $id)
        $lines.Count | Should -BeGreaterThan 0
        foreach ($line in $lines) { $line | Should -Match ([regex]::Escape("/$cgroupParent/$id") + '$') }
        Get-ProcsWrites $trace | Should -BeNullOrEmpty
        $text = Get-Content -Raw $trace
        if ($hasV2) { $text | Should -Match 'clone3\(\{flags=[^}]*CLONE_INTO_CGROUP' }
        if (-not $isV2Host) { $text | Should -Match 'write\(\d+, "0", 1\)\s+= 1' -Because 'the child joins each v1 hierarchy through its tasks file' }
    }

    It 'exec: the process is in every hierarchy of the container, without a cgroup.procs write' {
        (Invoke-Placement @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        (Invoke-Placement @('start', $id)).ExitCode | Should -Be 0
        $pidFile = Join-Path $work "exec-$id.pid"
        $r = Invoke-Placement @('exec', '--detach', '--pid-file', $pidFile, $id, 'sleep', '300') -Trace $trace
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $execPid = [int](Get-Content $pidFile)
        $lines = Get-ProcessCgroup $execPid
        $lines | Should -Be (Get-ProcessCgroup (Get-InitPid $id))
        foreach ($line in $lines) { $line | Should -Match ([regex]::Escape("/$cgroupParent/$id") + '$') }
        Get-ProcsWrites $trace | Should -BeNullOrEmpty
    }

    It 'create falls back to writing the v2 cgroup.procs when clone3 is refused, and the init still lands everywhere' -Skip:(-not $hasV2) {
        $r = Invoke-Placement @('create', '--bundle', $bundle, $id) -Trace $trace -Inject 'clone3:error=ENOSYS'
        $r.ExitCode | Should -Be 0 -Because $r.Err
        foreach ($line in Get-ProcessCgroup (Get-InitPid $id)) { $line | Should -Match ([regex]::Escape("/$cgroupParent/$id") + '$') }
        $writes = @(Get-ProcsWrites $trace)
        $writes.Count | Should -Be 1 -Because 'only the v2 tree needs the parent; v1 hierarchies are joined by the child'
        $writes[0] | Should -Match ([regex]::Escape("/$cgroupParent/$id/cgroup.procs"))
    }

    It 'exec falls back the same way when clone3 is refused' -Skip:(-not $hasV2) {
        (Invoke-Placement @('create', '--bundle', $bundle, $id)).ExitCode | Should -Be 0
        (Invoke-Placement @('start', $id)).ExitCode | Should -Be 0
        $pidFile = Join-Path $work "exec-$id.pid"
        $r = Invoke-Placement @('exec', '--detach', '--pid-file', $pidFile, $id, 'sleep', '300') -Trace $trace -Inject 'clone3:error=ENOSYS'
        $r.ExitCode | Should -Be 0 -Because $r.Err
        foreach ($line in Get-ProcessCgroup ([int](Get-Content $pidFile))) { $line | Should -Match ([regex]::Escape("/$cgroupParent/$id") + '$') }
        (Get-ProcsWrites $trace).Count | Should -Be 1
    }

    It 'a v1 hierarchy the child cannot join fails the create with its name, and nothing is left' -Skip:($isV2Host -or -not (Test-Path /sys/fs/cgroup/pids/tasks)) {
        # the child's "0" into the pids hierarchy's tasks fails (strace injects the error into writes on that file only)
        $tasks = "/sys/fs/cgroup/pids/$cgroupParent/$id/tasks"
        $r = Invoke-Placement @('create', '--bundle', $bundle, $id) -Trace $trace -Inject 'write:error=EBUSY' -OnlyPath $tasks
        $r.ExitCode | Should -Not -Be 0
        $r.Err | Should -Match ([regex]::Escape("join cgroup /sys/fs/cgroup/pids/$cgroupParent/$id"))
        Get-Content -Raw $trace | Should -Match 'write\(\d+, "0", 1\)\s+= -1 EBUSY \(Device or resource busy\) \(INJECTED\)'
        Test-Path (Join-Path $stateRoot $id) | Should -BeFalse
        foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) { Test-Path (Join-Path $h.FullName "$cgroupParent/$id") | Should -BeFalse -Because $h.Name }
    }
}

# The v2 driver on a hybrid host: a build whose v2 root is the controller-less /sys/fs/cgroup/unified (as in
# Runtime.Tests.ps1's device tests), or $env:PSC_RUNTIME_CG2. Its only placement is the clone3 one.
Describe 'psc-runtime v2 driver places the init with CLONE_INTO_CGROUP' -Skip:($skipAll -or $noStrace -or -not $hasV2) {
    BeforeAll {
        $script:runtimeV2 = if ($isV2Host) { $runtime } elseif ($env:PSC_RUNTIME_CG2) { $env:PSC_RUNTIME_CG2 } else {
            $build = Join-Path $work 'build-cg2'
            & cmake -S (Join-Path (Get-TestRepositoryRoot) 'src/PSContainer.Native/native') -B $build -DCMAKE_BUILD_TYPE=Release '-DCMAKE_C_FLAGS=-DCG2_ROOT=\"/sys/fs/cgroup/unified\"' *> $null
            & cmake --build $build --target psc-runtime *> $null
            "$build/psc-runtime"
        }
    }

    It 'create and exec land in the v2 cgroup with no cgroup.procs write' {
        $id = New-PlacementId
        Save-PlacementSpec $id
        $trace = Join-Path $work "trace-$id"
        try {
            $r = Invoke-Placement @('create', '--bundle', $bundle, $id) -Exe $runtimeV2 -Trace $trace
            $r.ExitCode | Should -Be 0 -Because $r.Err
            $v2line = Get-ProcessCgroup (Get-InitPid $id $runtimeV2) | Where-Object { $_ -like '0::*' }
            $v2line | Should -Be "0::/$cgroupParent/$id"
            (Invoke-Placement @('start', $id) -Exe $runtimeV2).ExitCode | Should -Be 0
            $pidFile = Join-Path $work "exec-$id.pid"
            $r = Invoke-Placement @('exec', '--detach', '--pid-file', $pidFile, $id, 'sleep', '300') -Exe $runtimeV2 -Trace "$trace-exec"
            $r.ExitCode | Should -Be 0 -Because $r.Err
            Get-ProcessCgroup ([int](Get-Content $pidFile)) | Where-Object { $_ -like '0::*' } | Should -Be "0::/$cgroupParent/$id"
            Get-ProcsWrites $trace | Should -BeNullOrEmpty
            Get-ProcsWrites "$trace-exec" | Should -BeNullOrEmpty
        }
        finally { & $runtimeV2 --root $stateRoot delete --force $id 2>$null; Remove-Item "$trace*" -Force -ErrorAction SilentlyContinue }
    }
}
