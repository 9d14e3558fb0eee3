#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Container networking against docker and podman, in one run: run-to-exit latency on the default bridge network and
    published-port requests/s, as medians and ratios.
.DESCRIPTION
    - latency: PSContainer `Start-Container -Image busybox -AutoRemove -Command true` on the default network `bridge`
      (veth pair, address lease, firewall rules, teardown) next to `docker run --rm` and `podman run --rm` (their
      default networking too), median of -Iterations each after a warm-up; -Network none as the baseline.
    - requests/s: busybox httpd serving a small file, published on 127.0.0.1 (nftables DNAT for PSContainer; docker's
      and podman's own publishing), driven by `ab` (-Requests requests, -Concurrency at a time, 10 s at most), and the
      same httpd binary on the host directly. Only 127.0.0.1 is addressed.
    Missing competitors are skipped with the reason. Results go to bench/results/network-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/network.ps1
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 100)][int]$Iterations = 15,
    [ValidateRange(100, 20000)][int]$Requests = 5000,
    [ValidateRange(1, 64)][int]$Concurrency = 8,
    [string]$CacheDir = '/var/tmp/psc-bench-network'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$netavarkBefore = Get-BenchNetavarkChain
$run = New-BenchRunDirectory $CacheDir
$results = [ordered]@{ machine = Get-BenchMachine $run }

# ---- fixture: a busybox root filesystem with a page to serve ---------------------------------------------------
$rootfs = Join-Path $run 'rootfs'
New-Item -ItemType Directory -Force "$rootfs/www" | Out-Null
Set-Content "$rootfs/www/index.html" ('x' * 512)   # in the tar too: written before it is made
$tar = (New-BenchBusyboxRootFs -Directory $run -Applet 'sh', 'true', 'sleep', 'httpd' -ExtraDirectory 'www').Tar

function Measure-Runs([string]$Name, [scriptblock]$Once) {
    & $Once | Out-Null
    $times = for ($i = 0; $i -lt $Iterations; $i++) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        & $Once | Out-Null
        $sw.Elapsed.TotalMilliseconds
    }
    $median = Get-BenchMedian @($times)
    $results[$Name] = [ordered]@{ medianMs = $median; runs = @($times) }
    $median
}

function Get-FreePort {
    $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0); $l.Start(); $p = $l.LocalEndpoint.Port; $l.Stop(); $p
}

function Measure-Http([string]$Name, [int]$Port) {
    # Wait (bounded) for the server to answer, then one bounded ab run.
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ($true) {
        try { Invoke-WebRequest "http://127.0.0.1:$Port/index.html" -TimeoutSec 2 | Out-Null; break }
        catch { if ([DateTime]::UtcNow -gt $deadline) { Write-Host "$Name`: no answer on 127.0.0.1:$Port"; return [double]::NaN }; Start-Sleep -Milliseconds 100 }
    }
    $r = Invoke-BenchProcess -FilePath ab -ArgumentList @('-q', '-k', '-n', "$Requests", '-c', "$Concurrency", '-s', '5', '-t', '10', "http://127.0.0.1:$Port/index.html") -TimeoutSeconds 30
    $rps = if ($r.StdOut -match 'Requests per second:\s+([\d.]+)') { [double]$Matches[1] } else { [double]::NaN }
    $failed = if ($r.StdOut -match 'Failed requests:\s+(\d+)') { [int]$Matches[1] } else { -1 }
    $results["$Name requests/s"] = [ordered]@{ requestsPerSecond = $rps; failed = $failed; requests = $Requests; concurrency = $Concurrency }
    $rps
}

$latency = [ordered]@{}
$rps = [ordered]@{}
Use-BenchStateRoot $run 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null
$docker = Get-BenchDockerStatus
$havePodman = Test-BenchCommand podman
$haveAb = Test-BenchCommand ab
$dockerIds = @(); $podmanIds = @(); $hostHttpd = $null
try {
    # ---- run-to-exit latency ---------------------------------------------------------------------------------------
    $latency['PSContainer -Network bridge'] = Measure-Runs 'psc bridge' { Start-Container -Image bench/busybox -AutoRemove -Command true }
    $latency['PSContainer -Network none'] = Measure-Runs 'psc none' { Start-Container -Image bench/busybox -AutoRemove -Network none -Command true }
    if ($docker.Available) {
        Invoke-BenchProcess -FilePath docker -ArgumentList @('import', $tar, 'psc-bench/busybox-net:latest') -Check | Out-Null
        $latency['docker run --rm'] = Measure-Runs 'docker' { Invoke-BenchProcess -FilePath docker -ArgumentList @('run', '--rm', 'psc-bench/busybox-net', 'true') -Check }
    } else { Write-Host "docker: not available ($($docker.Reason))" }
    if ($havePodman) {
        Invoke-BenchProcess -FilePath podman -ArgumentList @('import', $tar, 'localhost/psc-bench-busybox-net:latest') -Check | Out-Null
        $latency['podman run --rm'] = Measure-Runs 'podman' { Invoke-BenchProcess -FilePath podman -ArgumentList @('run', '--rm', 'localhost/psc-bench-busybox-net', 'true') -Check }
    } else { Write-Host 'podman: not installed, skipped' }

    # ---- published-port requests/s -----------------------------------------------------------------------------
    if ($haveAb) {
        $serve = @('httpd', '-f', '-p', '80', '-h', '/www')
        $p = Get-FreePort
        $c = New-Container bench/busybox -Name bench-web -Publish "127.0.0.1:${p}:80" -Command $serve | Start-Container -PassThru
        $rps['PSContainer (nftables DNAT)'] = Measure-Http 'psc' $p
        $c | Remove-Container -Force
        if ($docker.Available) {
            $p = Get-FreePort
            $dockerIds += (Invoke-BenchProcess -FilePath docker -ArgumentList (@('run', '-d', '-p', "127.0.0.1:${p}:80", 'psc-bench/busybox-net') + $serve) -Check).StdOut.Trim()
            $rps['docker -p (docker-proxy)'] = Measure-Http 'docker' $p
        }
        if ($havePodman) {
            $p = Get-FreePort
            $podmanIds += (Invoke-BenchProcess -FilePath podman -ArgumentList (@('run', '-d', '-p', "127.0.0.1:${p}:80", 'localhost/psc-bench-busybox-net') + $serve) -Check).StdOut.Trim()
            $rps['podman -p'] = Measure-Http 'podman' $p
        }
        $p = Get-FreePort
        $hostHttpd = Start-Process -FilePath "$rootfs/bin/busybox" -ArgumentList @('httpd', '-f', '-p', "127.0.0.1:$p", '-h', "$rootfs/www") -PassThru
        $rps['host httpd (no container)'] = Measure-Http 'host' $p
    } else { Write-Host 'ab (apache2-utils) is not installed: requests/s skipped' }
}
finally {
    if ($hostHttpd) { Stop-Process -Id $hostHttpd.Id -ErrorAction SilentlyContinue }
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    if ($dockerIds) { Invoke-BenchProcess -FilePath docker -ArgumentList (@('rm', '-f') + $dockerIds) -TimeoutSeconds 60 | Out-Null }
    if ($podmanIds) { Invoke-BenchProcess -FilePath podman -ArgumentList (@('rm', '-f', '-t', '0') + $podmanIds) -TimeoutSeconds 60 | Out-Null }
    if ($docker.Available) { Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', 'psc-bench/busybox-net') | Out-Null }
    if ($havePodman) { Invoke-BenchProcess -FilePath podman -ArgumentList @('rmi', 'localhost/psc-bench-busybox-net') | Out-Null }
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench'
    Remove-BenchNetavarkChain -Before $netavarkBefore
    foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($run) } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
    Remove-BenchTree $run
}

Write-Host ''
Write-Host "run-to-exit latency (median of $Iterations, ms)"
$base = $latency['PSContainer -Network bridge']
Write-BenchTable -Row @($latency.GetEnumerator() | ForEach-Object {
        [pscustomobject]@{ engine = $_.Key; 'median ms' = Format-BenchNumber $_.Value 'N1'; 'vs PSContainer bridge' = Format-BenchNumber ($_.Value / $base) 'N2' }
    }) -Column 'engine', 'median ms', 'vs PSContainer bridge' -RightAlign 'median ms', 'vs PSContainer bridge'
if ($rps.Count) {
    Write-Host ''
    Write-Host "published port on 127.0.0.1, busybox httpd, ab -n $Requests -c $Concurrency -k (requests/s)"
    $base = $rps['PSContainer (nftables DNAT)']
    Write-BenchTable -Row @($rps.GetEnumerator() | ForEach-Object {
            [pscustomobject]@{ path = $_.Key; 'requests/s' = Format-BenchNumber $_.Value 'N0'; 'PSContainer / this' = Format-BenchNumber ($base / $_.Value) 'N2' }
        }) -Column 'path', 'requests/s', 'PSContainer / this' -RightAlign 'requests/s', 'PSContainer / this'
}
$file = Save-BenchResult 'network' $results
Write-Host "`nresults: $file"
