#Requires -Version 7
# psc-runtime as a drop-in OCI runtime for real engines: podman (through conmon) and docker (through containerd's
# runc shim) drive it with runc's command line, and what a user sees must equal what they see with runc: output,
# exit codes, a TTY, exec, pause, stop. Each client is skipped with the reason when it is missing. Linux, root.
#
# podman runs in a private store (--root/--runroot/--tmpdir under this test's work dir, network none), so a user's
# podman containers and images are never touched; everything is removed at the end.
# docker needs a daemon that knows the runtime (dockerd --add-runtime psc=/path/to/psc-runtime): when dockerd is
# installed the test starts a private one (its own data root, exec root and socket; no bridge, no iptables rules)
# and stops it at the end; without dockerd the docker tests are skipped with the reason.

BeforeDiscovery {
    $script:isRoot = $IsLinux -and ((& id -u) -eq '0')
    $script:hasBusybox = (Test-Path /bin/busybox) -and ((& file -L /bin/busybox) -match 'statically linked')
    $script:hasPodman = [bool](Get-Command podman -ErrorAction SilentlyContinue) -and [bool](Get-Command conmon -ErrorAction SilentlyContinue)
    $script:hasRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)
    $script:hasScript = [bool](Get-Command script -ErrorAction SilentlyContinue)
    $script:podmanSkip = -not ($isRoot -and $hasBusybox -and $hasPodman)

    $script:dockerWhy = $null
    if (-not ($isRoot -and $hasBusybox)) { $script:dockerWhy = 'needs Linux, root and busybox-static' }
    elseif (-not (Get-Command docker -ErrorAction SilentlyContinue)) { $script:dockerWhy = 'no docker client on PATH' }
    elseif (Get-Command dockerd -ErrorAction SilentlyContinue) {
        # A private daemon with our runtime registered, on a socket of its own; AfterAll stops it.
        $runtimeForDocker = if ($env:PSC_RUNTIME) { $env:PSC_RUNTIME } else { Join-Path $PSScriptRoot '../../out/PSContainer/native/psc-runtime' }
        $runtimeForDocker = [IO.Path]::GetFullPath($runtimeForDocker)
        $dd = "/tmp/psc-dockerd-$PID"
        New-Item -ItemType Directory -Force "$dd/data", "$dd/exec" | Out-Null
        $env:PSC_TEST_DOCKERD_DIR = $dd
        $args = @('--add-runtime', "psc=$runtimeForDocker", '--data-root', "$dd/data", '--exec-root', "$dd/exec", '-H', "unix://$dd/docker.sock",
            '--pidfile', "$dd/docker.pid", '--bridge=none', '--iptables=false', '--ip-forward=false', '--ip-masq=false', '--log-level', 'error',
            '--exec-opt', 'native.cgroupdriver=cgroupfs', '--cgroup-parent', "psc-dockerd-$PID")
        Start-Process dockerd -ArgumentList $args -RedirectStandardOutput "$dd/dockerd.out" -RedirectStandardError "$dd/dockerd.err" | Out-Null
        $env:DOCKER_HOST = "unix://$dd/docker.sock"
        $deadline = [DateTime]::UtcNow.AddSeconds(40)
        do { Start-Sleep -Milliseconds 250; $rt = & timeout 5 docker info --format '{{json .Runtimes}}' 2>$null }
        while (($LASTEXITCODE -ne 0 -or -not $rt) -and [DateTime]::UtcNow -lt $deadline)
        if ($LASTEXITCODE -ne 0 -or -not $rt) { $script:dockerWhy = "the private dockerd did not start: $((Get-Content "$dd/dockerd.err" -Tail 3 -ErrorAction SilentlyContinue) -join ' ')" }
        elseif (-not (($rt | ConvertFrom-Json).PSObject.Properties.Name -contains 'psc')) { $script:dockerWhy = 'the private dockerd did not register runtime "psc"' }
    }
    else {
        $rt = & timeout 15 docker info --format '{{json .Runtimes}}' 2>$null
        if ($LASTEXITCODE -ne 0 -or -not $rt) { $script:dockerWhy = 'no reachable dockerd' }
        elseif (-not (($rt | ConvertFrom-Json).PSObject.Properties.Name -contains 'psc')) {
            $script:dockerWhy = 'the reachable dockerd has no runtime "psc" (start it with --add-runtime psc=/abs/path/psc-runtime)'
        }
    }
    $script:dockerSkip = [bool]$dockerWhy
    if ($dockerSkip) { Write-Host "RuntimeClients: docker tests skipped: $dockerWhy" }
    if ($podmanSkip) { Write-Host 'RuntimeClients: podman tests skipped: needs root, busybox-static, podman and conmon' }
}

BeforeAll {
    # Engines call the runtime's own commands (features, delete) with its default --root too: remove it if we made it.
    $script:defaultRootExisted = Test-Path /run/pscontainer
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-clients-test-$PID"
    New-Item -ItemType Directory -Force $work | Out-Null

    # The runtime: $env:PSC_RUNTIME, else a fresh cmake build (never a stale copy), else what build.ps1 put in out/.
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:runtime = Get-TestRuntimeBinary -WorkDirectory $work

    # The image: busybox-static and one symlink per applet, as a tar for `podman import` / `docker import`
    $rootfs = Join-Path $work 'rootfs'
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp", "$rootfs/home/user" | Out-Null
    if (Test-Path /bin/busybox) {
        Copy-Item /bin/busybox "$rootfs/bin/busybox"
        foreach ($applet in (& /bin/busybox --list)) {
            if ($applet -ne 'busybox') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox -Force | Out-Null }
        }
    }
    Set-Content "$rootfs/etc/passwd" "root:x:0:0:root:/root:/bin/sh`nuser:x:1000:1000::/home/user:/bin/sh"
    Set-Content "$rootfs/etc/group" "root:x:0:`nuser:x:1000:"
    $script:imageTar = Join-Path $work 'busybox.tar'
    & tar --numeric-owner -C $rootfs -cf $imageTar .
    $script:image = 'localhost/psc-clients-busybox:latest'

    # Runs a program with a bound wait; returns exit code and output (stderr separately)
    function Invoke-TestClient([string]$Exe, [string[]]$Arguments, [int]$TimeoutSeconds = 120, [hashtable]$Environment = @{}) {
        $info = [System.Diagnostics.ProcessStartInfo]::new($Exe)
        foreach ($a in $Arguments) { $info.ArgumentList.Add($a) }
        foreach ($k in $Environment.Keys) { $info.Environment[$k] = [string]$Environment[$k] }
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $info.RedirectStandardInput = $true
        $p = [System.Diagnostics.Process]::Start($info)
        $p.StandardInput.Close()
        $out = $p.StandardOutput.ReadToEndAsync()
        $err = $p.StandardError.ReadToEndAsync()
        if (-not $p.WaitForExit($TimeoutSeconds * 1000)) { $p.Kill($true); $p.WaitForExit() }
        [pscustomobject]@{ ExitCode = $p.ExitCode; Out = $out.Result; Err = $err.Result }
    }

    # Under `script` the client has a terminal (for -t); returns the terminal's text
    function Invoke-TestInTerminal([string[]]$Command, [hashtable]$Environment = @{}) {
        $line = ($Command | ForEach-Object { "'" + ($_ -replace "'", "'\''") + "'" }) -join ' '
        Invoke-TestClient 'script' @('-qec', $line, '/dev/null') -Environment $Environment
    }

    # ---- podman in a private store -------------------------------------------------------------------------
    $script:pstore = Join-Path $work 'podman'
    $script:podmanBase = @('--root', "$pstore/storage", '--runroot', "$pstore/run", '--tmpdir', "$pstore/tmp",
        '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
    # podman's own configuration, private to this test (CONTAINERS_CONF replaces /etc/containers/containers.conf):
    # rootful podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, which a root without CAP_SYS_RESOURCE
    # cannot grant above its hard limits (any runtime then fails with EPERM at setrlimit). Ask for the hard limits
    # this process has instead, so the test runs on any host without configuring podman by hand. podman 4.3 was
    # seen to run itself and conmon with RLIMIT_NPROC no higher than kernel.pid_max, so nproc takes the lower.
    $hardLimit = {
        param([string]$Name)
        $line = (Get-Content /proc/self/limits) | Where-Object { $_ -like "$Name *" }
        $hard = (($line -replace "^$([regex]::Escape($Name))\s+", '') -split '\s+')[1]
        if ($hard -eq 'unlimited') { $null } else { [long]$hard }
    }
    $ulimits = @(
        $nofile = & $hardLimit 'Max open files'; if ($null -ne $nofile) { "`"nofile=${nofile}:${nofile}`"" }
        $nproc = & $hardLimit 'Max processes'
        $pidMax = [long](Get-Content /proc/sys/kernel/pid_max)
        if ($null -eq $nproc -or $nproc -gt $pidMax) { $nproc = $pidMax }
        "`"nproc=${nproc}:${nproc}`""
    )
    New-Item -ItemType Directory -Force $pstore | Out-Null
    $script:podmanConf = Join-Path $pstore 'containers.conf'
    Set-Content $podmanConf "[containers]`ndefault_ulimits = [$($ulimits -join ', ')]`n"
    $script:podmanEnv = @{ CONTAINERS_CONF = $podmanConf }
    function Invoke-TestPodman([string]$Runtime, [string[]]$Arguments, [int]$TimeoutSeconds = 120) {
        Invoke-TestClient 'podman' ($podmanBase + @('--runtime', $Runtime) + $Arguments) $TimeoutSeconds -Environment $podmanEnv
    }
    if ($hasPodman -and $isRoot -and (Test-Path /bin/busybox)) {
        $imp = Invoke-TestClient 'podman' ($podmanBase + @('import', $imageTar, $image)) -Environment $podmanEnv
        if ($imp.ExitCode -ne 0) { throw "podman import: $($imp.Err)" }
    }
}

AfterAll {
    if ($hasPodman -and (Test-Path $pstore)) {
        Invoke-TestClient 'podman' ($podmanBase + @('rm', '-af', '-t', '0')) -Environment $podmanEnv | Out-Null
        Invoke-TestClient 'podman' ($podmanBase + @('rmi', '-af')) -Environment $podmanEnv | Out-Null
        # podman keeps its overlay graph root mounted (private) while it is in use: unmount what is ours
        $mounts = Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($pstore) } |
            Sort-Object -Property Length -Descending
        foreach ($m in $mounts) { & umount -l $m 2>$null }
        # podman (with runc too) leaves its cgroupfs parent behind; rmdir only succeeds when nobody else uses it
        foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
            foreach ($d in 'libpod_parent/conmon', 'libpod_parent') {
                if (Test-Path "$($h.FullName)/$d") { & rmdir "$($h.FullName)/$d" 2>$null }
            }
        }
    }
    if ($dockerSkip -eq $false -and (Get-Command docker -ErrorAction SilentlyContinue)) {
        & docker rm -f psc-clients-d1 psc-clients-k1 *> $null
        & docker rmi -f psc-clients-busybox:latest *> $null
    }
    if ($env:PSC_TEST_DOCKERD_DIR) {
        $dd = $env:PSC_TEST_DOCKERD_DIR
        $daemon = if (Test-Path "$dd/docker.pid") { [int](Get-Content "$dd/docker.pid") } else { 0 }
        if ($daemon -gt 0) {
            & kill -TERM $daemon 2>$null
            for ($i = 0; $i -lt 100 -and (Test-Path "/proc/$daemon"); $i++) { Start-Sleep -Milliseconds 100 }
            if (Test-Path "/proc/$daemon") { & kill -KILL $daemon 2>$null }
        }
        $mounts = Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($dd) } | Sort-Object Length -Descending
        foreach ($m in $mounts) { & umount -l $m 2>$null }
        & rm -rf --one-file-system $dd
        # The private daemon's cgroup parent (its containers' cgroups are gone with them).
        foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
            if (Test-Path "$($h.FullName)/$(Split-Path $dd -Leaf)") { & rmdir "$($h.FullName)/$(Split-Path $dd -Leaf)" 2>$null }
        }
        Remove-Item Env:PSC_TEST_DOCKERD_DIR, Env:DOCKER_HOST -ErrorAction SilentlyContinue
    }
    & rm -rf --one-file-system $work
    if (-not $defaultRootExisted -and (Test-Path /run/pscontainer)) { & rmdir /run/pscontainer/runtime /run/pscontainer 2>$null }
}

Describe 'podman --runtime psc-runtime' -Skip:$podmanSkip {
    It 'run --rm echo hi prints hi' {
        $r = Invoke-TestPodman $runtime @('run', '--rm', '--network', 'none', $image, 'echo', 'hi')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Be "hi`n"
    }

    It 'exit code of <Name> is <Code>, as with runc' -ForEach @(
        @{ Name = 'true'; Command = @('true'); Code = 0 }
        @{ Name = 'false'; Command = @('false'); Code = 1 }
        @{ Name = 'exit 3'; Command = @('sh', '-c', 'exit 3'); Code = 3 }
        @{ Name = 'a missing command'; Command = @('nosuchcmd'); Code = 127 }
    ) {
        $r = Invoke-TestPodman $runtime (@('run', '--rm', '--network', 'none', $image) + $Command)
        $r.ExitCode | Should -Be $Code -Because $r.Err
        if ($hasRunc) {
            (Invoke-TestPodman 'runc' (@('run', '--rm', '--network', 'none', $image) + $Command)).ExitCode | Should -Be $r.ExitCode
        }
    }

    It 'a killed container exits 137, as with runc' {
        foreach ($rt in @($runtime) + @(if ($hasRunc) { 'runc' })) {
            $name = 'psc-k-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
            (Invoke-TestPodman $rt @('run', '-d', '--name', $name, '--network', 'none', $image, 'sleep', '300')).ExitCode | Should -Be 0
            (Invoke-TestPodman $rt @('kill', $name)).ExitCode | Should -Be 0
            $w = Invoke-TestPodman $rt @('wait', $name)
            $w.Out.Trim() | Should -Be '137' -Because "runtime $rt"
            (Invoke-TestPodman $rt @('rm', $name)).ExitCode | Should -Be 0
        }
    }

    It 'run -d, exec (env, user, cwd, status), pause/unpause, stop, rm' {
        $name = 'psc-d-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        $r = Invoke-TestPodman $runtime @('run', '-d', '--name', $name, '--network', 'none', $image, 'sh', '-c', 'trap "exit 0" TERM; while :; do sleep 0.1; done')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        try {
            $e = Invoke-TestPodman $runtime @('exec', '-e', 'FOO=bar', '-u', '1000:1000', '-w', '/home/user', $name, 'sh', '-c', 'echo $FOO; id -u; pwd; hostname')
            $e.ExitCode | Should -Be 0 -Because $e.Err
            $lines = $e.Out.Trim() -split "`n"
            $lines[0..2] | Should -Be @('bar', '1000', '/home/user')
            $lines[3] | Should -Be ($r.Out.Trim().Substring(0, 12)) # podman's default hostname: the short id
            (Invoke-TestPodman $runtime @('exec', $name, 'sh', '-c', 'exit 5')).ExitCode | Should -Be 5
            (Invoke-TestPodman $runtime @('exec', $name, 'nosuchcmd')).ExitCode | Should -Be 127
            (Invoke-TestPodman $runtime @('pause', $name)).ExitCode | Should -Be 0
            (Invoke-TestPodman $runtime @('inspect', '--format', '{{.State.Status}}', $name)).Out.Trim() | Should -Be 'paused'
            (Invoke-TestPodman $runtime @('unpause', $name)).ExitCode | Should -Be 0
            (Invoke-TestPodman $runtime @('inspect', '--format', '{{.State.Status}}', $name)).Out.Trim() | Should -Be 'running'
            $top = Invoke-TestPodman $runtime @('top', $name, 'pid', 'args')
            $top.Out | Should -Match 'while'
            $s = Invoke-TestPodman $runtime @('stop', '-t', '10', $name)
            $s.ExitCode | Should -Be 0 -Because $s.Err
            (Invoke-TestPodman $runtime @('inspect', '--format', '{{.State.ExitCode}}', $name)).Out.Trim() | Should -Be '0'
        } finally {
            (Invoke-TestPodman $runtime @('rm', '-f', '-t', '0', $name)).ExitCode | Should -Be 0
        }
        (Invoke-TestPodman $runtime @('ps', '-aq')).Out.Trim() | Should -BeNullOrEmpty
    }

    It 'run -t and exec -t get a TTY (/dev/pts/0)' -Skip:(-not $hasScript) {
        $t = Invoke-TestInTerminal (@('podman') + $podmanBase + @('--runtime', $runtime, 'run', '--rm', '-t', '--network', 'none', $image, 'tty')) -Environment $podmanEnv
        $t.ExitCode | Should -Be 0 -Because $t.Err
        $t.Out.Trim() | Should -Be '/dev/pts/0'
        $name = 'psc-t-' + [guid]::NewGuid().ToString('n').Substring(0, 8)
        (Invoke-TestPodman $runtime @('run', '-d', '--name', $name, '--network', 'none', $image, 'sleep', '300')).ExitCode | Should -Be 0
        try {
            $x = Invoke-TestInTerminal (@('podman') + $podmanBase + @('--runtime', $runtime, 'exec', '-t', $name, 'tty')) -Environment $podmanEnv
            $x.ExitCode | Should -Be 0 -Because $x.Err
            $x.Out.Trim() | Should -Match '^/dev/pts/\d+$'
        } finally {
            Invoke-TestPodman $runtime @('rm', '-f', '-t', '0', $name) | Out-Null
        }
    }

    It 'leaves no container, conmon or runtime state behind' {
        Invoke-TestPodman $runtime @('rm', '-af', '-t', '0') | Out-Null
        (Invoke-TestPodman $runtime @('ps', '-aq')).Out.Trim() | Should -BeNullOrEmpty
        @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | Where-Object {
            ((Get-Content "$($_.FullName)/cmdline" -Raw -ErrorAction SilentlyContinue) -replace "`0", ' ') -match [regex]::Escape($pstore) }) |
            Should -BeNullOrEmpty
    }
}

Describe 'docker run --runtime psc' -Skip:$dockerSkip {
    BeforeAll {
        $imp = Invoke-TestClient 'docker' @('import', $imageTar, 'psc-clients-busybox:latest')
        if ($imp.ExitCode -ne 0) { throw "docker import: $($imp.Err)" }
        $script:dimage = 'psc-clients-busybox:latest'
    }

    It 'docker load takes an image Export-ContainerImage saved, with the same id, and runs it' {
        $module = Join-Path $repoRoot 'out/PSContainer/PSContainer.psd1'
        if (-not (Test-Path $module)) { Set-ItResult -Skipped -Because 'the module is not built (out/PSContainer)'; return }
        $saved = @{ Root = $env:PSCONTAINER_ROOT; RunRoot = $env:PSCONTAINER_RUNROOT }
        $env:PSCONTAINER_ROOT = Join-Path $work 'psc-state'
        $env:PSCONTAINER_RUNROOT = Join-Path $work 'psc-run'
        try {
            Import-Module $module -Force
            $img = Import-ContainerImage $imageTar -Format RootFs -Name psc-clients/exported:1 -Command sh
            Export-ContainerImage psc-clients/exported:1 -Path (Join-Path $work 'exported.tar') | Out-Null
            $load = Invoke-TestClient 'docker' @('load', '-i', (Join-Path $work 'exported.tar'))
            $load.ExitCode | Should -Be 0 -Because $load.Err
            (Invoke-TestClient 'docker' @('image', 'inspect', '--format', '{{.Id}}', 'psc-clients/exported:1')).Out.Trim() | Should -Be $img.Id
            (Invoke-TestClient 'docker' @('run', '--rm', '--runtime', 'psc', '--network', 'none', 'psc-clients/exported:1', 'echo', 'loaded')).Out | Should -Be "loaded`n"
        }
        finally {
            Invoke-TestClient 'docker' @('rmi', '-f', 'psc-clients/exported:1') | Out-Null
            Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue
            Remove-Module PSContainer -ErrorAction SilentlyContinue
            $env:PSCONTAINER_ROOT = $saved.Root
            $env:PSCONTAINER_RUNROOT = $saved.RunRoot
        }
    }

    It 'Start-Container gives the same process security as docker run: seccomp, no_new_privs, capabilities, groups (<User>)' -ForEach @(
        @{ User = 'root' }
        @{ User = 'user' }
        @{ User = 'user:root' }
        @{ User = '4242' }
    ) {
        $module = Join-Path $repoRoot 'out/PSContainer/PSContainer.psd1'
        if (-not (Test-Path $module)) { Set-ItResult -Skipped -Because 'the module is not built (out/PSContainer)'; return }
        $probe = 'grep -E "^(Seccomp|NoNewPrivs|CapInh|CapPrm|CapEff|CapBnd|CapAmb|Groups):" /proc/self/status; id'
        $docker = Invoke-TestClient 'docker' @('run', '--rm', '--network', 'none', '-u', $User, $dimage, 'sh', '-c', $probe)
        $docker.ExitCode | Should -Be 0 -Because $docker.Err
        $docker.Out | Should -Match 'Seccomp:\s+2' -Because 'dockerd applies its default profile'
        $saved = @{ Root = $env:PSCONTAINER_ROOT; RunRoot = $env:PSCONTAINER_RUNROOT; Parent = $env:PSCONTAINER_CGROUP_PARENT }
        $env:PSCONTAINER_ROOT = Join-Path $work 'psc-probe-state'
        $env:PSCONTAINER_RUNROOT = Join-Path $work 'psc-probe-run'
        $parent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
        $env:PSCONTAINER_CGROUP_PARENT = $parent   # never the host's default parent
        try {
            Import-Module $module -Force
            Import-ContainerImage $imageTar -Format RootFs -Name psc-clients/probe:1 -Command sh | Out-Null
            $ours = Start-Container -Image psc-clients/probe:1 -AutoRemove -Network none -User $User -Command sh, -c, $probe
            ($ours -join "`n").Trim() | Should -Be $docker.Out.Trim()
        }
        finally {
            Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue
            Remove-Module PSContainer -ErrorAction SilentlyContinue
            Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $parent } | Where-Object { Test-Path $_ } |
                ForEach-Object { [IO.Directory]::Delete($_) }
            $env:PSCONTAINER_ROOT = $saved.Root
            $env:PSCONTAINER_RUNROOT = $saved.RunRoot
            $env:PSCONTAINER_CGROUP_PARENT = $saved.Parent
        }
    }

    It 'run --rm echo hi prints hi' {
        $r = Invoke-TestClient 'docker' @('run', '--rm', '--runtime', 'psc', '--network', 'none', $dimage, 'echo', 'hi')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        $r.Out | Should -Be "hi`n"
    }

    It 'exit code of <Name> is <Code>, as with runc' -ForEach @(
        @{ Name = 'true'; Command = @('true'); Code = 0 }
        @{ Name = 'false'; Command = @('false'); Code = 1 }
        @{ Name = 'exit 3'; Command = @('sh', '-c', 'exit 3'); Code = 3 }
        @{ Name = 'a missing command'; Command = @('nosuchcmd'); Code = 127 }
    ) {
        $r = Invoke-TestClient 'docker' (@('run', '--rm', '--runtime', 'psc', '--network', 'none', $dimage) + $Command)
        $r.ExitCode | Should -Be $Code -Because $r.Err
        (Invoke-TestClient 'docker' (@('run', '--rm', '--runtime', 'runc', '--network', 'none', $dimage) + $Command)).ExitCode | Should -Be $r.ExitCode
    }

    It 'run -d, exec, pause/unpause, kill (137), rm' {
        $r = Invoke-TestClient 'docker' @('run', '-d', '--name', 'psc-clients-d1', '--runtime', 'psc', '--network', 'none', $dimage, 'sleep', '300')
        $r.ExitCode | Should -Be 0 -Because $r.Err
        try {
            $e = Invoke-TestClient 'docker' @('exec', '-e', 'FOO=bar', '-u', '1000:1000', 'psc-clients-d1', 'sh', '-c', 'echo $FOO; id -u; exit 4')
            $e.ExitCode | Should -Be 4 -Because $e.Err
            $e.Out.Trim() -split "`n" | Should -Be @('bar', '1000')
            (Invoke-TestClient 'docker' @('pause', 'psc-clients-d1')).ExitCode | Should -Be 0
            (Invoke-TestClient 'docker' @('inspect', '-f', '{{.State.Status}}', 'psc-clients-d1')).Out.Trim() | Should -Be 'paused'
            (Invoke-TestClient 'docker' @('unpause', 'psc-clients-d1')).ExitCode | Should -Be 0
            (Invoke-TestClient 'docker' @('kill', 'psc-clients-d1')).ExitCode | Should -Be 0
            (Invoke-TestClient 'docker' @('wait', 'psc-clients-d1')).Out.Trim() | Should -Be '137'
        } finally {
            (Invoke-TestClient 'docker' @('rm', '-f', 'psc-clients-d1')).ExitCode | Should -Be 0
        }
    }

    It 'run -t and exec -t get a TTY' -Skip:(-not $hasScript) {
        $t = Invoke-TestInTerminal @('docker', 'run', '--rm', '-t', '--runtime', 'psc', '--network', 'none', $dimage, 'tty')
        $t.Out.Trim() | Should -Be '/dev/pts/0'
        (Invoke-TestClient 'docker' @('run', '-d', '--name', 'psc-clients-k1', '--runtime', 'psc', '--network', 'none', $dimage, 'sleep', '300')).ExitCode | Should -Be 0
        try {
            (Invoke-TestInTerminal @('docker', 'exec', '-t', 'psc-clients-k1', 'tty')).Out.Trim() | Should -Match '^/dev/pts/\d+$'
        } finally {
            Invoke-TestClient 'docker' @('rm', '-f', 'psc-clients-k1') | Out-Null
        }
    }
}
