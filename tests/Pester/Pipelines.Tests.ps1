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

    It 'Get-Container fits 80 columns in docker ps order, no header wraps at any width, and wider shows more' {
        $port = Get-Random -Minimum 20000 -Maximum 30000
        New-Container pester/pipe:1 -Name web -Publish "${port}:80" -Command httpd, -f, -p, 80 | Start-Container
        New-Container pester/pipe:1 -Name a_rather_long_container_name -Network none -Command sh, -c, 'exit 3' | Start-Container -Wait
        foreach ($width in 80, 81, 84, 90, 100, 120, 160, 200) {
            $lines = @((Get-Container -All | Out-String -Width $width) -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ })
            $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual $width -Because "'$_' must fit $width columns" }
            # A wrapped header would put part of a label on the second line, before the dashes.
            $lines[0] | Should -Match '^CONTAINER ID +IMAGE +STATUS +PORTS +NAMES$' -Because "at $width columns"
            $lines[1] | Should -Match '^[- ]+$' -Because "at $width columns"
        }
        $narrow = (Get-Container -All | Out-String -Width 80)
        $narrow | Should -Match 'a_rather…'   # the last column takes what is left, cut with an ellipsis
        $narrow | Should -Match 'Exited \(3\)'
        $narrow | Should -Match "0\.0\.0\.0:$port->80/tcp"
        (Get-Container -All | Out-String -Width 120) | Should -Match 'a_rather_long_container_name'
        # Every docker ps column, in its order, for wide terminals.
        $docker = @((Get-Container -All | Format-Table -View Docker | Out-String -Width 200) -split "`n" | Where-Object { $_ })
        $docker[0] | Should -Match '^CONTAINER ID +IMAGE +COMMAND +CREATED +STATUS +PORTS +NAMES'
    }

    It 'Get-ContainerNetwork fits 80 columns, no header wraps' {
        New-ContainerNetwork pipes-a-network-with-a-long-name | Out-Null
        try {
            foreach ($width in 80, 90, 120, 200) {
                $lines = @((Get-ContainerNetwork | Out-String -Width $width) -split "`n" | ForEach-Object TrimEnd | Where-Object { $_ })
                $lines | ForEach-Object { $_.Length | Should -BeLessOrEqual $width -Because "'$_' must fit" }
                $lines[0] | Should -Match '^NETWORK ID +NAME +DRIVER +SUBNET +GATEWAY +CONTAINERS$'
                $lines[1] | Should -Match '^[- ]+$'
            }
            (Get-ContainerNetwork | Out-String -Width 80) | Should -Match 'pipes-a-netw'
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
