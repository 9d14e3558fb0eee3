#!/usr/bin/env pwsh
<#
.SYNOPSIS
    The resolver of user networks: psc-dns's memory with several networks, and its lookup latency over UDP and TCP,
    next to aardvark-dns (podman's) when it is installed.
.DESCRIPTION
    - memory: -Networks user networks, one `sleep` container on each; every psc-dns process of the state root is
      counted and its VmRSS read (one process is expected, whatever the number of networks).
    - latency: -Queries A lookups of a container's name, one after the other, from the host to the first network's
      gateway:53 over UDP, then the same over one TCP connection (RFC 1035 length prefix); median, p99 and
      queries/s. Only local names are asked: nothing is forwarded, no traffic leaves the host.
    - aardvark-dns (/usr/lib/podman/aardvark-dns or on PATH): run directly on 127.0.0.1:<port> from a config
      directory of its own format holding the same kind of record, the same loops against it, and its VmRSS.
      Skipped with the reason when it is not installed.
    Results go to bench/results/dns-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/dns.ps1
#>
[CmdletBinding()]
param(
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [ValidateRange(1, 20)][int]$Networks = 3,
    [ValidateRange(100, 20000)][int]$Queries = 2000,
    [string]$CacheDir = '/var/tmp/psc-bench-dns'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
$run = New-BenchRunDirectory $CacheDir
$results = [ordered]@{ machine = Get-BenchMachine $run; networks = $Networks; queries = $Queries }
$tar = (New-BenchBusyboxRootFs -Directory $run -Applet 'sh', 'sleep').Tar

# The loops run compiled, so that they time the resolver rather than PowerShell's per-statement cost.
Add-Type -TypeDefinition @'
using System;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
public static class PscDnsBench
{
    static byte[] Query(int id, string name)
    {
        var b = new System.Collections.Generic.List<byte> { (byte)(id >> 8), (byte)id, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
        foreach (var label in name.Split('.')) { b.Add((byte)label.Length); foreach (char c in label) b.Add((byte)c); }
        b.AddRange(new byte[] { 0, 0, 1, 0, 1 });
        return b.ToArray();
    }
    static void Check(byte[] reply, int n, int id)
    {
        if (n < 12 || ((reply[0] << 8) | reply[1]) != (id & 0xffff) || (reply[3] & 0xf) != 0 || reply[7] == 0)
            throw new InvalidOperationException("unexpected reply to query " + id);
    }
    // Latencies in ms of count queries for name, each sent once its predecessor was answered.
    public static double[] Udp(string address, int port, string name, int count)
    {
        using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        s.Connect(IPAddress.Parse(address), port);
        s.ReceiveTimeout = 2000;
        var buf = new byte[4096];
        var t = new double[count];
        var sw = new Stopwatch();
        for (int i = 0; i < count; i++)
        {
            byte[] q = Query(i, name);
            sw.Restart();
            s.Send(q);
            int n = s.Receive(buf);
            t[i] = sw.Elapsed.TotalMilliseconds;
            Check(buf, n, i);
        }
        return t;
    }
    public static double[] Tcp(string address, int port, string name, int count)
    {
        using var c = new TcpClient();
        c.NoDelay = true;
        c.ReceiveTimeout = 2000;
        c.Connect(IPAddress.Parse(address), port);
        var s = c.GetStream();
        var buf = new byte[4096];
        var t = new double[count];
        var sw = new Stopwatch();
        for (int i = 0; i < count; i++)
        {
            byte[] q = Query(i, name);
            byte[] frame = new byte[q.Length + 2];
            frame[0] = (byte)(q.Length >> 8); frame[1] = (byte)q.Length;
            Array.Copy(q, 0, frame, 2, q.Length);
            sw.Restart();
            s.Write(frame, 0, frame.Length);
            s.ReadExactly(buf, 0, 2);
            int n = (buf[0] << 8) | buf[1];
            s.ReadExactly(buf, 0, n);
            t[i] = sw.Elapsed.TotalMilliseconds;
            Check(buf, n, i);
        }
        return t;
    }
}
'@

function Get-RssKb([int]$ProcessId) {
    $line = Get-Content "/proc/$ProcessId/status" -ErrorAction SilentlyContinue | Where-Object { $_ -like 'VmRSS:*' }
    if ($line) { [long]($line -replace '\D') } else { [long]0 }
}

function Measure-Lookups([string]$Name, [string]$Address, [int]$Port, [string]$Record) {
    foreach ($proto in 'UDP', 'TCP') {
        [PscDnsBench]::$proto($Address, $Port, $Record, 50) | Out-Null   # warm-up
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $t = [PscDnsBench]::$proto($Address, $Port, $Record, $Queries)
        $sw.Stop()
        $sorted = [double[]]($t | Sort-Object)
        $script:latency += [pscustomobject]@{
            resolver = $Name; transport = $proto
            medianMs = Get-BenchMedian $t
            p99Ms = $sorted[[math]::Min($sorted.Count - 1, [math]::Floor($sorted.Count * 0.99))]
            perSecond = $Queries / $sw.Elapsed.TotalSeconds
        }
    }
}

$script:latency = @()
$memory = @()
Use-BenchStateRoot $run 'psc-bench-dns'
Import-Module $ModulePath -Force
Import-ContainerImage $tar -Format RootFs -Name bench/busybox-dns | Out-Null
$aardvark = @('/usr/lib/podman/aardvark-dns', '/usr/libexec/podman/aardvark-dns') | Where-Object { Test-Path $_ } | Select-Object -First 1
if (-not $aardvark -and (Test-BenchCommand aardvark-dns)) { $aardvark = (Get-Command aardvark-dns -CommandType Application).Source }
$aardvarkProcess = $null
try {
    # ---- psc-dns: one process for every network --------------------------------------------------------------
    $nets = for ($i = 1; $i -le $Networks; $i++) {
        $n = New-ContainerNetwork "bench-dns-$i"
        New-Container bench/busybox-dns -Name "web$i" -Network $n.Name -Command sleep, 600 | Start-Container | Out-Null
        $n
    }
    $dnsPids = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
            $cmd = Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue
            if ($cmd -and $cmd.Contains('psc-dns') -and $cmd.Contains($env:PSCONTAINER_RUNROOT)) { [int]$_.Name }
        })
    $rss = ($dnsPids | ForEach-Object { Get-RssKb $_ } | Measure-Object -Sum).Sum
    $memory += [pscustomobject]@{ resolver = 'psc-dns (C)'; networks = $Networks; processes = $dnsPids.Count; rssKb = $rss }
    Measure-Lookups 'psc-dns' $nets[0].Gateway 53 'web1'
    $results.pscDnsPids = $dnsPids

    # ---- aardvark-dns, run directly on 127.0.0.1 ---------------------------------------------------------------
    if ($aardvark) {
        $config = Join-Path $run 'aardvark'
        New-Item -ItemType Directory -Force $config | Out-Null
        # Its format: the file is the network; first line the listen addresses, then "id ipv4s ipv6s names".
        Set-Content (Join-Path $config 'bench') "127.0.0.1`n$('a' * 64) 10.99.0.2  web1"
        $port = Get-Random -Minimum 30000 -Maximum 40000
        $aardvarkProcess = Start-Process -FilePath $aardvark -ArgumentList @('--config', $config, '-p', "$port", 'run') -PassThru -RedirectStandardError (Join-Path $run 'aardvark.err')
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        $up = $false
        while (-not $up -and [DateTime]::UtcNow -lt $deadline) {
            try { [PscDnsBench]::Udp('127.0.0.1', $port, 'web1', 1) | Out-Null; $up = $true } catch { Start-Sleep -Milliseconds 100 }
        }
        if ($up) {
            $apids = @(Get-ChildItem /proc -Directory | Where-Object Name -match '^\d+$' | ForEach-Object {
                    $cmd = Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue
                    if ($cmd -and $cmd.Contains('aardvark-dns') -and $cmd.Contains($config)) { [int]$_.Name }
                })
            $memory += [pscustomobject]@{ resolver = 'aardvark-dns'; networks = 1; processes = $apids.Count; rssKb = ($apids | ForEach-Object { Get-RssKb $_ } | Measure-Object -Sum).Sum }
            Measure-Lookups 'aardvark-dns' '127.0.0.1' $port 'web1'
        } else { Write-Host "aardvark-dns: did not answer on 127.0.0.1:$port (see $run/aardvark.err)" }
    } else { Write-Host 'aardvark-dns: not installed (/usr/lib/podman/aardvark-dns), skipped' }
}
finally {
    if ($aardvarkProcess -and -not $aardvarkProcess.HasExited) { Stop-Process -Id $aardvarkProcess.Id -Force -ErrorAction SilentlyContinue }
    Get-ChildItem /proc -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$' | ForEach-Object {
        $cmd = Get-Content "/proc/$($_.Name)/cmdline" -Raw -ErrorAction SilentlyContinue
        if ($cmd -and $cmd.Contains('aardvark-dns') -and $cmd.Contains($run)) { Stop-Process -Id ([int]$_.Name) -Force -ErrorAction SilentlyContinue }
    }
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    Remove-Module PSContainer -ErrorAction SilentlyContinue
    Remove-BenchCgroupParent 'psc-bench-dns'
    foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($run) } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
    Remove-BenchTree $run
}

Write-Host ''
Write-Host 'resolver memory (the .NET psc-dns it replaces: 31.6 MB RSS per network, one process each)'
Write-BenchTable -Row $memory -Column 'resolver', 'networks', 'processes', 'rssKb' -RightAlign 'networks', 'processes', 'rssKb'
Write-Host ''
Write-Host "lookup latency, $Queries A queries one after the other from the host (ms)"
$base = @{}
foreach ($l in $script:latency | Where-Object resolver -eq 'psc-dns') { $base[$l.transport] = $l.medianMs }
Write-BenchTable -Row @($script:latency | ForEach-Object {
        [pscustomobject]@{ resolver = $_.resolver; transport = $_.transport; 'median ms' = Format-BenchNumber $_.medianMs 'N3'; 'p99 ms' = Format-BenchNumber $_.p99Ms 'N3'
            'queries/s' = Format-BenchNumber $_.perSecond 'N0'; 'this / psc-dns' = Format-BenchNumber ($_.medianMs / $base[$_.transport]) 'N2' }
    }) -Column 'resolver', 'transport', 'median ms', 'p99 ms', 'queries/s', 'this / psc-dns' -RightAlign 'median ms', 'p99 ms', 'queries/s', 'this / psc-dns'
$results.memory = $memory
$results.latency = $script:latency
$file = Save-BenchResult 'dns' $results
Write-Host "`nresults: $file"
