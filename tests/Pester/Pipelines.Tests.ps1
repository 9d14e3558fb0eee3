#Requires -Version 7.4
# Many containers down one pipeline, and what the default views print: stopping N containers takes one grace
# period (docker stop a b c), not N; tables fit an 80-column terminal; Export-ContainerImage's file shows its size.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-pipe'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'sleep', 'true', 'httpd')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/pipe:1' -Command sh | Out-Null
    # A container that ignores SIGTERM, so only the SIGKILL after the grace period stops it.
    $script:stubborn = @('sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done')
    function script:New-Stubborn([string]$Name) {
        New-Container pester/pipe:1 -Name $Name -Network none -Command $script:stubborn | Start-Container -PassThru
    }
}

AfterAll {
    # Containers, networks and the cgroup parent go with the state root.
    Remove-TestStateRoot $script:state
}

Describe 'Stopping many containers' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'Stop-Container stops three that ignore SIGTERM in about one grace period' {
        1..3 | ForEach-Object { New-Stubborn "stubborn$_" } | Out-Null
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $stopped = @(Get-Container | Stop-Container -Timeout 4 -PassThru)
        $clock.Stop()
        $stopped.Count | Should -Be 3
        $stopped.State | Should -Be @('Exited', 'Exited', 'Exited')
        $stopped.ExitCode | Should -Be @(137, 137, 137)
        # One at a time this takes 3 x 4 s; together it is one grace period plus the kills, well under 2 x 4 s.
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 6.5
        $clock.Elapsed.TotalSeconds | Should -BeGreaterOrEqual 4
    }

    It 'Restart-Container restarts them together, and writes each one' {
        1..3 | ForEach-Object { New-Stubborn "again$_" } | Out-Null
        $clock = [Diagnostics.Stopwatch]::StartNew()
        $restarted = @(Get-Container | Restart-Container -Timeout 4 -PassThru)
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 7
        @($restarted.Name | Sort-Object) | Should -Be @('again1', 'again2', 'again3')
        @(Get-Container | Where-Object State -eq 'Running').Count | Should -Be 3
    }

    It 'one failing container in the pipeline does not stop the others' {
        New-Stubborn 'good1' | Out-Null
        $out = @(Stop-Container good1, nosuch -Timeout 1 -PassThru -ErrorAction SilentlyContinue -ErrorVariable failures)
        $out.Name | Should -Be 'good1'
        $failures.Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -BeLike 'ContainerNotFound*'
        $failures[0].TargetObject | Should -Be 'nosuch'
    }

    It 'a container named twice (a name and a wildcard) is acted on once at a time, not raced' {
        New-Stubborn 'twice1' | Out-Null
        Remove-Container twice1, twice* -Force -ErrorVariable failures -ErrorAction SilentlyContinue
        Get-Container -All | Should -BeNullOrEmpty
        # The second removal finds it gone, as docker rm a a does; no half-removed directory errors.
        @($failures | Where-Object { $_.FullyQualifiedErrorId -notlike 'ContainerNotFound*' }) | Should -BeNullOrEmpty
        Test-Path (Join-Path $script:state.Root 'containers') | Should -BeTrue
        @(Get-ChildItem (Join-Path $script:state.Root 'containers')) | Should -BeNullOrEmpty
    }

    It 'Remove-Container -Force kills and removes them together' {
        1..3 | ForEach-Object { New-Stubborn "gone$_" } | Out-Null
        $clock = [Diagnostics.Stopwatch]::StartNew()
        Get-Container | Remove-Container -Force
        $clock.Elapsed.TotalSeconds | Should -BeLessThan 3
        Get-Container -All | Should -BeNullOrEmpty
    }
}

Describe 'Default views' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'Get-Container fits 80 columns with id, image, status and name, and shows more when wider' {
        $port = Get-Random -Minimum 20000 -Maximum 30000
        New-Container pester/pipe:1 -Name web -Publish "${port}:80" -Command httpd, -f, -p, 80 | Start-Container
        New-Container pester/pipe:1 -Name a_rather_long_container_name -Network none -Command sh, -c, 'exit 3' | Start-Container -Wait
        $narrow = @((Get-Container -All | Out-String -Width 80) -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ })
        $narrow | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 -Because "'$_' must fit" }
        $narrow[0] | Should -Match '^CONTAINER ID +IMAGE +STATUS +NAMES'
        $narrow -join "`n" | Should -Match 'a_rather_long_cont'   # cut with an ellipsis when it does not fit
        $narrow -join "`n" | Should -Match 'Exited \(3\)'
        $wide = (Get-Container -All | Out-String -Width 200) -split "`n" | Where-Object { $_ -match 'CONTAINER ID' }
        $wide | Should -Match 'PORTS +COMMAND +CREATED'
        (Get-Container -All | Out-String -Width 200) | Should -Match "0\.0\.0\.0:$port->80/tcp"
    }

    It 'Get-ContainerNetwork fits 80 columns' {
        New-ContainerNetwork pipes-a-network-with-a-long-name | Out-Null
        try {
            $narrow = @((Get-ContainerNetwork | Out-String -Width 80) -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ })
            $narrow | ForEach-Object { $_.Length | Should -BeLessOrEqual 80 -Because "'$_' must fit" }
            $narrow[0] | Should -Match '^NETWORK ID +NAME +DRIVER +SUBNET'
            $narrow -join "`n" | Should -Match 'pipes-a-network-with-a-long-name'
        }
        finally { Remove-ContainerNetwork pipes-a-network-with-a-long-name }
    }

    It 'Export-ContainerImage returns the written file as Get-Item shows it' {
        $path = Join-Path $script:state.Work 'export.tar'
        $file = Export-ContainerImage pester/pipe:1 -Path $path
        $file | Should -BeOfType [IO.FileInfo]
        $file.Length | Should -Be (Get-Item $path).Length
        $file.Length | Should -BeGreaterThan 0
        $row = @(($file | Out-String -Width 120) -split "`n" | Where-Object { $_ -match 'export\.tar' })
        $row[0] | Should -Match '^-rw'
        $row[0] | Should -Match " $((Get-Item $path).Length) export\.tar"
    }
}
