#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Pull throughput: a cold pull of a ~200 MB, 4-layer image (gzip layers, as registries serve them) from a local
    docker-registry on 127.0.0.1, by PSContainer (Request-ContainerImage), skopeo (copy docker:// → oci:), podman
    pull and docker pull, in one run, as MB/s medians and ratios.
.DESCRIPTION
    The registry is Debian's docker-registry, started here on a free 127.0.0.1 port with its storage under -CacheDir
    and stopped at the end (plain HTTP). The image is built once (cached by its recipe version) as an OCI layout and
    pushed with skopeo. Every timed pull starts cold: PSContainer into a new $env:PSCONTAINER_ROOT (in this process,
    module already loaded), skopeo into a new OCI layout, podman into a new --root (--tls-verify=false), docker after
    `docker rmi` of the previous round (only when a daemon answers; docker treats 127.0.0.0/8 registries as insecure
    by default, otherwise it is skipped with the reason). MB/s = compressed bytes transferred (10^6) / wall time.
    Note what each does: PSContainer, podman and docker also verify and unpack every layer; skopeo only stores blobs.

    With -BaselineModulePath (another build, e.g. main's out/PSContainer), that build runs as engine 'baseline',
    and both it and -ModulePath's run in a fresh pwsh process per pull (one module per process), timed inside that
    process around Request-ContainerImage alone, after an untimed pull into a scratch root (JIT warm-up); the table
    then also gives each pull's CPU seconds (the pwsh process's user+sys over that pull: the work done, which a
    loaded machine distorts far less than wall time).
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/pull.ps1 -ModulePath ./out/PSContainer
.EXAMPLE
    dotnet pwsh ./bench/pull.ps1 -Engine PSContainer -BaselineModulePath /work/main/out/PSContainer -Iterations 5
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 20)][int]$Iterations = 3,
    [string]$CacheDir = '/var/tmp/psc-bench-pull',
    [ValidateSet('PSContainer', 'skopeo', 'podman', 'docker')]
    [string[]]$Engine = @('PSContainer', 'skopeo', 'podman', 'docker'),
    [ValidateRange(10, 1800)][int]$TimeoutSeconds = 300,
    [switch]$RebuildFixture,
    # Another build to pull with in the same run, interleaved (A/B); see the description.
    [string]$BaselineModulePath
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')

$FixtureVersion = 'pull-v1'
$MB = 1e6

foreach ($tool in 'docker-registry', 'skopeo', 'gzip', 'tar') {
    if (-not (Test-BenchCommand $tool)) { throw "$tool is needed (Debian packages docker-registry, skopeo, gzip, tar)" }
}

function Write-RandomFile([string]$Path, [long]$Bytes) {
    New-Item -ItemType Directory -Force (Split-Path $Path -Parent) | Out-Null
    $buffer = [byte[]]::new(1MB)
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

function Get-Sha256Hex([string]$Path) { (Get-FileHash -LiteralPath $Path -Algorithm SHA256).Hash.ToLowerInvariant() }

function Build-Fixture([string]$Dir) {
    <# An OCI layout with one image of 4 gzip layers (~50 MB each: some host files, mostly incompressible data). #>
    Remove-BenchTree $Dir
    $layout = Join-Path $Dir 'layout'
    $blobs = Join-Path $layout 'blobs/sha256'
    New-Item -ItemType Directory -Force $blobs | Out-Null
    $layers = @(); $diffIds = @()
    foreach ($n in 1..4) {
        $stage = Join-Path $Dir "stage$n"
        $hostDir = @('/usr/share/doc', '/usr/lib/x86_64-linux-gnu', '/usr/share/man', '/usr/include')[$n - 1]
        Write-RandomFile (Join-Path $stage "opt/layer$n/data.bin") 44MB
        foreach ($i in 0..63) { Write-RandomFile (Join-Path $stage ("opt/layer$n/small/f{0:D2}" -f $i)) 16KB }
        $tar = Join-Path $Dir "layer$n.tar"
        $tarArgs = @('-cf', $tar, '--numeric-owner', '--owner=0', '--group=0', '--mtime=@1700000000', '-C', $stage, 'opt')
        if (Test-Path $hostDir) {
            # a few MB of real files too (many small ones)
            $files = @(Get-ChildItem -LiteralPath $hostDir -Recurse -File -ErrorAction SilentlyContinue | Where-Object Length -lt 256KB |
                    Select-Object -First 600 | ForEach-Object { $_.FullName.TrimStart('/') })
            $list = Join-Path $Dir "layer$n.list"
            [IO.File]::WriteAllLines($list, [string[]]$files)
            $tarArgs += @('-C', '/', '--verbatim-files-from', '-T', $list)
        }
        Invoke-BenchProcess -FilePath 'tar' -ArgumentList $tarArgs -Check -TimeoutSeconds 300 | Out-Null
        $diffIds += "sha256:$(Get-Sha256Hex $tar)"
        Invoke-BenchProcess -FilePath 'gzip' -ArgumentList @('-1', '-n', '-f', $tar) -Check -TimeoutSeconds 300 | Out-Null
        $gz = "$tar.gz"
        $hex = Get-Sha256Hex $gz
        Move-Item -LiteralPath $gz (Join-Path $blobs $hex)
        $layers += [ordered]@{ mediaType = 'application/vnd.oci.image.layer.v1.tar+gzip'; digest = "sha256:$hex"; size = (Get-Item (Join-Path $blobs $hex)).Length }
        Remove-BenchTree $stage
    }
    $config = [ordered]@{
        created = '2024-01-01T00:00:00Z'; architecture = 'amd64'; os = 'linux'
        config = [ordered]@{ Env = @('PATH=/usr/bin:/bin'); Cmd = @('/bin/sh') }
        rootfs = [ordered]@{ type = 'layers'; diff_ids = $diffIds }
    } | ConvertTo-Json -Depth 5 -Compress
    $configBytes = [Text.Encoding]::UTF8.GetBytes($config)
    $configHex = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($configBytes))
    [IO.File]::WriteAllBytes((Join-Path $blobs $configHex), $configBytes)
    $manifest = [ordered]@{
        schemaVersion = 2; mediaType = 'application/vnd.oci.image.manifest.v1+json'
        config = [ordered]@{ mediaType = 'application/vnd.oci.image.config.v1+json'; digest = "sha256:$configHex"; size = $configBytes.Length }
        layers = $layers
    } | ConvertTo-Json -Depth 5 -Compress
    $manifestBytes = [Text.Encoding]::UTF8.GetBytes($manifest)
    $manifestHex = [Convert]::ToHexStringLower([Security.Cryptography.SHA256]::HashData($manifestBytes))
    [IO.File]::WriteAllBytes((Join-Path $blobs $manifestHex), $manifestBytes)
    Set-Content -LiteralPath (Join-Path $layout 'oci-layout') -Value '{"imageLayoutVersion":"1.0.0"}' -NoNewline
    $index = [ordered]@{ schemaVersion = 2; manifests = @([ordered]@{
                mediaType = 'application/vnd.oci.image.manifest.v1+json'; digest = "sha256:$manifestHex"; size = $manifestBytes.Length
                annotations = @{ 'org.opencontainers.image.ref.name' = 'bench' }
            }) } | ConvertTo-Json -Depth 6 -Compress
    Set-Content -LiteralPath (Join-Path $layout 'index.json') -Value $index -NoNewline
    $total = [long]0; foreach ($l in $layers) { $total += $l.size }; $total += $configBytes.Length + $manifestBytes.Length
    Set-Content -LiteralPath (Join-Path $Dir 'fixture.json') -Value ([ordered]@{ version = $FixtureVersion; bytes = $total; digest = "sha256:$manifestHex"; imageId = "sha256:$configHex" } | ConvertTo-Json)
}

# ---- fixture and registry ------------------------------------------------------------------------------------

$run = New-BenchRunDirectory $CacheDir
$fixtureDir = Join-Path $CacheDir 'fixture'
$fixtureInfo = Join-Path $fixtureDir 'fixture.json'
if ($RebuildFixture -or -not (Test-Path $fixtureInfo) -or (Get-Content -Raw $fixtureInfo | ConvertFrom-Json).version -ne $FixtureVersion) {
    Write-Host "Building the fixture in $fixtureDir ..."
    Build-Fixture $fixtureDir
}
$fixture = Get-Content -Raw $fixtureInfo | ConvertFrom-Json

$listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
$listener.Start(); $port = $listener.LocalEndpoint.Port; $listener.Stop()
$registryHost = "127.0.0.1:$port"
$registryDir = Join-Path $run 'registry'
New-Item -ItemType Directory -Force $registryDir | Out-Null
Set-Content (Join-Path $registryDir 'config.yml') @"
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $registryDir/data
http:
  addr: $registryHost
"@
$registry = Start-Process -FilePath docker-registry -ArgumentList 'serve', (Join-Path $registryDir 'config.yml') -PassThru `
    -RedirectStandardOutput (Join-Path $registryDir 'out.log') -RedirectStandardError (Join-Path $registryDir 'err.log')
$image = "$registryHost/bench/pull:1"
$results = [ordered]@{}
$skipped = [ordered]@{}
try {
    $deadline = [DateTime]::UtcNow.AddSeconds(20)
    while ($true) {
        $c = [Net.Sockets.TcpClient]::new()
        try { $c.Connect('127.0.0.1', $port); break } catch { } finally { $c.Dispose() }
        if ($registry.HasExited -or [DateTime]::UtcNow -gt $deadline) { throw "docker-registry did not start: $(Get-Content -Raw (Join-Path $registryDir 'err.log'))" }
        Start-Sleep -Milliseconds 100
    }
    Invoke-BenchProcess -FilePath skopeo -ArgumentList @('copy', '-q', '--dest-tls-verify=false', "oci:$(Join-Path $fixtureDir 'layout'):bench", "docker://$image") -Check -TimeoutSeconds $TimeoutSeconds | Out-Null
    Write-Host ("Image {0}: {1:N1} MB in 4 gzip layers, manifest {2}" -f $image, ($fixture.bytes / $MB), $fixture.digest)

    # ---- engines ---------------------------------------------------------------------------------------------
    $runners = [ordered]@{}
    $cpu = @{}
    if ($BaselineModulePath) {
        # One pull per fresh pwsh: two builds of the module cannot share a process.
        $exe = [Environment]::ProcessPath
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $childPull = {
            param([string]$Module, [string]$Name, $i)
            $root = Join-Path $run "$Name-$i"
            # A first pull into a scratch root JIT-compiles the path, as the warm-up round does in-process; the timed
            # pull then goes to a fresh root, and its CPU time is this process's over that pull alone.
            $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$Module'; `$env:PSCONTAINER_ROOT = '$root-warm'; `$env:PSCONTAINER_RUNROOT = '$root-warm-run'; " +
                "`$null = Request-ContainerImage '$image' -Quiet; `$env:PSCONTAINER_ROOT = '$root'; `$env:PSCONTAINER_RUNROOT = '$root-run'; " +
                "`$p = [Diagnostics.Process]::GetCurrentProcess(); `$c = `$p.TotalProcessorTime; " +
                "`$w = [Diagnostics.Stopwatch]::StartNew(); `$img = Request-ContainerImage '$image' -Quiet; `$w.Stop(); `$p.Refresh(); " +
                "if (`$img.ManifestDigest -ne '$($fixture.digest)') { throw 'pulled ' + `$img.ManifestDigest }; " +
                "'{0} {1}' -f `$w.Elapsed.TotalSeconds, (`$p.TotalProcessorTime - `$c).TotalSeconds"
            $r = Invoke-BenchProcess -FilePath $exe -ArgumentList ($pwshArgs + @('-NoProfile', '-NonInteractive', '-Command', $script)) -Check -TimeoutSeconds $TimeoutSeconds
            $wall, $used = [double[]](($r.StdOut.Trim() -split "`n")[-1] -split ' ')
            if ($i -gt 0) { if (-not $cpu[$Name]) { $cpu[$Name] = [Collections.Generic.List[double]]::new() }; $cpu[$Name].Add($used) }
            $wall
        }
        # A module folder is named for its manifest only in out/PSContainer: name the .psd1 itself.
        $newModule, $oldModule = foreach ($m in $ModulePath, $BaselineModulePath) {
            $full = (Resolve-Path $m).Path
            if (Test-Path -LiteralPath $full -PathType Container) { Join-Path $full 'PSContainer.psd1' } else { $full }
        }
        if ('PSContainer' -in $Engine) { $runners['PSContainer'] = { param($i) & $childPull $newModule 'PSContainer' $i } }
        $runners['baseline'] = { param($i) & $childPull $oldModule 'baseline' $i }
    }
    elseif ('PSContainer' -in $Engine) {
        Import-Module (Resolve-Path $ModulePath).Path -Force
        $runners['PSContainer'] = {
            param($i)
            $env:PSCONTAINER_ROOT = Join-Path $run "psc-$i"
            $env:PSCONTAINER_RUNROOT = Join-Path $run "psc-$i-run"
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $img = Request-ContainerImage $image -Quiet -ErrorAction Stop
            $watch.Stop()
            if ($img.ManifestDigest -ne $fixture.digest) { throw "PSContainer pulled $($img.ManifestDigest), expected $($fixture.digest)" }
            $watch.Elapsed.TotalSeconds
        }
    }
    if ('skopeo' -in $Engine) {
        $runners['skopeo'] = {
            param($i)
            (Invoke-BenchProcess -FilePath skopeo -ArgumentList @('copy', '-q', '--src-tls-verify=false', "docker://$image", "oci:$(Join-Path $run "skopeo-$i"):bench") -Check -TimeoutSeconds $TimeoutSeconds).Seconds
        }
    }
    if ('podman' -in $Engine) {
        if (Test-BenchCommand podman) {
            $runners['podman'] = {
                param($i)
                (Invoke-BenchProcess -FilePath podman -ArgumentList @('--root', (Join-Path $run "podman-$i"), '--runroot', (Join-Path $run "podman-$i-run"),
                        'pull', '-q', '--tls-verify=false', $image) -Check -TimeoutSeconds $TimeoutSeconds).Seconds
            }
        }
        else { $skipped['podman'] = 'podman is not installed' }
    }
    if ('docker' -in $Engine) {
        $docker = Get-BenchDockerStatus
        if (-not $docker.Available) { $skipped['docker'] = $docker.Reason }
        else {
            $insecure = (Invoke-BenchProcess -FilePath docker -ArgumentList @('info', '--format', '{{json .RegistryConfig.InsecureRegistryCIDRs}}') -TimeoutSeconds 20).StdOut
            if ($insecure -notmatch '127\.0\.0\.0/8') { $skipped['docker'] = "the daemon does not treat 127.0.0.0/8 registries as insecure ($($insecure.Trim())); not reconfigured here" }
            else {
                $runners['docker'] = {
                    param($i)
                    Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', '-f', $image) -TimeoutSeconds 60 | Out-Null
                    (Invoke-BenchProcess -FilePath docker -ArgumentList @('pull', '-q', $image) -Check -TimeoutSeconds $TimeoutSeconds).Seconds
                }
            }
        }
    }

    $names = @($runners.Keys)
    foreach ($name in $names) { $results[$name] = [Collections.Generic.List[double]]::new() }
    for ($round = 0; $round -le $Iterations; $round++) {
        # Round 0 is an untimed warm-up; the engine order rotates every round.
        $order = @(for ($k = 0; $k -lt $names.Count; $k++) { $names[($k + $round) % $names.Count] })
        foreach ($name in $order) {
            Invoke-BenchProcess -FilePath sync -TimeoutSeconds 120 | Out-Null
            try {
                $seconds = & $runners[$name] $round
                if ($round -gt 0) { $results[$name].Add($seconds) }
                Write-Host ("round {0} {1,-12} {2,7:N2} s {3,8:N1} MB/s{4}" -f $round, $name, $seconds, ($fixture.bytes / $MB / $seconds), ($round -eq 0 ? ' (warm-up)' : ''))
            }
            catch {
                Write-Warning "$name failed: $_"
                $skipped[$name] = "failed: $_"
                $results.Remove($name)
                $names = @($names | Where-Object { $_ -ne $name })
            }
        }
    }
}
finally {
    if (-not $registry.HasExited) { $registry.Kill(); $registry.WaitForExit(10000) | Out-Null }
    if ($runners -and $runners.Contains('docker')) { Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', '-f', $image) -TimeoutSeconds 60 | Out-Null }
    $env:PSCONTAINER_ROOT = $null; $env:PSCONTAINER_RUNROOT = $null
    Remove-BenchTree $run
}

# ---- report -------------------------------------------------------------------------------------------------
$rows = foreach ($name in $results.Keys) {
    $median = Get-BenchMedian -Value ([double[]]$results[$name])
    $cpuMedian = if ($cpu -and $cpu[$name]) { Get-BenchMedian -Value ([double[]]$cpu[$name]) } else { $null }
    [pscustomobject]@{ Engine = $name; Runs = $results[$name].Count; MedianSeconds = $median; MBps = $fixture.bytes / $MB / $median; CpuSeconds = $cpuMedian }
}
$psc = $rows | Where-Object Engine -eq 'PSContainer'
$table = foreach ($r in $rows) {
    [ordered]@{
        Engine  = $r.Engine
        Runs    = $r.Runs
        'Median s' = Format-BenchNumber $r.MedianSeconds
        'MB/s'  = Format-BenchNumber $r.MBps 'N1'
        'PSContainer / this' = if ($psc) { Format-BenchNumber ($psc.MBps / $r.MBps) } else { '-' }
        'CPU s' = if ($null -ne $r.CpuSeconds) { Format-BenchNumber $r.CpuSeconds } else { '-' }
    }
}
Write-Host ''
Write-Host ("Cold pull of {0:N1} MB (4 gzip layers) from docker-registry on 127.0.0.1, median of {1}:" -f ($fixture.bytes / $MB), $Iterations)
if ($table) { Write-BenchTable -Row @($table) -Column @('Engine', 'Runs', 'Median s', 'MB/s', 'PSContainer / this', 'CPU s') -RightAlign @('Runs', 'Median s', 'MB/s', 'PSContainer / this', 'CPU s') }
foreach ($k in $skipped.Keys) { Write-Host "skipped $k`: $($skipped[$k])" }
$file = Save-BenchResult -Name 'pull' -Data ([ordered]@{
        machine = Get-BenchMachine $CacheDir; bytes = $fixture.bytes; iterations = $Iterations; load = (Get-Content /proc/loadavg -Raw).Trim()
        results = @($rows); skipped = $skipped
    })
Write-Host "results: $file"
