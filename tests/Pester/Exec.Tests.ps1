#Requires -Version 7.4
# Invoke-ContainerCommand (exec) and Suspend/Resume-Container (pause) under our runtime and runc: the engine drives
# both through the same OCI runtime verbs.

BeforeDiscovery {
    $runtimes = @(@{ Runtime = 'psc' }; if (Get-Command runc -ErrorAction SilentlyContinue) { @{ Runtime = 'runc' } })
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-exec'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'echo', 'sleep', 'id', 'hostname', 'cat', 'pwd', 'env', 'grep', 'ps')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/exec:1' -Command sh | Out-Null
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'exec and pause under <Runtime>' -ForEach $runtimes {
    BeforeAll {
        $script:c = Start-Container -Image pester/exec:1 -Command sleep, 300 -Runtime $Runtime -Network none -Hostname "exec-$Runtime" -Environment @{ FROM = 'container' } -Detach
    }
    AfterAll {
        $script:c | Remove-Container -Force
    }

    It 'runs a command in the container''s namespaces with its environment' {
        $out = Invoke-ContainerCommand $script:c.Id -Command sh, -c, 'hostname; echo $FROM; ps | grep -c "sleep 300"'
        $out[0] | Should -Be "exec-$Runtime"
        $out[1] | Should -Be 'container'
        [int]$out[2] | Should -BeGreaterOrEqual 1
        $LASTEXITCODE | Should -Be 0
    }

    It 'returns the exit code and stderr, and honours -User, -WorkingDirectory and -Environment' {
        $out = Invoke-ContainerCommand $script:c.Id -Command sh, -c, 'id -u; pwd; echo $EXTRA; echo problem >&2; exit 6' -User 65534 -WorkingDirectory /tmp -Environment @{ EXTRA = 'x' } -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be @('65534', '/tmp', 'x')
        $err[0].Exception.Message | Should -Be 'problem'
        # Shown as a native command's stderr line is: just the line, not a failure of the cmdlet.
        $err[0].FullyQualifiedErrorId | Should -Be 'NativeCommandError'
        ($err[0] | Out-String).Trim() | Should -Be 'problem'
        $LASTEXITCODE | Should -Be 6
    }

    It 'refuses to exec in a stopped container' {
        $stopped = New-Container pester/exec:1 -Command sh, -c, 'exit 0' -Runtime $Runtime -Network none
        { Invoke-ContainerCommand $stopped.Id -Command echo, hi -ErrorAction Stop } | Should -Throw -ErrorId 'ContainerNotRunning*'
        $stopped | Remove-Container
    }

    It 'pauses and resumes the container' {
        $paused = Suspend-Container $script:c.Id -PassThru
        $paused.State | Should -Be 'Paused'
        (Get-Container $script:c.Id).Status | Should -Match '\(Paused\)$'
        $resumed = Resume-Container $script:c.Id -PassThru
        $resumed.State | Should -Be 'Running'
        Invoke-ContainerCommand $script:c.Id -Command echo, awake | Should -Be 'awake'
    }
}
