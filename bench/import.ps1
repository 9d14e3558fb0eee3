#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Import throughput: how fast PSContainer imports a docker save tar (~200 MB, 4 layers) next to the tools a user
    would otherwise use (skopeo, skopeo + umoci, docker load, podman load), in one run, as medians and ratios.
.DESCRIPTION
    The fixture is built once into -CacheDir/fixture and reused. Each round uses its own variant of the image (the
    same content plus one small file in the base layer, so every layer's chain id differs): nothing any engine
    keeps can make a later run warm, and docker needs no 'docker rmi' between loads.

    Every engine reads the fixture from the page cache (each variant is read once before timing; caches are never
    dropped), runs once untimed to warm up, then once per round into fresh state: PSContainer a new private
    $env:PSCONTAINER_ROOT, skopeo a new OCI layout, podman a new --root. The engines are interleaved within each
    round (order rotated), with a sync before every run. Scratch state is removed only at the end: ext4 without a
    journal (as on the project's VMs) makes creating files slow for up to 5 minutes after many were deleted, so
    leave 5 minutes between two runs (the script says when the previous run's clean-up is more recent).

    Competitors that are not installed (or, for docker, have no reachable daemon) are skipped with the reason; this
    script never installs or starts anything. Results are printed and written to bench/results/import-TIMESTAMP.json.

    With -BaselineModulePath (another build, e.g. main's out/PSContainer), that build is one more engine, 'baseline':
    one pwsh process per run (two builds of the module cannot share a process) that first imports the warm-up
    variant into scratch state (JIT, as the in-process module is warmed by round 0), then times the round's import
    and its CPU as the in-process runner does. ours/theirs on that row is the A/B ratio of the two builds.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/import.ps1 -ModulePath ./out/PSContainer
.EXAMPLE
    dotnet pwsh ./bench/import.ps1 -Engine PSContainer -BaselineModulePath /work/main/out/PSContainer -Iterations 5
#>
[CmdletBinding()]
param(
    # The built module folder (out/PSContainer) or its .psd1.
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),

    # Timed rounds; each runs every engine once (after one untimed warm-up round).
    [ValidateRange(1, 20)]
    [int]$Iterations = 3,

    # Where the fixture is cached and scratch state lives (never the default /var/lib/pscontainer).
    [string]$CacheDir = '/var/tmp/psc-bench',

    # Engines to run (default: all that are available).
    [ValidateSet('PSContainer', 'skopeo', 'docker', 'podman')]
    [string[]]$Engine = @('PSContainer', 'skopeo', 'docker', 'podman'),

    # The longest any single import may take before it is stopped and the engine marked failed.
    [ValidateRange(10, 1800)]
    [int]$TimeoutSeconds = 300,

    # Past this many minutes of timed rounds, the benchmark stops after the round in progress (runs so far count).
    [ValidateRange(1, 120)]
    [int]$BudgetMinutes = 15,

    # Rebuild the fixture even when a cached one exists.
    [switch]$RebuildFixture,

    # Another build of the module to run as engine 'baseline' in the same rounds (A/B); see the description.
    [string]$BaselineModulePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')

$FixtureVersion = 'import-v2'      # bump when the recipe below changes, so cached fixtures are rebuilt
$FixtureRepository = 'bench/import'
$MB = 1e6                          # throughput is in MB/s, 10^6 bytes
$TarOptions = @('--no-recursion', '--verbatim-files-from', '--numeric-owner', '--owner=0', '--group=0', '--mtime=@1700000000',
    '--format=pax', '--pax-option=delete=atime,delete=ctime')   # like docker's layers: root-owned, no per-file pax headers

# ---- fixture -------------------------------------------------------------------------------------------------

function Write-RandomFile([string]$Path, [long]$Bytes) {
    # Incompressible content from the kernel's CSPRNG (what /dev/urandom gives).
    New-Item -ItemType Directory -Force (Split-Path $Path -Parent) | Out-Null
    $buffer = [byte[]]::new([math]::Min($Bytes, 1MB))
    $rng = [System.Security.Cryptography.RandomNumberGenerator]::Create()
    $stream = [System.IO.File]::Create($Path)
    try {
        for ($left = $Bytes; $left -gt 0; $left -= $n) {
            $n = [int][math]::Min($left, $buffer.Length)
            $rng.GetBytes($buffer, 0, $n)
            $stream.Write($buffer, 0, $n)
        }
    }
    finally { $stream.Dispose(); $rng.Dispose() }
}

function Write-Utf8([string]$Path, [string]$Text) {
    New-Item -ItemType Directory -Force (Split-Path $Path -Parent) | Out-Null
    [System.IO.File]::WriteAllText($Path, $Text, [System.Text.UTF8Encoding]::new($false))
}

function Get-Sha256Hex([string]$Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }

function Select-HostFiles([string]$Source, [long]$Budget, [long]$MaxFileBytes) {
    <# Regular files (at most MaxFileBytes each) and symlinks under Source, in path order, until Budget bytes. #>
    if (-not (Test-Path -LiteralPath $Source)) { Write-Warning "fixture: $Source is missing on this machine; skipped"; return }
    $find = Invoke-BenchProcess -FilePath 'find' -TimeoutSeconds 120 -ArgumentList @($Source, '-xdev',
        '(', '-type', 'f', '-size', "-$([math]::Ceiling($MaxFileBytes / 1024))k", '-o', '-type', 'l', ')', '-printf', '%s\t%p\n')
    # Names with control characters or backslashes (which tar -T would unquote) are left out.
    $rows = @(foreach ($line in $find.StdOut -split "`n") {
            $size, $path = $line -split "`t", 2
            if ($path -and $path -notmatch '[\x00-\x1f\\]') { [pscustomobject]@{ Size = [long]$size; Path = $path.TrimStart('/') } }
        })
    $keys = [string[]]@($rows | ForEach-Object Path)
    $items = [object[]]$rows
    [Array]::Sort($keys, $items, [StringComparer]::Ordinal)
    $total = 0L
    foreach ($row in $items) {
        if ($total + $row.Size -gt $Budget) { continue }
        $total += $row.Size
        $row.Path
    }
}

function New-LayerTar([string]$TarPath, [string[]]$HostPaths, [string]$StageDir) {
    <#
    Writes a layer tar straight from the host (no copy, so building leaves no mass of files to delete) plus what is
    staged in StageDir. Every parent directory gets its own entry, before its children, as in docker's layers.
    #>
    $set = [System.Collections.Generic.SortedSet[string]]::new([StringComparer]::Ordinal)
    foreach ($p in $HostPaths) {
        [void]$set.Add($p)
        for ($parent = Split-Path $p -Parent; $parent; $parent = Split-Path $parent -Parent) { [void]$set.Add($parent) }
    }
    $hostList = "$TarPath.host"
    $stageList = "$TarPath.stage"
    [System.IO.File]::WriteAllLines($hostList, [string[]]@($set))
    $staged = [string[]]@(Get-ChildItem -LiteralPath $StageDir -Recurse -Force | ForEach-Object { [System.IO.Path]::GetRelativePath($StageDir, $_.FullName) } |
            Where-Object { -not $set.Contains($_) })
    [Array]::Sort($staged, [StringComparer]::Ordinal)
    [System.IO.File]::WriteAllLines($stageList, $staged)
    try {
        Invoke-BenchProcess -FilePath 'tar' -Check -TimeoutSeconds 300 -ArgumentList (@('-cf', $TarPath) + $TarOptions +
            @('-C', '/', '-T', $hostList, '-C', $StageDir, '-T', $stageList)) | Out-Null
    }
    finally { Remove-Item -LiteralPath $hostList, $stageList -ErrorAction SilentlyContinue }
    return $set.Count + $staged.Count
}

function Build-FixtureBase([string]$Dir) {
    <# The four layers every variant shares (the base layer gets one more file per variant). #>
    $stage = Join-Path $Dir "stage-$PID"
    Remove-BenchTree $stage
    try {
        $entries = 0
        # Layer 1, an OS base: shared libraries and the Python standard library (many small files, symlinks).
        $s = Join-Path $stage 'layer1'
        Write-Utf8 (Join-Path $s 'etc/os-release') "PRETTY_NAME=`"psc bench fixture`"`nID=bench`n"
        $base = @(Select-HostFiles '/usr/lib/x86_64-linux-gnu' 36MB 512KB) + @(Select-HostFiles '/usr/lib/python3.11' 18MB 512KB)
        $entries += New-LayerTar (Join-Path $Dir 'layer1.tar') $base $s
        # Layer 2, packages' data: docs, man pages, time zones, locale sources (lots of tiny files).
        $s = Join-Path $stage 'layer2'
        New-Item -ItemType Directory -Force $s | Out-Null
        $share = @(Select-HostFiles '/usr/share/doc' 16MB 256KB) + @(Select-HostFiles '/usr/share/man' 14MB 256KB) +
            @(Select-HostFiles '/usr/share/zoneinfo' 2MB 256KB) + @(Select-HostFiles '/usr/share/i18n' 6MB 256KB)
        $entries += New-LayerTar (Join-Path $Dir 'layer2.tar') $share $s
        # Layer 3, an application: a few large incompressible files, assets, a hard link, a symlink, config.
        $s = Join-Path $stage 'layer3'
        $app = Join-Path $s 'opt/app'
        Write-RandomFile (Join-Path $app 'data/model-a.bin') 24MB
        Write-RandomFile (Join-Path $app 'data/model-b.bin') 24MB
        foreach ($i in 0..15) { Write-RandomFile (Join-Path $app ('assets/asset-{0:D2}.bin' -f $i)) 256KB }
        New-Item -ItemType HardLink -Path (Join-Path $app 'data/model-a.link') -Target (Join-Path $app 'data/model-a.bin') | Out-Null
        New-Item -ItemType SymbolicLink -Path (Join-Path $app 'current') -Target 'data' | Out-Null
        foreach ($i in 0..9) { Write-Utf8 (Join-Path $app "config/app-$i.conf") "setting_$i = $i`n" }
        $entries += New-LayerTar (Join-Path $Dir 'layer3.tar') @() $s
        # Layer 4, an update: headers, one more large file, a replaced asset, whiteouts and an opaque directory.
        $s = Join-Path $stage 'layer4'
        $app = Join-Path $s 'opt/app'
        Write-RandomFile (Join-Path $app 'data/model-c.bin') 12MB
        Write-RandomFile (Join-Path $app 'assets/asset-00.bin') 256KB
        Write-Utf8 (Join-Path $app 'config/.wh..wh..opq') ''
        Write-Utf8 (Join-Path $app 'config/app.conf') "replaced = true`n"
        $pyDir = $base | Where-Object { $_ -like 'usr/lib/python3.11/*/*' } | ForEach-Object { ($_ -split '/')[3] } | Select-Object -First 1
        if ($pyDir) { Write-Utf8 (Join-Path $s "usr/lib/python3.11/.wh.$pyDir") '' }
        $doc = $share | Where-Object { $_ -like 'usr/share/doc/*/*' } | Select-Object -First 1
        if ($doc) { Write-Utf8 (Join-Path $s ((Split-Path $doc -Parent) + '/.wh.' + (Split-Path $doc -Leaf))) '' }
        $headers = @(Select-HostFiles '/usr/include' 22MB 256KB)
        $entries += New-LayerTar (Join-Path $Dir 'layer4.tar') $headers $s

        $layers = foreach ($n in 1..4) {
            $file = Join-Path $Dir "layer$n.tar"
            [ordered]@{ file = $file; bytes = (Get-Item $file).Length; diffId = "sha256:$(Get-Sha256Hex $file)" }
        }
        Write-Utf8 (Join-Path $Dir 'base.json') ([ordered]@{ version = $FixtureVersion; layers = @($layers); entries = $entries } | ConvertTo-Json -Depth 4)
    }
    finally { Remove-BenchTree $stage }
}

function Build-FixtureVariant([string]$Dir, $Base, [int]$Variant) {
    <# A docker save archive (the classic layout every loader reads: ID/layer.tar, config, manifest.json). #>
    $stage = Join-Path $Dir "variant-$Variant-$PID"
    Remove-BenchTree $stage
    $archive = Join-Path $stage 'archive'
    New-Item -ItemType Directory -Force $archive | Out-Null
    try {
        # The base layer plus /etc/bench-variant (same length in every variant, so all variants are the same size).
        $layer1 = Join-Path $stage 'layer1.tar'
        Copy-Item -LiteralPath $Base.layers[0].file $layer1
        Write-Utf8 (Join-Path $stage 'extra/etc/bench-variant') ('variant {0:D4}' -f $Variant)
        Invoke-BenchProcess -FilePath 'tar' -Check -TimeoutSeconds 120 -ArgumentList (@('-rf', $layer1) + $TarOptions + @('-C', (Join-Path $stage 'extra'), 'etc/bench-variant')) | Out-Null
        $layerFiles = @($layer1) + @($Base.layers[1..3] | ForEach-Object file)
        $diffIds = @("sha256:$(Get-Sha256Hex $layer1)") + @($Base.layers[1..3] | ForEach-Object diffId)

        $layerPaths = @(); $parent = ''
        for ($n = 0; $n -lt 4; $n++) {
            $v1 = [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.Text.Encoding]::UTF8.GetBytes("$parent $($diffIds[$n])"))).ToLowerInvariant()
            $layerDir = Join-Path $archive $v1
            New-Item -ItemType Directory -Force $layerDir | Out-Null
            New-Item -ItemType HardLink -Path (Join-Path $layerDir 'layer.tar') -Target $layerFiles[$n] | Out-Null
            Write-Utf8 (Join-Path $layerDir 'VERSION') '1.0'
            $json = [ordered]@{ id = $v1; created = '2023-11-14T22:13:20Z'; os = 'linux' }
            if ($parent) { $json.parent = $parent }
            Write-Utf8 (Join-Path $layerDir 'json') ($json | ConvertTo-Json -Compress)
            $layerPaths += "$v1/layer.tar"; $parent = $v1
        }
        $config = [ordered]@{
            architecture = 'amd64'; os = 'linux'; created = '2023-11-14T22:13:20Z'
            config       = [ordered]@{ Env = @('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'); Cmd = @('/bin/sh'); WorkingDir = '/opt/app' }
            rootfs       = [ordered]@{ type = 'layers'; diff_ids = $diffIds }
            history      = @(1..4 | ForEach-Object { [ordered]@{ created = '2023-11-14T22:13:20Z'; created_by = "psc bench fixture layer $_" } })
        }
        $configFile = Join-Path $stage 'config.json'
        Write-Utf8 $configFile ($config | ConvertTo-Json -Depth 6 -Compress)
        $configHex = Get-Sha256Hex $configFile
        Move-Item $configFile (Join-Path $archive "$configHex.json")
        $tag = 'v{0:D4}' -f $Variant
        Write-Utf8 (Join-Path $archive 'manifest.json') (ConvertTo-Json -Depth 4 -Compress -InputObject @([ordered]@{ Config = "$configHex.json"; RepoTags = @("${FixtureRepository}:$tag"); Layers = $layerPaths }))
        Write-Utf8 (Join-Path $archive 'repositories') (@{ $FixtureRepository = @{ $tag = $parent } } | ConvertTo-Json -Compress)

        $tarPath = Join-Path $Dir ('image-{0:D4}.tar' -f $Variant)
        $partial = "$tarPath.partial"
        $members = @($layerPaths | ForEach-Object { Split-Path $_ -Parent }) + @("$configHex.json", 'manifest.json', 'repositories')
        Invoke-BenchProcess -FilePath 'tar' -Check -TimeoutSeconds 300 -ArgumentList (@('-C', $archive, '--numeric-owner', '--owner=0', '--group=0',
                '--mtime=@1700000000', '-cf', $partial, '--') + $members) | Out-Null
        if (Test-BenchCommand 'skopeo') {
            $inspect = Invoke-BenchProcess -FilePath 'skopeo' -Check -TimeoutSeconds 120 -ArgumentList @('inspect', "docker-archive:$partial")
            $found = @(($inspect.StdOut | ConvertFrom-Json).Layers).Count
            if ($found -ne 4) { throw "fixture check: skopeo inspect sees $found layers in $partial, not 4" }
        }
        else { Write-Warning 'skopeo is not installed: the fixture was not checked with skopeo inspect' }
        Move-Item -Force $partial $tarPath
        $info = [ordered]@{
            version = $FixtureVersion; variant = $Variant; path = $tarPath; bytes = (Get-Item $tarPath).Length; tag = "${FixtureRepository}:$tag"
            imageId = "sha256:$configHex"; diffIds = $diffIds; entries = $Base.entries + 1
        }
        Write-Utf8 "$tarPath.json" ($info | ConvertTo-Json -Depth 4)
        return [pscustomobject]$info
    }
    finally { Remove-BenchTree $stage }
}

function Get-Fixtures([int]$Count) {
    <# Variants 0..Count-1 of the fixture image, built when missing (the base layers once, each variant once). #>
    $dir = Join-Path $CacheDir "fixture/$FixtureVersion"
    $baseJson = Join-Path $dir 'base.json'
    if ($RebuildFixture) { Remove-BenchTree $dir }
    foreach ($old in Get-ChildItem -LiteralPath (Join-Path $CacheDir 'fixture') -ErrorAction SilentlyContinue | Where-Object Name -ne $FixtureVersion) {
        Remove-BenchTree $old.FullName    # fixtures of older recipes
    }
    New-Item -ItemType Directory -Force $dir | Out-Null
    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    $base = if (Test-Path $baseJson) { Get-Content -Raw $baseJson | ConvertFrom-Json }
    if (-not $base -or @($base.layers | Where-Object { -not (Test-Path $_.file) -or (Get-Item $_.file).Length -ne $_.bytes }).Count) {
        Write-Host "Building the fixture layers into $dir (once; later runs reuse them)"
        Build-FixtureBase $dir
        Get-ChildItem -LiteralPath $dir -Filter 'image-*' | Remove-Item   # variants of older base layers
        $base = Get-Content -Raw $baseJson | ConvertFrom-Json
    }
    $variants = foreach ($v in 0..($Count - 1)) {
        $tar = Join-Path $dir ('image-{0:D4}.tar' -f $v)
        $info = if ((Test-Path $tar) -and (Test-Path "$tar.json")) { Get-Content -Raw "$tar.json" | ConvertFrom-Json }
        if (-not $info -or $info.version -ne $FixtureVersion -or $info.bytes -ne (Get-Item $tar).Length) {
            Write-Host "Building fixture variant $v"
            $info = Build-FixtureVariant $dir $base $v
        }
        $info
    }
    if ($watch.Elapsed.TotalSeconds -gt 1) { Write-Host ("  fixture ready in {0:N0} s" -f $watch.Elapsed.TotalSeconds) }
    return @($variants)
}

# ---- engines -------------------------------------------------------------------------------------------------
# Each engine is started once (New-*Runner: checks, versions), run once per round by Invoke-Runner (one time per
# result row), then stopped. The main loop interleaves the engines within each round, so that load from elsewhere
# on a shared machine falls on all of them alike.

function New-Row([string]$Name, [string]$What) {
    [pscustomobject]@{
        Engine = $Name; What = $What; Version = $null; Status = 'ok'; Reason = $null
        Seconds = [System.Collections.Generic.List[double]]::new()
        User = [System.Collections.Generic.List[double]]::new(); Sys = [System.Collections.Generic.List[double]]::new()
    }
}

function New-Time([double]$Seconds, [double]$User, [double]$Sys) { [pscustomobject]@{ Seconds = $Seconds; User = $User; Sys = $Sys } }

function New-SkippedRow([string]$Name, [string]$Reason, [string]$Status = 'skipped') {
    $row = New-Row $Name ''
    $row.Status = $Status; $row.Reason = $Reason
    return $row
}

function Invoke-InRunspace($Runspace, [string]$Script, [object[]]$Arguments) {
    <# Runs a script in the private runspace, bounded by the timeout; errors become exceptions. #>
    $ps = [powershell]::Create()
    $ps.Runspace = $Runspace
    [void]$ps.AddScript($Script)
    foreach ($a in $Arguments) { [void]$ps.AddArgument($a) }
    try {
        $handle = $ps.BeginInvoke()
        if (-not $handle.AsyncWaitHandle.WaitOne($TimeoutSeconds * 1000)) {
            [void]$ps.BeginStop($null, $null).AsyncWaitHandle.WaitOne(30000)
            throw "timed out after $TimeoutSeconds s"
        }
        $out = $ps.EndInvoke($handle)
        if ($ps.Streams.Error.Count -gt 0) { throw $ps.Streams.Error[0] }
        return $out
    }
    finally { $ps.Dispose() }
}

$PSContainerImportScript = {
    param($Root, $RunRoot, $Tar)
    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    $env:PSCONTAINER_ROOT = $Root
    $env:PSCONTAINER_RUNROOT = $RunRoot
    $self = [System.Diagnostics.Process]::GetCurrentProcess()
    $user = $self.UserProcessorTime; $sys = $self.PrivilegedProcessorTime
    $time = Measure-Command { $images = @(Import-ContainerImage -Path $Tar) }
    $self.Refresh()
    [pscustomobject]@{
        Seconds = $time.TotalSeconds; User = ($self.UserProcessorTime - $user).TotalSeconds; Sys = ($self.PrivilegedProcessorTime - $sys).TotalSeconds
        Count = $images.Count; Id = $images[0].Id; Layers = $images[0].Layers.Count
    }
}.ToString()

function New-PSContainerRunner {
    # The module goes into a private runspace of this warm process, so that each import can be bounded.
    $row = New-Row 'PSContainer' 'Import-ContainerImage: verify, store blobs, unpack layers'
    $path = (Resolve-Path $ModulePath).Path
    if (Test-Path -LiteralPath $path -PathType Container) { $path = Join-Path $path 'PSContainer.psd1' }
    $runspace = [runspacefactory]::CreateRunspace()
    $runspace.Open()
    try {
        $module = Invoke-InRunspace $runspace 'param($Path) Import-Module $Path -ErrorAction Stop -PassThru | Select-Object -First 1' @($path)
        $row.Version = "$($module.Version) ($($module.ModuleBase))"
    }
    catch { $runspace.Dispose(); throw }
    [pscustomobject]@{ Kind = 'PSContainer'; Rows = @($row); Runspace = $runspace; Failed = $false; Footprint = 2 }
}

function New-BaselineRunner {
    $path = (Resolve-Path $BaselineModulePath).Path
    if (Test-Path -LiteralPath $path -PathType Container) { $path = Join-Path $path 'PSContainer.psd1' }
    $exe = [Environment]::ProcessPath
    $prefix = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
    $row = New-Row 'baseline' "Import-ContainerImage of $path (own pwsh per run, warmed by one import)"
    $row.Version = $path
    [pscustomobject]@{ Kind = 'baseline'; Rows = @($row); Module = $path; Exe = $exe; Prefix = $prefix; Failed = $false; Footprint = 3 }
}

function New-SkopeoRunner {
    if (-not (Test-BenchCommand 'skopeo')) { return [pscustomobject]@{ Kind = 'skopeo'; Rows = @(New-SkippedRow 'skopeo copy' 'skopeo is not installed'); Failed = $true } }
    $copy = New-Row 'skopeo copy' 'docker-archive -> OCI layout: verify and store blobs, no unpack'
    $copy.Version = (Invoke-BenchProcess -FilePath 'skopeo' -ArgumentList @('--version') -TimeoutSeconds 20).StdOut.Trim() -replace '^skopeo version\s*', ''
    $umoci = Test-BenchCommand 'umoci'
    if ($umoci) {
        $unpack = New-Row 'skopeo copy + umoci unpack' 'the copy, then unpack all layers into one rootfs'
        $unpack.Version = "skopeo $($copy.Version), umoci " + ((Invoke-BenchProcess -FilePath 'umoci' -ArgumentList @('--version') -TimeoutSeconds 20).StdOut.Trim() -replace '^umoci version\s*', '')
    }
    else { $unpack = New-SkippedRow 'skopeo copy + umoci unpack' 'umoci is not installed' }
    [pscustomobject]@{ Kind = 'skopeo'; Rows = @($copy, $unpack); Umoci = $umoci; Failed = $false; Footprint = 2 }
}

function New-DockerRunner {
    $status = Get-BenchDockerStatus
    if (-not $status.Available) { return [pscustomobject]@{ Kind = 'docker'; Rows = @(New-SkippedRow 'docker load' $status.Reason); Failed = $true } }
    $row = New-Row 'docker load' 'daemon: verify and unpack layers into its storage driver'
    $row.Version = "$($status.Version) ($($status.Driver))"
    # The daemon does the work; its CPU time (and its untar helpers') is counted when its pid is known.
    $daemon = $null
    if ((Test-Path /var/run/docker.pid) -and ($p = (Get-Content /var/run/docker.pid -Raw).Trim()) -match '^\d+$' -and
        (Get-Content "/proc/$p/comm" -ErrorAction SilentlyContinue) -eq 'dockerd') { $daemon = [int]$p }
    # A variant left by an interrupted run would make its load warm.
    foreach ($f in $fixtures) {
        if ((Invoke-BenchProcess -FilePath 'docker' -ArgumentList @('image', 'inspect', $f.imageId) -TimeoutSeconds 30).ExitCode -eq 0) {
            Write-Host "  docker already had $($f.tag); removed"
            Remove-DockerImage $f.imageId
        }
    }
    [pscustomobject]@{ Kind = 'docker'; Rows = @($row); Failed = $false; Footprint = 2; Daemon = $daemon }
}

function New-PodmanRunner {
    if (-not (Test-BenchCommand 'podman')) { return [pscustomobject]@{ Kind = 'podman'; Rows = @(New-SkippedRow 'podman load' 'podman is not installed'); Failed = $true } }
    $row = New-Row 'podman load' 'verify and unpack layers into containers/storage (fresh --root)'
    $probe = Join-Path $runDir 'podman-probe'
    try {
        $info = Invoke-BenchProcess -FilePath 'podman' -TimeoutSeconds 60 -ArgumentList @('--root', "$probe/root", '--runroot', "$probe/run",
            'info', '--format', '{{.Version.Version}} ({{.Store.GraphDriverName}})')
    }
    finally { Remove-PodmanRoot $probe }
    if ($info.ExitCode -ne 0) {
        $why = ($info.StdErr.Trim() -split "`n" | Where-Object { $_ } | Select-Object -Last 1)
        return [pscustomobject]@{ Kind = 'podman'; Rows = @(New-SkippedRow 'podman load' "podman info failed: $why"); Failed = $true }
    }
    $row.Version = $info.StdOut.Trim()
    [pscustomobject]@{ Kind = 'podman'; Rows = @($row); Failed = $false; Footprint = 2 }
}

function Remove-PodmanRoot([string]$Dir) {
    # containers/storage may leave mounts under its root; unmount them (deepest first) before removing the tree.
    $mounts = Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_ -like "$Dir/*" } | Sort-Object Length -Descending
    foreach ($m in $mounts) { Invoke-BenchProcess -FilePath 'umount' -ArgumentList @('-l', $m) -TimeoutSeconds 30 | Out-Null }
    Remove-BenchTree $Dir
}

function Remove-DockerImage([string]$Id) {
    Invoke-BenchProcess -FilePath 'docker' -ArgumentList @('rmi', '--force', $Id) -TimeoutSeconds 120 | Out-Null
}

function Invoke-Runner($Runner, [int]$Round) {
    <# One run of fixture variant $Round into fresh state; returns one time (New-Time) per row of the runner. #>
    $fixture = $fixtures[$Round]
    $dir = Join-Path $runDir "$($Runner.Kind)-$Round"
    try {
        switch ($Runner.Kind) {
            'PSContainer' {
                $r = Invoke-InRunspace $Runner.Runspace $PSContainerImportScript @((Join-Path $dir 'root'), (Join-Path $dir 'run'), $fixture.path)
                if ($r.Count -ne 1 -or $r.Id -ne $fixture.imageId -or $r.Layers -ne 4) {
                    throw "imported $($r.Count) image(s), id $($r.Id) with $($r.Layers) layers; expected $($fixture.imageId) with 4"
                }
                New-Time $r.Seconds $r.User $r.Sys
            }
            'baseline' {
                $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$($Runner.Module)'; `$env:PSCONTAINER_ROOT = '$dir/warm'; `$env:PSCONTAINER_RUNROOT = '$dir/warm-run'; " +
                    "`$null = Import-ContainerImage -Path '$($fixtures[0].path)'; `$s = [scriptblock]::Create(@'`n$PSContainerImportScript`n'@); " +
                    "& `$s '$dir/root' '$dir/run' '$($fixture.path)' | ConvertTo-Json -Compress"
                $c = Invoke-BenchProcess -FilePath $Runner.Exe -Check -TimeoutSeconds $TimeoutSeconds -ArgumentList ($Runner.Prefix + @('-NoProfile', '-NonInteractive', '-Command', $script))
                $r = ($c.StdOut.Trim() -split "`n")[-1] | ConvertFrom-Json
                if ($r.Count -ne 1 -or $r.Id -ne $fixture.imageId -or $r.Layers -ne 4) {
                    throw "imported $($r.Count) image(s), id $($r.Id) with $($r.Layers) layers; expected $($fixture.imageId) with 4"
                }
                New-Time $r.Seconds $r.User $r.Sys
            }
            'skopeo' {
                $layout = Join-Path $dir 'oci'
                New-Item -ItemType Directory -Force $dir | Out-Null
                $c = Invoke-BenchProcess -FilePath 'skopeo' -Check -TimeoutSeconds $TimeoutSeconds -ArgumentList @('--insecure-policy', 'copy', '--quiet',
                    "docker-archive:$($fixture.path)", "oci:${layout}:bench")
                New-Time $c.Seconds $c.UserSeconds $c.SysSeconds
                if ($Runner.Umoci) {
                    $u = Invoke-BenchProcess -FilePath 'umoci' -Check -TimeoutSeconds $TimeoutSeconds -ArgumentList @('unpack', '--image', "${layout}:bench", (Join-Path $dir 'bundle'))
                    New-Time ($c.Seconds + $u.Seconds) ($c.UserSeconds + $u.UserSeconds) ($c.SysSeconds + $u.SysSeconds)
                }
            }
            'docker' {
                $script:dockerLoaded += $fixture.imageId
                $d0 = if ($Runner.Daemon) { Get-BenchCpu $Runner.Daemon }
                $c = Invoke-BenchProcess -FilePath 'docker' -Check -TimeoutSeconds $TimeoutSeconds -ArgumentList @('load', '--quiet', '--input', $fixture.path)
                $d1 = if ($Runner.Daemon) { Get-BenchCpu $Runner.Daemon }
                if ($d0 -and $d1) {
                    New-Time $c.Seconds ($c.UserSeconds + $d1.User - $d0.User + $d1.ChildUser - $d0.ChildUser) ($c.SysSeconds + $d1.Sys - $d0.Sys + $d1.ChildSys - $d0.ChildSys)
                }
                else { New-Time $c.Seconds ([double]::NaN) ([double]::NaN) }
            }
            'podman' {
                $c = Invoke-BenchProcess -FilePath 'podman' -Check -TimeoutSeconds $TimeoutSeconds -ArgumentList @('--root', "$dir/root", '--runroot', "$dir/run",
                    'load', '--quiet', '--input', $fixture.path)
                New-Time $c.Seconds $c.UserSeconds $c.SysSeconds
            }
        }
    }
    finally {
        if ($deleteBetween) {
            if ($Runner.Kind -eq 'podman') { Remove-PodmanRoot $dir } else { Remove-BenchTree $dir }
            if ($Runner.Kind -eq 'docker') { Remove-DockerImage $fixture.imageId }
        }
    }
}

function Stop-Runner($Runner) {
    switch ($Runner.Kind) {
        'PSContainer' { if ($Runner.Runspace) { $Runner.Runspace.Dispose() } }
        'podman' { foreach ($d in Get-ChildItem -LiteralPath $runDir -Directory -Filter 'podman-*' -ErrorAction SilentlyContinue) { Remove-PodmanRoot $d.FullName } }
    }
}

function Sync-Disks {
    # Writes left in the page cache by the previous run would otherwise be flushed during the next one.
    Invoke-BenchProcess -FilePath 'sync' -TimeoutSeconds 120 | Out-Null
}

# ---- main ----------------------------------------------------------------------------------------------------

if (-not (Test-Path $ModulePath)) { throw "No module at $ModulePath; build it first (dotnet pwsh ./build.ps1 build)." }
$savedRoot = $env:PSCONTAINER_ROOT
$savedRunRoot = $env:PSCONTAINER_RUNROOT
$runDir = New-BenchRunDirectory $CacheDir
$results = [System.Collections.Generic.List[object]]::new()
$runners = [System.Collections.Generic.List[object]]::new()
$dockerLoaded = @()
$deleteBetween = $false
$budgetNote = $null
$fsNote = $null
try {
    $fsNote = Get-BenchFsNote $runDir
    $cleanupStamp = Join-Path $CacheDir 'last-cleanup'
    if ($fsNote) {
        Write-Host "Note: $fsNote."
        $since = if (Test-Path $cleanupStamp) { ((Get-Date) - (Get-Item $cleanupStamp).LastWriteTime).TotalSeconds } else { [double]::MaxValue }
        if ($since -lt 300) { Write-Host ("  The previous run of this benchmark removed its state {0:N0} s ago; wait 5 minutes between runs for steadier numbers." -f $since) }
    }
    $fixtures = Get-Fixtures ($Iterations + 1)     # variant 0 for the warm-up round, 1..N for the timed ones
    $fixtureBytes = $fixtures[0].bytes
    foreach ($f in $fixtures) { Read-BenchFileOnce $f.path }
    Write-Host ("Fixture: {0} variants of {1:N1} MB, 4 layers, {2:N0} entries ({3}), read once into the page cache: every engine reads it warm" -f
        $fixtures.Count, ($fixtureBytes / $MB), $fixtures[0].entries, (Split-Path $fixtures[0].path -Parent))

    foreach ($name in 'PSContainer', 'baseline', 'skopeo', 'docker', 'podman') {
        if ($name -eq 'baseline') { if (-not $BaselineModulePath) { continue } }
        elseif ($name -notin $Engine) { continue }
        try {
            $runner = & "New-${name}Runner"
        }
        catch {
            if ($name -eq 'PSContainer') { throw "PSContainer could not be loaded: $_" }
            $runner = [pscustomobject]@{ Kind = $name; Rows = @(New-SkippedRow $name "$_" 'failed'); Failed = $true }
        }
        $runners.Add($runner)
        foreach ($r in $runner.Rows) {
            $results.Add($r)
            if ($r.Status -ne 'ok') { Write-Host "  $($r.Engine -replace ' .*'): not available ($($r.Reason))" }
        }
    }
    $active = @($runners | Where-Object { -not $_.Failed })
    if ($active.Count -eq 0) { throw 'None of the selected engines is available.' }

    # Scratch is kept until the end when the disk has room (see .DESCRIPTION); otherwise each run cleans up after itself.
    $need = [long]$fixtureBytes * $fixtures.Count * (($active | Measure-Object Footprint -Sum).Sum) + 2GB
    $free = [System.IO.DriveInfo]::new($runDir).AvailableFreeSpace
    if ($free -lt $need) {
        $deleteBetween = $true
        Write-Warning ("{0:N1} GB free under {1}, {2:N1} GB wanted: removing state after every run instead of at the end; on ext4 without a journal this slows later runs" -f ($free / 1GB), $runDir, ($need / 1GB))
    }
    Write-Host "Engines: $(($active | ForEach-Object Kind) -join ', '); 1 warm-up round, then $Iterations timed round$(if ($Iterations -ne 1) { 's' }), each running every engine once"
    Write-Host 'into fresh state (order rotated per round; sync before each run; page cache not dropped).'

    $watch = [System.Diagnostics.Stopwatch]::StartNew()
    for ($round = 0; $round -le $Iterations; $round++) {
        Write-Host $(if ($round -eq 0) { '  warm-up round' } else { "  round $round of $Iterations" })
        for ($k = 0; $k -lt $active.Count; $k++) {
            $runner = $active[($k + $round) % $active.Count]
            if ($runner.Failed) { continue }
            Sync-Disks
            try {
                $times = @(Invoke-Runner $runner $round)
            }
            catch {
                if ($runner.Kind -eq 'PSContainer') { throw "PSContainer import failed: $_" }
                $runner.Failed = $true
                foreach ($r in $runner.Rows | Where-Object Status -eq 'ok') { $r.Status = 'failed'; $r.Reason = "$_" }
                Write-Host "  $($runner.Kind) failed: $_"
                continue
            }
            if ($round -gt 0) {
                for ($j = 0; $j -lt $runner.Rows.Count; $j++) {
                    $row = $runner.Rows[$j]
                    if ($row.Status -ne 'ok') { continue }
                    $row.Seconds.Add($times[$j].Seconds); $row.User.Add($times[$j].User); $row.Sys.Add($times[$j].Sys)
                }
            }
        }
        if ($round -lt $Iterations -and $watch.Elapsed.TotalMinutes -gt $BudgetMinutes) {
            $budgetNote = "stopped after $round of $Iterations rounds: over the $BudgetMinutes-minute budget"
            Write-Host "  $budgetNote"
            break
        }
    }
}
finally {
    foreach ($r in $runners) { try { Stop-Runner $r } catch { Write-Warning "stopping $($r.Kind): $_" } }
    foreach ($id in $dockerLoaded | Select-Object -Unique) { Remove-DockerImage $id }
    $env:PSCONTAINER_ROOT = $savedRoot
    $env:PSCONTAINER_RUNROOT = $savedRunRoot
    Remove-BenchTree $runDir
    Set-Content -LiteralPath (Join-Path $CacheDir 'last-cleanup') -Value (Get-Date).ToUniversalTime().ToString('o')
}

# ---- report --------------------------------------------------------------------------------------------------

$ours = $results | Where-Object { $_.Engine -eq 'PSContainer' } | Select-Object -First 1
$ourMedian = if ($ours) { Get-BenchMedian @($ours.Seconds) } else { [double]::NaN }
$table = foreach ($r in $results) {
    $median = Get-BenchMedian @($r.Seconds)
    $mbps = if ($r.Seconds.Count) { $fixtureBytes / $MB / $median } else { [double]::NaN }
    $ratio = if ($r.Seconds.Count) { $median / $ourMedian } else { [double]::NaN }   # = (bytes / our time) / (bytes / their time)
    $r | Add-Member -NotePropertyMembers @{ Median = $median; MBps = $mbps; Ratio = $ratio }
    [ordered]@{
        'Engine'      = $r.Engine
        'Median s'    = Format-BenchNumber $median
        'MB/s'        = Format-BenchNumber $mbps '0.0'
        'ours/theirs' = if ($r.Status -eq 'ok') { Format-BenchNumber $ratio } else { $r.Status }
        'CPU usr/sys' = if ($r.Seconds.Count) { '{0}/{1}' -f (Format-BenchNumber (Get-BenchMedian @($r.User))), (Format-BenchNumber (Get-BenchMedian @($r.Sys))) } else { '' }
        'Runs s'      = ($r.Seconds | ForEach-Object { Format-BenchNumber $_ }) -join ' '
        'Version'     = if ($r.Status -eq 'ok') { $r.Version } else { $r.Reason }
    }
}
Write-Host ''
Write-Host ("Import of a docker-archive tar, {0:N1} MB, 4 layers: median of {1} timed run{2} (MB = 10^6 bytes)" -f ($fixtureBytes / $MB), $Iterations, $(if ($Iterations -ne 1) { 's' }))
Write-BenchTable -Row $table -Column 'Engine', 'Median s', 'MB/s', 'ours/theirs', 'CPU usr/sys', 'Runs s', 'Version' -RightAlign 'Median s', 'MB/s', 'ours/theirs', 'CPU usr/sys'
Write-Host 'ours/theirs = PSContainer MB/s / engine MB/s (above 1: PSContainer is faster).'
Write-Host 'CPU usr/sys = median CPU seconds in user and kernel mode (docker: client + daemon). skopeo copy only verifies and'
Write-Host 'stores blobs; the others also unpack the layers. All read the fixture from the page cache.'
if ($fsNote) { Write-Host "Note: $fsNote." }
foreach ($r in $results | Where-Object Status -ne 'ok') {
    Write-Host "$($r.Engine -replace ' .*'): $(if ($r.Status -eq 'failed') { 'failed' } else { 'not available' }) ($($r.Reason))"
}
if ($budgetNote) { Write-Host "Note: $budgetNote." }

function Get-JsonNumber([double]$Value) { if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { $null } else { [math]::Round($Value, 4) } }

$file = Save-BenchResult -Name 'import' -Data ([ordered]@{
        benchmark     = 'import'
        date          = (Get-Date).ToUniversalTime().ToString('o')
        machine       = Get-BenchMachine $CacheDir
        fixture       = [ordered]@{ bytes = $fixtureBytes; layers = 4; entries = $fixtures[0].entries; variants = @($fixtures) }
        iterations    = $Iterations
        method        = 'each round imports its own variant of the fixture (different chain ids), read once into the page cache before timing ' +
                        '(caches never dropped); one untimed warm-up round; engines interleaved per round, order rotated, sync (untimed) before each run; ' +
                        $(if ($deleteBetween) { 'state removed after every run (low disk space)' } else { 'state removed only at the end' })
        unit          = 'MB/s with MB = 10^6 bytes; oursOverTheirs = PSContainer MB/s / engine MB/s'
        budgetNote    = $budgetNote
        fsNote        = $fsNote
        engines       = @($results | ForEach-Object {
                [ordered]@{
                    engine = $_.Engine; what = $_.What; version = $_.Version; status = $_.Status; reason = $_.Reason
                    seconds = @($_.Seconds | ForEach-Object { Get-JsonNumber $_ }); userSeconds = @($_.User | ForEach-Object { Get-JsonNumber $_ }); sysSeconds = @($_.Sys | ForEach-Object { Get-JsonNumber $_ })
                    medianSeconds = Get-JsonNumber $_.Median; mbPerSecond = Get-JsonNumber $_.MBps; oursOverTheirs = Get-JsonNumber $_.Ratio
                }
            })
    })
Write-Host "Results: $file"
