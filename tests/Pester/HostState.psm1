#Requires -Version 7.4
<#
    What the test suite could leave behind on the host, as one snapshot: network links, mount points, pinned
    network namespaces, cgroup directories, the nftables ruleset, iptables rules and processes that belong to
    containers or to the engines the tests start. build.ps1 takes a snapshot before the first test and
    HostClean.Tests.ps1 (the last Pester file) compares the host with it, so a leak from any suite fails the run.
#>

Set-StrictMode -Version Latest

function Get-TestForeignCgroupRoot {
    <#
        Cgroups that hold this test runner's own siblings: the parent of the runner's cgroup in each hierarchy where it
        is not the root (a login session's slice, or a sandbox that starts each shell in a cgroup of its own). Other
        shells' processes and cgroups there come and go with no test's help, so they are not compared.
    #>
    @([IO.File]::ReadAllLines("/proc/$PID/cgroup") | ForEach-Object { ($_ -split ':', 3)[2] } |
        Where-Object { $_ -ne '/' } | ForEach-Object { $_.Substring(0, $_.LastIndexOf('/')) } | Where-Object { $_ } | Sort-Object -Unique)
}

function Test-TestForeignCgroup([string]$Path, [string[]]$ForeignRoot) {
    foreach ($r in $ForeignRoot) { if ($Path -eq $r -or $Path.StartsWith("$r/")) { return $true } }
    $false
}

function Get-TestHostProcess {
    <#
        Processes that are not kernel threads, as @{ Pid; Name; CommandLine; InContainer }: InContainer when one of
        its cgroups is neither the root nor a cgroup of the runner's siblings (so a container's, or an engine's).
    #>
    $foreign = Get-TestForeignCgroupRoot
    foreach ($dir in [IO.Directory]::EnumerateDirectories('/proc')) {
        $name = [IO.Path]::GetFileName($dir)
        if ($name -notmatch '^\d+$') { continue }
        try {
            $stat = [IO.File]::ReadAllText("$dir/stat")
            $ppid = [int](($stat.Substring($stat.LastIndexOf(')') + 2) -split ' ')[1])
            if ($name -eq '2' -or $ppid -eq 2) { continue }   # kernel threads come and go
            $cgroups = @([IO.File]::ReadAllLines("$dir/cgroup") | ForEach-Object { ($_ -split ':', 3)[2] })
            [pscustomobject]@{
                Pid         = [int]$name
                ParentPid   = $ppid
                Name        = [IO.File]::ReadAllText("$dir/comm").Trim()
                CommandLine = ([IO.File]::ReadAllText("$dir/cmdline") -replace "`0", ' ').Trim()
                InContainer = [bool]@($cgroups | Where-Object { $_ -ne '/' -and -not (Test-TestForeignCgroup $_ $foreign) }).Count
            }
        }
        catch { }   # gone while we looked
    }
}

function Get-TestHostState {
    <# A snapshot of the host objects tests can leak. Each property is a sorted list of strings. #>
    $links = @(& ip -o link show 2>$null | ForEach-Object { if ($_ -match '^\d+: ([^:@]+)') { $Matches[1] } })
    $mounts = @([IO.File]::ReadAllLines('/proc/self/mountinfo') | ForEach-Object {
        $f = $_ -split ' '
        "$($f[4] -replace '\\040', ' ') ($(($f[($f.IndexOf('-') + 1)])))"
    })
    $netns = @(foreach ($d in '/run/netns', '/var/run/netns') { if (Test-Path $d) { Get-ChildItem -LiteralPath $d -Force | ForEach-Object FullName } })
    # Cgroup directories down to three levels: a container's cgroup sits at most at <parent>/<id>, and a leaked one
    # keeps its parent too. Deeper levels belong to a parent seen here already.
    $foreign = Get-TestForeignCgroupRoot
    $cgroups = @(foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
        foreach ($d in Get-ChildItem -LiteralPath $h.FullName -Directory -Recurse -Depth 2 -ErrorAction SilentlyContinue) {
            if (-not (Test-TestForeignCgroup $d.FullName.Substring($h.FullName.Length) $foreign)) { $d.FullName }
        }
    })
    # The controllers a hybrid host's v2 root hands down: it holds none until a runtime enables one in every
    # ancestor, and a test must give them back (a pure v2 host's root has its controllers enabled by systemd).
    $cgroups += @(foreach ($f in @('/sys/fs/cgroup/unified/cgroup.subtree_control')) {
        if (Test-Path $f) { "$f = $(((Get-Content -Raw $f) ?? '').Trim())" }
    })
    $nft = @(if (Get-Command nft -ErrorAction SilentlyContinue) {
        # -s: no counters or quotas, which change with traffic
        & nft -s list ruleset 2>$null | ForEach-Object { $_.Trim() } | Where-Object { $_ }
    })
    $iptables = @(foreach ($save in 'iptables-save', 'iptables-legacy-save') {
        if (Get-Command $save -ErrorAction SilentlyContinue) {
            & $save 2>$null | Where-Object { $_ -notmatch '^#' } | ForEach-Object { "${save}: " + ($_ -replace '\[\d+:\d+\]', '') }
        }
    })
    # Besides containers' and engines' processes, anything this test runner started that still runs (a helper
    # server a test forgot to stop): its descendants, which share its cgroup.
    $all = @(Get-TestHostProcess)
    $children = $all | Group-Object ParentPid -AsHashTable
    $descendants = [Collections.Generic.HashSet[int]]::new()
    $queue = [Collections.Generic.Queue[int]]::new(); $queue.Enqueue($PID)
    while ($queue.Count -gt 0) {
        foreach ($child in @($children[$queue.Dequeue()])) { if ($child -and $descendants.Add($child.Pid)) { $queue.Enqueue($child.Pid) } }
    }
    $processes = @($all | Where-Object {
        $descendants.Contains($_.Pid) -or $_.InContainer -or
        $_.Name -match '^(psc-|conmon|dockerd|containerd|docker-proxy|registry|docker-registr|podman|runc|crun|catatonit|aardvark|netavark)'
    } | ForEach-Object { "$($_.Pid) $($_.Name) $($_.CommandLine)" })
    [pscustomobject]@{
        Links     = @($links | Sort-Object -Unique)
        Mounts    = @($mounts | Sort-Object -Unique)
        Netns     = @($netns | Sort-Object -Unique)
        Cgroups   = @($cgroups | Sort-Object -Unique)
        Nftables  = @($nft)
        Iptables  = @($iptables | Sort-Object)
        Processes = @($processes | Sort-Object)
    }
}

function Compare-TestHostState {
    <# What differs between two snapshots, one line per object ("+Links psc0" appeared, "-…" disappeared); empty when equal. #>
    param([Parameter(Mandatory)]$Before, [Parameter(Mandatory)]$After)
    foreach ($p in 'Links', 'Mounts', 'Netns', 'Cgroups', 'Nftables', 'Iptables', 'Processes') {
        foreach ($d in Compare-Object @($Before.$p) @($After.$p)) {
            '{0}{1} {2}' -f ($d.SideIndicator -eq '=>' ? '+' : '-'), $p, $d.InputObject
        }
    }
}

function Save-TestHostState {
    <# Writes a snapshot to -Path (JSON) for HostClean.Tests.ps1; returns the path. #>
    param([Parameter(Mandatory)][string]$Path)
    Get-TestHostState | ConvertTo-Json -Depth 3 | Set-Content -LiteralPath $Path
    $Path
}

Export-ModuleMember -Function Get-TestHostState, Compare-TestHostState, Save-TestHostState
