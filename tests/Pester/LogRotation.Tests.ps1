#Requires -Version 7.4
# The container log rotates in the monitor (-LogOption max-size=…,max-file=…, docker's --log-opt), with a default
# cap so a chatty container cannot fill the disk, and Get-ContainerLog reads across the rotated files — also while
# following a container whose log rotates under it.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-logrot'
    Import-Module (Get-TestModulePath) -Force
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'echo', 'yes', 'head', 'seq', 'sleep', 'true')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/logs:1' -Command sh | Out-Null
    function script:Get-LogFile([string]$Id) {
        @(Get-ChildItem (Join-Path $script:state.Root "containers/$Id") -Filter 'container.log*' | Sort-Object Name)
    }
    # 100-byte lines: "line NNNNN " and padding.
    $script:writer = 'for i in $(seq 1 %N%); do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; done'
}

AfterAll {
    Get-Container -All | Remove-Container -Force
    Remove-TestStateRoot $script:state
}

Describe 'log rotation' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'keeps at most max-file files of about max-size, and Get-ContainerLog reads them in order to the last line' {
        $c = New-Container pester/logs:1 -Network none -LogOption 'max-size=32k', 'max-file=3' -Command sh, -c, ($writer -replace '%N%', 3000) | Start-Container -PassThru
        (Wait-Container $c.Id).ExitCode | Should -Be 0
        $files = Get-LogFile $c.Id
        $files.Name | Should -Be @('container.log', 'container.log.1', 'container.log.2')
        foreach ($f in $files) { $f.Length | Should -BeLessThan (32KB + 16KB + 200) -Because "$($f.Name) rotates at 32 KiB" }
        $lines = @(Get-ContainerLog $c.Id | ForEach-Object { [int](($_.Line -split ' ')[1]) })
        $lines[-1] | Should -Be 3000
        $lines.Count | Should -BeGreaterThan 500
        # Contiguous: the oldest kept line, then every line after it, none lost or repeated.
        $lines | Should -Be @($lines[0]..3000)
        (Get-ContainerLog $c.Id -Tail 3).Line | ForEach-Object { ($_ -split ' ')[1] } | Should -Be @('2998', '2999', '3000')
    }

    It '-Follow goes on in the new file when the log rotates under it, losing nothing' {
        # In bursts of 100 lines (10 KB) 20 ms apart: the 16 KiB file rotates every other burst, often more than
        # once while the reader sleeps between polls.
        $bursty = 'sleep 1; for i in $(seq 1 3000); do echo "line $i xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"; [ $((i % 100)) -eq 0 ] && sleep 0.02; done; true'
        $c = New-Container pester/logs:1 -Network none -LogOption 'max-size=16k,max-file=200' -Command sh, -c, $bursty | Start-Container -PassThru
        $lines = @(Get-ContainerLog $c.Id -Follow | ForEach-Object { [int](($_.Line -split ' ')[1]) })
        @(Get-LogFile $c.Id).Count | Should -BeGreaterThan 10 -Because 'the log rotated many times while it was followed'
        $lines | Should -Be @(1..3000)
    }

    It '-Follow of an -AutoRemove container loses nothing when the reader falls behind the removal' {
        # The reader stops at the first line until the container is gone. By then the log has rotated about 25 times
        # and the container's directory is deleted: the removal must wait until the follower has those files open
        # (milliseconds after the exit), not until it has read them, and not delete them before.
        $c = New-Container pester/logs:1 -Network none -AutoRemove -LogOption 'max-size=16k,max-file=100' -Command sh, -c, ('sleep 1; ' + ($writer -replace '%N%', 3000)) | Start-Container -PassThru
        $script:removedAfter = $null
        $lines = @(Get-ContainerLog $c.Id -Follow | ForEach-Object -Begin { $first = $true } -Process {
                if ($first) {
                    $first = $false
                    $watch = [Diagnostics.Stopwatch]::StartNew()
                    while (@(Get-Container -All | Where-Object Id -EQ $c.Id).Count -gt 0 -and $watch.Elapsed.TotalSeconds -lt 30) { Start-Sleep -Milliseconds 50 }
                    $script:removedAfter = $watch.Elapsed
                }
                [int](($_.Line -split ' ')[1])
            })
        $script:removedAfter.TotalSeconds | Should -BeLessThan 8 -Because 'an auto-removal waits for a follower only until it has every file open'
        Get-Container -All | Should -BeNullOrEmpty
        $lines | Should -Be @(1..3000)
    }

    It 'caps the log by default (10 MiB a file, 5 files) without -LogOption' {
        $c = New-Container pester/logs:1 -Network none -Command sh, -c, 'yes xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx | head -n 120000' | Start-Container -PassThru
        (Wait-Container $c.Id).ExitCode | Should -Be 0
        $files = Get-LogFile $c.Id
        $files.Name | Should -Contain 'container.log.1' -Because '120000 records are more than 10 MiB'
        ($files | Measure-Object Length -Sum).Sum | Should -BeLessThan (5 * 10MB + 100KB)
    }

    It 'refuses <Case> (InvalidLogOption)' -TestCases @(
        @{ Case = 'an unknown option'; Option = 'compress=true' }
        @{ Case = 'a size that is none'; Option = 'max-size=lots' }
        @{ Case = 'no files'; Option = 'max-file=0' }
        @{ Case = 'no value'; Option = 'max-size' }
    ) {
        { New-Container pester/logs:1 -LogOption $Option -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidLogOption,*'
        Get-Container -All | Should -BeNullOrEmpty
    }
}
