# Helpers shared by the benchmarks in bench/. Dot-source this file: . (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
#
# Everything here is bounded: every external command runs with a timeout and is killed (with its children) when
# the timeout passes, so a hung competitor cannot hang a benchmark run.

Set-StrictMode -Version Latest

function Get-BenchMedian {
    param([Parameter(Mandatory)][AllowEmptyCollection()][double[]]$Value)
    if ($Value.Count -eq 0) { return [double]::NaN }
    $sorted = [double[]]($Value | Sort-Object)
    $mid = [math]::Floor($sorted.Count / 2)
    if ($sorted.Count % 2) { return $sorted[$mid] }
    return ($sorted[$mid - 1] + $sorted[$mid]) / 2
}

function Test-BenchCommand([string]$Name) {
    return [bool](Get-Command $Name -CommandType Application -ErrorAction SilentlyContinue)
}

function Get-BenchCpu([int]$ProcessId = $PID) {
    <#
    CPU seconds of a process from /proc/PID/stat: its own (User, Sys) and those of its children it has waited for
    (ChildUser, ChildSys). $null when the process is gone.
    #>
    $text = Get-Content -LiteralPath "/proc/$ProcessId/stat" -Raw -ErrorAction SilentlyContinue
    if (-not $text) { return $null }
    $f = $text.Substring($text.LastIndexOf(')') + 2).Split(' ')     # fields from 3 (state) on; comm may hold spaces
    $tick = $script:BenchClockTicks
    [pscustomobject]@{ User = [double]$f[11] / $tick; Sys = [double]$f[12] / $tick; ChildUser = [double]$f[13] / $tick; ChildSys = [double]$f[14] / $tick }
}
$script:BenchClockTicks = 100
try { $script:BenchClockTicks = [int](& getconf CLK_TCK) } catch { }

function Invoke-BenchProcess {
    <#
    .SYNOPSIS
        Runs one program (no shell) with a timeout and returns its exit code, output and the wall-clock time from
        just before it started to its exit. A program that outlives the timeout is killed with its process tree.
    #>
    param(
        [Parameter(Mandatory)][string]$FilePath,
        [string[]]$ArgumentList = @(),
        [int]$TimeoutSeconds = 300,
        [switch]$Check,           # throw unless it exits 0
        [string]$WorkingDirectory
    )
    $info = [System.Diagnostics.ProcessStartInfo]::new($FilePath)
    foreach ($a in $ArgumentList) { $info.ArgumentList.Add($a) }
    $info.UseShellExecute = $false
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.RedirectStandardInput = $true
    if ($WorkingDirectory) { $info.WorkingDirectory = $WorkingDirectory }

    $watch = [System.Diagnostics.Stopwatch]::new()
    $process = [System.Diagnostics.Process]::new()
    $process.StartInfo = $info
    $cpu0 = Get-BenchCpu
    $watch.Start()
    try {
        [void]$process.Start()
    }
    catch {
        throw "cannot start $FilePath`: $($_.Exception.Message)"
    }
    $process.StandardInput.Close()
    $stdout = $process.StandardOutput.ReadToEndAsync()
    $stderr = $process.StandardError.ReadToEndAsync()
    $timedOut = -not $process.WaitForExit($TimeoutSeconds * 1000)
    $watch.Stop()
    $cpu1 = Get-BenchCpu     # the child was waited for, so its CPU time is in ChildUser/ChildSys now
    if ($timedOut) {
        try { $process.Kill($true) } catch { }
        [void]$process.WaitForExit(10000)
    }
    # The streams end when the program (and anything that inherited them) is gone; bounded all the same.
    [void][System.Threading.Tasks.Task]::WaitAll(@($stdout, $stderr), 10000)
    $result = [pscustomobject]@{
        Command  = (@($FilePath) + $ArgumentList) -join ' '
        ExitCode = if ($timedOut) { -1 } else { $process.ExitCode }
        TimedOut = $timedOut
        Seconds  = $watch.Elapsed.TotalSeconds
        UserSeconds = $cpu1.ChildUser - $cpu0.ChildUser
        SysSeconds  = $cpu1.ChildSys - $cpu0.ChildSys
        StdOut   = if ($stdout.IsCompleted) { $stdout.Result } else { '' }
        StdErr   = if ($stderr.IsCompleted) { $stderr.Result } else { '' }
    }
    $process.Dispose()
    if ($Check -and $result.ExitCode -ne 0) {
        $why = if ($timedOut) { "timed out after $TimeoutSeconds s" } else { "exited $($result.ExitCode)" }
        $detail = ($result.StdErr.Trim(), $result.StdOut.Trim() | Where-Object { $_ } | Select-Object -First 1)
        throw "'$($result.Command)' $why$(if ($detail) { ": $detail" })"
    }
    return $result
}

function Remove-BenchTree([string]$Path) {
    # rm -rf does not follow symlinks and copes with device nodes and odd modes that unpacked layers contain.
    if ($Path -and (Test-Path -LiteralPath $Path)) {
        $r = Invoke-BenchProcess -FilePath 'rm' -ArgumentList @('-rf', '--one-file-system', '--', $Path) -TimeoutSeconds 300
        if ($r.ExitCode -ne 0) { Write-Warning "could not remove $Path`: $($r.StdErr.Trim())" }
    }
}

function Use-BenchStateRoot([Parameter(Mandatory)][string]$Run, [Parameter(Mandatory)][string]$CgroupParent) {
    <# Points PSContainer at a private state root in the run's scratch directory (never a user's), with its own cgroup parent. #>
    $env:PSCONTAINER_ROOT = Join-Path $Run 'state'
    $env:PSCONTAINER_RUNROOT = Join-Path $Run 'state-run'
    $env:PSCONTAINER_CGROUP_PARENT = $CgroupParent
}

function New-BenchRunDirectory([string]$CacheDir) {
    <# A scratch directory for this run ($CacheDir/run-PID); scratch left by runs whose process is gone is removed. #>
    New-Item -ItemType Directory -Force $CacheDir | Out-Null
    foreach ($old in Get-ChildItem -LiteralPath $CacheDir -Directory -Filter 'run-*' -ErrorAction SilentlyContinue) {
        if ($old.Name -match '^run-(\d+)$' -and -not (Test-Path "/proc/$($Matches[1])")) { Remove-BenchTree $old.FullName }
    }
    $dir = Join-Path $CacheDir "run-$PID"
    Remove-BenchTree $dir
    New-Item -ItemType Directory -Force $dir | Out-Null
    return $dir
}

function Get-BenchMachine([string]$Path) {
    $mem = (Get-Content /proc/meminfo -TotalCount 1) -replace '\D', ''
    $cpu = (Get-Content /proc/cpuinfo | Where-Object { $_ -like 'model name*' } | Select-Object -First 1) -replace '^model name\s*:\s*', ''
    $fs = (Invoke-BenchProcess -FilePath 'findmnt' -ArgumentList @('-n', '-o', 'FSTYPE', '-T', $Path) -TimeoutSeconds 10).StdOut.Trim()
    [ordered]@{
        kernel         = (Invoke-BenchProcess -FilePath 'uname' -ArgumentList @('-r') -TimeoutSeconds 10).StdOut.Trim()
        cpus           = [Environment]::ProcessorCount
        cpuModel       = $cpu
        memoryMiB      = [long]([double]$mem / 1024)
        scratchFs      = $fs
        powershell     = $PSVersionTable.PSVersion.ToString()
        dotnet         = [System.Runtime.InteropServices.RuntimeInformation]::FrameworkDescription
    }
}

function Read-BenchFileOnce([string]$Path) {
    <# Reads a file end to end so that later readers find it in the page cache. #>
    $buffer = [byte[]]::new(1MB)
    $stream = [System.IO.File]::OpenRead($Path)
    try { while ($stream.Read($buffer, 0, $buffer.Length) -gt 0) { } } finally { $stream.Dispose() }
}

function Get-BenchFsNote([string]$Path) {
    <#
    A warning when Path is on ext4 without a journal: there the kernel avoids reusing inodes deleted in the last
    minute (five while their inode table block is dirty), and scanning past them makes creating files slow.
    #>
    $line = (Invoke-BenchProcess -FilePath 'findmnt' -ArgumentList @('-n', '-o', 'SOURCE,FSTYPE', '-T', $Path) -TimeoutSeconds 10).StdOut.Trim()
    $source, $type = $line -split '\s+', 2
    if ($type -ne 'ext4' -or -not $source.StartsWith('/dev/')) { return $null }
    $device = Split-Path $source -Leaf
    if (Get-ChildItem /proc/fs/jbd2 -Filter "$device-*" -ErrorAction SilentlyContinue) { return $null }
    return "$Path is on ext4 without a journal ($source): creating files is slow for up to 5 minutes after many were deleted (by any process), which penalizes the engines that unpack layers"
}

function Get-BenchDockerStatus {
    <#
    .SYNOPSIS
        Whether docker can be benchmarked: a client on PATH and a daemon that answers. Never installs or starts one.
    #>
    if (-not (Test-BenchCommand 'docker')) { return [pscustomobject]@{ Available = $false; Reason = 'no docker client on PATH'; Version = $null; Driver = $null } }
    $r = Invoke-BenchProcess -FilePath 'docker' -ArgumentList @('info', '--format', '{{.ServerVersion}}|{{.Driver}}') -TimeoutSeconds 20
    $text = $r.StdOut.Trim()
    if ($r.ExitCode -ne 0 -or $text -notmatch '^[^|]+\|') {
        $why = if ($r.TimedOut) { 'docker info timed out' } else { ($r.StdErr.Trim() -split "`n" | Where-Object { $_ } | Select-Object -Last 1) }
        if (-not $why) { $why = "docker info exited $($r.ExitCode)" }
        return [pscustomobject]@{ Available = $false; Reason = "no reachable daemon: $why"; Version = $null; Driver = $null }
    }
    $version, $driver = $text -split '\|', 2
    return [pscustomobject]@{ Available = $true; Reason = $null; Version = $version; Driver = $driver }
}

function Format-BenchNumber([double]$Value, [string]$Format = 'N2') {
    if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { return '-' }
    return $Value.ToString($Format, [cultureinfo]::InvariantCulture)
}

function Write-BenchTable {
    <# Prints rows (ordered dictionaries or objects) as an aligned text table with the given columns. #>
    param([Parameter(Mandatory)][object[]]$Row, [Parameter(Mandatory)][string[]]$Column, [string[]]$RightAlign = @())
    $cells = @(foreach ($r in $Row) { , @($Column | ForEach-Object { [string]$r.$_ }) })
    $width = for ($i = 0; $i -lt $Column.Count; $i++) {
        [math]::Max($Column[$i].Length, (@($cells | ForEach-Object { $_[$i].Length }) + 0 | Measure-Object -Maximum).Maximum)
    }
    $line = { param($values) ($(for ($i = 0; $i -lt $Column.Count; $i++) {
                    if ($Column[$i] -in $RightAlign) { $values[$i].PadLeft($width[$i]) } else { $values[$i].PadRight($width[$i]) }
                }) -join '  ').TrimEnd() }
    Write-Host (& $line $Column)
    Write-Host (& $line @($width | ForEach-Object { '-' * $_ }))
    foreach ($c in $cells) { Write-Host (& $line $c) }
}

function Save-BenchResult {
    <# Writes a result document to bench/results/NAME-TIMESTAMP.json and returns its path. #>
    param([Parameter(Mandatory)][string]$Name, [Parameter(Mandatory)]$Data)
    $dir = Join-Path (Split-Path $PSScriptRoot -Parent) 'results'
    New-Item -ItemType Directory -Force $dir | Out-Null
    $ignore = Join-Path $dir '.gitignore'
    if (-not (Test-Path $ignore)) { Set-Content -LiteralPath $ignore -Value '*.json' }
    $file = Join-Path $dir ("{0}-{1}.json" -f $Name, (Get-Date).ToUniversalTime().ToString('yyyyMMdd-HHmmss'))
    $Data | ConvertTo-Json -Depth 8 | Set-Content -LiteralPath $file -Encoding utf8
    return $file
}

function New-BenchBusyboxRootFs {
    <#
        A busybox root filesystem under -Directory (rootfs/, from Debian's busybox-static, the -Applet symlinks and a
        root passwd entry), tarred for importing as an image, and with -Bundle also copied into bundle/rootfs for an
        OCI bundle. Returns @{ RootFs; Tar; Bundle }.
    #>
    param([Parameter(Mandatory)][string]$Directory, [string[]]$Applet = @('sh', 'true', 'sleep'), [string[]]$ExtraDirectory = @(), [switch]$Bundle)
    $rootfs = Join-Path $Directory 'rootfs'
    foreach ($d in @('bin', 'etc', 'tmp', 'proc', 'sys', 'dev') + $ExtraDirectory) { New-Item -ItemType Directory -Force (Join-Path $rootfs $d) | Out-Null }
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($a in $Applet) { & ln -sf busybox "$rootfs/bin/$a" }
    Set-Content "$rootfs/etc/passwd" 'root:x:0:0:root:/root:/bin/sh'
    $tar = Join-Path $Directory 'busybox.tar'
    & tar --numeric-owner -C $rootfs -cf $tar .
    $bundleDir = $null
    if ($Bundle) {
        $bundleDir = Join-Path $Directory 'bundle'
        New-Item -ItemType Directory -Force $bundleDir | Out-Null
        & cp -a $rootfs "$bundleDir/rootfs"
    }
    [pscustomobject]@{ RootFs = $rootfs; Tar = $tar; Bundle = $bundleDir }
}

function Remove-BenchCgroupParent([string]$Name) {
    <# Removes a cgroup parent the benchmark's containers were made under, in every hierarchy (v1 and v2). #>
    foreach ($h in @(Get-ChildItem /sys/fs/cgroup -Directory) + @(Get-Item /sys/fs/cgroup)) {
        $p = Join-Path $h.FullName $Name
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
}

function Test-BenchPodmanCgroupParent {
    <# Whether podman's cgroupfs parent (libpod_parent, with conmon's cgroup in it) exists in any hierarchy now: podman
       makes it at its first container and never removes it, so a script that runs podman removes it at its end when it
       was not there before (the host is left as found; HostClean.Tests.ps1 compares cgroups). #>
    [bool](@(Get-ChildItem /sys/fs/cgroup -Directory) + @(Get-Item /sys/fs/cgroup) | Where-Object { Test-Path (Join-Path $_.FullName 'libpod_parent') })
}

function Remove-BenchPodmanCgroupParent([bool]$Existed) {
    <# The end of a script that ran podman: libpod_parent goes when the script's podman made it (see Test-BenchPodmanCgroupParent). #>
    if ($Existed) { return }
    try { Remove-BenchCgroupParent 'libpod_parent' } catch { Write-Warning "could not remove podman's libpod_parent cgroups: $($_.Exception.Message)" }
}

function Get-BenchNetavarkChain {
    <# podman's firewall chains now present (iptables: netavark's or CNI's), to tell afterwards which ones a run made. #>
    if (-not (Test-BenchCommand 'iptables-save')) { return @() }
    # podman 4.3 on Debian publishes through CNI (CNI-* chains), later versions through netavark
    @(& iptables-save 2>$null | Where-Object { $_ -match '^:((NETAVARK|CNI-)\S*)' } | ForEach-Object { $Matches[1] })
}

function Remove-BenchNetavarkChain([string[]]$Before) {
    <#
        Removes the netavark chains (and the jumps to them) that podman left after this run's published-port
        containers were removed, unless they were there before the run: a benchmark leaves the host as it found it.
    #>
    $made = @(Get-BenchNetavarkChain | Where-Object { $_ -notin $Before })
    if ($made.Count -eq 0) { return }
    foreach ($table in 'filter', 'nat') {
        foreach ($rule in @(& iptables-save -t $table | Where-Object { $_ -match '^-A (\S+) .*-j (\S+)' -and $Matches[2] -in $made })) {
            # iptables-save quotes like a shell (comments with spaces): let sh split it.
            & sh -c "iptables -t $table $($rule -replace '^-A', '-D')" 2>$null
        }
        foreach ($chain in $made) { & iptables -t $table -F $chain 2>$null; & iptables -t $table -X $chain 2>$null }
    }
}

function Use-BenchPodmanConfig {
    <#
        Points podman at a containers.conf of the benchmarks' own (out/bench/containers.conf, for this process only):
        rootful podman asks for RLIMIT_NOFILE and RLIMIT_NPROC of 1048576, which a root without CAP_SYS_RESOURCE
        cannot grant above its hard limits, so every podman run failed with EPERM at setrlimit on such a host. The
        file asks for the hard limits this process has (nproc at most kernel.pid_max, which podman caps itself at).
        A CONTAINERS_CONF the caller set is left alone.
    #>
    if ($env:CONTAINERS_CONF) { return }
    $limits = Get-Content /proc/self/limits
    $hard = {
        param([string]$Name)
        $value = ((($limits | Where-Object { $_ -like "$Name *" }) -replace "^$([regex]::Escape($Name))\s+", '') -split '\s+')[1]
        if ($value -eq 'unlimited') { $null } else { [long]$value }
    }
    $nofile = & $hard 'Max open files'
    $nproc = & $hard 'Max processes'
    $pidMax = [long](Get-Content /proc/sys/kernel/pid_max)
    if ($null -eq $nproc -or $nproc -gt $pidMax) { $nproc = $pidMax }
    $ulimits = @(if ($null -ne $nofile) { "`"nofile=${nofile}:${nofile}`"" }) + @("`"nproc=${nproc}:${nproc}`"")
    $dir = Join-Path $PSScriptRoot '../../out/bench'
    New-Item -ItemType Directory -Force $dir | Out-Null
    $conf = Join-Path $dir 'containers.conf'
    Set-Content $conf "[containers]`ndefault_ulimits = [$($ulimits -join ', ')]`n"
    $env:CONTAINERS_CONF = (Resolve-Path $conf).Path
}
Use-BenchPodmanConfig
