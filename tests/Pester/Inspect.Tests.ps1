#Requires -Version 7.4
# Looking inside containers: Get-ContainerStatistics (docker stats), Get-ContainerProcess (docker top),
# Get-ContainerChange (docker diff), Rename-Container, Get-ContainerDiskUsage and the image clean-up switches,
# against real containers.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-inspect'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'echo', 'sleep', 'cat', 'dd', 'mkdir', 'rm', 'touch', 'httpd', 'wget', 'sync', 'ls') -Customize {
        param($dir)
        New-Item -ItemType Directory (Join-Path $dir 'data/keep'), (Join-Path $dir 'data/gone') | Out-Null
        Set-Content (Join-Path $dir 'data/file') 'image'
        Set-Content (Join-Path $dir 'data/gone/old') 'old'
        Set-Content (Join-Path $dir 'data/keep/old') 'old'
    }
    Import-ContainerImage $tar -Format RootFs -Name 'pester/inspect:1' -Command sh | Out-Null
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Get-ContainerStatistics' {
    BeforeAll {
        # Busy on one CPU, limited to half of one: docker's CPU % of it is about 50.
        $script:busy = Start-Container -Image pester/inspect:1 -Name stats-busy -Network none -Cpus 0.5 -Memory 64MB -Tmpfs /scratch -Detach -Command sh, -c, `
            'dd if=/dev/zero of=/scratch/fill bs=1M count=20 2>/dev/null; sleep 300 & sleep 300 & while :; do :; done'
        $script:idle = Start-Container -Image pester/inspect:1 -Name stats-idle -Network none -Detach -Command sleep, 300
        $script:stopped = New-Container pester/inspect:1 -Name stats-stopped -Network none -Command true
        Start-Sleep -Milliseconds 500
    }
    AfterAll {
        $script:busy, $script:idle, $script:stopped | Remove-Container -Force -ErrorAction SilentlyContinue
    }

    It 'reports CPU %, memory against the limit, and pids of a busy container' {
        $s = Get-ContainerStatistics stats-busy
        $s | Should -HaveCount 1
        $s | Should -BeOfType PSContainer.Engine.Containers.ContainerStatistics
        $s.Name | Should -Be 'stats-busy'
        $s.Id | Should -Be $script:busy.Id
        # Capped at 50 by the quota; on a loaded host it may get less, never nothing.
        $s.CpuPercent | Should -BeGreaterThan 10
        $s.CpuPercent | Should -BeLessThan 65
        $s.MemoryLimit | Should -Be 64MB
        # 20 MiB of tmpfs pages are the container's memory.
        $s.MemoryUsage | Should -BeGreaterThan 20MB
        $s.MemoryPercent | Should -BeGreaterThan 30
        # sh, its two sleeps.
        $s.Pids | Should -Be 3
    }

    It 'reports an idle container near 0% and the host memory as the limit of one without a limit' {
        $s = Get-ContainerStatistics stats-idle
        $s.CpuPercent | Should -BeLessThan 5
        $total = [long]((Get-Content /proc/meminfo | Where-Object { $_ -like 'MemTotal:*' }) -split '\s+')[1] * 1024
        $s.MemoryLimit | Should -Be $total
        $s.Pids | Should -Be 1
    }

    It 'samples every running container without names, and stopped ones with -All' {
        $names = (Get-ContainerStatistics -Interval 0.2).Name
        $names | Should -Contain 'stats-busy'
        $names | Should -Contain 'stats-idle'
        $names | Should -Not -Contain 'stats-stopped'
        $all = Get-ContainerStatistics -All -Interval 0.2
        $stopped = $all | Where-Object Name -eq 'stats-stopped'
        $stopped.Running | Should -BeFalse
        $stopped.CpuPercent | Should -Be 0
        $stopped.MemoryUsage | Should -Be 0
    }

    It 'takes containers from the pipeline' {
        (Get-Container -Name stats-* | Get-ContainerStatistics -Interval 0.2).Name | Sort-Object | Should -Be @('stats-busy', 'stats-idle', 'stats-stopped')
    }

    It 'streams a sample per interval' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $samples = Get-ContainerStatistics stats-idle -Stream -Interval 0.25 | Select-Object -First 4
        $sw.Stop()
        $samples | Should -HaveCount 4
        $sw.Elapsed.TotalSeconds | Should -BeGreaterThan 0.9
        ($samples | Select-Object -ExpandProperty Time | Sort-Object -Unique) | Should -HaveCount 4
    }

    It 'stops a stream promptly on Ctrl+C (StopProcessing), mid-interval' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$(Get-TestModulePath)'; Get-ContainerStatistics stats-idle -Stream -Interval 30")
        $async = $ps.BeginInvoke()
        Start-Sleep -Seconds 1
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $sw.Stop()
        $async.IsCompleted | Should -BeTrue
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 2
        $ps.Dispose()
    }

    It 'counts network bytes of the container''s namespace, not loopback' {
        $null = New-ContainerNetwork stats-net
        try {
            $web = Start-TestWebContainer -Image pester/inspect:1 -Name stats-web -Extra @{ Network = 'stats-net' }
            $before = Get-ContainerStatistics stats-web -Interval 0.1
            $out = Invoke-TestInContainer -Image pester/inspect:1 -Network stats-net -Script 'for i in 1 2 3 4 5; do wget -q -O - http://stats-web/ >/dev/null; done; echo ok'
            $out | Should -Contain 'ok'
            $after = Get-ContainerStatistics stats-web -Interval 0.1
            $after.NetworkReceived | Should -BeGreaterThan ($before.NetworkReceived + 500)
            $after.NetworkSent | Should -BeGreaterThan ($before.NetworkSent + 500)
            # Loopback traffic does not count: a container without a network has only lo.
            Invoke-ContainerCommand stats-idle -Command sh, -c, 'wget -q -O - http://127.0.0.1:1/ 2>/dev/null; true' | Out-Null
            (Get-ContainerStatistics stats-idle -Interval 0.1).NetworkReceived | Should -Be 0
        }
        finally {
            Get-Container -Name stats-web -ErrorAction SilentlyContinue | Remove-Container -Force
            Remove-ContainerNetwork stats-net -Force
        }
    }

    It 'counts block I/O the container does' {
        $dir = Join-Path $script:state.Work 'blk'
        New-Item -ItemType Directory $dir -Force | Out-Null
        # Since blk-throttle stopped accounting bios of cgroups that have no throttle rule (seen on 6.18), a v1
        # blkio cgroup without limits counts nothing, whatever reads it: probe the kernel with the same writes first.
        $probe = '/sys/fs/cgroup/blkio/' + $script:state.CgroupParent + '-blkprobe'
        if (Test-Path /sys/fs/cgroup/blkio/cgroup.procs) {
            New-Item -ItemType Directory $probe -Force | Out-Null
            try {
                & sh -c "echo `$`$ > $probe/cgroup.procs; dd if=/dev/zero of=$dir/probe bs=1M count=8 oflag=direct 2>/dev/null"
                $counted = (Get-Content "$probe/blkio.throttle.io_service_bytes" | Where-Object { $_ -match '^Total (\d+)' } | ForEach-Object { [long]$Matches[1] })
            }
            finally { Remove-Item "$dir/probe" -ErrorAction Ignore; [IO.Directory]::Delete($probe) }
            if ($counted -lt 8MB) {
                Set-ItResult -Skipped -Because "this kernel ($(uname -r)) does not account block I/O to a v1 blkio cgroup without a throttle rule (8 MiB of direct writes counted $counted bytes)"
                return
            }
        }
        $c = Start-Container -Image pester/inspect:1 -Name stats-blk -Network none -Volume "${dir}:/blk" -Detach -Command sh, -c, `
            'dd if=/dev/zero of=/blk/f bs=1M count=8 oflag=direct 2>/dev/null; sleep 300'
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            do { $s = Get-ContainerStatistics stats-blk -Interval 0.1 } until ($s.BlockWrite -ge 8MB -or [DateTime]::UtcNow -gt $deadline)
            $s.BlockWrite | Should -BeGreaterOrEqual 8MB
        }
        finally { $c | Remove-Container -Force }
    }

    It 'refuses a zero, negative or NaN interval with InvalidInterval' -ForEach @(@{ I = 0 }, @{ I = -1 }, @{ I = [double]::NaN }) {
        { Get-ContainerStatistics stats-idle -Interval $I -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidInterval*'
    }

    It 'reports an unknown name as ContainerNotFound and still samples the others' {
        $s = Get-ContainerStatistics nosuch, stats-idle -Interval 0.1 -ErrorVariable err -ErrorAction SilentlyContinue
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be 'nosuch'
        $s.Name | Should -Be 'stats-idle'
    }

    It 'shows a docker stats table' {
        $text = Get-ContainerStatistics stats-busy -Interval 0.2 | Out-String -Width 200
        $text | Should -Match 'CONTAINER ID\s+NAME\s+CPU %\s+MEM USAGE / LIMIT\s+MEM %\s+NET I/O\s+BLOCK I/O\s+PIDS'
        $text | Should -Match 'stats-busy\s+\d+\.\d\d%\s+[\d.]+MiB / 64MiB'
    }

    It 'completes container names' {
        $r = TabExpansion2 -inputScript 'Get-ContainerStatistics stats-b' -cursorColumn 'Get-ContainerStatistics stats-b'.Length
        $r.CompletionMatches.CompletionText | Should -Contain 'stats-busy'
    }
}

Describe 'Get-ContainerProcess' {
    BeforeAll {
        $script:top = Start-Container -Image pester/inspect:1 -Name top-1 -Network none -User nobody -Detach -Command sh, -c, 'sleep 301 & exec sleep 302'
        Start-Sleep -Milliseconds 300
    }
    AfterAll { $script:top | Remove-Container -Force -ErrorAction SilentlyContinue }

    It 'lists the container''s processes with host and container pids, user and command line' {
        $p = Get-ContainerProcess top-1
        $p | Should -HaveCount 2
        $p | Should -BeOfType PSContainer.Engine.Containers.ContainerProcess
        $init = $p | Where-Object ContainerPid -eq 1
        $init.Pid | Should -Be $script:top.Pid
        $init.Command | Should -Be 'sleep 302'
        $init.CommandLine | Should -Be @('sleep', '302')
        $child = $p | Where-Object Command -eq 'sleep 301'
        $child.ParentPid | Should -Be $script:top.Pid
        $child.ContainerPid | Should -Not -Be $child.Pid
        $p.User | Sort-Object -Unique | Should -Be 'nobody'
        $p.Uid | Sort-Object -Unique | Should -Be 65534
        $p | ForEach-Object { $_.StartTime | Should -BeGreaterThan ([DateTime]::UtcNow.AddMinutes(-2)) }
        $p | ForEach-Object { $_.StartTime | Should -BeLessThan ([DateTime]::UtcNow.AddSeconds(2)) }
        $p.ContainerName | Sort-Object -Unique | Should -Be 'top-1'
    }

    It 'shows a uid without a passwd entry as the number, and CPU time' {
        $c = Start-Container -Image pester/inspect:1 -Name top-2 -Network none -User 4321 -Detach -Command sh, -c, 'i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done; exec sleep 300'
        try {
            Start-Sleep -Seconds 2
            $p = Get-ContainerProcess top-2
            $p.User | Should -Be '4321'
            $p.CpuTime | Should -BeGreaterThan ([TimeSpan]::FromMilliseconds(100))
        }
        finally { $c | Remove-Container -Force }
    }

    It 'takes containers from the pipeline and shows a table' {
        $text = Get-Container -Name top-1 | Get-ContainerProcess | Out-String -Width 200
        $text | Should -Match 'CONTAINER\s+USER\s+PID\s+CPID\s+PPID\s+STIME\s+TIME\s+CMD'
        $text | Should -Match 'top-1\s+nobody\s+\d+\s+1\s+\d+\s+[\d:]+\s+[\d:]+\s+sleep 302'
    }

    It 'refuses a stopped container and reports unknown names' {
        $stopped = New-Container pester/inspect:1 -Name top-stopped -Network none -Command true
        try {
            { Get-ContainerProcess top-stopped -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning*'
            { Get-ContainerProcess nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound*'
        }
        finally { $stopped | Remove-Container }
    }
}

Describe 'Get-ContainerChange' {
    BeforeAll {
        $script:changes = 'echo new > /data/new; echo x > /data/file; rm /data/keep/old; rm -r /data/gone; mkdir /data/gone; touch /data/gone/fresh; mkdir -p /added/dir; touch /added/dir/f'
        $script:expected = @(
            'A /added', 'A /added/dir', 'A /added/dir/f',
            'C /data', 'C /data/file', 'C /data/gone', 'A /data/gone/fresh', 'D /data/gone/old', 'C /data/keep', 'D /data/keep/old', 'A /data/new')
    }

    It 'lists added, changed and deleted paths of a stopped container' {
        $c = New-Container pester/inspect:1 -Name diff-stopped -Network none -Command sh, -c, $script:changes
        try {
            $c | Start-Container
            $c | Wait-Container | Out-Null
            $changes = Get-ContainerChange diff-stopped
            $changes | Should -BeOfType PSContainer.Engine.Containers.ContainerChange
            @($changes | Where-Object Path -match '^/(data|added)(/|$)' | ForEach-Object ToString) | Should -Be $script:expected
        }
        finally { $c | Remove-Container -Force }
    }

    It 'reads a running container the same way, filters by -Kind, and shows docker''s letters' {
        $c = Start-Container -Image pester/inspect:1 -Name diff-running -Network none -Detach -Command sh, -c, "$($script:changes); exec sleep 300"
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not (Get-ContainerChange diff-running | Where-Object Path -eq '/added/dir/f') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            @(Get-ContainerChange diff-running | Where-Object Path -match '^/(data|added)(/|$)' | ForEach-Object ToString) | Should -Be $script:expected
            (Get-ContainerChange diff-running -Kind Deleted).Path | Should -Be @('/data/gone/old', '/data/keep/old')
            $text = Get-Container -Name diff-running | Get-ContainerChange -Kind Added | Out-String
            $text | Should -Match 'KIND\s+PATH'
            $text | Should -Match 'A\s+/added/dir/f'
        }
        finally { $c | Remove-Container -Force }
    }

    It 'has no changes for a container never started, and reports unknown names' {
        $c = New-Container pester/inspect:1 -Name diff-new -Network none -Command true
        try {
            Get-ContainerChange diff-new | Should -BeNullOrEmpty
            { Get-ContainerChange nosuch -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound*'
        }
        finally { $c | Remove-Container }
    }
}

Describe 'Rename-Container' {
    It 'renames a container, refusing names in use, invalid names and unknown containers' {
        $a = New-Container pester/inspect:1 -Name rn-a -Network none -Command true
        $b = New-Container pester/inspect:1 -Name rn-b -Network none -Command true
        try {
            Rename-Container rn-a -NewName rn-a2 -WhatIf
            (Get-Container -All -Name rn-a).Id | Should -Be $a.Id
            $r = Rename-Container rn-a -NewName rn-a2 -PassThru
            $r.Name | Should -Be 'rn-a2'
            $r.Id | Should -Be $a.Id
            (Get-Container -All -Name rn-a2).Id | Should -Be $a.Id
            { Get-Container -Name rn-a -ErrorAction Stop } | Should -Throw
            Rename-Container rn-a2 rn-a3 | Should -BeNullOrEmpty

            { Rename-Container rn-a3 -NewName rn-b -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNameInUse*'
            { Rename-Container rn-a3 -NewName 'bad name!' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidContainerName*'
            { Rename-Container rn-a3 -NewName '-x' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidContainerName*'
            { Rename-Container rn-a3 -NewName rn-a3 -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNameUnchanged*'
            { Rename-Container nosuch -NewName rn-z -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound*'
            (Get-Container -All -Name rn-b).Id | Should -Be $b.Id
        }
        finally { Get-Container -All -Name rn-* | Remove-Container -Force }
    }

    It 'makes the name server of a user-defined network answer to the new name, not the old' {
        $null = New-ContainerNetwork rn-net
        try {
            $web = Start-TestWebContainer -Image pester/inspect:1 -Name rn-web -Text hello -Extra @{ Network = 'rn-net' }
            Invoke-TestInContainer -Image pester/inspect:1 -Network rn-net -Script 'wget -q -O - http://rn-web/' | Should -Contain 'hello'
            $web | Rename-Container -NewName rn-front
            $out = Invoke-TestInContainer -Image pester/inspect:1 -Network rn-net -Script 'wget -q -O - http://rn-front/; wget -q -T 2 -O - http://rn-web/ || echo old-gone'
            $out | Should -Contain 'hello'
            $out | Should -Contain 'old-gone'
        }
        finally {
            Get-Container -All -Name rn-* | Remove-Container -Force
            Remove-ContainerNetwork rn-net -Force
        }
    }

    It 'completes container names' {
        $c = New-Container pester/inspect:1 -Name rn-complete -Network none -Command true
        try {
            $r = TabExpansion2 -inputScript 'Rename-Container rn-comp' -cursorColumn 'Rename-Container rn-comp'.Length
            $r.CompletionMatches.CompletionText | Should -Contain 'rn-complete'
        }
        finally { $c | Remove-Container }
    }
}

Describe 'Get-ContainerDiskUsage and image clean-up' {
    BeforeAll {
        function New-SpareImage([string]$Marker) {
            $t = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work "spare-$Marker.tar") -Applet @('sh') -Customize { param($d) Set-Content (Join-Path $d 'marker') $Marker }.GetNewClosure()
            Import-ContainerImage $t -Format RootFs -Name 'pester/spare:1' -Command sh
        }
    }

    It 'counts containers'' upper directories and what stopped ones hold' {
        $before = Get-ContainerDiskUsage | Where-Object Type -eq Containers
        $c = New-Container pester/inspect:1 -Name df-writer -Network none -Command sh, -c, 'dd if=/dev/zero of=/big bs=1M count=6 2>/dev/null'
        try {
            $c | Start-Container
            $c | Wait-Container | Out-Null
            $usage = Get-ContainerDiskUsage
            @($usage.Type) | Should -Be @('Images', 'Containers', 'Volumes', 'BuildCache')
            $ct = $usage | Where-Object Type -eq Containers
            $ct.TotalCount | Should -Be ($before.TotalCount + 1)
            $ct.Size | Should -BeGreaterOrEqual ($before.Size + 6MB)
            $ct.Reclaimable | Should -BeGreaterOrEqual ($before.Reclaimable + 6MB)
            $im = $usage | Where-Object Type -eq Images
            $im.TotalCount | Should -Be @(Get-ContainerImage).Count
            $im.Active | Should -BeGreaterOrEqual 1
            $im.Size | Should -BeGreaterThan 1MB
            ($usage | Out-String) | Should -Match 'TYPE\s+TOTAL\s+ACTIVE\s+SIZE\s+RECLAIMABLE'
        }
        finally { $c | Remove-Container }
    }

    It 'removes dangling images with -Dangling and unused ones with -Unused, keeping used ones, with -WhatIf' {
        $keep = New-Container pester/inspect:1 -Name df-keep -Network none -Command true
        try {
            $old = New-SpareImage 'one'
            $new = New-SpareImage 'two'
            $old.Id | Should -Not -Be $new.Id
            # The tag moved to the second image: the first is dangling now.
            (Get-ContainerImage | Where-Object Id -eq $old.Id).RepoTags | Should -BeNullOrEmpty
            $imagesBefore = (Get-ContainerDiskUsage | Where-Object Type -eq Images)
            $imagesBefore.Reclaimable | Should -BeGreaterThan 0

            Remove-ContainerImage -Dangling -WhatIf | Should -BeNullOrEmpty
            Get-ContainerImage | Where-Object Id -eq $old.Id | Should -Not -BeNullOrEmpty

            $r = Remove-ContainerImage -Dangling
            $r.Deleted | Should -Be @($old.Id)
            $r.SpaceReclaimed | Should -BeGreaterThan 0
            Get-ContainerImage | Where-Object Id -eq $old.Id | Should -BeNullOrEmpty
            Get-ContainerImage | Where-Object Id -eq $new.Id | Should -Not -BeNullOrEmpty
            Remove-ContainerImage -Dangling | Should -BeNullOrEmpty

            $r = Remove-ContainerImage -Unused
            $r.Deleted | Should -Be @($new.Id)
            $r.Untagged | Should -Contain 'pester/spare:1'
            # pester/inspect:1 is used by df-keep: it stays.
            Get-ContainerImage pester/inspect:1 | Should -Not -BeNullOrEmpty
            (Get-ContainerDiskUsage | Where-Object Type -eq Images).Reclaimable | Should -Be 0
        }
        finally { $keep | Remove-Container }
    }
}

Describe 'Get-ContainerEvent' {
    BeforeAll {
        function Get-Actions([string]$Name) { @(Get-ContainerEvent $Name | ForEach-Object Action) }
    }

    It 'records create, start, die with the exit code, and destroy, in order, with times' {
        $t0 = [DateTime]::UtcNow
        $c = New-Container pester/inspect:1 -Name ev-exit -Network none -Command sh, -c, 'exit 3'
        $c | Start-Container
        $c | Wait-Container | Out-Null
        $c | Remove-Container
        $events = @(Get-ContainerEvent ev-exit)
        $events.Action | Should -Be @('create', 'start', 'die', 'destroy')
        $events | Should -BeOfType PSContainer.Engine.Containers.ContainerEvent
        $events.Id | Sort-Object -Unique | Should -Be $c.Id
        ($events | Where-Object Action -eq die).Attributes['exitCode'] | Should -Be '3'
        $events[0].Attributes['image'] | Should -Be 'pester/inspect:1'
        $events | ForEach-Object { $_.Time | Should -BeGreaterOrEqual $t0.AddSeconds(-1) }
        for ($i = 1; $i -lt $events.Count; $i++) { $events[$i].Time | Should -BeGreaterOrEqual $events[$i - 1].Time }
    }

    It 'records die then stop for Stop-Container, kill with its signal, rename with the old name' {
        $c = Start-Container -Image pester/inspect:1 -Name ev-stop -Network none -Detach -Command sleep, 300
        $c | Stop-Container -Timeout 0
        Get-Actions ev-stop | Should -Be @('create', 'start', 'die', 'stop')
        $c | Start-Container
        Stop-Container ev-stop -Signal SIGKILL
        Rename-Container ev-stop -NewName ev-stop2
        (Get-ContainerEvent ev-stop -Action kill).Attributes['signal'] | Should -Be 'SIGKILL'
        $rename = Get-ContainerEvent ev-stop2 -Action rename
        $rename.Attributes['oldName'] | Should -Be 'ev-stop'
        Remove-Container ev-stop2
    }

    It 'records oom before die when the kernel kills for memory' {
        $c = New-Container pester/inspect:1 -Name ev-oom -Network none -Command sh, -c, 'x=a; while true; do x="$x$x"; done' -Memory 16MB -MemorySwap 16MB
        try {
            $c | Start-Container
            (Wait-Container $c.Id -Timeout 60).OOMKilled | Should -BeTrue
            Get-Actions ev-oom | Should -Be @('create', 'start', 'oom', 'die')
        }
        finally { $c | Remove-Container -Force }
    }

    It 'filters by -Since and -Until, and refuses -Until before or equal to -Since' {
        $mid = [DateTime]::UtcNow
        Start-Sleep -Milliseconds 50
        $c = New-Container pester/inspect:1 -Name ev-window -Network none -Command true
        $c | Remove-Container
        @(Get-ContainerEvent ev-window -Since $mid).Action | Should -Be @('create', 'destroy')
        Get-ContainerEvent ev-window -Until $mid | Should -BeNullOrEmpty
        Get-ContainerEvent -Since ([DateTime]::UtcNow.AddMinutes(1)) | Should -BeNullOrEmpty
        { Get-ContainerEvent -Since ([DateTime]::UtcNow) -Until ([DateTime]::UtcNow.AddHours(-1)) -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTimeRange*'
        # An empty window (-Until equal to -Since) is refused too, also with -Follow (which would otherwise end at once).
        $t = [DateTime]::UtcNow
        { Get-ContainerEvent -Since $t -Until $t -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTimeRange*'
        { Get-ContainerEvent -Since $t -Until $t -Follow -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTimeRange*'
        { Get-ContainerEvent -Since $t -Until $t.ToLocalTime() -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidTimeRange*'
        { Get-ContainerEvent -Action explode -ErrorAction Stop } | Should -Throw -ErrorId 'ParameterArgumentValidationError*'
    }

    It 'follows new events, exits included, until -Until' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$(Get-TestModulePath)'; Get-ContainerEvent ev-follow -Follow -Since ([DateTime]::UtcNow) -Until ([DateTime]::UtcNow.AddSeconds(6))")
        $async = $ps.BeginInvoke()
        Start-Sleep -Milliseconds 500
        # Nobody in this session looks at the container after it starts: the follower's own polling records its exit.
        $c = Start-Container -Image pester/inspect:1 -Name ev-follow -Network none -Detach -Command sh, -c, 'sleep 1; exit 4'
        $out = $ps.EndInvoke($async)
        $ps.Dispose()
        @($out | ForEach-Object Action) | Should -Be @('create', 'start', 'die')
        ($out | Where-Object Action -eq die).Attributes['exitCode'] | Should -Be '4'
        $c | Remove-Container -Force
    }

    It 'stops following promptly on Ctrl+C, and shows a table' {
        $ps = [powershell]::Create()
        $null = $ps.AddScript("Import-Module '$(Get-TestModulePath)'; Get-ContainerEvent -Follow")
        $async = $ps.BeginInvoke()
        Start-Sleep -Seconds 1
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $ps.Stop()
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 2
        $async.IsCompleted | Should -BeTrue
        $ps.Dispose()
        (Get-ContainerEvent ev-exit | Out-String -Width 200) | Should -Match 'TIME\s+ACTION\s+CONTAINER ID\s+NAME\s+ATTRIBUTES(?s).*die\s+\w{12}\s+ev-exit\s+exitCode=3, image=pester/inspect:1'
    }
}
