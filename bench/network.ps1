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
      and podman's own publishing), driven by `ab` (-Requests requests, -Concurrency at a time, 30 s at most), and the
      same httpd binary on the host directly (in a cgroup of its own, as a container's server is). All servers run at
      once; -Rounds rounds each run ab against every one, with -k and without, in a rotating order, and the table
      gives medians and the median of the per-round ratios to the host. Only 127.0.0.1 is addressed. podman runs in a
      private store with runc.
    Missing competitors are skipped with the reason. Results go to bench/results/network-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/network.ps1
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(3, 100)][int]$Iterations = 15,
    [ValidateRange(100, 50000)][int]$Requests = 10000,
    [ValidateRange(1, 30)][int]$Rounds = 5,
    [ValidateRange(1, 64)][int]$Concurrency = 8,
    [string]$CacheDir = '/var/tmp/psc-bench-network'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchHostCgroup.ps1')
$netavarkBefore = Get-BenchNetavarkChain
$podmanParentBefore = Test-BenchPodmanCgroupParent
$cniBridgeBefore = Test-Path /sys/class/net/cni-podman0
$run = New-BenchRunDirectory $CacheDir
$results = [ordered]@{ machine = Get-BenchMachine $run; uptimeBefore = (& uptime).Trim() }

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

function Wait-Answer([string]$Url) {
    $deadline = [DateTime]::UtcNow.AddSeconds(15)
    while ($true) {
        try { Invoke-WebRequest $Url -TimeoutSec 2 | Out-Null; return $true }
        catch { if ([DateTime]::UtcNow -gt $deadline) { return $false }; Start-Sleep -Milliseconds 100 }
    }
}

function Invoke-Ab([string]$Url, [bool]$KeepAlive) {
    # -t before -n: ab's -t sets the request count to 50000 and a later -n sets it back.
    $abArgs = @('-q') + @(if ($KeepAlive) { '-k' }) + @('-t', '30', '-n', "$Requests", '-c', "$Concurrency", '-s', '5', $Url)
    $r = Invoke-BenchProcess -FilePath ab -ArgumentList $abArgs -TimeoutSeconds 60
    $rps = if ($r.StdOut -match 'Requests per second:\s+([\d.]+)') { [double]$Matches[1] } else { [double]::NaN }
    $failed = if ($r.StdOut -match 'Failed requests:\s+(\d+)') { [int]$Matches[1] } else { -1 }
    [pscustomobject]@{ rps = $rps; failed = $failed }
}

$latency = [ordered]@{}
$rps = [ordered]@{}
Use-BenchStateRoot $run 'psc-bench'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null
$docker = Get-BenchDockerStatus
$havePodman = Test-BenchCommand podman
# podman in a store of the run's own (its mounts are undone and it is removed with the run), with runc.
$podman = @('--root', "$run/podman/storage", '--runroot', "$run/podman/run", '--tmpdir', "$run/podman/tmp", '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', '--runtime', 'runc')
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
        Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('import', $tar, 'localhost/psc-bench-busybox-net:latest')) -Check | Out-Null
        $latency['podman run --rm'] = Measure-Runs 'podman' { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('run', '--rm', 'localhost/psc-bench-busybox-net', 'true')) -Check }
    } else { Write-Host 'podman: not installed, skipped' }

    # ---- published-port requests/s -----------------------------------------------------------------------------
    # Every server is started first, then each round runs ab against each once, with and without -k, in an order
    # that rotates, so the ratios to the host compare runs made seconds apart rather than minutes.
    if ($haveAb) {
        $serve = @('httpd', '-f', '-p', '80', '-h', '/www')
        $targets = [ordered]@{}
        $p = Get-FreePort
        $hostHttpd = Start-Process -FilePath "$rootfs/bin/busybox" -ArgumentList @('httpd', '-f', '-p', "127.0.0.1:$p", '-h', "$rootfs/www") -PassThru
        # In a cgroup of its own: one scheduling group, as each container's server is (lib/BenchHostCgroup.ps1).
        $null = New-BenchHostCgroup 'psc-bench-net-host' $hostHttpd.Id
        $targets['host'] = @{ Label = 'host httpd (no container)'; Url = "http://127.0.0.1:$p/index.html" }
        $p = Get-FreePort
        $c = New-Container bench/busybox -Name bench-web -Publish "127.0.0.1:${p}:80" -Command $serve | Start-Container -PassThru
        $targets['psc'] = @{ Label = 'PSContainer (nftables DNAT)'; Url = "http://127.0.0.1:$p/index.html" }
        if ($docker.Available) {
            $p = Get-FreePort
            $dockerIds += (Invoke-BenchProcess -FilePath docker -ArgumentList (@('run', '-d', '-p', "127.0.0.1:${p}:80", 'psc-bench/busybox-net') + $serve) -Check).StdOut.Trim()
            $targets['docker'] = @{ Label = 'docker -p (docker-proxy)'; Url = "http://127.0.0.1:$p/index.html" }
        }
        if ($havePodman) {
            $p = Get-FreePort
            $podmanIds += (Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('run', '-d', '-p', "127.0.0.1:${p}:80", 'localhost/psc-bench-busybox-net') + $serve) -Check).StdOut.Trim()
            $targets['podman'] = @{ Label = 'podman -p'; Url = "http://127.0.0.1:$p/index.html" }
        }
        foreach ($t in @($targets.Keys)) { if (-not (Wait-Answer $targets[$t].Url)) { Write-Host "$t`: no answer on $($targets[$t].Url), skipped"; $targets.Remove($t) } }
        $names = @($targets.Keys)
        $runs = @{}
        foreach ($name in $names) { foreach ($keep in $true, $false) { $runs["$name|$keep"] = [Collections.Generic.List[object]]::new() } }
        for ($r = 0; $r -lt $Rounds; $r++) {
            foreach ($keep in $true, $false) {
                $row = @{}
                for ($i = 0; $i -lt $names.Count; $i++) {
                    $name = $names[($i + $r) % $names.Count]
                    $row[$name] = Invoke-Ab $targets[$name].Url $keep
                }
                foreach ($name in $names) {
                    $runs["$name|$keep"].Add([pscustomobject]@{ rps = $row[$name].rps; failed = $row[$name].failed; toHost = $row[$name].rps / $row['host'].rps })
                }
                Write-Host ("round {0}{1}: {2}" -f ($r + 1), $(if ($keep) { ' -k' } else { '' }), (($names | ForEach-Object { "$_ {0:N0}/s" -f $row[$_].rps }) -join ', '))
            }
        }
        foreach ($name in $names) {
            $k = $runs["$name|True"]; $n = $runs["$name|False"]
            # requestsPerSecond (with -k) is the figure summary.ps1 reads; the rest says how it was reached.
            $results["$name requests/s"] = [ordered]@{
                requestsPerSecond = Get-BenchMedian @($k | ForEach-Object rps); toHost = Get-BenchMedian @($k | ForEach-Object toHost)
                requestsPerSecondNoKeepAlive = Get-BenchMedian @($n | ForEach-Object rps); toHostNoKeepAlive = Get-BenchMedian @($n | ForEach-Object toHost)
                failed = ($k + $n | Measure-Object failed -Sum).Sum; requests = $Requests; concurrency = $Concurrency; rounds = $Rounds
                runs = @($k); runsNoKeepAlive = @($n)
            }
            $rps[$targets[$name].Label] = $results["$name requests/s"]
        }
        $c | Remove-Container -Force
    } else { Write-Host 'ab (apache2-utils) is not installed: requests/s skipped' }
}
finally {
    if ($hostHttpd) { Stop-Process -Id $hostHttpd.Id -ErrorAction SilentlyContinue; $hostHttpd.WaitForExit(5000) | Out-Null }
    Remove-BenchHostCgroup 'psc-bench-net-host'
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    if ($dockerIds) { Invoke-BenchProcess -FilePath docker -ArgumentList (@('rm', '-f') + $dockerIds) -TimeoutSeconds 60 | Out-Null }
    if ($podmanIds) { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rm', '-f', '-t', '0') + $podmanIds) -TimeoutSeconds 60 | Out-Null }
    if ($docker.Available) { Invoke-BenchProcess -FilePath docker -ArgumentList @('rmi', 'psc-bench/busybox-net') | Out-Null }
    if ($havePodman) { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rmi', 'localhost/psc-bench-busybox-net')) | Out-Null }
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench'
    Remove-BenchNetavarkChain -Before $netavarkBefore
    Remove-BenchPodmanCgroupParent $podmanParentBefore
    if (-not $cniBridgeBefore -and (Test-Path /sys/class/net/cni-podman0)) { & ip link del cni-podman0 2>$null }
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
    Write-Host "published port on 127.0.0.1, busybox httpd, ab -n $Requests -c $Concurrency, median of $Rounds interleaved rounds (requests/s; vs host: median of the per-round ratios)"
    Write-BenchTable -Row @($rps.GetEnumerator() | ForEach-Object {
            [pscustomobject]@{ path = $_.Key; '-k req/s' = Format-BenchNumber $_.Value.requestsPerSecond 'N0'; '-k vs host' = Format-BenchNumber $_.Value.toHost 'N3'
                'no -k req/s' = Format-BenchNumber $_.Value.requestsPerSecondNoKeepAlive 'N0'; 'no -k vs host' = Format-BenchNumber $_.Value.toHostNoKeepAlive 'N3'; failed = $_.Value.failed }
        }) -Column 'path', '-k req/s', '-k vs host', 'no -k req/s', 'no -k vs host', 'failed' -RightAlign '-k req/s', '-k vs host', 'no -k req/s', 'no -k vs host', 'failed'
}
$results.uptimeAfter = (& uptime).Trim()
Write-Host "uptime before: $($results.uptimeBefore); after: $($results.uptimeAfter)"
$file = Save-BenchResult 'network' $results
Write-Host "`nresults: $file"
