#Requires -Version 7.4
# Healthchecks (docker's HEALTHCHECK, --health-*): the container's monitor runs each probe through `runtime exec`, writes
# the status (starting/healthy/unhealthy, the failing streak, the last 5 results) to a file every session reads, and
# appends health_status events; Wait-Container -Condition Healthy waits for it. Timings are short (100-300 ms).

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-health'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'echo', 'sleep', 'true', 'false', 'test', 'touch', 'cat')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/health:1' -Command sh | Out-Null

    # Processes whose command line is exactly these words (a probe left running would be one).
    function script:Get-ProcessByCommandLine([string[]]$Words) {
        $want = ($Words -join "`0") + "`0"
        foreach ($dir in [IO.Directory]::GetDirectories('/proc')) {
            if ((Split-Path $dir -Leaf) -notmatch '^\d+$') { continue }
            try { if ([IO.File]::ReadAllText("$dir/cmdline") -eq $want) { [int](Split-Path $dir -Leaf) } } catch { }
        }
    }
    # Probes of this state root still alive: psc-runtime exec --process …/health-process.json, or the sleep 37 the
    # tests' probes run in the container.
    function script:Get-ProbeProcess {
        foreach ($dir in [IO.Directory]::GetDirectories('/proc')) {
            if ((Split-Path $dir -Leaf) -notmatch '^\d+$') { continue }
            try {
                $cmd = [IO.File]::ReadAllText("$dir/cmdline")
                if (($cmd.Contains('health-process.json') -and $cmd.Contains($script:state.RunRoot) -and $cmd -notmatch '^psc-') -or $cmd -eq "sleep`037`0") { [int](Split-Path $dir -Leaf) }
            } catch { }
        }
    }
    function script:Wait-HealthStatus([string]$Name, [string]$Status, [int]$TimeoutMs = 8000) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        while ($sw.ElapsedMilliseconds -lt $TimeoutMs) {
            $c = Get-Container $Name
            if ($c.Health.Status -eq $Status) { return $c }
            Start-Sleep -Milliseconds 20
        }
        throw "container $Name did not become $Status within $TimeoutMs ms (it is $((Get-Container $Name).Health.Status))"
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'healthchecks' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
        # Nothing of a probe outlives its container: no runtime exec, no process it started in the container.
        @(Get-ProbeProcess) | Should -BeNullOrEmpty
    }

    It 'a passing check makes the container healthy and Wait-Container -Condition Healthy returns it' {
        $c = Start-Container -Image pester/health:1 -Name ok -Network none -Detach -Command sleep, 60 `
            -HealthCommand 'echo all good; true' -HealthInterval 100ms -PassThru
        $c.Health.Status | Should -Be 'starting' -Because 'the monitor writes the status before the start returns'
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $healthy = Wait-Container ok -Condition Healthy -Timeout 10
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 5
        $healthy | Should -BeOfType PSContainer.Engine.Containers.Container
        $healthy.Health.Status | Should -Be 'healthy'
        $healthy.Health.FailingStreak | Should -Be 0
        $healthy.Health.Log[-1].ExitCode | Should -Be 0
        $healthy.Health.Log[-1].Output | Should -Be "all good`n"
        $healthy.Health.Log[-1].End | Should -BeGreaterOrEqual $healthy.Health.Log[-1].Start
        $healthy.Status | Should -Match '^Up .* \(healthy\)$'
        # Probes go on every interval, and at most the last five are kept.
        Start-Sleep -Milliseconds 900
        (Get-Container ok).Health.Log.Count | Should -Be 5
        ((Get-Container ok | Format-Table | Out-String) -split "`n" | Select-String '\(healthy\)') | Should -Not -BeNullOrEmpty
    }

    It 'a failing check makes it unhealthy after -HealthRetries failures, with the streak and the output' {
        $c = Start-Container -Image pester/health:1 -Name bad -Network none -Detach -Command sleep, 60 `
            -HealthCommand 'echo "not ready" >&2; exit 3' -HealthInterval 150ms -HealthRetries 3 -PassThru
        $err = $null
        Wait-Container bad -Condition Healthy -Timeout 10 -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ContainerUnhealthy,*'
        $err[0].Exception.Message | Should -Match 'not ready'
        $h = (Get-Container bad).Health
        $h.Status | Should -Be 'unhealthy'
        $h.FailingStreak | Should -BeGreaterOrEqual 3
        $h.Log[-1].ExitCode | Should -Be 3
        $h.Log[-1].Output | Should -Be "not ready`n"
        (Get-Container bad).Status | Should -Match '\(unhealthy\)$'
        # It turned unhealthy at the third failure, not before: the probes that had ended by the event.
        $event = Get-ContainerEvent | Where-Object { $_.Id -eq $c.Id -and $_.Action -eq 'health_status: unhealthy' }
        @($event).Count | Should -Be 1
        @($h.Log | Where-Object { $_.End -le $event.Time }).Count | Should -Be 3
    }

    It 'a probe that runs past -HealthTimeout is killed and counts as a failure' {
        $c = Start-Container -Image pester/health:1 -Name slow -Network none -Detach -Command sleep, 60 `
            -HealthCommand sleep, 37 -HealthTimeout 200ms -HealthInterval 100ms -HealthRetries 1 -PassThru
        $h = (Wait-HealthStatus slow unhealthy).Health
        $h.Log[0].ExitCode | Should -Be -1
        $h.Log[0].Output | Should -Match 'exceeded timeout'
        ($h.Log[0].End - $h.Log[0].Start).TotalMilliseconds | Should -BeLessThan 1500
        ($h.Log[0].End - $h.Log[0].Start).TotalMilliseconds | Should -BeGreaterOrEqual 150
        # Killed in the container too, not only the runtime: no "sleep 37" lingers while the container runs on.
        Start-Sleep -Milliseconds 50
        $left = @(Get-ProcessByCommandLine 'sleep', '37')
        # One probe may be running right now (every 100 ms); none may be older than the timeout.
        foreach ($p in $left) {
            $ticks = [long]((Get-Content "/proc/$p/stat" -Raw) -split ' ')[21]
            $uptime = [double]((Get-Content /proc/uptime -Raw) -split ' ')[0]
            ($uptime - $ticks / 100) | Should -BeLessThan 0.5 -Because 'a timed-out probe is killed at its timeout'
        }
    }

    It 'failures in the start period do not count; a success in it makes the container healthy' {
        # Never ready: in the 1.5 s start period it stays starting whatever fails, then turns unhealthy (1 retry).
        Start-Container -Image pester/health:1 -Name never -Network none -Detach -Command sleep, 60 `
            -HealthCommand 'test -e /tmp/ready' -HealthInterval 100ms -HealthStartInterval 100ms -HealthStartPeriod 1500ms -HealthRetries 1 | Out-Null
        Start-Sleep -Milliseconds 800
        $h = (Get-Container never).Health
        $h.Status | Should -Be 'starting'
        $h.FailingStreak | Should -Be 0
        @($h.Log | Where-Object ExitCode -eq 1).Count | Should -BeGreaterOrEqual 2
        Wait-HealthStatus never unhealthy | Out-Null

        # Ready after 0.5 s: healthy within its (long) start period despite the failures before.
        Start-Container -Image pester/health:1 -Name late -Network none -Detach -Command sh, -c, 'sleep 0.5; touch /tmp/ready; sleep 60' `
            -HealthCommand 'test -e /tmp/ready' -HealthInterval 100ms -HealthStartInterval 100ms -HealthStartPeriod 30s -HealthRetries 1 | Out-Null
        $c = Wait-Container late -Condition Healthy -Timeout 10
        $c.Health.Status | Should -Be 'healthy'
        $c.Health.Log[0].ExitCode | Should -Be 1
    }

    It 'uses the image''s HEALTHCHECK; -HealthCommand overrides its test only; -NoHealthcheck turns it off' {
        New-Container pester/health:1 -Name base -Network none -Command true | Out-Null
        ConvertTo-ContainerImage base pester/health:checked -Change 'HEALTHCHECK --interval=100ms --timeout=2s --retries=2 CMD echo from-image' | Out-Null
        $img = Get-ContainerImage pester/health:checked
        $img.Config.Healthcheck.Test | Should -Be @('CMD-SHELL', 'echo from-image')
        $img.Config.Healthcheck.Interval | Should -Be 100000000

        Start-Container -Image pester/health:checked -Name inherits -Network none -Detach -Command sleep, 60 | Out-Null
        (Wait-Container inherits -Condition Healthy -Timeout 10).Health.Log[-1].Output | Should -Be "from-image`n"

        # The test replaced, the image's 100 ms interval kept (docker's merge): healthy well before docker's 30 s.
        Start-Container -Image pester/health:checked -Name mine -Network none -Detach -Command sleep, 60 -HealthCommand echo, mine | Out-Null
        (Wait-Container mine -Condition Healthy -Timeout 5).Health.Log[-1].Output | Should -Be "mine`n"

        $off = Start-Container -Image pester/health:checked -Name off -Network none -Detach -Command sleep, 60 -NoHealthcheck -PassThru
        Start-Sleep -Milliseconds 400
        (Get-Container off).Health | Should -BeNullOrEmpty
        (Get-Container off).Status | Should -Not -Match 'health'
        Test-Path (Join-Path $script:state.Root "containers/$($off.Id)/health.json") | Should -BeFalse
        { Wait-Container off -Condition Healthy -Timeout 5 -ErrorAction Stop } | Should -Throw -ErrorId 'NoHealthcheck,*'
    }

    It 'records health_status events when the status changes, and another session reads the same health' {
        $c = Start-Container -Image pester/health:1 -Name events -Network none -Detach -Command sh, -c, 'sleep 0.6; touch /tmp/broken; sleep 60' `
            -HealthCommand 'test ! -e /tmp/broken' -HealthInterval 100ms -HealthRetries 1 -PassThru
        Wait-HealthStatus events unhealthy | Out-Null
        $actions = @(Get-ContainerEvent | Where-Object Id -eq $c.Id | Where-Object Action -like 'health_status*')
        $actions.Action | Should -Be @('health_status: healthy', 'health_status: unhealthy')
        $actions[0].Name | Should -Be 'events'
        $actions[0].Attributes['image'] | Should -Be 'pester/health:1'

        $module = Get-TestModulePath
        $job = Start-TestPwsh -Script "Import-Module '$module'; `$c = Get-Container events; `"`$(`$c.Health.Status) `$(`$c.Health.FailingStreak -ge 1) `$(`$c.Status)`""
        $r = Wait-TestPwsh $job -TimeoutSeconds 60
        $r.Stdout.Trim() | Should -Match '^unhealthy True Up .* \(unhealthy\)$'
    }

    It 'a hung probe blocks neither the log nor the exit; no probe runs after it, and Wait -Condition Healthy says it exited' {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        $c = Start-Container -Image pester/health:1 -Name brief -Network none -Detach -Command sh, -c, 'for i in 1 2 3 4 5; do echo line$i; sleep 0.25; done' `
            -HealthCommand sleep, 37 -HealthInterval 100ms -HealthTimeout 30s -PassThru
        { Wait-Container brief -Condition Healthy -Timeout 10 -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning,*'
        (Wait-Container brief).ExitCode | Should -Be 0
        $sw.Elapsed.TotalSeconds | Should -BeLessThan 8 -Because 'the exit is recorded at once, not after the 30 s probe timeout'
        # Logged as it came while the probe hung: the records' times are spread over the run, not bunched at the end.
        $log = @(Get-ContainerLog brief)
        $log.Line | Should -Be @('line1', 'line2', 'line3', 'line4', 'line5')
        ($log[-1].Time - $log[0].Time).TotalMilliseconds | Should -BeGreaterThan 700
        (Get-Container brief).Health.Log | Should -BeNullOrEmpty -Because 'the one probe never ended, so none was recorded'
        # The probe that hung at the exit was killed with it, and no other started after.
        @(Get-ProbeProcess) | Should -BeNullOrEmpty
        @(Get-ProcessByCommandLine 'sleep', '37') | Should -BeNullOrEmpty
        $before = Get-Content (Join-Path $script:state.Root "containers/$($c.Id)/health.json") -Raw
        Start-Sleep -Milliseconds 300
        Get-Content (Join-Path $script:state.Root "containers/$($c.Id)/health.json") -Raw | Should -Be $before
    }

    It 'Wait-Container -Condition NextExit waits for the next run, -Condition Removed for the removal' {
        # The upper layer outlives a run: the first run exits 5, the second 7.
        New-Container pester/health:1 -Name again -Network none -Command sh, -c, 'test -e /tmp/second && exit 7; touch /tmp/second; exit 5' | Start-Container
        (Wait-Container again).ExitCode | Should -Be 5
        $module = Get-TestModulePath
        $job = Start-ThreadJob { Import-Module $using:module; Wait-Container again -Condition NextExit -Timeout 30 }
        Start-Sleep -Milliseconds 1500
        $job.State | Should -Be 'Running' -Because 'the last exit is not the next one'
        Start-Container again
        ($job | Receive-Job -Wait -AutoRemoveJob -ErrorAction Stop).ExitCode | Should -Be 7

        Start-Container -Image pester/health:1 -Name gone -Network none -Detach -AutoRemove -Command sh, -c, 'sleep 0.3; exit 3' | Out-Null
        (Wait-Container gone -Condition Removed -Timeout 10).ExitCode | Should -Be 3
        Get-Container -All | Where-Object Name -eq gone | Should -BeNullOrEmpty
    }

    It 'Wait-Container on a container another session removes while it runs reports it killed (137), as docker wait does after docker rm -f' {
        Start-Container -Image pester/health:1 -Name removed-running -Network none -Detach -Command sleep, 300 | Out-Null
        $module = Get-TestModulePath
        $job = Start-ThreadJob { Import-Module $using:module; Wait-Container removed-running -Timeout 30 }
        Start-Sleep -Milliseconds 1000
        $job.State | Should -Be 'Running'
        Remove-Container removed-running -Force
        # Wait, receive and remove in three steps: Receive-Job -Wait -AutoRemoveJob on a thread job has failed once in
        # CI with "Job repository does not contain an item" (PowerShell removing the job twice), hiding the result.
        $job | Wait-Job -Timeout 60 | Out-Null
        $result = $job | Receive-Job -ErrorAction Stop
        $job | Remove-Job -Force
        $result.ExitCode | Should -Be 137
    }

    It 'refuses <Case> (<ErrorId>)' -TestCases @(
        @{ Case = 'a zero interval'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = 'true'; HealthInterval = '0s' } }
        @{ Case = 'a negative timeout'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = 'true'; HealthTimeout = '-00:00:01' } }
        @{ Case = 'an interval below 1 ms'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = 'true'; HealthInterval = '500us' } }
        @{ Case = 'zero retries'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = 'true'; HealthRetries = 0 } }
        @{ Case = 'a negative start period'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = 'true'; HealthStartPeriod = '-1s' } }
        @{ Case = 'an empty command'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = @(' ') } }
        @{ Case = 'an unknown test kind'; ErrorId = 'InvalidHealthcheck'; Params = @{ HealthCommand = @('CMD') } }
        @{ Case = '-NoHealthcheck with -HealthCommand'; ErrorId = 'HealthcheckConflict'; Params = @{ HealthCommand = 'true'; NoHealthcheck = $true } }
        @{ Case = 'a duration that is none'; ErrorId = 'ParameterArgumentTransformationError'; Params = @{ HealthInterval = 'soon' } }
    ) {
        { New-Container pester/health:1 -Command true @Params -ErrorAction Stop } | Should -Throw -ErrorId "$ErrorId,*"
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'psc-monitor refuses healthcheck options it cannot run: <Case>' -TestCases @(
        @{ Case = 'no status file'; Extra = @('--health-process', '/p.json', '--health-interval-ms', '100', '--health-timeout-ms', '100', '--health-retries', '1'); Message = 'needs --health-status' }
        @{ Case = 'a zero interval'; Extra = @('--health-process', '/p.json', '--health-status', '/s', '--health-interval-ms', '0', '--health-timeout-ms', '100', '--health-retries', '1'); Message = 'not a valid health option' }
        @{ Case = 'retries that are no number'; Extra = @('--health-process', '/p.json', '--health-status', '/s', '--health-interval-ms', '100', '--health-timeout-ms', '100', '--health-retries', 'x'); Message = 'not a valid health option' }
        @{ Case = 'no timings'; Extra = @('--health-process', '/p.json', '--health-status', '/s'); Message = 'needs --health-status' }
    ) {
        $monitor = Join-Path (Split-Path (Get-TestModulePath)) 'native/psc-monitor'
        $work = $script:state.Work
        $out = & $monitor --runtime /bin/true --id x --bundle $work --log-path "$work/l" --exit-file "$work/e" --pid-file "$work/p" @Extra 2>&1
        $LASTEXITCODE | Should -Be 2
        ($out -join "`n") | Should -Match ([regex]::Escape($Message))
    }

    It 'refuses a bad HEALTHCHECK change and Wait -Condition Healthy on a container without a check or unknown' {
        New-Container pester/health:1 -Name plain -Network none -Command true | Out-Null
        { ConvertTo-ContainerImage plain -Change 'HEALTHCHECK --interval=100us CMD true' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidChange,*'
        { ConvertTo-ContainerImage plain -Change 'HEALTHCHECK --every=1s CMD true' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidChange,*'
        { ConvertTo-ContainerImage plain -Change 'HEALTHCHECK NONE CMD true' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidChange,*'
        { Wait-Container plain -Condition Healthy -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'NoHealthcheck,*'
        { Wait-Container nosuch -Condition Healthy -Timeout 1 -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotFound,*'
    }
}
