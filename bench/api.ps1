#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The Docker API server against dockerd: `docker run --rm --network none busybox true` through psc-api's socket and
    through a private dockerd, and Testcontainers start-to-ready (busybox httpd, published port, HTTP wait strategy)
    against each, as medians and ratios in one run.
.DESCRIPTION
    One busybox image (Debian's busybox-static) is imported into a private PSContainer state root, served by psc-api
    on a socket of the run directory, and into a private dockerd started for the run (bench/lib/BenchDockerd.ps1); the
    same docker 20.10 CLI drives both (it speaks API 1.41 to each). Rounds alternate the order. `--network none` on
    both: the private dockerd has no default bridge, and the comparison is of the API and container life, not of
    network set-up.
    Testcontainers: bench/api-testcontainers (Testcontainers 3.10: dockerd 20.10 refuses 4.x's API 1.44; 3.10 speaks
    to both) is built here and times StartAsync until busybox httpd answers through the published port, with Ryuk
    off. On dockerd the container joins a user bridge network made for the run (no iptables: docker-proxy publishes
    the port), removed at the end; on PSContainer the default bridge. Results go to bench/results/api-TIMESTAMP.json.
    docker is skipped with the reason when dockerd is missing or does not start; nothing is installed.
.EXAMPLE
    dotnet pwsh ./build.ps1 build; dotnet pwsh ./bench/api.ps1 -ModulePath ./out/PSContainer -Iterations 10
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 50)][int]$Iterations = 10,
    [ValidateRange(1, 20)][int]$TestcontainersRounds = 5,
    [string]$CacheDir = '/var/tmp/psc-bench',
    [ValidateRange(10, 600)][int]$TimeoutSeconds = 120,
    # Debian's docker.io 20.10 CLI: it speaks API 1.41 to both engines (a newer CLI on PATH would speak 1.44 to psc-api).
    [string]$DockerCli = '/usr/bin/docker',
    [switch]$SkipTestcontainers
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchDockerd.ps1')

function Write-MedianTable($Times) {
    <# Median and minimum ms per engine, and each median over PSContainer's. #>
    $psc = Get-BenchMedian @($Times['PSContainer (psc-api)'])
    $rows = foreach ($k in $Times.Keys) {
        $m = Get-BenchMedian @($Times[$k])
        [pscustomobject]@{ engine = $k; 'median ms' = (Format-BenchNumber $m 'N0'); 'min ms' = (Format-BenchNumber (@($Times[$k]) | Measure-Object -Minimum).Minimum 'N0')
            'time / PSContainer' = (Format-BenchNumber ($m / $psc) 'N2') }
    }
    Write-BenchTable -Row @($rows) -Column 'engine', 'median ms', 'min ms', 'time / PSContainer' -RightAlign 'median ms', 'min ms', 'time / PSContainer'
}
if (-not (Test-Path $DockerCli)) { Write-Host "bench/api.ps1 skipped: no docker CLI at $DockerCli (Debian package docker.io)"; return }
$run = New-BenchRunDirectory $CacheDir
$fixture = New-BenchBusyboxRootFs -Directory $run -Applet 'sh', 'true', 'sleep', 'httpd', 'mkdir', 'echo'
$dockerd = $null
$api = $null
$benchNetwork = "psc-bench-api-$PID"
$savedHost = $env:DOCKER_HOST
$binDir = Join-Path $run 'api-testcontainers'
if (-not $SkipTestcontainers) {
    # Built first: a build failure ends the run before anything is timed.
    Invoke-BenchProcess -FilePath dotnet -ArgumentList @('build', (Join-Path $PSScriptRoot 'api-testcontainers/ApiBench.Testcontainers.csproj'),
        '-c', 'Release', '-o', $binDir, '--nologo', '-v', 'quiet') -Check -TimeoutSeconds 600 | Out-Null
}
$times = [ordered]@{ 'PSContainer (psc-api)' = [Collections.Generic.List[double]]::new(); 'dockerd' = [Collections.Generic.List[double]]::new() }
$ready = [ordered]@{ 'PSContainer (psc-api)' = [Collections.Generic.List[double]]::new(); 'dockerd' = [Collections.Generic.List[double]]::new() }
$skipped = [ordered]@{}
try {
    Use-BenchStateRoot $run 'psc-bench-api'
    $ProgressPreference = 'SilentlyContinue'
    Import-Module $ModulePath -Force
    Import-ContainerImage $fixture.Tar -Format RootFs -Name busybox -Command sh | Out-Null
    $api = Start-ContainerApiService -SocketPath (Join-Path $run 'psc-api.sock') -LogPath (Join-Path $run 'psc-api.log')
    $hosts = [ordered]@{ 'PSContainer (psc-api)' = $api.DockerHost }

    $dockerd = Start-BenchDockerd -Directory (Join-Path $run 'dockerd')
    if ($dockerd.Available) {
        Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('import', '-c', 'CMD ["sh"]', $fixture.Tar, 'busybox') -Check -TimeoutSeconds $TimeoutSeconds | Out-Null
        $hosts['dockerd'] = $env:DOCKER_HOST
    }
    else { $skipped['dockerd'] = $dockerd.Reason; $times.Remove('dockerd'); $ready.Remove('dockerd') }

    # ---- docker run --rm, through each socket ------------------------------------------------------------------
    $runOnce = {
        param($name)
        $env:DOCKER_HOST = $hosts[$name]
        (Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('run', '--rm', '--network', 'none', 'busybox', 'true') -Check -TimeoutSeconds $TimeoutSeconds).Seconds * 1000
    }
    foreach ($name in $hosts.Keys) { & $runOnce $name | Out-Null }   # warm-up, checked
    for ($i = 0; $i -lt $Iterations; $i++) {
        $order = @($hosts.Keys)
        if ($i % 2) { [array]::Reverse($order) }
        foreach ($name in $order) { $times[$name].Add((& $runOnce $name)) }
    }
    foreach ($name in $hosts.Keys) {
        $env:DOCKER_HOST = $hosts[$name]
        $left = (Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('ps', '-aq') -Check -TimeoutSeconds 30).StdOut.Trim()
        if ($left) { throw "docker run --rm left containers on $name`: $left" }
    }

    # ---- Testcontainers start-to-ready ---------------------------------------------------------------------------
    if ($SkipTestcontainers) { $skipped['Testcontainers'] = '-SkipTestcontainers' }
    else {
        $env:TESTCONTAINERS_RYUK_DISABLED = 'true'
        if ($dockerd.Available) {
            $env:DOCKER_HOST = $hosts['dockerd']
            Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('network', 'create', '--driver', 'bridge', '-o', "com.docker.network.bridge.name=pscba$PID", $benchNetwork) -Check -TimeoutSeconds 60 | Out-Null
        }
        foreach ($name in $hosts.Keys) {
            $env:DOCKER_HOST = $hosts[$name]
            $arguments = @((Join-Path $binDir 'ApiBench.Testcontainers.dll'), 'busybox', "$TestcontainersRounds") + $(if ($name -eq 'dockerd') { $benchNetwork } else { @() })
            $r = Invoke-BenchProcess -FilePath dotnet -ArgumentList $arguments -TimeoutSeconds ($TimeoutSeconds * ($TestcontainersRounds + 1))
            $ms = @($r.StdOut -split "`n" | Where-Object { $_ -match '^ready-ms ([\d.]+)' } | ForEach-Object { [double]($_ -replace '^ready-ms ', '') })
            if ($r.ExitCode -ne 0 -or $ms.Count -ne $TestcontainersRounds) {
                $skipped["Testcontainers on $name"] = "failed ($($r.ExitCode)): $((($r.StdErr + $r.StdOut) -split "`n" | Where-Object { $_ -match 'Exception|error' } | Select-Object -First 2) -join ' ')"
                $ready.Remove($name)
                continue
            }
            foreach ($m in $ms) { $ready[$name].Add($m) }
        }
    }

    # ---- report ----------------------------------------------------------------------------------------------------
    Write-Host "`ndocker run --rm --network none busybox true (docker CLI $((& $DockerCli version --format '{{.Client.Version}}' 2>$null) -join '')), $Iterations rounds, median (time / PSContainer above 1: PSContainer is faster)"
    Write-MedianTable $times
    if ($ready.Contains('PSContainer (psc-api)') -and $ready['PSContainer (psc-api)'].Count) {
        Write-Host "`nTestcontainers 3.10 StartAsync to ready (busybox httpd, published port, HTTP wait strategy), $TestcontainersRounds rounds after a warm-up, median"
        Write-MedianTable $ready
    }
    foreach ($k in $skipped.Keys) { Write-Host "skipped $k`: $($skipped[$k])" }
    $file = Save-BenchResult -Name 'api' -Data ([ordered]@{ iterations = $Iterations; testcontainersRounds = $TestcontainersRounds; docker = $dockerd.Version
            dockerRunMs = $times; testcontainersReadyMs = $ready; skipped = $skipped; machine = Get-BenchMachine $run })
    Write-Host "Results: $file"
}
finally {
    if ($dockerd -and $dockerd.Available) {
        $env:DOCKER_HOST = "unix://$($dockerd.Directory)/docker.sock"
        $ids = (Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('ps', '-aq') -TimeoutSeconds 30).StdOut -split "`n" | Where-Object { $_ }
        if ($ids) { Invoke-BenchProcess -FilePath $DockerCli -ArgumentList (@('rm', '-f') + $ids) -TimeoutSeconds 120 | Out-Null }
        Invoke-BenchProcess -FilePath $DockerCli -ArgumentList @('network', 'rm', $benchNetwork) -TimeoutSeconds 60 | Out-Null
    }
    if ($dockerd) { Stop-BenchDockerd $dockerd }
    # The user network's bridge outlives dockerd when its removal failed.
    & ip link del "pscba$PID" 2>$null
    if ($api) { Stop-ContainerApiService -SocketPath $api.SocketPath -ErrorAction Continue }
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue | Out-Null
    Remove-BenchCgroupParent 'psc-bench-api'
    $env:DOCKER_HOST = $savedHost
    $env:TESTCONTAINERS_RYUK_DISABLED = $null
    Remove-BenchTree $run
}
