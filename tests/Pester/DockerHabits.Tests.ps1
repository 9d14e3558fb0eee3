#Requires -Version 7.4
# Docker habits that should just work: docker's size spellings, -Volume of a missing host directory, the predefined
# networks, a missing image's error, and a container's stderr shown as a native command's is.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-habits'
    Import-Module (Get-TestModulePath) -Force
    $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
    $script:haveRuntime = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor")
    $script:haveNft = [bool](Get-Command nft -ErrorAction SilentlyContinue)
    $script:tag = "pscontainer:$($script:state.Root)"

    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'cat', 'echo', 'true', 'ls', 'test', 'touch', 'sleep')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/habits:1' -Command sh | Out-Null

    function script:Get-OurCgroupDirectory {
        @(Get-ChildItem /sys/fs/cgroup -Directory | ForEach-Object { Join-Path $_.FullName $script:state.CgroupParent } |
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
    function script:Get-OurTable {
        $sha = [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:state.Root))
        'pscontainer_' + [Convert]::ToHexString($sha).Substring(0, 8).ToLowerInvariant()
    }
    function script:Get-OurHostObject {
        # This state root's objects on the host: links carrying its alias, its nftables table.
        @(
            Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }
            & ip -o link | Where-Object { $_ -match [regex]::Escape($script:tag) } | ForEach-Object { "link $(($_ -split ': ')[1])" }
            if ($script:haveNft) { & nft list tables | Where-Object { $_ -match (Get-OurTable) } | ForEach-Object { "nft $_" } }
        )
    }
}

AfterAll {
    # Containers, networks and the cgroup parent go with the state root.
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

Describe '-Volume of a host directory that does not exist' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'makes it, parents too, mode 0755, when the container starts (as docker -v does)' {
        $source = Join-Path $script:state.Work 'made/by/start'
        $c = New-Container pester/habits:1 -Network none -Volume "${source}:/data" -Command sh, -c, 'echo from-container > /data/out.txt'
        Test-Path (Join-Path $script:state.Work 'made') | Should -BeFalse -Because 'docker makes it at start, not at create'
        $c | Start-Container -Wait
        $LASTEXITCODE | Should -Be 0
        Get-Content (Join-Path $source 'out.txt') | Should -Be 'from-container'
        foreach ($d in 'made', 'made/by', 'made/by/start') {
            $mode = [IO.File]::GetUnixFileMode((Join-Path $script:state.Work $d))
            ($mode -band [IO.UnixFileMode]::UserExecute) | Should -Not -Be 0
            ($mode -band -bnot [IO.UnixFileMode]0x1ED) | Should -Be 0 -Because "$d is made 0755 (less the umask)"
        }
    }

    It 'makes it for Start-Container -Image too, read-only binds included' {
        $source = Join-Path $script:state.Work 'run-ro'
        $out = Start-Container -Image pester/habits:1 -Network none -AutoRemove -Volume "${source}:/data:ro" -Command sh, -c, 'test -d /data && echo dir; touch /data/x 2>/dev/null || echo ro'
        $out | Should -Be @('dir', 'ro')
        Test-Path $source -PathType Container | Should -BeTrue
    }

    It 'resolves ./relative against the current location and takes a bare name for a docker volume name' {
        Push-Location $script:state.Work
        try {
            $out = Start-Container -Image pester/habits:1 -Network none -AutoRemove -Volume './rel/dir:/data' -Command sh, -c, 'echo hi > /data/f; echo ok'
            $out | Should -Be 'ok'
            Get-Content (Join-Path $script:state.Work 'rel/dir/f') | Should -Be 'hi'

            # A bare name is docker's named volume, made on first use, never a directory under the current location.
            $named = New-Container pester/habits:1 -Network none -Volume 'namedvol:/data' -Command true
            (Get-ContainerVolume namedvol).UsedBy | Should -Be @($named.Name)
            Test-Path (Join-Path $script:state.Work 'namedvol') | Should -BeFalse
            $named | Remove-Container
            Remove-ContainerVolume namedvol -Confirm:$false
        }
        finally { Pop-Location }
        Push-Location Env:
        try {
            New-Container pester/habits:1 -Network none -Volume './x:/data' -Command true -ErrorVariable err2 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err2[0].FullyQualifiedErrorId | Should -Be 'InvalidVolume,PSContainer.Commands.NewContainerCommand'
            $err2[0].Exception.Message | Should -BeLike '*not a file system path*'
        }
        finally { Pop-Location }
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'refuses a dangling symbolic link with a clear error, making nothing where it points' {
        $target = Join-Path $script:state.Work 'link-target-missing'
        $link = Join-Path $script:state.Work 'dangling'
        New-Item -ItemType SymbolicLink -Path $link -Target $target | Out-Null
        $c = New-Container pester/habits:1 -Network none -Volume "${link}:/data" -Command true
        $c | Start-Container -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'BindSourceDanglingLink,PSContainer.Commands.StartContainerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $link
        $err[0].Exception.Message | Should -BeLike "*$link is a symbolic link to $target, which does not exist*"
        Test-Path $target | Should -BeFalse
        (Get-Container $c.Id -All).State | Should -Be 'Created'
    }

    It 'binds a socket or fifo that exists as it is, as docker does' {
        $fifo = Join-Path $script:state.Work 'fifo'
        & mkfifo $fifo
        $out = Start-Container -Image pester/habits:1 -Network none -AutoRemove -Volume "${fifo}:/f" -Command sh, -c, 'test -p /f && echo fifo'
        $out | Should -Be 'fifo'
    }
}

Describe 'The predefined networks' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
        elseif (-not $script:haveNft) { Set-ItResult -Skipped -Because 'nft (nftables) is not installed' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force
        Remove-ContainerNetwork bridge -Force
        Get-OurHostObject | Should -BeNullOrEmpty -Because 'removing the containers, the user networks and the default bridge''s host objects leaves nothing'
    }

    It 'keeps bridge when every listed network is piped to Remove-ContainerNetwork, and goes on with the others' {
        Start-Container -Image pester/habits:1 -AutoRemove -Command true | Out-Null
        $bridge = Get-ContainerNetwork bridge
        New-ContainerNetwork pester-habits-a | Out-Null
        New-ContainerNetwork pester-habits-b | Out-Null
        @(Get-ContainerNetwork).Count | Should -Be 3

        Get-ContainerNetwork | Remove-ContainerNetwork -ErrorVariable err -ErrorAction SilentlyContinue
        @(Get-ContainerNetwork).Name | Should -Be @('bridge')
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'PredefinedNetwork,PSContainer.Commands.RemoveContainerNetworkCommand'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        $err[0].TargetObject | Should -Be 'bridge'
        $err[0].Exception.Message | Should -BeLike 'bridge is a pre-defined network and cannot be removed*'
        (& ip -o link show $bridge.Bridge) | Should -Match 'UP' -Because 'the default bridge keeps working'
        (Get-ContainerNetwork bridge).Id | Should -Be $bridge.Id
    }

    It 'refuses host and none, even with -Force, and makes nothing to refuse bridge' {
        foreach ($name in 'host', 'none') {
            Remove-ContainerNetwork $name -Force -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -Be 'PredefinedNetwork,PSContainer.Commands.RemoveContainerNetworkCommand'
            $err[0].Exception.Message | Should -Be "$name is a pre-defined network and cannot be removed."
        }
        # bridge is made on first use: refusing it must not be that use.
        Remove-ContainerNetwork bridge -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'PredefinedNetwork,PSContainer.Commands.RemoveContainerNetworkCommand'
        @(Get-ContainerNetwork) | Should -BeNullOrEmpty
        Get-OurHostObject | Should -BeNullOrEmpty
        { Remove-ContainerNetwork bridge -ErrorAction Stop } | Should -Throw -ErrorId 'PredefinedNetwork,PSContainer.Commands.RemoveContainerNetworkCommand'
    }

    It 'takes down the default bridge''s host objects with -Force, and makes them again on next use' {
        $out = Start-Container -Image pester/habits:1 -AutoRemove -Command sh, -c, 'cat /proc/net/route | grep -c eth0'
        [int]$out | Should -BeGreaterThan 0
        $bridge = (Get-ContainerNetwork bridge).Bridge
        @(Get-OurHostObject).Count | Should -BeGreaterThan 0

        Remove-ContainerNetwork bridge -Force -Verbose 4>&1 | Out-String | Should -Match 'pre-defined'
        Get-OurHostObject | Should -BeNullOrEmpty
        (& ip -o link show $bridge 2>$null) | Should -BeNullOrEmpty

        $again = Start-Container -Image pester/habits:1 -AutoRemove -Command sh, -c, 'cat /proc/net/route | grep -c eth0'
        [int]$again | Should -BeGreaterThan 0
        (Get-ContainerNetwork bridge).Bridge | Should -Be $bridge
        (& ip -o link show $bridge) | Should -Match 'UP'
    }

    It 'refuses to take the default bridge down while a container, running or not, is on it' {
        $made = New-Container pester/habits:1 -Name habits-onbridge -Command sleep, 30
        try {
            Remove-ContainerNetwork bridge -Force -ErrorVariable err -ErrorAction SilentlyContinue
            $err.Count | Should -Be 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NetworkInUse*'
            $err[0].Exception.Message | Should -Match 'habits-onbridge'
            # The container keeps its endpoint: started now, it is on bridge with an address.
            $running = $made | Start-Container -PassThru
            $running.Networks | Should -Contain 'bridge'
            $running.IPAddress | Should -Not -BeNullOrEmpty
            $out = Invoke-ContainerCommand habits-onbridge -Command sh, -c, 'cat /proc/net/route | grep -c eth0'
            [int]$out | Should -BeGreaterThan 0
        }
        finally { Remove-Container habits-onbridge -Force }
    }

    It 'leaves nothing on the host after the demo''s clean-up' {
        $web = Start-Container -Image pester/habits:1 -Name habits-web -Command sleep, 30 -Detach
        New-ContainerNetwork pester-habits-c | Out-Null
        Connect-ContainerNetwork habits-web pester-habits-c | Out-Null
        @(Get-OurHostObject).Count | Should -BeGreaterThan 2
        # demo/demo.ps1's finally block, in the order it runs.
        Get-Container -All | Remove-Container -Force
        Get-ContainerNetwork | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force -ErrorAction Continue
        Remove-ContainerNetwork bridge -Force -ErrorAction Continue
        Get-OurHostObject | Should -BeNullOrEmpty
        $web | Out-Null
    }
}

Describe 'An image that is neither here nor pullable' {
    BeforeAll {
        # A registry address nothing listens on: the pull fails at once, with no traffic off this machine.
        $listener = [System.Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $listener.Start()
        $script:closedPort = $listener.LocalEndpoint.Port
        $listener.Stop()
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    # A terminating error would escape -ErrorAction SilentlyContinue and fail these tests.
    It 'says New-Container could not find it locally and why the pull failed, as a non-terminating error' {
        $image = "127.0.0.1:$($script:closedPort)/nosuch"
        $c = New-Container $image -Network none -Command true -ErrorVariable err -ErrorAction SilentlyContinue
        $c | Should -BeNullOrEmpty
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,PSContainer.Commands.NewContainerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $image
        $err[0].Exception.Message | Should -BeLike "Unable to find image '127.0.0.1:$($script:closedPort)/nosuch:latest' locally, and pulling it failed: Cannot reach registry 127.0.0.1:$($script:closedPort) (*"
        $err[0].Exception.InnerException.ErrorId | Should -Be 'RegistryUnavailable'
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'says the same for Start-Container -Image, non-terminating too, with docker run''s exit code 125' {
        $image = "127.0.0.1:$($script:closedPort)/nosuch:1"
        $global:LASTEXITCODE = 0
        $out = Start-Container -Image $image -Network none -Command true -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be 125
        @($err).Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,PSContainer.Commands.StartContainerCommand'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $err[0].TargetObject | Should -Be $image
        $err[0].Exception.Message | Should -BeLike "Unable to find image '$image' locally, and pulling it failed: Cannot reach registry*"
        # Non-terminating: a pipeline goes on with the next image.
        $names = $image, 'pester/habits:1' | ForEach-Object { Start-Container -Image $_ -Network none -AutoRemove -Command echo, ran -ErrorAction SilentlyContinue }
        $names | Should -Be @('ran')
        @(Get-Container -All).Count | Should -Be 0
    }

    It 'keeps -Pull never''s plain ImageNotFound, and an invalid reference''s own error' {
        New-Container "127.0.0.1:$($script:closedPort)/nosuch:1" -Pull never -Command true -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -Be 'ImageNotFound,PSContainer.Commands.NewContainerCommand'
        $err[0].Exception.Message | Should -BeLike "Unable to find image '*' locally."
        New-Container 'Not_A..Valid:Ref!' -Command true -ErrorVariable err2 -ErrorAction SilentlyContinue
        $err2[0].FullyQualifiedErrorId | Should -Be 'InvalidReference,PSContainer.Commands.NewContainerCommand'
    }
}

Describe 'A container''s stderr, shown as a native command''s' {
    BeforeEach {
        if (-not $script:haveRuntime) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor are not built' }
    }
    AfterEach {
        Get-Container -All | Remove-Container -Force
        Get-OurLeak | Should -BeNullOrEmpty
    }

    It 'renders a stderr line as just the line, with pwsh''s native-command ids, still in the error stream' {
        $records = @(Start-Container -Image pester/habits:1 -Name habits-stderr -Network none -AutoRemove -Command sh, -c, 'echo out; echo oops >&2; echo again >&2' 2>&1)
        $records.Count | Should -Be 3
        $errors = @($records | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        $errors.FullyQualifiedErrorId | Should -Be @('NativeCommandError', 'NativeCommandErrorMessage')
        $errors.Exception.Message | Should -Be @('oops', 'again')
        $errors[0].Exception | Should -BeOfType ([System.Management.Automation.RemoteException])
        $errors[0].TargetObject | Should -Be 'habits-stderr'
        $errors[0].InvocationInfo.MyCommand.Name | Should -Be 'Start-Container'

        $text = $records | Out-String
        $text | Should -Not -Match 'Line \|'
        $text | Should -Not -Match 'Start-Container'
        @($text -split '\r?\n' | Where-Object { $_.Trim() }) | Should -Be @('out', 'oops', 'again')
    }

    It 'keeps 2>$null, 2>&1 and -ErrorVariable working' {
        Start-Container -Image pester/habits:1 -Network none -AutoRemove -Command sh, -c, 'echo out; echo oops >&2' 2>$null | Should -Be 'out'
        $out = Start-Container -Image pester/habits:1 -Network none -AutoRemove -Command sh, -c, 'echo out; echo oops >&2' -ErrorVariable err -ErrorAction SilentlyContinue
        $out | Should -Be 'out'
        $err.Exception.Message | Should -Be 'oops'
        { Start-Container -Image pester/habits:1 -Network none -AutoRemove -Command sh, -c, 'echo oops >&2' -ErrorAction Stop } | Should -Throw '*oops*'
    }

    It 'shows just the line in a script run by another pwsh, whose stderr is captured' {
        # A script, not -Command text: an ordinary cmdlet error in a script shows its 'Line |' context.
        $script = Join-Path $script:state.Work 'stderr.ps1'
        Set-Content $script @"
Import-Module '$(Get-TestModulePath)'
Start-Container -Image pester/habits:1 -Network none -AutoRemove -Command sh, -c, 'echo out; echo oops >&2'
"@
        $result = Start-TestPwsh -Script "& '$script'" | Wait-TestPwsh
        $stderr = $result.Stderr -replace '\x1b\[[0-9;?]*[A-Za-z]', ''
        $result.Stdout.Trim() | Should -Be 'out'
        $stderr.Trim() | Should -Be 'oops'
        $stderr | Should -Not -Match 'Line \|'
        $stderr | Should -Not -Match 'Start-Container'
    }
}
