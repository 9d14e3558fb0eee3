#Requires -Version 7
# psc-monitor (src/PSContainer.Native/native/monitor): the per-container monitor, conmon's role.
# Driven through its command line only, against a fake runtime written here (a bash script with runc's command
# line), against runc, and against psc-runtime when it has been built. Linux, root.

BeforeDiscovery {
    $script:isRoot = $IsLinux -and ((& id -u) -eq '0')
    $script:hasRunc = [bool](Get-Command runc -ErrorAction SilentlyContinue)
    $script:hasBusybox = (Test-Path /bin/busybox) -and ((& file -L /bin/busybox) -match 'statically linked')
    $repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $pscRuntime = if ($env:PSC_RUNTIME) { $env:PSC_RUNTIME } else { Join-Path $repoRoot 'out/PSContainer/native/psc-runtime' }
    $script:hasPscRuntime = Test-Path $pscRuntime
    $script:runtimes = @(
        @{ Name = 'runc'; Path = 'runc'; Skip = -not ($isRoot -and $hasRunc -and $hasBusybox)
           Why = 'needs root, runc and busybox-static' }
        @{ Name = 'psc-runtime'; Path = $pscRuntime; Skip = -not ($isRoot -and $hasBusybox -and (Test-Path $pscRuntime))
           Why = 'needs root, busybox-static and out/PSContainer/native/psc-runtime (./build.ps1 build)' }
    )
    $memV1 = Test-Path /sys/fs/cgroup/memory/memory.oom_control
    $memV2 = (Test-Path /sys/fs/cgroup/cgroup.controllers) -and ((Get-Content /sys/fs/cgroup/cgroup.controllers -Raw) -match 'memory')
    $script:hasMemCgroup = $memV1 -or $memV2
}

BeforeAll {
    $script:repoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../..')).Path
    $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-monitor-test-$PID"
    New-Item -ItemType Directory -Force $work | Out-Null
    $script:cgroupParent = 'psc-monitor-test'

    # The monitor: $env:PSC_MONITOR, else a fresh cmake build of the monitor target (never a stale copy),
    # else out/PSContainer/native/psc-monitor.
    $script:monitor = $env:PSC_MONITOR
    if (-not $monitor) {
        $native = Join-Path $repoRoot 'src/PSContainer.Native/native'
        $build = Join-Path $work 'build'
        & cmake -S $native -B $build -DCMAKE_BUILD_TYPE=Release *> $null
        & cmake --build $build --target psc-monitor *> $null
        if ($LASTEXITCODE -eq 0 -and (Test-Path (Join-Path $build 'psc-monitor'))) { $script:monitor = Join-Path $build 'psc-monitor' }
        else { $script:monitor = Join-Path $repoRoot 'out/PSContainer/native/psc-monitor' }
    }
    if (-not (Test-Path $monitor)) { throw "psc-monitor not found (built neither with cmake nor by ./build.ps1 build)" }

    # A fake OCI runtime with runc's command line. create starts the bundle's `cmd` (a sh script) in the
    # background, held on a fifo until `start`; files in the bundle make it misbehave.
    $script:fake = Join-Path $work 'fake-runtime'
    @'
#!/bin/bash
root=/run/fake-runtime log=
while [[ $1 == --* ]]; do
  case $1 in
    --root) root=$2; shift 2;;
    --log) log=$2; shift 2;;
    --log-format) shift 2;;
    *) shift;;
  esac
done
cmd=$1; shift
case $cmd in
create)
  bundle=. pidfile=
  while [[ $1 == --* ]]; do
    case $1 in --bundle) bundle=$2;; --pid-file) pidfile=$2;; esac
    shift 2
  done
  id=$1
  [[ -f $bundle/create-delay ]] && sleep "$(cat "$bundle/create-delay")"
  if [[ -f $bundle/fail ]]; then            # "CODE MESSAGE": the message goes to --log (json) and stderr
    read -r code msg < "$bundle/fail"
    echo "fake-runtime: stderr: $msg" >&2
    if [[ -n $log && ! -f $bundle/no-log ]]; then
      esc=${msg//\\/\\\\}; esc=${esc//\"/\\\"}
      printf '{"level":"info","msg":"starting","time":"x"}\n{"level":"error","msg":"%s","time":"x"}\n' "$esc" >> "$log"
    fi
    exit "$code"
  fi
  mkdir -p "$root/$id" && mkfifo "$root/$id/fifo" || exit 1
  ( read -r _ < "$root/$id/fifo"; exec /bin/sh "$bundle/cmd" ) &
  echo $! > "$root/$id/pid"
  [[ -n $pidfile ]] && echo -n $! > "$pidfile"
  exit 0;;
start)
  dir=$(dirname "$root")
  if [[ -f $dir/bundle/start-fails ]]; then
    [[ -n $log ]] && printf '{"level":"error","msg":"start refused by the fake","time":"x"}\n' >> "$log"
    exit 1
  fi
  echo go > "$root/$1/fifo"
  if [[ -f $dir/bundle/start-waits ]]; then  # like a poststart hook that waits for the container to be ready
    for _ in $(seq 100); do [[ -e $dir/ready ]] && exit 0; sleep 0.1; done
    [[ -n $log ]] && printf '{"level":"error","msg":"the container never got ready","time":"x"}\n' >> "$log"
    exit 1
  fi;;
kill) kill -s "${2:-TERM}" "$(cat "$root/$1/pid")";;
delete)
  [[ $1 == --force ]] && { shift; kill -9 "$(cat "$root/$1/pid" 2>/dev/null)" 2>/dev/null; }
  dir=$(dirname "$root")                    # the test container's directory: its exit.json and bundle
  [[ -e $dir/exit.json ]] && touch "$dir/deleted-after-exit-file"
  touch "$dir/delete-ran"
  [[ -f $dir/bundle/delete-delay ]] && sleep "$(cat "$dir/bundle/delete-delay")"
  [[ -f $dir/bundle/delete-fails ]] && exit 1
  rm -rf "${root:?}/$1";;
*) echo "fake-runtime: unknown command $cmd" >&2; exit 1;;
esac
'@ | Set-Content -NoNewline $fake
    & chmod 755 $fake

    # A busybox root filesystem shared by the runc/psc-runtime bundles.
    $script:rootfs = Join-Path $work 'rootfs'
    if (Test-Path /bin/busybox) {
        foreach ($d in 'bin', 'proc', 'dev', 'sys', 'tmp') { New-Item -ItemType Directory -Force (Join-Path $rootfs $d) | Out-Null }
        Copy-Item /bin/busybox (Join-Path $rootfs 'bin/busybox')
        foreach ($applet in (& /bin/busybox --list)) {
            $link = Join-Path $rootfs "bin/$applet"
            if (-not (Test-Path $link)) { & ln -s busybox $link }
        }
    }

    $script:tracked = [Collections.Generic.List[object]]::new()

    function New-TestId { 'pscmt' + ([guid]::NewGuid().ToString('N') + [guid]::NewGuid().ToString('N')).Substring(0, 59) }

    function Wait-Until([scriptblock] $Condition, [double] $Seconds = 10) {
        $deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
        while ([DateTime]::UtcNow -lt $deadline) {
            if (& $Condition) { return $true }
            Start-Sleep -Milliseconds 50
        }
        return [bool](& $Condition)
    }

    function Test-Alive([int] $ProcessId) {
        # a zombie is dead: it only waits for its parent to reap it
        $stat = "/proc/$ProcessId/stat"
        if (-not (Test-Path $stat)) { return $false }
        $text = Get-Content $stat -Raw -ErrorAction SilentlyContinue
        if (-not $text) { return $false }
        $state = ($text.Substring($text.LastIndexOf(')') + 2)).Split(' ')[0]
        return $state -ne 'Z' -and $state -ne 'X'
    }

    function Get-ParentPid([int] $ProcessId) {
        $text = Get-Content "/proc/$ProcessId/stat" -Raw
        [int]($text.Substring($text.LastIndexOf(')') + 2)).Split(' ')[1]
    }

    # A container directory: fake bundle (cmd file) or OCI bundle (config.json from `runc spec`).
    function New-TestContainer {
        param([string] $Runtime = 'fake', [string] $RuntimePath = $fake, [string] $Script, [long] $MemoryLimit = 0)
        $id = New-TestId
        $dir = Join-Path $work $id.Substring(0, 16)
        $bundle = Join-Path $dir 'bundle'
        New-Item -ItemType Directory -Force $bundle | Out-Null
        $c = [pscustomobject]@{
            Id = $id; Dir = $dir; Bundle = $bundle; Runtime = $RuntimePath; RuntimeName = $Runtime
            RuntimeRoot = Join-Path $dir 'runtime-root'; Log = Join-Path $dir 'ctr.log'; ExitFile = Join-Path $dir 'exit.json'
            PidFile = Join-Path $dir 'ctr.pid'; CgroupPath = "/$cgroupParent/$id"; MonitorPid = 0; Pid = 0
        }
        if ($Runtime -eq 'fake') {
            [IO.File]::WriteAllText((Join-Path $bundle 'cmd'), $Script)
        } else {
            Push-Location $bundle
            try { & runc spec } finally { Pop-Location }
            $spec = Get-Content (Join-Path $bundle 'config.json') -Raw | ConvertFrom-Json -AsHashtable
            $spec.process.terminal = $false
            $spec.process.args = @('sh', '-c', $Script)
            $spec.root.path = $rootfs
            $spec.root.readonly = $false
            $spec.linux.cgroupsPath = $c.CgroupPath
            if ($MemoryLimit) {
                if (-not $spec.linux.resources) { $spec.linux.resources = @{} }
                $spec.linux.resources.memory = @{ limit = $MemoryLimit }
            }
            $spec | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $bundle 'config.json')
        }
        $tracked.Add($c)
        $c
    }

    function Get-MonitorArgs($c) {
        @('--runtime', $c.Runtime, '--runtime-root', $c.RuntimeRoot, '--id', $c.Id, '--bundle', $c.Bundle,
          '--log-path', $c.Log, '--exit-file', $c.ExitFile, '--pid-file', $c.PidFile, '--cgroup-path', $c.CgroupPath) +
        @(if ($c.PSObject.Properties['Extra']) { $c.Extra })
    }

    # Launches the monitor the way the engine does, with the sync fd a pipe read until EOF (so a sync fd
    # leaked into the runtime or the container would show as a timeout). Returns the parsed sync line.
    function Start-TestMonitor($c) {
        # Launched with SIGINT and SIGQUIT ignored, as from any background job (CI runners start tests so): the
        # monitor must still forward INT, and its container must not inherit the ignore.
        $script = 'trap "" INT QUIT; set -o pipefail; "$@" --sync-fd 3 3>&1 >/dev/null 2>&1 | timeout 20 cat; echo "#launcher=${PIPESTATUS[0]} reader=${PIPESTATUS[1]}"'
        $out = & bash -c $script _ $monitor @(Get-MonitorArgs $c)
        $line = @($out | Where-Object { $_ -like '{*' })
        $status = @($out | Where-Object { $_ -like '#launcher=*' })[0]
        $sync = if ($line.Count) { $line[0] | ConvertFrom-Json } else { $null }
        if ($sync -and $sync.ok) { $c.MonitorPid = [int]$sync.monitorPid; $c.Pid = [int]$sync.pid }
        [pscustomobject]@{ Sync = $sync; Lines = $line; Status = $status }
    }

    function Start-TestContainer($c) {
        & $c.Runtime --root $c.RuntimeRoot start $c.Id
        $LASTEXITCODE | Should -Be 0 -Because "$($c.RuntimeName) start"
    }

    function Wait-ExitFile($c, [double] $Seconds = 15) {
        Wait-Until { Test-Path $c.ExitFile } $Seconds | Should -BeTrue -Because 'the monitor writes the exit file when the container exits'
        Get-Content $c.ExitFile -Raw | ConvertFrom-Json
    }

    $script:criLine = '^(?<time>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) (?<stream>stdout|stderr) (?<tag>[FP]) (?<text>.*)$'
    function Get-LogRecords($c) {
        if (-not (Test-Path $c.Log)) { return @() }
        foreach ($l in [IO.File]::ReadAllLines($c.Log)) {
            if ($l -notmatch $criLine) { throw "not a CRI log line: '$l'" }
            [pscustomobject]@{ Time = [DateTime]::Parse($Matches.time).ToUniversalTime(); Stream = $Matches.stream; Tag = $Matches.tag; Text = $Matches.text }
        }
    }

    function Get-VmRss([int] $ProcessId) {
        $line = Get-Content "/proc/$ProcessId/status" | Where-Object { $_ -like 'VmRSS:*' }
        [int](($line -split '\s+')[1])
    }

    function Remove-TestContainer($c) {
        if ($c.RuntimeName -ne 'fake' -or (Test-Path (Join-Path $c.RuntimeRoot $c.Id))) {
            & $c.Runtime --root $c.RuntimeRoot delete --force $c.Id *> $null
        }
        foreach ($p in $c.MonitorPid, $c.Pid) {
            if ($p -gt 0 -and (Test-Alive $p)) { & kill -9 $p 2> $null }
        }
        # monitors started whose sync line never came: find them by their name and our id
        foreach ($procDir in Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$') {
            $cmd = Get-Content (Join-Path $procDir.FullName 'cmdline') -Raw -ErrorAction SilentlyContinue
            if ($cmd -and $cmd.TrimEnd([char]0) -eq "psc-$($c.Id.Substring(0, 12))") { & kill -9 $procDir.Name 2> $null }
        }
        foreach ($cg in Get-ChildItem "/sys/fs/cgroup/*/$cgroupParent/$($c.Id)", "/sys/fs/cgroup/$cgroupParent/$($c.Id)" -Directory -ErrorAction SilentlyContinue) {
            try { [IO.Directory]::Delete($cg.FullName) } catch { }
        }
        Remove-Item -Recurse -Force $c.Dir -ErrorAction SilentlyContinue
    }

    function Clear-TestContainers {
        foreach ($c in $tracked) { Remove-TestContainer $c }
        $tracked.Clear()
    }
}


AfterAll {
    foreach ($cg in Get-ChildItem "/sys/fs/cgroup/*/$cgroupParent", "/sys/fs/cgroup/$cgroupParent" -Directory -ErrorAction SilentlyContinue) {
        Get-ChildItem $cg.FullName -Directory -ErrorAction SilentlyContinue | ForEach-Object { [IO.Directory]::Delete($_.FullName) }
        try { [IO.Directory]::Delete($cg.FullName) } catch { }
    }
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
}

Describe 'psc-monitor with a fake runtime' -Skip:(-not $isRoot) {
    AfterEach { Clear-TestContainers }

    It 'detaches at once, names itself psc-ID, keeps only the sync fd, and is the parent of the container' {
        $c = New-TestContainer -Script 'echo hi; sleep 30'
        Set-Content (Join-Path $c.Bundle 'create-delay') '2'
        $sync = Join-Path $c.Dir 'sync'
        # the launcher must return long before the 2 s create is over
        $timing = & bash -c 'sync=$1; shift; s=$(date +%s%N); "$@" --sync-fd 3 3>"$sync"; rc=$?; echo "$rc $(( ($(date +%s%N) - s) / 1000000 ))"' _ $sync $monitor @(Get-MonitorArgs $c)
        $rc, $ms = "$timing".Split(' ')
        $rc | Should -Be '0'
        [int]$ms | Should -BeLessThan 1000
        $name = "psc-$($c.Id.Substring(0, 12))"
        $monitorPid = [int]@(& pgrep -f "^$name`$")[0]
        $monitorPid | Should -BeGreaterThan 0
        (Get-Content "/proc/$monitorPid/comm" -Raw).Trim() | Should -Be $name.Substring(0, 15)
        (Get-Content "/proc/$monitorPid/cmdline" -Raw).TrimEnd([char]0) | Should -Be $name
        Get-ParentPid $monitorPid | Should -Not -Be $PID
        # stat after the command name: state ppid pgrp session tty_nr
        $stat = (Get-Content "/proc/$monitorPid/stat" -Raw); $f = $stat.Substring($stat.LastIndexOf(')') + 2).Split(' ')
        $myStat = (Get-Content "/proc/$PID/stat" -Raw); $mf = $myStat.Substring($myStat.LastIndexOf(')') + 2).Split(' ')
        $f[3] | Should -Not -Be $mf[3] -Because 'setsid: a session of its own'
        $f[3] | Should -Not -Be "$monitorPid" -Because 'not a session leader, so it can never acquire a terminal'
        $f[4] | Should -Be '0' -Because 'no controlling terminal'
        (& readlink /proc/$monitorPid/cwd) | Should -Be '/'

        Wait-Until { (Test-Path $sync) -and (Get-Content $sync -Raw) -match "`n" } 10 | Should -BeTrue
        $s = Get-Content $sync -Raw | ConvertFrom-Json
        $s.ok | Should -BeTrue
        $s.monitorPid | Should -Be $monitorPid
        $c.MonitorPid = $s.monitorPid; $c.Pid = $s.pid
        Get-ParentPid $s.pid | Should -Be $monitorPid
        [int](Get-Content $c.PidFile -Raw) | Should -Be $s.pid
        # only stdio (/dev/null), the signalfd, the log and the two pipes: the sync fd is closed once reported
        $fds = Get-ChildItem "/proc/$monitorPid/fd" | ForEach-Object { & readlink $_.FullName }
        $fds[0..2] | Should -Be @('/dev/null', '/dev/null', '/dev/null')
        $fds | Should -Not -Contain $sync
        @($fds).Count | Should -BeLessOrEqual 7
        (& readlink "/proc/$($s.pid)/fd/1") | Should -Match '^pipe:'
        (& readlink "/proc/$($s.pid)/fd/2") | Should -Match '^pipe:'
        (& readlink "/proc/$($s.pid)/fd/0") | Should -Be '/dev/null'
        $ctrFds = Get-ChildItem "/proc/$($s.pid)/fd" | ForEach-Object { & readlink $_.FullName }
        $ctrFds | Should -Not -Contain $sync -Because 'the sync fd is close-on-exec'
        $ctrFds | Should -Not -Contain $c.Log
    }

    It 'reports {"ok":true,...} on the sync fd and closes it; logs stdout and stderr in CRI format, in order; exit code 3' {
        $c = New-TestContainer -Script 'echo out; sleep 0.2; echo err >&2; sleep 0.2; echo "out 2  spaced"; exit 3'
        $r = Start-TestMonitor $c
        $r.Status | Should -Be '#launcher=0 reader=0' -Because 'the launcher exits 0 and the sync pipe reaches EOF'
        $r.Lines.Count | Should -Be 1
        $r.Sync.ok | Should -BeTrue
        $r.Sync.pid | Should -BeGreaterThan 0
        $r.Sync.monitorPid | Should -BeGreaterThan 0
        Get-ParentPid $r.Sync.pid | Should -Be $r.Sync.monitorPid
        (Get-Content $c.Log -Raw) | Should -BeNullOrEmpty -Because 'nothing runs before start'
        $before = [DateTime]::UtcNow.AddSeconds(-1)
        Start-TestContainer $c
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 3
        $exit.signal | Should -Be 0
        $exit.oomKilled | Should -BeFalse
        $exit.finishedAt | Should -Match '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$'
        $recs = @(Get-LogRecords $c)
        $recs.Count | Should -Be 3
        ($recs | ForEach-Object { "$($_.Stream) $($_.Tag) $($_.Text)" }) | Should -Be @('stdout F out', 'stderr F err', 'stdout F out 2  spaced')
        foreach ($rec in $recs) { $rec.Time | Should -BeGreaterThan $before; $rec.Time | Should -BeLessOrEqual ([DateTime]::UtcNow) }
        $recs[1].Time | Should -BeGreaterThan $recs[0].Time
        Wait-Until { -not (Test-Alive $c.MonitorPid) } 5 | Should -BeTrue -Because 'the monitor exits after writing the exit file'
        [int](Get-Item $c.Log).UnixFileMode | Should -Be ([Convert]::ToInt32('640', 8))
        Get-ChildItem $c.Dir -Filter '*.tmp*' | Should -BeNullOrEmpty
        Get-ChildItem $c.Dir -Filter '*runtime-log*' | Should -BeNullOrEmpty
    }

    It 'writes a line as soon as the container flushes it, and partial lines as P records' {
        $c = New-TestContainer -Script 'printf abc; sleep 1; echo def; head -c 40000 /dev/zero | tr "\0" x; echo; printf tail'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        Wait-Until { (Test-Path $c.Log) -and (Get-Content $c.Log -Raw) -match 'stdout P abc' } 0.8 | Should -BeTrue -Because 'no buffering across time'
        (Wait-ExitFile $c).exitCode | Should -Be 0
        $recs = @(Get-LogRecords $c)
        "$($recs[0].Tag) $($recs[0].Text)" | Should -Be 'P abc'
        "$($recs[1].Tag) $($recs[1].Text)" | Should -Be 'F def'
        # the 40000-character line: P records of at most 16 KiB, then F; together the whole line
        $long = [Text.StringBuilder]::new(); $i = 2
        while ($recs[$i].Tag -eq 'P') { $recs[$i].Text.Length | Should -BeLessOrEqual 16384; [void]$long.Append($recs[$i].Text); $i++ }
        [void]$long.Append($recs[$i].Text)
        $recs[$i].Tag | Should -Be 'F'
        $long.ToString() | Should -Be ('x' * 40000)
        $i | Should -BeGreaterOrEqual 4 -Because 'a 40000-character line needs at least three records'
        # a final line without newline: P record(s), then an empty F
        "$($recs[$i + 1].Tag) $($recs[$i + 1].Text)" | Should -Be 'P tail'
        "$($recs[$i + 2].Tag) $($recs[$i + 2].Text)" | Should -Be 'F '
        $recs.Count | Should -Be ($i + 3)
    }

    It 'reports a container killed by SIGKILL as signal 9, exit code 137' {
        $c = New-TestContainer -Script 'exec sleep 60'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        Start-Sleep -Milliseconds 200
        & kill -9 $c.Pid
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 137
        $exit.signal | Should -Be 9
        $exit.oomKilled | Should -BeFalse
    }

    It 'forwards <Signal> sent to the monitor to the container' -ForEach @(
        @{ Signal = 'TERM'; Code = 42 }, @{ Signal = 'INT'; Code = 43 }, @{ Signal = 'HUP'; Code = 44 }) {
        $c = New-TestContainer -Script "trap 'echo got-$Signal; exit $Code' $Signal; echo ready; while :; do sleep 0.1; done"
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        Wait-Until { (Test-Path $c.Log) -and (Get-Content $c.Log -Raw) -match 'ready' } 5 | Should -BeTrue
        & kill "-$Signal" $c.MonitorPid
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be $Code
        (Get-LogRecords $c).Text | Should -Contain "got-$Signal"
    }

    It 'sends the container the signal a queued relay request names (SIGKILL included), and drops an unqueued one' {
        # The engine's Stop-Container: signal 38 (MON_RELAY_SIGNAL) queued with the signal number as its value,
        # instead of a `runtime kill` process. It takes that path only when the monitor blocks the signal.
        $c = New-TestContainer -Script 'exec sleep 60'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        $blocked = ((Get-Content "/proc/$($c.MonitorPid)/status" | Where-Object { $_ -like 'SigBlk:*' }) -split '\s+')[1]
        ([Convert]::ToUInt64($blocked, 16) -band (1L -shl 37)) | Should -Not -Be 0 -Because 'the engine reads SigBlk to know the monitor takes requests'
        & /bin/kill -s 38 $c.MonitorPid
        Start-Sleep -Milliseconds 300
        Test-Alive $c.MonitorPid | Should -BeTrue -Because 'a request without a value is dropped, not fatal'
        Test-Alive $c.Pid | Should -BeTrue
        & /bin/kill -s 38 -q 9 $c.MonitorPid
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 137
        $exit.signal | Should -Be 9

        $d = New-TestContainer -Script "trap 'echo got-term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"
        (Start-TestMonitor $d).Sync.ok | Should -BeTrue
        Start-TestContainer $d
        Wait-Until { (Test-Path $d.Log) -and (Get-Content $d.Log -Raw) -match 'ready' } 5 | Should -BeTrue
        & /bin/kill -s 38 -q 15 $d.MonitorPid
        (Wait-ExitFile $d).exitCode | Should -Be 42
        (Get-LogRecords $d).Text | Should -Contain 'got-term'
    }

    It 'deletes the container from the runtime before it writes the exit file, and says whether that worked' {
        $c = New-TestContainer -Script 'exit 0'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        $exit = Wait-ExitFile $c
        $exit.runtimeDeleted | Should -BeTrue
        Test-Path (Join-Path $c.Dir 'delete-ran') | Should -BeTrue
        Test-Path (Join-Path $c.Dir 'deleted-after-exit-file') | Should -BeFalse -Because 'whoever sees the exit finds the runtime done'
        Test-Path (Join-Path $c.RuntimeRoot $c.Id) | Should -BeFalse

        # A failed delete leaves the runtime's state for the engine's clean-up, and the exit file says so.
        $d = New-TestContainer -Script 'exit 0'
        New-Item -ItemType File (Join-Path $d.Bundle 'delete-fails') | Out-Null
        (Start-TestMonitor $d).Sync.ok | Should -BeTrue
        Start-TestContainer $d
        $exit = Wait-ExitFile $d
        $exit.runtimeDeleted | Should -BeFalse
        $exit.exitCode | Should -Be 0
        Test-Path (Join-Path $d.RuntimeRoot $d.Id) | Should -BeTrue

        # While the state still has exec.fifo (runc's and psc-runtime's: `runtime start` has not finished releasing the
        # container), the delete is not run: it would pull the state from under start. The engine deletes after start.
        $e = New-TestContainer -Script 'exit 0'
        (Start-TestMonitor $e).Sync.ok | Should -BeTrue
        New-Item -ItemType File (Join-Path $e.RuntimeRoot "$($e.Id)/exec.fifo") | Out-Null
        Start-TestContainer $e
        $exit = Wait-ExitFile $e
        $exit.runtimeDeleted | Should -BeFalse
        Test-Path (Join-Path $e.Dir 'delete-ran') | Should -BeFalse
        Test-Path (Join-Path $e.RuntimeRoot $e.Id) | Should -BeTrue
    }

    It 'survives kill -9 of the process that launched it' {
        $c = New-TestContainer -Script 'read -r line < "$0.go"; echo "after: $line"; exit 5'
        & mkfifo "$($c.Bundle)/cmd.go"
        $sync = Join-Path $c.Dir 'sync'
        $psi = [Diagnostics.ProcessStartInfo]::new('bash')
        foreach ($a in @('-c', 'sync=$1; shift; "$@" --sync-fd 3 3>"$sync"; exec sleep 300', '_', $sync, $monitor) + @(Get-MonitorArgs $c)) { $psi.ArgumentList.Add($a) }
        $launcher = [Diagnostics.Process]::Start($psi)
        Wait-Until { (Test-Path $sync) -and (Get-Content $sync -Raw) -match "`n" } 10 | Should -BeTrue
        $s = Get-Content $sync -Raw | ConvertFrom-Json
        $s.ok | Should -BeTrue
        $c.MonitorPid = $s.monitorPid; $c.Pid = $s.pid
        Test-Alive $launcher.Id | Should -BeTrue
        & kill -9 $launcher.Id
        Wait-Until { -not (Test-Alive $launcher.Id) } 5 | Should -BeTrue
        Start-Sleep -Milliseconds 300
        Test-Alive $s.monitorPid | Should -BeTrue
        Start-TestContainer $c
        & bash -c 'echo still-monitored > "$1"' _ "$($c.Bundle)/cmd.go"
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 5
        (Get-LogRecords $c).Text | Should -Contain 'after: still-monitored'
    }

    It 'reports a failed create as {"ok":false} with the runtime''s exit code and its --log message, leaving nothing behind' {
        $c = New-TestContainer -Script 'echo never'
        Set-Content (Join-Path $c.Bundle 'fail') '7 mount "/x\y": no such thing'
        $r = Start-TestMonitor $c
        $r.Status | Should -Be '#launcher=0 reader=0'
        $r.Sync.ok | Should -BeFalse
        $r.Sync.exitCode | Should -Be 7
        $r.Sync.message | Should -Be 'mount "/x\y": no such thing'
        Wait-Until { -not (& pgrep -f "^psc-$($c.Id.Substring(0, 12))`$") } 3 | Should -BeTrue -Because 'the monitor exits'
        Test-Path $c.ExitFile | Should -BeFalse
        Get-ChildItem $c.Dir -Filter '*runtime-log*' | Should -BeNullOrEmpty
        (Get-Content $c.Log -Raw) | Should -BeNullOrEmpty -Because "the runtime's own errors are not the container's output"
    }

    It 'falls back to the runtime''s stderr when it wrote no --log record' {
        $c = New-TestContainer -Script 'echo never'
        Set-Content (Join-Path $c.Bundle 'fail') '126 cannot execute'
        New-Item (Join-Path $c.Bundle 'no-log') | Out-Null
        $r = Start-TestMonitor $c
        $r.Sync.ok | Should -BeFalse
        $r.Sync.exitCode | Should -Be 126
        $r.Sync.message | Should -Be 'fake-runtime: stderr: cannot execute'
    }

    It 'reports a runtime that cannot be executed with exit code 127' {
        $c = New-TestContainer -Script 'echo never'
        $c.Runtime = Join-Path $work 'no-such-runtime'
        $r = Start-TestMonitor $c
        $r.Sync.ok | Should -BeFalse
        $r.Sync.exitCode | Should -Be 127
        $r.Sync.message | Should -Match 'no-such-runtime'
    }

    It 'with --start reports a failed start as exit code 124 with the runtime''s message, and deletes the container' {
        $c = New-TestContainer -Script 'echo never'
        Set-Content (Join-Path $c.Bundle 'start-fails') ''
        $c | Add-Member Extra @('--start')
        $r = Start-TestMonitor $c
        $r.Status | Should -Be '#launcher=0 reader=0'
        $r.Sync.ok | Should -BeFalse
        $r.Sync.exitCode | Should -Be 124
        $r.Sync.message | Should -Match 'start refused by the fake'
        Test-Path (Join-Path $c.Dir 'delete-ran') | Should -BeTrue
        Test-Path (Join-Path $c.RuntimeRoot $c.Id) | Should -BeFalse
        Get-ChildItem $c.Dir -Filter '*.runtime-log.*' | Should -BeNullOrEmpty -Because 'its temporary runtime logs are removed'
    }

    It 'takes a runtime command it is running down with it when it is killed (no delete goes on alone)' {
        $c = New-TestContainer -Script 'exit 0'
        [IO.File]::WriteAllText((Join-Path $c.Bundle 'delete-delay'), '30')
        $c | Add-Member Extra @('--start')
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Wait-Until { Test-Path (Join-Path $c.Dir 'delete-ran') } 10 | Should -BeTrue -Because 'the monitor runs delete once the container exited'
        $delete = @(& pgrep -f "fake-runtime --root $([regex]::Escape($c.RuntimeRoot)) delete")
        $delete.Count | Should -BeGreaterThan 0
        & kill -9 $c.MonitorPid
        Wait-Until { -not (& pgrep -f "fake-runtime --root $([regex]::Escape($c.RuntimeRoot)) delete") } 5 | Should -BeTrue -Because 'the delete dies with its monitor'
    }

    It 'stamps finishedAt when the container exited, not when the exit file is written after the runtime''s delete' {
        $c = New-TestContainer -Script 'exit 0'
        [IO.File]::WriteAllText((Join-Path $c.Bundle 'delete-delay'), '1.5')
        $c | Add-Member Extra @('--start')
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        $exit = Wait-ExitFile $c
        $written = (Get-Item $c.ExitFile).LastWriteTimeUtc
        Test-Path (Join-Path $c.Dir "delete-ran") | Should -BeTrue
        ($written - ([DateTime]$exit.finishedAt).ToUniversalTime()).TotalSeconds | Should -BeGreaterThan 1.2 -Because 'the delete took 1.5 s'
    }

    It 'with --start keeps taking the container''s output while start runs (a start that waits for the container)' {
        # 256 KiB before "ready": more than a pipe holds, so a monitor that stopped reading until start returned
        # would leave the container blocked and the start waiting for it
        $c = New-TestContainer -Script 'exit 0'
        [IO.File]::WriteAllText((Join-Path $c.Bundle 'cmd'), "head -c 262144 /dev/zero | tr '\0' 'x'; echo; touch '$($c.Dir)/ready'; exit 0")
        Set-Content (Join-Path $c.Bundle 'start-waits') ''
        $c | Add-Member Extra @('--start')
        $r = Start-TestMonitor $c
        $r.Sync.ok | Should -BeTrue -Because ($r.Sync.message ?? '')
        (Wait-ExitFile $c).exitCode | Should -Be 0
        ((Get-LogRecords $c).Text -join '').Length | Should -Be 262144
    }

    It 'refuses --sealed-runtime with a runtime given by name (it copies a file)' {
        $d = New-TestContainer -Script 'exit 0'
        $out = & bash -c '"$@" --sync-fd 3 3>&1 >/dev/null 2>/dev/null' _ $monitor --runtime fake-runtime --runtime-root $d.RuntimeRoot --id $d.Id --bundle $d.Bundle --log-path $d.Log --exit-file $d.ExitFile --pid-file $d.PidFile --sealed-runtime
        $LASTEXITCODE | Should -Be 2
        ($out | ConvertFrom-Json).message | Should -Match 'invalid command line'
    }

    It 'refuses a bad command line without detaching' {
        $out = & $monitor --id x 2>&1
        $LASTEXITCODE | Should -Be 2
        "$out" | Should -Match '--runtime is required'
    }

    It 'refuses stdin options that do not go together: --stdin with --tty, --stdin-once without --stdin, --stdin without a socket' {
        $base = @('--runtime', 'runc', '--id', 'x', '--bundle', $work, '--log-path', "$work/l", '--exit-file', "$work/e", '--pid-file', "$work/p")
        $out = & $monitor @base --tty --stdin --attach-socket "$work/a" 2>&1
        $LASTEXITCODE | Should -Be 2
        "$out" | Should -Match '--stdin is for a container without --tty'
        $out = & $monitor @base --stdin-once 2>&1
        $LASTEXITCODE | Should -Be 2
        "$out" | Should -Match '--stdin-once needs --stdin'
        $out = & $monitor @base --stdin 2>&1
        $LASTEXITCODE | Should -Be 2
        "$out" | Should -Match '--attach-socket goes with --tty or --stdin'
        Test-Path "$work/a" | Should -BeFalse
    }

    It 'runs the exit command after the exit file, detached (own session, no descriptors of its own but stdio), unless the watch file is locked' {
        foreach ($watched in $false, $true) {
            $c = New-TestContainer -Script 'exit 4'
            $m = Join-Path $c.Dir 'exitcmd'
            $watch = Join-Path $c.Dir 'watch'
            $probe = "cat /proc/`$`$/stat > $m.stat; ls /proc/`$`$/fd > $m.fds; cp $($c.ExitFile) $m.exit"
            $c | Add-Member Extra @('--exit-command', '/bin/sh', '--exit-command-arg', '-c', '--exit-command-arg', $probe, '--exit-command-watch', $watch)
            $holder = $null
            if ($watched) {
                # A session waiting for the exit holds the watch file (shared); the monitor then leaves the exit to it.
                $holder = Start-Process flock -ArgumentList '-s', $watch, 'sleep', '60' -PassThru
                Wait-Until { Test-Path $watch } 5 | Should -BeTrue -Because 'flock made and locked the watch file'
                Start-Sleep -Milliseconds 300
            }
            try {
                (Start-TestMonitor $c).Sync.ok | Should -BeTrue
                Start-TestContainer $c
                (Wait-ExitFile $c).exitCode | Should -Be 4
                if ($watched) {
                    Wait-Until { -not (Test-Alive $c.MonitorPid) } 5 | Should -BeTrue
                    Start-Sleep -Milliseconds 500
                    Test-Path "$m.stat" | Should -BeFalse -Because 'a live process holds the watch file'
                }
                else {
                    Wait-Until { Test-Path "$m.exit" } 10 | Should -BeTrue -Because 'the exit command runs once the container exited'
                    (Get-Content "$m.exit" -Raw | ConvertFrom-Json).exitCode | Should -Be 4 -Because 'the exit file is complete before it runs'
                    $f = ((Get-Content "$m.stat" -Raw) -replace '^.*\) ', '') -split ' '
                    $pid0 = [int]((Get-Content "$m.stat" -Raw) -split ' ')[0]
                    [int]$f[3] | Should -Be $pid0 -Because 'it leads a session of its own'
                    @(Get-Content "$m.fds" | Where-Object { [int]$_ -gt 2 }).Count | Should -BeLessOrEqual 1 -Because 'only the directory ls reads is open beyond stdio'
                }
            }
            finally {
                if ($holder) { Stop-Process -Id $holder.Id -Force -ErrorAction SilentlyContinue }
            }
        }
    }

    It 'stays small when idle (VmRSS reported)' {
        $c = New-TestContainer -Script 'exec sleep 60'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        Start-Sleep -Milliseconds 500
        $rss = Get-VmRss $c.MonitorPid
        $pss = ((Get-Content "/proc/$($c.MonitorPid)/smaps_rollup" | Where-Object { $_ -like 'Pss:*' }) -split '\s+')[1]
        Write-Host "    idle psc-monitor: VmRSS $rss kB, Pss $pss kB"
        $rss | Should -BeLessThan 1024 -Because "conmon's idle VmRSS is ~1.5-2 MB"
    }
}

Describe 'psc-monitor with <Name>' -ForEach $runtimes {
    AfterEach { Clear-TestContainers }

    BeforeAll {
        $script:rtName = $Name
        $script:rtPath = $Path
    }

    It 'runs a busybox container: sync ok, parent of the container, CRI log, exit code 3' -Skip:$Skip {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script 'echo out; echo err >&2; exit 3'
        $r = Start-TestMonitor $c
        $r.Status | Should -Be '#launcher=0 reader=0'
        $r.Sync.ok | Should -BeTrue -Because ($r.Sync.message ?? '')
        Get-ParentPid $r.Sync.pid | Should -Be $r.Sync.monitorPid
        Start-TestContainer $c
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 3
        $exit.signal | Should -Be 0
        $exit.oomKilled | Should -BeFalse
        $recs = @(Get-LogRecords $c)
        ($recs | ForEach-Object { "$($_.Stream) $($_.Tag) $($_.Text)" }) | Should -Be @('stdout F out', 'stderr F err')
    }

    It 'reports SIGKILL as signal 9 / 137, and forwards SIGTERM sent to the monitor' -Skip:$Skip {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script 'exec sleep 60'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        & $c.Runtime --root $c.RuntimeRoot kill $c.Id KILL
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 137
        $exit.signal | Should -Be 9

        $d = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script "trap 'echo term; exit 42' TERM; echo ready; while :; do sleep 0.1; done"
        (Start-TestMonitor $d).Sync.ok | Should -BeTrue
        Start-TestContainer $d
        Wait-Until { (Test-Path $d.Log) -and (Get-Content $d.Log -Raw) -match 'ready' } 5 | Should -BeTrue
        & kill -TERM $d.MonitorPid
        (Wait-ExitFile $d).exitCode | Should -Be 42
        (Get-LogRecords $d).Text | Should -Contain 'term'
    }

    It 'kills the container on a relayed SIGKILL and removes it from the runtime (state, cgroup) before the exit file' -Skip:$Skip {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script 'exec sleep 60'
        (Start-TestMonitor $c).Sync.ok | Should -BeTrue
        Start-TestContainer $c
        & /bin/kill -s 38 -q 9 $c.MonitorPid
        $exit = Wait-ExitFile $c
        $exit.exitCode | Should -Be 137
        $exit.runtimeDeleted | Should -BeTrue
        Test-Path (Join-Path $c.RuntimeRoot $c.Id) | Should -BeFalse -Because 'the runtime state is gone when the exit file appears'
        Get-ChildItem "/sys/fs/cgroup/*/$cgroupParent/$($c.Id)", "/sys/fs/cgroup/$cgroupParent/$($c.Id)" -Directory -ErrorAction SilentlyContinue |
            Should -BeNullOrEmpty -Because 'so is the cgroup'
    }

    It 'reports a failed create with the runtime''s exit code and message, leaving nothing behind' -Skip:$Skip {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script 'x'
        $spec = Get-Content (Join-Path $c.Bundle 'config.json') -Raw | ConvertFrom-Json -AsHashtable
        $spec.process.args = @('/no/such/command')
        $spec | ConvertTo-Json -Depth 20 | Set-Content (Join-Path $c.Bundle 'config.json')
        $r = Start-TestMonitor $c
        $r.Status | Should -Be '#launcher=0 reader=0'
        $r.Sync.ok | Should -BeFalse
        $r.Sync.exitCode | Should -BeIn @(1, 127)
        $r.Sync.message | Should -Match '/no/such/command'
        Wait-Until { -not (& pgrep -f "^psc-$($c.Id.Substring(0, 12))`$") } 3 | Should -BeTrue
        (& $c.Runtime --root $c.RuntimeRoot list 2>$null) -join "`n" | Should -Not -Match $c.Id
        Get-ChildItem "/sys/fs/cgroup/*/$cgroupParent/$($c.Id)" -Directory -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'with --start runs `runtime start` itself and reports the container started' -Skip:$Skip {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -Script 'echo started-by-monitor; exit 3'
        $c | Add-Member Extra @('--start')
        $r = Start-TestMonitor $c
        $r.Sync.ok | Should -BeTrue -Because ($r.Sync.message ?? '')
        $r.Sync.started | Should -BeTrue
        (Wait-ExitFile $c).exitCode | Should -Be 3 -Because 'nobody but the monitor ran start'
        (Get-LogRecords $c).Text | Should -Contain 'started-by-monitor'
    }

    It 'reports oomKilled for a container over its memory limit' -Skip:($Skip -or -not $hasMemCgroup) {
        $c = New-TestContainer -Runtime $rtName -RuntimePath $rtPath -MemoryLimit 8MB -Script 'x=$(head -c 50000000 /dev/zero | tr "\0" a); echo ${#x}'
        $r = Start-TestMonitor $c
        $r.Sync.ok | Should -BeTrue -Because ($r.Sync.message ?? '')
        Start-TestContainer $c
        $exit = Wait-ExitFile $c 30
        $exit.oomKilled | Should -BeTrue
        $exit.exitCode | Should -Not -Be 0
    }
}

# --sealed-runtime is for psc-runtime only (it checks the seals; other runtimes have their own defence).
Describe 'psc-monitor --sealed-runtime with psc-runtime' -Skip:(-not ($isRoot -and $hasBusybox -and $hasPscRuntime)) {
    BeforeAll {
        $script:pscRuntime = if ($env:PSC_RUNTIME) { $env:PSC_RUNTIME } else { Join-Path $repoRoot 'out/PSContainer/native/psc-runtime' }
    }
    AfterEach { Clear-TestContainers }

    It 'with --sealed-runtime runs psc-runtime from a sealed in-memory copy, which then does not re-execute itself' {
        $c = New-TestContainer -Runtime 'psc-runtime' -RuntimePath $pscRuntime -Script 'exit 0'
        $c | Add-Member Extra @('--start', '--sealed-runtime')
        $trace = Join-Path $work "trace-$($c.Id)"
        $script = 'set -o pipefail; strace -f -qq -o "$0" -e trace=execve,execveat "$@" --sync-fd 3 3>&1 >/dev/null 2>&1 | timeout 20 cat'
        $out = & bash -c $script $trace $monitor @(Get-MonitorArgs $c)
        ($out | Where-Object { $_ -like '{*' } | ConvertFrom-Json).ok | Should -BeTrue
        (Wait-ExitFile $c).exitCode | Should -Be 0
        $lines = @(Get-Content $trace)
        @($lines | Where-Object { $_ -match 'execveat\(\d+, "", \[[^\]]*"create"' }).Count | Should -Be 1 -Because 'create runs once, from the copy'
        @($lines | Where-Object { $_ -match 'execveat\(\d+, "", \[[^\]]*"start"' }).Count | Should -Be 1
        @($lines | Where-Object { $_ -match ('execve\("' + [regex]::Escape($pscRuntime) + '.*"(create|start)"') }) |
            Should -BeNullOrEmpty -Because 'create and start never run the binary on disk (delete does: it does not re-execute itself)'
    }
}
