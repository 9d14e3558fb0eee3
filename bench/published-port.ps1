#!/usr/bin/env pwsh
<#
.SYNOPSIS
    Published-port throughput, alternated in one run: busybox httpd on the host, in a PSContainer container reached
    through its port published on 127.0.0.1 (nftables DNAT, route_localnet, masquerade) and directly at its address
    (no NAT: the veth, bridge and namespace alone), and in a podman container published on 127.0.0.1; `ab -n -c`
    with and without -k. Reports requests/s as ratios to the host within each round, and the median over rounds;
    and the CPU time per request (the server's cgroup, which holds the httpd, the child it forks per connection and
    the softirq work charged to them, plus ab's user+sys time), which load distorts far less than requests/s.
.DESCRIPTION
    Under load absolute requests/s mean little: every round runs each target once, in an order that rotates, so the
    ratios compare runs made seconds apart. busybox httpd answers every request with Connection: close, so -k
    changes what ab sends, not the connections made. Only 127.0.0.1 and the container's own address are addressed.
    The host httpd runs in a cgroup of its own (lib/BenchHostCgroup.ps1), so the scheduler treats it as one group
    like a container's server, not as one root-group peer per forked child. podman runs in a private store with runc
    and the benchmarks' containers.conf (lib/BenchCommon.ps1, Use-BenchPodmanConfig); it is skipped
    with the reason when absent or failing. Every loop is bounded. Results go to bench/results/published-port-*.json.
.EXAMPLE
    dotnet pwsh ./bench/published-port.ps1 -Rounds 5 -Requests 5000 -Concurrency 8
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 30)][int]$Rounds = 5,
    [ValidateRange(100, 50000)][int]$Requests = 10000,
    [ValidateRange(1, 64)][int]$Concurrency = 8,
    [string]$CacheDir = '/var/tmp/psc-bench-pp'   # short: podman refuses a runroot over 50 characters
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
. (Join-Path $PSScriptRoot 'lib/BenchHostCgroup.ps1')
if (-not (Test-BenchCommand ab)) { Write-Host 'ab (apache2-utils) is not installed: nothing to measure'; return }
$netavarkBefore = Get-BenchNetavarkChain
$podmanParentBefore = Test-BenchPodmanCgroupParent
$cniBridgeBefore = Test-Path /sys/class/net/cni-podman0
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

function Invoke-Ab([string]$Url, [bool]$KeepAlive, [string]$Cgroup) {
    $abArgs = @('-f', '%U %S', '-o', "$run/ab.time", 'ab', '-q') + @(if ($KeepAlive) { '-k' }) + @('-t', '30', '-n', "$Requests", '-c', "$Concurrency", '-s', '5', $Url)
    $before = Get-BenchCgroupCpuUs $Cgroup
    $r = Invoke-BenchProcess -FilePath /usr/bin/time -ArgumentList $abArgs -TimeoutSeconds 60
    $server = (Get-BenchCgroupCpuUs $Cgroup) - $before
    $abCpu = ((Get-Content "$run/ab.time" | Select-Object -Last 1) -split ' ' | ForEach-Object { [double]$_ } | Measure-Object -Sum).Sum * 1e6
    $rps = if ($r.StdOut -match 'Requests per second:\s+([\d.]+)') { [double]$Matches[1] } else { [double]::NaN }
    $failed = if ($r.StdOut -match 'Failed requests:\s+(\d+)') { [int]$Matches[1] } else { -1 }
    $done = if ($r.StdOut -match 'Complete requests:\s+(\d+)') { [int]$Matches[1] } else { $Requests }
    [pscustomobject]@{ rps = $rps; failed = $failed; cpuUsPerRequest = ($server + $abCpu) / [math]::Max(1, $done) }
}

Use-BenchStateRoot $run 'psc-bench-pp'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox | Out-Null
$serve = @('httpd', '-f', '-p', '80', '-h', '/www')
# podman in a store of the run's own (removed with it), with runc, as summary.ps1 runs it.
$podman = @('--root', "$run/podman/storage", '--runroot', "$run/podman/run", '--tmpdir', "$run/podman/tmp", '--cgroup-manager', 'cgroupfs', '--events-backend', 'none', '--runtime', 'runc')
$targets = [ordered]@{}
$hostHttpd = $null; $podmanId = $null; $c = $null
$results = [ordered]@{ machine = Get-BenchMachine $run; uptimeBefore = (& uptime).Trim(); rounds = @() }
try {
    $p = Get-FreePort
    $hostHttpd = Start-Process -FilePath "$rootfs/bin/busybox" -ArgumentList @('httpd', '-f', '-p', "127.0.0.1:$p", '-h', "$rootfs/www") -PassThru
    # A cgroup of its own, for the scheduler (one group, like a container's) and to read its CPU time like a container's.
    $hostCgroup = New-BenchHostCgroup 'psc-bench-pp-host' $hostHttpd.Id
    $targets['host'] = "http://127.0.0.1:$p/index.html"
    $p = Get-FreePort
    # The no-NAT target is a second httpd on port 81 (started in the background, the first one serves in the
    # foreground): the DNAT path's connections arrive masqueraded from the gateway address with the client's source
    # port, so direct ones to port 80 from the same address would meet their 4-tuples in TIME_WAIT with other TCP
    # timestamps and be dropped (PAWS: SYN retransmitted after 1 s), which measured ~10x slower than either path alone.
    $serveTwo = @('sh', '-c', 'httpd -p 81 -h /www && exec httpd -f -p 80 -h /www')
    $c = New-Container bench/busybox -Name bench-pp -Publish "127.0.0.1:${p}:80" -Command $serveTwo | Start-Container -PassThru
    $targets['psc 127.0.0.1 (DNAT)'] = "http://127.0.0.1:$p/index.html"
    $targets['psc container address (no NAT)'] = "http://$($c.IPAddress):81/index.html"
    if (Test-BenchCommand podman) {
        Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('import', $tar, 'localhost/psc-bench-busybox-pp:latest')) -Check | Out-Null
        $p = Get-FreePort
        $r = Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('run', '-d', '-p', "127.0.0.1:${p}:80", 'localhost/psc-bench-busybox-pp') + $serve)
        if ($r.ExitCode -eq 0) { $podmanId = $r.StdOut.Trim(); $targets['podman 127.0.0.1'] = "http://127.0.0.1:$p/index.html" }
        else { Write-Host "podman: skipped ($($r.StdErr.Trim()))" }
    } else { Write-Host 'podman: not installed, skipped' }
    foreach ($t in @($targets.Keys)) { if (-not (Wait-Answer $targets[$t])) { Write-Host "$t`: no answer, skipped"; $targets.Remove($t) } }

    $names = @($targets.Keys)
    $cgroups = @{ 'host' = $hostCgroup }
    foreach ($name in $names) {
        if ($name -like 'psc*') { $cgroups[$name] = Get-BenchProcessCgroup (Get-Container $c.Id).Pid }
        elseif ($name -like 'podman*') { $cgroups[$name] = Get-BenchProcessCgroup ([int](Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('inspect', '-f', '{{.State.Pid}}', $podmanId))).StdOut.Trim()) }
    }
    $ratios = @{}
    $cpu = @{}
    for ($r = 0; $r -lt $Rounds; $r++) {
        foreach ($keep in $false, $true) {
            $row = [ordered]@{ round = $r + 1; keepAlive = $keep }
            # Rotate the order each round so no target always runs first or right after another.
            for ($i = 0; $i -lt $names.Count; $i++) {
                $name = $names[($i + $r) % $names.Count]
                $row[$name] = Invoke-Ab $targets[$name] $keep $cgroups[$name]
            }
            foreach ($name in $names) {
                $key = "$name$(if ($keep) { ' -k' })"
                if (-not $ratios.ContainsKey($key)) { $ratios[$key] = [Collections.Generic.List[double]]::new() }
                $ratios[$key].Add($row[$name].rps / $row['host'].rps)
                if (-not $cpu.ContainsKey($key)) { $cpu[$key] = [Collections.Generic.List[double]]::new() }
                $cpu[$key].Add($row[$name].cpuUsPerRequest)
            }
            $results.rounds += [pscustomobject]$row
            Write-Host ("round {0}{1}: {2}" -f ($r + 1), $(if ($keep) { ' -k' } else { '' }), (($names | ForEach-Object { "$_ {0:N0}/s" -f $row[$_].rps }) -join ', '))
        }
    }
    $results.uptimeAfter = (& uptime).Trim()
    Write-Host ''
    Write-Host "ab -n $Requests -c $Concurrency, busybox httpd, requests/s relative to the host httpd (median of $Rounds rounds)"
    $hostCpu = @{ $false = Get-BenchMedian $cpu['host'].ToArray(); $true = Get-BenchMedian $cpu['host -k'].ToArray() }
    $table = foreach ($key in $ratios.Keys | Sort-Object) {
        $cpuMedian = Get-BenchMedian $cpu[$key].ToArray()
        [pscustomobject]@{ path = $key; 'requests/s vs host' = Format-BenchNumber (Get-BenchMedian $ratios[$key].ToArray()) 'N3'
            'CPU µs/request' = Format-BenchNumber $cpuMedian 'N0'; 'CPU vs host' = Format-BenchNumber ($cpuMedian / $hostCpu[$key.EndsWith(' -k')]) 'N3' }
    }
    Write-BenchTable -Row @($table) -Column 'path', 'requests/s vs host', 'CPU µs/request', 'CPU vs host' -RightAlign 'requests/s vs host', 'CPU µs/request', 'CPU vs host'
    $results.ratios = @{}; foreach ($key in $ratios.Keys) { $results.ratios[$key] = Get-BenchMedian $ratios[$key].ToArray() }
    $results.cpuUsPerRequest = @{}; foreach ($key in $cpu.Keys) { $results.cpuUsPerRequest[$key] = Get-BenchMedian $cpu[$key].ToArray() }
    Write-Host "uptime before: $($results.uptimeBefore); after: $($results.uptimeAfter)"
}
finally {
    if ($hostHttpd) { Stop-Process -Id $hostHttpd.Id -ErrorAction SilentlyContinue; $hostHttpd.WaitForExit(5000) | Out-Null }
    Remove-BenchHostCgroup 'psc-bench-pp-host'
    if ($c) { $c | Remove-Container -Force -ErrorAction SilentlyContinue }
    $engine = [PSContainer.Engine.ContainerEngine]::ForEnvironment()
    if ($engine.Containers.GetType().GetMethod('WaitForNetworkTeardown')) { $null = $engine.Containers.WaitForNetworkTeardown([TimeSpan]::FromSeconds(10)) }
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Get-ContainerImage | Remove-ContainerImage -Force | Out-Null
    if ($podmanId) { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rm', '-f', '-t', '0', $podmanId)) -TimeoutSeconds 60 | Out-Null }
    if (Test-BenchCommand podman) { Invoke-BenchProcess -FilePath podman -ArgumentList ($podman + @('rmi', 'localhost/psc-bench-busybox-pp')) | Out-Null }
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench-pp'
    Remove-BenchNetavarkChain -Before $netavarkBefore
    Remove-BenchPodmanCgroupParent $podmanParentBefore
    if (-not $cniBridgeBefore -and (Test-Path /sys/class/net/cni-podman0)) { & ip link del cni-podman0 2>$null }
    # The private podman store leaves its overlay directory's own bind mount.
    foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($run) } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
    Remove-BenchTree $run
}
$file = Save-BenchResult 'published-port' $results
Write-Host "results: $file"
