#Requires -Version 7.4
# Docker habits that should just work: docker's size spellings, -Volume of a missing host directory, the predefined
# networks, a missing image's error, and a container's stderr shown as a native command's is.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-habits'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'cat', 'echo', 'true', 'ls', 'test', 'touch', 'sleep')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/habits:1' -Command sh | Out-Null

    function script:Get-OurCgroupDirectory {
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:cgroupParent } |
            Where-Object { Test-Path $_ } | ForEach-Object { Get-ChildItem $_ -Directory } | ForEach-Object FullName)
    }
    function script:Get-OurLeak {
        # What removed containers must not leave: mounts, cgroups, network namespaces, container directories.
        @(
            Get-TestMount -Path $script:state.Root, $script:state.RunRoot | ForEach-Object { "mount $_" }
            Get-OurCgroupDirectory | ForEach-Object { "cgroup $_" }
            if (Test-Path "$($script:state.RunRoot)/netns") { Get-ChildItem "$($script:state.RunRoot)/netns" | ForEach-Object { "netns $($_.Name)" } }
            if (Test-Path "$($script:state.Root)/containers") { Get-ChildItem "$($script:state.Root)/containers" | ForEach-Object { "dir $($_.Name)" } }
        )
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Sizes as docker writes them' {
    AfterEach {
        Get-Container -All | Remove-Container -Force
    }

    It 'takes -Memory 64m, 1g, 512k and plain bytes as well as PowerShell''s 64MB' {
        (New-Container pester/habits:1 -Network none -Command true -Memory 64m).Limits.Memory | Should -Be 64MB
        (New-Container pester/habits:1 -Network none -Command true -Memory 1G).Limits.Memory | Should -Be 1GB
        (New-Container pester/habits:1 -Network none -Command true -Memory 65536k).Limits.Memory | Should -Be 64MB
        (New-Container pester/habits:1 -Network none -Command true -Memory 64mb).Limits.Memory | Should -Be 64MB
        (New-Container pester/habits:1 -Network none -Command true -Memory 67108864).Limits.Memory | Should -Be 64MB
        (New-Container pester/habits:1 -Network none -Command true -Memory 64MB).Limits.Memory | Should -Be 64MB
        (New-Container pester/habits:1 -Network none -Command true -Memory '64MB').Limits.Memory | Should -Be 64MB
        $c = New-Container pester/habits:1 -Network none -Command true -Memory 64m -MemorySwap 128m
        $c.Limits.Memory | Should -Be 64MB
        $c.Limits.MemorySwap | Should -Be 128MB
        (New-Container pester/habits:1 -Network none -Command true -Memory 64m -MemorySwap -1).Limits.MemorySwap | Should -BeNullOrEmpty
    }

    It 'gives the container the limit it was asked for in docker''s spelling' {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built'; return }
        $c = Start-Container -Image pester/habits:1 -Network none -Memory 96m -Command sleep, 30 -Detach
        $limits = (Get-Module PSContainer).Invoke({ param($id) [PSContainer.Engine.ContainerEngine]::ForEnvironment().Containers.ReadCgroupLimits($id) }, $c.Id)
        $limits.MemoryBytes | Should -Be 96MB
    }

    It 'refuses a size it cannot read when binding, naming the parameter and the forms it takes' {
        $e = { New-Container pester/habits:1 -Network none -Command true -Memory 64x } | Should -Throw -PassThru
        $e.Exception | Should -BeOfType ([System.Management.Automation.ParameterBindingException])
        $e.FullyQualifiedErrorId | Should -Be 'ParameterArgumentTransformationError,PSContainer.Commands.NewContainerCommand'
        $e.Exception.Message | Should -BeLike "*'Memory'*'64x' is not a size; use a number of bytes, a PowerShell size like 64MB, or Docker's 64m, 1g, 512k, 100b*"
        $e = { Start-Container -Image pester/habits:1 -Network none -Command true -MemorySwap -2 } | Should -Throw -PassThru
        $e.Exception.Message | Should -BeLike "*'MemorySwap'*only -1*"
        $e = { New-Container pester/habits:1 -Network none -Command true -Memory -1 } | Should -Throw -PassThru
        $e.Exception.Message | Should -BeLike "*'Memory'*negative*"
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'reads Submit-ContainerImage -ChunkSize the same way' {
        $p = (Get-Command Submit-ContainerImage).Parameters['ChunkSize']
        @($p.Attributes | Where-Object { $_.GetType().Name -eq 'SizeTransformationAttribute' }).Count | Should -Be 1
        $e = { Submit-ContainerImage pester/habits:1 -Destination 127.0.0.1:9/x:1 -ChunkSize 5q } | Should -Throw -PassThru
        $e.Exception.Message | Should -BeLike "*'ChunkSize'*'5q' is not a size*"
    }
}
