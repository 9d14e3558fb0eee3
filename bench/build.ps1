#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Build-ContainerImage against docker build (classic builder; BuildKit only when the docker CLI has its buildx
    plugin, otherwise the run says so) and `buildah bud`, in the same run: a cold build, a rebuild with no change,
    and a rebuild after one source file changes, of a multi-stage Dockerfile with a few RUN and COPY steps over a
    ~50 MB context. Medians of -Iterations rounds and ratios to PSContainer.
.DESCRIPTION
    Goal (issue 14): the no-change rebuild at least 5x faster than docker's, the one-file-change rebuild faster than
    docker's. Every RUN has network none in every engine. Results go to bench/results/build-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/build.ps1 -ModulePath ./out/PSContainer -Iterations 3
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 20)][int]$Iterations = 3,
    [string]$CacheDir = '/var/tmp/psc-bench'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchDockerd.ps1')
$run = New-BenchRunDirectory $CacheDir
trap { if ($script:dockerd) { Stop-BenchDockerd $script:dockerd }; break }
$fixture = New-BenchBusyboxRootFs -Directory $run -Applet sh, cat, echo, mkdir, cp, rm, true

# The context: 40 files of 1 MB (incompressible) and 2000 small sources, a .dockerignore, a multi-stage Dockerfile.
$context = Join-Path $run 'context'
New-Item -ItemType Directory -Force "$context/assets", "$context/src", "$context/logs" | Out-Null
for ($i = 1; $i -le 40; $i++) { & head -c 1M /dev/urandom > "$context/assets/blob$i" }
& bash -c 'cd "$1" && for i in $(seq 1 2000); do echo "source $i" > "f$i.txt"; done' bash "$context/src"
Set-Content "$context/logs/x.log" 'ignored'
Set-Content "$context/.dockerignore" "logs`n*.tmp"
Set-Content "$context/Dockerfile" @'
FROM bench/busybox-build AS builder
WORKDIR /build
COPY src/ ./src/
RUN cat src/*.txt > all.txt && echo built >> all.txt
RUN mkdir -p /out && cp all.txt /out/ && rm -rf src
FROM bench/busybox-build
WORKDIR /app
COPY assets/ ./assets/
COPY --from=builder /out/all.txt ./
RUN echo ready > /app/ready
ENV MODE=bench
CMD ["cat", "/app/ready"]
'@
$mb = [double]((& du -sm $context) -split '\s+')[0]

Use-BenchStateRoot $run 'psc-bench-build'
Import-Module $ModulePath -Force
Import-ContainerImage $fixture.Tar -Format RootFs -Name bench/busybox-build -Command sh | Out-Null

$docker = Get-BenchDockerStatus
$dockerd = $null
if (-not $docker.Available) {
    $dockerd = Start-BenchDockerd -Directory (Join-Path $run 'dockerd')
    $docker = [pscustomobject]@{ Available = $dockerd.Available; Reason = $dockerd.Reason; Version = $dockerd.Version }
}
if ($docker.Available) { & docker import --change 'CMD ["sh"]' $fixture.Tar bench/busybox-build | Out-Null }
else { Write-Host "docker: skipped ($($docker.Reason))" }
$buildah = Test-BenchCommand 'buildah'
$buildahRoot = Join-Path $run 'buildah'
if ($buildah) {
    $storage = @('--root', "$buildahRoot/root", '--runroot', "$buildahRoot/runroot", '--storage-driver', 'vfs')
    & buildah @storage from --name bench-base-import scratch | Out-Null
    $mnt = (& buildah @storage mount bench-base-import).Trim()
    & tar -C $mnt -xf $fixture.Tar
    & buildah @storage umount bench-base-import | Out-Null
    & buildah @storage commit -q bench-base-import localhost/bench/busybox-build | Out-Null
    & buildah @storage rm bench-base-import | Out-Null
}
else { Write-Host 'buildah: skipped (not installed)' }

$engines = [ordered]@{
    'PSContainer' = @{
        Build = { param([bool]$Cold) Build-ContainerImage $context -Tag bench/app:1 -Network none -NoCache:$Cold | Out-Null }
        Clear = { Get-ContainerImage bench/app:1 -ErrorAction SilentlyContinue | Remove-ContainerImage -Force | Out-Null; Remove-ContainerBuildCache -Confirm:$false | Out-Null }
    }
}
if ($docker.Available) {
    $engines['docker build (classic)'] = @{
        Build = { param([bool]$Cold) $env:DOCKER_BUILDKIT = '0'; try { $o = & docker build -q --network none @(if ($Cold) { '--no-cache' }) -t bench/app:1 $context 2>&1; if ($LASTEXITCODE) { throw "docker build: $o" } } finally { Remove-Item Env:DOCKER_BUILDKIT } }
        Clear = { & docker rmi -f bench/app:1 2>$null | Out-Null; & docker builder prune -af 2>$null | Out-Null }
    }
    # The BuildKit column needs the buildx CLI plugin (docker build's BuildKit client since docker 23); without it
    # DOCKER_BUILDKIT=1 either fails or falls back to a deprecated client, which would measure neither builder fairly.
    $buildx = & docker buildx version 2>&1
    $buildkit = $LASTEXITCODE -eq 0
    if ($buildkit) {
        $env:DOCKER_BUILDKIT = '1'
        $probe = "FROM bench/busybox-build" | & docker build -q --network none -t bench/buildkit-probe:1 - 2>&1
        $buildkit = $LASTEXITCODE -eq 0
        Remove-Item Env:DOCKER_BUILDKIT
    }
    else { $probe = "no buildx plugin (``docker buildx version``: $(($buildx | Select-Object -First 1) -join ' '))" }
    if ($buildkit) {
        & docker rmi -f bench/buildkit-probe:1 2>$null | Out-Null
        $engines['docker build (BuildKit)'] = @{
            Build = { param([bool]$Cold) $env:DOCKER_BUILDKIT = '1'; try { $o = & docker build -q --network none @(if ($Cold) { '--no-cache' }) -t bench/app:1 $context 2>&1; if ($LASTEXITCODE) { throw "docker build: $o" } } finally { Remove-Item Env:DOCKER_BUILDKIT } }
            Clear = { & docker rmi -f bench/app:1 2>$null | Out-Null; & docker builder prune -af 2>$null | Out-Null }
        }
    }
    else { Write-Host "docker build (BuildKit): skipped ($($probe -join ' '))" }
}
if ($buildah) {
    $engines['buildah bud'] = @{
        Build = { param([bool]$Cold) $o = & buildah @storage bud -q --layers --network none @(if ($Cold) { '--no-cache' }) -t bench/app:1 $context 2>&1; if ($LASTEXITCODE) { throw "buildah bud: $o" } }
        Clear = { & buildah @storage rmi -a -f 2>$null | Out-Null }
    }
}

$times = @{}
foreach ($k in $engines.Keys) { foreach ($phase in 'cold', 'no change', 'one file changed') { $times["$k|$phase"] = [Collections.Generic.List[double]]::new() } }
for ($i = 0; $i -lt $Iterations; $i++) {
    foreach ($k in $engines.Keys) {
        $sw = [Diagnostics.Stopwatch]::StartNew(); & $engines[$k].Build $true; $times["$k|cold"].Add($sw.Elapsed.TotalMilliseconds)
        $sw = [Diagnostics.Stopwatch]::StartNew(); & $engines[$k].Build $false; $times["$k|no change"].Add($sw.Elapsed.TotalMilliseconds)
        Set-Content "$context/src/f1.txt" "source 1 changed $i $k"
        $sw = [Diagnostics.Stopwatch]::StartNew(); & $engines[$k].Build $false; $times["$k|one file changed"].Add($sw.Elapsed.TotalMilliseconds)
        Set-Content "$context/src/f1.txt" 'source 1'
    }
}

$rows = foreach ($phase in 'cold', 'no change', 'one file changed') {
    $psc = Get-BenchMedian @($times["PSContainer|$phase"])
    foreach ($k in $engines.Keys) {
        $m = Get-BenchMedian @($times["$k|$phase"])
        [pscustomobject]@{ phase = $phase; engine = $k; 'median ms' = (Format-BenchNumber $m 'N0'); 'time / PSContainer' = (Format-BenchNumber ($m / $psc) 'N2') }
    }
}
Write-Host "`nBuild of a two-stage Dockerfile (3 RUN, 3 COPY) over a $mb MB context, $Iterations rounds, median"
Write-BenchTable -Row @($rows) -Column 'phase', 'engine', 'median ms', 'time / PSContainer' -RightAlign 'median ms', 'time / PSContainer'
if ($docker.Available -and -not $buildkit) { Write-Host "docker build (BuildKit): not measured: $($probe -join ' ')" }
Save-BenchResult -Name 'build' -Data @{ Megabytes = $mb; Iterations = $Iterations; Docker = $docker; BuildKit = [bool]$buildkit; Buildah = $buildah; Rows = @($rows) } | Out-Null

foreach ($k in $engines.Keys) { & $engines[$k].Clear }
if ($docker.Available) { & docker rmi -f bench/busybox-build 2>$null | Out-Null }
if ($dockerd) { Stop-BenchDockerd $dockerd }
Get-Container -All | Remove-Container -Force
Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
Remove-BenchCgroupParent 'psc-bench-build'
Remove-BenchTree $run
