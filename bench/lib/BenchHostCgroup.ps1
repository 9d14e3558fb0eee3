# The host baseline of the published-port benchmarks in a cgroup of its own, as a container's server is.
#
# Why: a container's processes share one scheduling group (its cgroup in the cpu controller), while a server started
# on the host sits in the root group, where every runnable process counts as much as the container's whole group.
# busybox httpd forks a child per connection, so when other work on the machine competes for the CPUs, the host httpd
# can get more than the container's share: that would measure the scheduler, not the network path. In a cgroup of its
# own (cpu and cpuacct on v1, one directory on v2) the host server competes as one group too, and its CPU time can be
# read like a container's. (One A/B on the project's VM, 9 interleaved rounds at load average 4-10, found the two
# placements within noise of each other: 1.01x; the point is that the comparison cannot depend on it.)

function Get-BenchCgroupDirectory([string]$Name) {
    <# The directories a cgroup named $Name has: cpu and cpuacct on cgroup v1, the unified one on v2. #>
    if (Test-Path /sys/fs/cgroup/cpuacct) {
        @("/sys/fs/cgroup/cpu/$Name", "/sys/fs/cgroup/cpuacct/$Name") | Select-Object -Unique
    } else { @("/sys/fs/cgroup/$Name") }
}

function New-BenchHostCgroup([string]$Name, [int]$ProcessId) {
    <# Makes cgroup $Name (see above) and moves $ProcessId into it; returns its path as /proc/PID/cgroup names it. #>
    foreach ($d in Get-BenchCgroupDirectory $Name) {
        New-Item -ItemType Directory -Force $d | Out-Null
        Set-Content "$d/cgroup.procs" $ProcessId
    }
    "/$Name"
}

function Remove-BenchHostCgroup([string]$Name) {
    <# Removes the cgroup once its processes are gone (httpd's children end with their connections: bounded wait). #>
    foreach ($d in Get-BenchCgroupDirectory $Name) {
        for ($i = 0; $i -lt 50 -and (Test-Path $d) -and (Get-Content "$d/cgroup.procs"); $i++) { Start-Sleep -Milliseconds 100 }
        if (Test-Path $d) { [IO.Directory]::Delete($d) }
    }
}

function Get-BenchCgroupCpuUs([string]$Path) {
    <# The CPU time (µs) a cgroup has used: cpuacct.usage on v1, cpu.stat usage_usec on v2. #>
    if (Test-Path /sys/fs/cgroup/cpuacct) { return [double](Get-Content "/sys/fs/cgroup/cpuacct$Path/cpuacct.usage") / 1000 }
    [double]((Get-Content "/sys/fs/cgroup$Path/cpu.stat" | Where-Object { $_ -like 'usage_usec *' }) -split ' ')[1]
}

function Get-BenchProcessCgroup([int]$ProcessId) {
    <# The cgroup of a process in the hierarchy Get-BenchCgroupCpuUs reads (cpuacct on v1, the unified one on v2). #>
    $lines = Get-Content "/proc/$ProcessId/cgroup"
    $v1 = $lines | Where-Object { ($_ -split ':')[1] -split ',' -contains 'cpuacct' } | Select-Object -First 1
    ((($v1 ?? ($lines | Where-Object { $_ -like '0::*' } | Select-Object -First 1)) -split ':', 3)[2])
}
