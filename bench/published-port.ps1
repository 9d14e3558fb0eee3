#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Published-port throughput, alternated in one run: busybox httpd on the host, in a PSContainer container reached
    through its port published on 127.0.0.1 (nftables DNAT, route_localnet, masquerade) and directly at its address
    (no NAT: the veth, bridge and namespace alone), and in a podman container published on 127.0.0.1; `ab -n -c`
    with and without -k. Reports requests/s as ratios to the host within each round, and the median over rounds.
.DESCRIPTION
    Under load absolute requests/s mean little: every round runs each target once, in an order that rotates, so the
    ratios compare runs made seconds apart. busybox httpd answers every request with Connection: close, so -k
    changes what ab sends, not the connections made. Only 127.0.0.1 and the container's own address are addressed.
    podman runs with the benchmarks' containers.conf (lib/BenchCommon.ps1, Use-BenchPodmanConfig); it is skipped
    with the reason when absent or failing. Every loop is bounded. Results go to bench/results/published-port-*.json.
.EXAMPLE
    dotnet pwsh ./bench/published-port.ps1 -Rounds 5 -Requests 5000 -Concurrency 8
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 30)][int]$Rounds = 5,
    [ValidateRange(100, 50000)][int]$Requests = 5000,
    [ValidateRange(1, 64)][int]$Concurrency = 8,
    [string]$CacheDir = '/var/tmp/psc-bench-published-port'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
if (-not (Test-BenchCommand ab)) { Write-Host 'ab (apache2-utils) is not installed: nothing to measure'; return }
$netavarkBefore = Get-BenchNetavarkChain
$run = New-BenchRunDirectory $CacheDir
$rootfs = Join-Path $run 'rootfs'
New-Item -ItemType Directory -Force "$rootfs/www" | Out-Null
Set-Content "$rootfs/www/index.html" ('x' * 512)
$tar = (New-BenchBusyboxRootFs -Directory $run -Applet 'sh', 'true', 'sleep', 'httpd' -ExtraDirectory 'www').Tar

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
    $abArgs = @('-q') + @(if ($KeepAlive) { '-k' }) + @('-n', "$Requests", '-c', "$Concurrency", '-s', '5', '-t', '20', $Url)
    $r = Invoke-BenchProcess -FilePath ab -ArgumentList $abArgs -TimeoutSeconds 60
    $rps = if ($r.StdOut -match 'Requests per second:\s+([\d.]+)') { [double]$Matches[1] } else { [double]::NaN }
    $failed = if ($r.StdOut -match 'Failed requests:\s+(\d+)') { [int]$Matches[1] } else { -1 }
    [pscustomobject]@{ rps = $rps; failed = $failed }
}

Use-BenchStateRoot $run 'psc-bench-pp'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null
$serve = @('httpd', '-f', '-p', '80', '-h', '/www')
$targets = [ordered]@{}
$hostHttpd = $null; $podmanId = $null; $c = $null
$results = [ordered]@{ machine = Get-BenchMachine $run; uptimeBefore = (& uptime).Trim(); rounds = @() }
try {
    $p = Get-FreePort
    $hostHttpd = Start-Process -FilePath "$rootfs/bin/busybox" -ArgumentList @('httpd', '-f', '-p', "127.0.0.1:$p", '-h', "$rootfs/www") -PassThru
    $targets['host'] = "http://127.0.0.1:$p/index.html"
    $p = Get-FreePort
    $c = New-Container bench/busybox -Name bench-pp -Publish "127.0.0.1:${p}:80" -Command $serve | Start-Container -PassThru
    $targets['psc 127.0.0.1 (DNAT)'] = "http://127.0.0.1:$p/index.html"
    $targets['psc container address (no NAT)'] = "http://$($c.IPAddress):80/index.html"
    if (Test-BenchCommand podman) {
        Invoke-BenchProcess -FilePath podman -ArgumentList @('import', $tar, 'localhost/psc-bench-busybox-pp:latest') -Check | Out-Null
        $p = Get-FreePort
        $r = Invoke-BenchProcess -FilePath podman -ArgumentList (@('run', '-d', '-p', "127.0.0.1:${p}:80", 'localhost/psc-bench-busybox-pp') + $serve)
        if ($r.ExitCode -eq 0) { $podmanId = $r.StdOut.Trim(); $targets['podman 127.0.0.1'] = "http://127.0.0.1:$p/index.html" }
        else { Write-Host "podman: skipped ($($r.StdErr.Trim()))" }
    } else { Write-Host 'podman: not installed, skipped' }
    foreach ($t in @($targets.Keys)) { if (-not (Wait-Answer $targets[$t])) { Write-Host "$t`: no answer, skipped"; $targets.Remove($t) } }

    $names = @($targets.Keys)
    $ratios = @{}
    for ($r = 0; $r -lt $Rounds; $r++) {
        foreach ($keep in $false, $true) {
            $row = [ordered]@{ round = $r + 1; keepAlive = $keep }
            # Rotate the order each round so no target always runs first or right after another.
            for ($i = 0; $i -lt $names.Count; $i++) {
                $name = $names[($i + $r) % $names.Count]
                $row[$name] = Invoke-Ab $targets[$name] $keep
            }
            foreach ($name in $names) {
                $key = "$name$(if ($keep) { ' -k' })"
                if (-not $ratios.ContainsKey($key)) { $ratios[$key] = [Collections.Generic.List[double]]::new() }
                $ratios[$key].Add($row[$name].rps / $row['host'].rps)
            }
            $results.rounds += [pscustomobject]$row
            Write-Host ("round {0}{1}: {2}" -f ($r + 1), $(if ($keep) { ' -k' } else { '' }), (($names | ForEach-Object { "$_ {0:N0}/s" -f $row[$_].rps }) -join ', '))
        }
    }
    $results.uptimeAfter = (& uptime).Trim()
    Write-Host ''
    Write-Host "ab -n $Requests -c $Concurrency, busybox httpd, requests/s relative to the host httpd (median of $Rounds rounds)"
    $table = foreach ($key in $ratios.Keys | Sort-Object) { [pscustomobject]@{ path = $key; 'vs host' = Format-BenchNumber (Get-BenchMedian $ratios[$key].ToArray()) 'N3' } }
    Write-BenchTable -Row @($table) -Column 'path', 'vs host' -RightAlign 'vs host'
    $results.ratios = @{}; foreach ($key in $ratios.Keys) { $results.ratios[$key] = Get-BenchMedian $ratios[$key].ToArray() }
    Write-Host "uptime before: $($results.uptimeBefore); after: $($results.uptimeAfter)"
}
finally {
    if ($hostHttpd) { Stop-Process -Id $hostHttpd.Id -ErrorAction SilentlyContinue }
    if ($c) { $c | Remove-Container -Force -ErrorAction SilentlyContinue }
    $engine = [PSContainer.Engine.ContainerEngine]::ForEnvironment()
    if ($engine.Containers.GetType().GetMethod('WaitForNetworkTeardown')) { $null = $engine.Containers.WaitForNetworkTeardown([TimeSpan]::FromSeconds(10)) }
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
    if ($podmanId) { Invoke-BenchProcess -FilePath podman -ArgumentList @('rm', '-f', '-t', '0', $podmanId) -TimeoutSeconds 60 | Out-Null }
    if (Test-BenchCommand podman) { Invoke-BenchProcess -FilePath podman -ArgumentList @('rmi', 'localhost/psc-bench-busybox-pp') | Out-Null }
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench-pp'
    Remove-BenchNetavarkChain -Before $netavarkBefore
    Remove-BenchTree $run
}
$file = Save-BenchResult 'published-port' $results
Write-Host "results: $file"
