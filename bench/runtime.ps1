#!/usr/bin/env pwsh
<#
.SYNOPSIS
    psc-runtime against runc, bare and under podman: run-to-exit latency of `true`, as medians and ratios, in one run.
.DESCRIPTION
    - bare: `psc-runtime run` and `runc run` on the same OCI bundle (busybox rootfs, runc-spec-like config running
      `true`), median of -Iterations (30) after a warm-up each.
    - podman: `podman --runtime <psc-runtime> run --rm` and `podman --runtime runc run --rm` (network none, a private
      podman store under the scratch dir, so a user's containers are never touched), median of -PodmanIterations (10).
    Missing competitors are skipped with the reason. Every loop is bounded; every command has a timeout. Results go
    to bench/results/runtime-TIMESTAMP.json.
.EXAMPLE
    dotnet pwsh ./bench/runtime.ps1 -Runtime /tmp/rt6/psc-runtime
#>
[CmdletBinding()]
param(
    # The built module folder; its native/psc-runtime is benchmarked unless -Runtime names another binary.
    [string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'),
    [string]$Runtime = (Join-Path $ModulePath 'native/psc-runtime'),
    [ValidateRange(3, 200)][int]$Iterations = 30,
    [ValidateRange(3, 100)][int]$PodmanIterations = 10,
    [string]$CacheDir = '/var/tmp/psc-bench-runtime'
)

$ErrorActionPreference = 'Stop'
. (Join-Path $PSScriptRoot 'lib/BenchCommon.ps1')
if (-not (Test-Path $Runtime)) { throw "no psc-runtime at $Runtime (build it, or pass -Runtime)" }
$Runtime = (Resolve-Path $Runtime).Path
$defaultRootExisted = Test-Path /run/pscontainer
$run = New-BenchRunDirectory $CacheDir
$results = [ordered]@{ machine = Get-BenchMachine $run; runtime = $Runtime }
$rows = [System.Collections.Generic.List[object]]::new()

# ---- fixture: busybox rootfs as a bundle and as an image tar -----------------------------------------------------
$fixture = New-BenchBusyboxRootFs -Directory $run -Bundle
$tar, $bundle = $fixture.Tar, $fixture.Bundle
$caps = @('CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
    'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE')
@{
    ociVersion = '1.0.2'
    process    = @{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = @('true'); env = @('PATH=/bin'); cwd = '/'
        capabilities = @{ bounding = $caps; effective = $caps; permitted = $caps }; noNewPrivileges = $true
        rlimits = @(@{ type = 'RLIMIT_NOFILE'; soft = 1024; hard = 1024 }) }
    root       = @{ path = 'rootfs'; readonly = $true }
    hostname   = 'bench'
    mounts     = @(
        @{ destination = '/proc'; type = 'proc'; source = 'proc' }
        @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'strictatime', 'mode=755', 'size=65536k') }
        @{ destination = '/dev/pts'; type = 'devpts'; source = 'devpts'; options = @('nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5') }
        @{ destination = '/dev/shm'; type = 'tmpfs'; source = 'shm'; options = @('nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k') }
        @{ destination = '/sys'; type = 'sysfs'; source = 'sysfs'; options = @('nosuid', 'noexec', 'nodev', 'ro') })
    linux      = @{ namespaces = @('pid', 'network', 'ipc', 'uts', 'mount') | ForEach-Object { @{ type = $_ } }
        resources = @{ devices = @(@{ allow = $false; access = 'rwm' }) }
        cgroupsPath = '/psc-bench-runtime/bare'; maskedPaths = @('/proc/kcore', '/proc/keys'); readonlyPaths = @('/proc/sys', '/proc/bus') }
} | ConvertTo-Json -Depth 8 | Set-Content "$bundle/config.json"

function Measure-Median([string]$Name, [int]$Count, [scriptblock]$Once) {
    & $Once | Out-Null # warm-up (page cache, first cgroup creation)
    $times = for ($i = 0; $i -lt $Count; $i++) { (& $Once).Seconds * 1000 }
    $median = Get-BenchMedian @($times)
    $results[$Name] = [ordered]@{ medianMs = $median; runs = @($times) }
    $median
}

$script:n = 0
$podmanParentBefore = Test-BenchPodmanCgroupParent
try {
    # ---- bare: the runtime alone on one bundle ---------------------------------------------------------------
    $ours = Measure-Median 'psc-runtime run' $Iterations {
        $script:n++; Invoke-BenchProcess -FilePath $Runtime -ArgumentList @('--root', "$run/psc-state", 'run', '--bundle', $bundle, "b$script:n") -TimeoutSeconds 60 -Check
    }
    $theirs = [double]::NaN
    if (Test-BenchCommand runc) {
        $theirs = Measure-Median 'runc run' $Iterations {
            $script:n++; Invoke-BenchProcess -FilePath runc -ArgumentList @('--root', "$run/runc-state", 'run', '--bundle', $bundle, "b$script:n") -TimeoutSeconds 60 -Check
        }
    } else { Write-Host 'runc: not installed, skipped' }
    $rows.Add([pscustomobject]@{ scenario = "run true, bare bundle (median of $Iterations)"; 'psc-runtime ms' = (Format-BenchNumber $ours 'N1')
            'runc ms' = (Format-BenchNumber $theirs 'N1'); 'runc / psc-runtime' = (Format-BenchNumber ($theirs / $ours)) })

    # ---- podman with either runtime, in a private store --------------------------------------------------------
    if ((Test-BenchCommand podman) -and (Test-BenchCommand conmon)) {
        $store = Join-Path $run 'podman'
        $base = @('--root', "$store/storage", '--runroot', "$store/run", '--tmpdir', "$store/tmp", '--cgroup-manager', 'cgroupfs', '--events-backend', 'none')
        Invoke-BenchProcess -FilePath podman -ArgumentList ($base + @('import', $tar, 'localhost/psc-bench-runtime:latest')) -TimeoutSeconds 120 -Check | Out-Null
        try {
            $pOurs = Measure-Median 'podman --runtime psc-runtime run --rm' $PodmanIterations {
                Invoke-BenchProcess -FilePath podman -ArgumentList ($base + @('--runtime', $Runtime, 'run', '--rm', '--network', 'none', 'localhost/psc-bench-runtime', 'true')) -TimeoutSeconds 120 -Check
            }
            $pTheirs = [double]::NaN
            if (Test-BenchCommand runc) {
                $pTheirs = Measure-Median 'podman --runtime runc run --rm' $PodmanIterations {
                    Invoke-BenchProcess -FilePath podman -ArgumentList ($base + @('--runtime', 'runc', 'run', '--rm', '--network', 'none', 'localhost/psc-bench-runtime', 'true')) -TimeoutSeconds 120 -Check
                }
            }
            $rows.Add([pscustomobject]@{ scenario = "podman run --rm true (median of $PodmanIterations)"; 'psc-runtime ms' = (Format-BenchNumber $pOurs 'N1')
                    'runc ms' = (Format-BenchNumber $pTheirs 'N1'); 'runc / psc-runtime' = (Format-BenchNumber ($pTheirs / $pOurs)) })
        } finally {
    Remove-BenchPodmanCgroupParent $podmanParentBefore
            Invoke-BenchProcess -FilePath podman -ArgumentList ($base + @('rm', '-af', '-t', '0')) -TimeoutSeconds 120 | Out-Null
            Invoke-BenchProcess -FilePath podman -ArgumentList ($base + @('rmi', '-af')) -TimeoutSeconds 120 | Out-Null
            foreach ($m in (Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($store) } | Sort-Object Length -Descending)) {
                Invoke-BenchProcess -FilePath umount -ArgumentList @('-l', $m) -TimeoutSeconds 30 | Out-Null
            }
        }
    } else { Write-Host 'podman: not installed (or no conmon), skipped' }
} finally {
    Remove-BenchCgroupParent 'psc-bench-runtime'
    # podman also calls the runtime without --root (its default root): remove that if this run made it.
    if (-not $defaultRootExisted -and (Test-Path /run/pscontainer)) { Invoke-BenchProcess -FilePath rmdir -ArgumentList @('/run/pscontainer/runtime', '/run/pscontainer') -TimeoutSeconds 10 | Out-Null }
    Remove-BenchTree $run
}

Write-Host "`npsc-runtime vs runc: run-to-exit latency of true (ratio > 1: psc-runtime is faster)"
Write-BenchTable -Row $rows -Column 'scenario', 'psc-runtime ms', 'runc ms', 'runc / psc-runtime' -RightAlign 'psc-runtime ms', 'runc ms', 'runc / psc-runtime'
$file = Save-BenchResult -Name 'runtime' -Data $results
Write-Host "`nresults: $file"
