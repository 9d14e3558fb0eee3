#Requires -Version 7.4
# Files in and out of containers: Copy-ContainerItem (docker cp) both ways on running and stopped containers,
# symlinks planted in the container that try to lead a copy out of its root, Export-Container (docker export),
# ConvertTo-ContainerImage (docker commit) with whiteouts and -Change, and moving a container with its state to a
# second state root.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-files'
    Import-Module (Get-TestModulePath) -Force
    $script:w = $script:state.Work
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:w 'busybox.tar') -Applet @('sh', 'echo', 'sleep', 'cat', 'ls', 'ln', 'mkdir', 'rm', 'stat', 'env', 'pwd', 'id')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/files:1' -Command sh | Out-Null

    # A host tree: a file owned by 1234:5678, a 0750 directory, a relative symlink.
    $script:site = Join-Path $script:w 'site'
    New-Item -ItemType Directory "$script:site/sub" | Out-Null
    Set-Content "$script:site/index.html" 'hello'
    Set-Content "$script:site/sub/deep.txt" 'deep'
    chmod 0750 "$script:site/sub"
    chmod 0604 "$script:site/index.html"
    chown 1234:5678 "$script:site/index.html"
    ln -s index.html "$script:site/link"

    function script:Exec([string]$Container, [string]$Script) {
        Invoke-ContainerCommand $Container -Command sh, -c, $Script
    }

    # What is mounted under this test's state root (a stopped container's copy leaves nothing).
    function script:Get-StateMount {
        @(Get-TestMount -Path $script:state.Root | Where-Object { $_ -notlike '*/shm' })
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Copy-ContainerItem into and out of a stopped container' {
    BeforeAll {
        $script:c = New-Container pester/files:1 -Name files-stopped -Command sleep, 300 -Network none
    }
    AfterAll {
        $script:c | Remove-Container -Force
    }

    It 'copies a tree in: files, modes and links; owned by the container''s root without -Archive, kept with it' {
        Copy-ContainerItem $script:site -Destination files-stopped:/srv
        Copy-ContainerItem $script:site -Destination files-stopped:/srv2 -Archive
        Get-StateMount | Should -BeNullOrEmpty
        Start-Container files-stopped | Out-Null
        $out = Exec files-stopped 'stat -c "%n %a %u:%g" /srv/index.html /srv/sub /srv/sub/deep.txt /srv2/index.html; readlink /srv/link; cat /srv/sub/deep.txt'
        $out | Should -Be @('/srv/index.html 604 0:0', '/srv/sub 750 0:0', '/srv/sub/deep.txt 644 0:0', '/srv2/index.html 604 1234:5678', 'index.html', 'deep')
        Stop-Container files-stopped -Timeout 0 | Out-Null
    }

    It 'copies into an existing directory under the source''s name, and a directory''s contents with /.' {
        Copy-ContainerItem $script:site -Destination files-stopped:/tmp
        Copy-ContainerItem "$script:site/." -Destination files-stopped:/srv3
        Copy-ContainerItem files-stopped:/tmp/site -Destination "$script:w/out-stopped"
        Copy-ContainerItem files-stopped:/srv3/sub/deep.txt -Destination "$script:w/deep.txt"
        Get-Content "$script:w/out-stopped/index.html" | Should -Be 'hello'
        Get-Content "$script:w/deep.txt" | Should -Be 'deep'
        # Out of the container without -Archive: the copy belongs to whoever copies (root here).
        (stat -c '%u:%g %a' "$script:w/out-stopped/index.html") | Should -Be '0:0 604'
        (Get-Item "$script:w/out-stopped/link").LinkTarget | Should -Be 'index.html'
        # The contents of an empty directory: nothing to copy, and no error (the archive of nothing is still whole).
        New-Item -ItemType Directory "$script:w/empty-src" | Out-Null
        Copy-ContainerItem "$script:w/empty-src" -Destination files-stopped:/tmp
        New-Item -ItemType Directory "$script:w/empty-out" | Out-Null
        Copy-ContainerItem files-stopped:/tmp/empty-src/. -Destination "$script:w/empty-out" -ErrorAction Stop
        @(Get-ChildItem -Force "$script:w/empty-out").Count | Should -Be 0
        Get-StateMount | Should -BeNullOrEmpty
    }

    It 'keeps owners on the way out with -Archive, and can write a tar with -AsTar' {
        Copy-ContainerItem files-stopped:/srv2 -Destination "$script:w/out-archive" -Archive
        (stat -c '%u:%g' "$script:w/out-archive/index.html") | Should -Be '1234:5678'
        Copy-ContainerItem files-stopped:/srv2 -Destination "$script:w/srv2.tar" -AsTar
        $entries = tar -tvf "$script:w/srv2.tar"
        $entries | Should -Contain ($entries | Where-Object { $_ -match '1234/5678 .* srv2/index.html$' })
        ($entries -match ' srv2/link -> index.html$') | Should -Not -BeNullOrEmpty
    }
}

Describe 'Copy-ContainerItem with a running container' {
    BeforeAll {
        $script:vol = Join-Path $script:w 'vol'
        New-Item -ItemType Directory $script:vol | Out-Null
        Set-Content "$script:vol/in-volume.txt" 'from the volume'
        $script:r = Start-Container -Image pester/files:1 -Name files-running -Command sleep, 300 -Network none -Volume "${script:vol}:/vol" -Detach
    }
    AfterAll {
        $script:r | Remove-Container -Force
    }

    It 'copies in and out while it runs, and sees its volumes as the container does' {
        Copy-ContainerItem $script:site -Destination files-running:/srv
        Exec files-running 'cat /srv/index.html; echo written > /tmp/made' | Should -Be 'hello'
        Copy-ContainerItem files-running:/tmp/made -Destination "$script:w/made.txt"
        Get-Content "$script:w/made.txt" | Should -Be 'written'
        Copy-ContainerItem files-running:/vol/in-volume.txt -Destination "$script:w/from-volume.txt"
        Get-Content "$script:w/from-volume.txt" | Should -Be 'from the volume'
        (Get-Container files-running).State | Should -Be 'Running'
    }

    It 'unpacks a tar file (and tar files from the pipeline) into a directory with -TarPath' {
        tar -C $script:w -cf "$script:w/site.tar" site
        Copy-ContainerItem -TarPath "$script:w/site.tar" -Destination files-running:/root
        Get-Item "$script:w/site.tar" | Copy-ContainerItem -Destination files-running:/var
        Exec files-running 'cat /root/site/index.html /var/site/sub/deep.txt' | Should -Be @('hello', 'deep')
    }
}

Describe 'Symlinks in the container never lead a copy out of its root' -ForEach @(
    @{ Mode = 'running' }
    @{ Mode = 'stopped' }
) {
    BeforeAll {
        $script:name = "files-escape-$Mode"
        $script:e = Start-Container -Image pester/files:1 -Name $script:name -Command sleep, 300 -Network none -Detach
        # /target points at /, /up climbs out with .., /leak is an absolute link to a host-only file.
        Exec $script:name 'ln -s / /target; ln -s ../../../../etc /up; mkdir -p /etc; echo container-secret > /etc/only-in-container; ln -s /etc/only-in-container /leak' | Out-Null
        $script:hostSecret = Join-Path $script:w "host-secret-$Mode"
        Set-Content $script:hostSecret 'host-secret'
        Exec $script:name "ln -s $script:hostSecret /hostlink" | Out-Null
        if ($Mode -eq 'stopped') { Stop-Container $script:name -Timeout 0 | Out-Null }
        $script:marker = "psc-escape-$([guid]::NewGuid().ToString('N'))"
        Set-Content "$script:w/$script:marker" 'payload'
    }
    AfterAll {
        Remove-Container $script:name -Force
        Remove-Item "/$script:marker", "/etc/$script:marker" -ErrorAction SilentlyContinue
    }

    It 'copies into /target (a link to /) and /up (../../../../etc) inside the container''s root (<Mode>)' {
        Copy-ContainerItem "$script:w/$script:marker" -Destination "${script:name}:/target/"
        Copy-ContainerItem "$script:w/$script:marker" -Destination "${script:name}:/up/$script:marker"
        Copy-ContainerItem "$script:w/$script:marker" -Destination "${script:name}:/../../../$script:marker-dots"
        Test-Path "/$script:marker" | Should -BeFalse
        Test-Path "/etc/$script:marker" | Should -BeFalse
        Test-Path "/$script:marker-dots" | Should -BeFalse
        Copy-ContainerItem "${script:name}:/$script:marker" -Destination "$script:w/back-$Mode-1"
        Copy-ContainerItem "${script:name}:/etc/$script:marker" -Destination "$script:w/back-$Mode-2"
        Copy-ContainerItem "${script:name}:/$script:marker-dots" -Destination "$script:w/back-$Mode-3"
        Get-Content "$script:w/back-$Mode-1", "$script:w/back-$Mode-2", "$script:w/back-$Mode-3" | Should -Be @('payload', 'payload', 'payload')
    }

    It 'reads through the links inside the container''s root, and copies a link itself as a link (<Mode>)' {
        Copy-ContainerItem "${script:name}:/up/only-in-container" -Destination "$script:w/through-$Mode"
        Get-Content "$script:w/through-$Mode" | Should -Be 'container-secret'
        # A link to a host path names a file the container does not have: the copy is the link, never the host's file.
        Copy-ContainerItem "${script:name}:/hostlink" -Destination "$script:w/hostlink-$Mode"
        (Get-Item "$script:w/hostlink-$Mode").LinkTarget | Should -Be $script:hostSecret
        { Copy-ContainerItem "${script:name}:/hostlink/." -Destination "$script:w/hostlink-dir-$Mode" -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound*'
        Get-StateMount | Should -BeNullOrEmpty
    }

    It 'unpacks a tar whose own symlink points out, inside the root; refuses ".." members (<Mode>)' {
        $evil = Join-Path $script:w "evil-$Mode.tar"
        $stream = [IO.File]::Create($evil)
        $writer = [System.Formats.Tar.TarWriter]::new($stream)
        $link = [System.Formats.Tar.PaxTarEntry]::new([System.Formats.Tar.TarEntryType]::SymbolicLink, 'out')
        $link.LinkName = '/etc'
        $writer.WriteEntry($link)
        $file = [System.Formats.Tar.PaxTarEntry]::new([System.Formats.Tar.TarEntryType]::RegularFile, "out/$script:marker-tar")
        $file.DataStream = [IO.MemoryStream]::new([Text.Encoding]::UTF8.GetBytes('tar'))
        $writer.WriteEntry($file)
        $writer.Dispose(); $stream.Dispose()
        Copy-ContainerItem -TarPath $evil -Destination "${script:name}:/"
        Test-Path "/etc/$script:marker-tar" | Should -BeFalse
        Copy-ContainerItem "${script:name}:/etc/$script:marker-tar" -Destination "$script:w/tar-$Mode"
        Get-Content "$script:w/tar-$Mode" | Should -Be 'tar'

        $dots = Join-Path $script:w "dots-$Mode.tar"
        $stream = [IO.File]::Create($dots)
        $writer = [System.Formats.Tar.TarWriter]::new($stream)
        $f = [System.Formats.Tar.PaxTarEntry]::new([System.Formats.Tar.TarEntryType]::RegularFile, "../../$script:marker-dots-tar")
        $f.DataStream = [IO.MemoryStream]::new([byte[]](1, 2))
        $writer.WriteEntry($f)
        $writer.Dispose(); $stream.Dispose()
        { Copy-ContainerItem -TarPath $dots -Destination "${script:name}:/tmp" -ErrorAction Stop } | Should -Throw -ErrorId 'LayerPathEscapes*'
        Get-StateMount | Should -BeNullOrEmpty
    }
}

Describe 'Copy-ContainerItem refuses bad input with an error id' {
    BeforeAll {
        $script:b = New-Container pester/files:1 -Name files-bad -Command sleep, 300 -Network none
    }
    AfterAll {
        $script:b | Remove-Container -Force
    }

    It 'reports <Id>' -ForEach @(
        @{ Id = 'PathNotFound'; Path = 'files-bad:/no/such/file'; Destination = '/tmp/x' }
        @{ Id = 'ContainerNotFound'; Path = 'no-such-container:/etc'; Destination = '/tmp/x' }
        @{ Id = 'NoContainerPath'; Path = '/etc/hostname'; Destination = '/tmp/x' }
        @{ Id = 'BothContainerPaths'; Path = 'files-bad:/etc'; Destination = 'files-bad:/tmp' }
        @{ Id = 'DestinationNotFound'; Path = '/etc/hostname'; Destination = 'files-bad:/no/such/dir/x' }
        @{ Id = 'NotADirectory'; Path = 'files-bad:/bin/busybox/'; Destination = '/tmp/x' }
        @{ Id = 'CannotOverwriteDirectory'; Path = '/etc/hostname'; Destination = 'files-bad:/etc'; Setup = $true }
        @{ Id = 'CannotOverwriteWithDirectory'; Path = '/etc/'; Destination = 'files-bad:/bin/busybox' }
    ) {
        if ($Setup) {
            # /etc/hostname in the container is a directory: the host's file must not replace it.
            New-Item -ItemType Directory "$script:w/dirs/hostname" -Force | Out-Null
            Copy-ContainerItem "$script:w/dirs/hostname" -Destination files-bad:/etc/
        }
        { Copy-ContainerItem $Path -Destination $Destination -ErrorAction Stop } | Should -Throw -ErrorId "$Id*"
        Get-StateMount | Should -BeNullOrEmpty
    }

    It 'completes container names with a colon, and host paths as files' {
        (TabExpansion2 'Copy-ContainerItem files-ba' 27).CompletionMatches.CompletionText | Should -Contain 'files-bad:'
        (TabExpansion2 'Copy-ContainerItem /et' 22).CompletionMatches.CompletionText | Should -Contain '/etc'
    }

    It 'shows a copy''s destination, entries and size with -PassThru' {
        $result = Copy-ContainerItem $script:site -Destination files-bad:/tmp -PassThru
        $result.Destination | Should -Be '/tmp/site'
        $result.Entries | Should -Be 5
        ($result | Format-Table | Out-String) | Should -Match 'DESTINATION\s+ENTRIES\s+SIZE'
    }

    It 'does nothing with -WhatIf' {
        Copy-ContainerItem $script:site -Destination files-bad:/whatif -WhatIf
        { Copy-ContainerItem files-bad:/whatif -Destination "$script:w/whatif" -ErrorAction Stop } | Should -Throw -ErrorId 'PathNotFound*'
    }

    It 'unmounts a stopped container''s root that a killed copy left mounted' {
        $module = Get-TestModulePath
        $job = Start-TestPwsh -Script "Import-Module '$module'; Copy-ContainerItem '$script:site' -Destination files-bad:/crash" -Environment @{ PSCONTAINER_CRASH_AT = 'copy-after-mount' }
        $result = $job | Wait-TestPwsh
        $result.ExitCode | Should -Not -Be 0
        Get-StateMount | Should -Not -BeNullOrEmpty
        Get-Container -All | Out-Null
        Get-StateMount | Should -BeNullOrEmpty
    }
}

Describe 'Copy-ContainerItem and commit with a user namespace' {
    It 'copies in as the container''s root (its host id), back out as the container sees it, and commits container ids' {
        $u = Start-Container -Image pester/files:1 -Name files-userns -Command sleep, 300 -Network none -UserNamespace Auto -Detach -ErrorAction SilentlyContinue -ErrorVariable failed
        if (-not $u) { Set-ItResult -Skipped -Because "a user-namespaced container cannot start here: $failed"; return }
        try {
            $hostRoot = [int](($u.UserNamespace -split ':')[1])
            Copy-ContainerItem $script:site -Destination files-userns:/srv
            Exec files-userns 'stat -c "%u:%g" /srv/index.html' | Should -Be '0:0'
            (stat -c '%u:%g' (Join-Path $script:state.Root "containers/$($u.Id)/upper/srv/index.html")) | Should -Be "${hostRoot}:${hostRoot}"
            Copy-ContainerItem files-userns:/srv -Destination "$script:w/userns-back" -Archive
            (stat -c '%u:%g' "$script:w/userns-back/index.html") | Should -Be '0:0'
            Stop-Container files-userns -Timeout 0 | Out-Null
            Copy-ContainerItem $script:site -Destination files-userns:/srv2 -Archive
            (stat -c '%u:%g' (Join-Path $script:state.Root "containers/$($u.Id)/upper/srv2/index.html")) | Should -Be "$($hostRoot + 1234):$($hostRoot + 5678)"
            ConvertTo-ContainerImage files-userns -Name pester/userns-committed:1 | Out-Null
            Start-Container -Image pester/userns-committed:1 -Command stat, -c, '%u:%g', /srv/index.html, /srv2/index.html -Network none -AutoRemove |
                Should -Be @('0:0', '1234:5678')
            Get-StateMount | Should -BeNullOrEmpty
        }
        finally {
            Remove-Container files-userns -Force
        }
    }
}

Describe 'Export-Container' {
    It 'writes the merged file system, which Import-ContainerImage -Format RootFs takes back; <State>' -ForEach @(
        @{ State = 'running' }
        @{ State = 'exited' }
    ) {
        $name = "files-export-$State"
        Start-Container -Image pester/files:1 -Name $name -Command sh, -c, 'echo exported > /state.txt; rm /bin/id; exec sleep 300' -Network none -Detach | Out-Null
        Start-Sleep -Milliseconds 500
        if ($State -eq 'exited') { Stop-Container $name -Timeout 0 | Out-Null }
        $file = Export-Container $name -Path "$script:w/$name.tar"
        $file.Name | Should -Be "$name.tar"
        $names = tar -tf $file.FullName
        $names | Should -Contain 'state.txt'
        $names | Should -Not -Contain 'bin/id'
        $names | Should -Not -Contain 'proc/self'
        Import-ContainerImage $file.FullName -Format RootFs -Name "pester/exported-${State}:1" -Command sh | Out-Null
        Start-Container -Image "pester/exported-${State}:1" -Command cat, /state.txt -Network none -AutoRemove | Should -Be 'exported'
        Remove-Container $name -Force
        Get-StateMount | Should -BeNullOrEmpty
    }
}

Describe 'ConvertTo-ContainerImage' {
    BeforeAll {
        $script:k = Start-Container -Image pester/files:1 -Name files-commit -Command sleep, 300 -Network none -Detach
        # A new file, a deleted image file (a whiteout), a directory deleted and made again (opaque).
        Exec files-commit 'echo state > /data.txt; rm /bin/id; mkdir -p /etc/conf.d; echo old > /etc/conf.d/old; rm -rf /etc/conf.d; mkdir /etc/conf.d; echo new > /etc/conf.d/new' | Out-Null
        $script:img = Get-Container files-commit | ConvertTo-ContainerImage -Name pester/committed:1 -Change 'CMD ["cat","/data.txt"]', 'ENV A=1 B="two words"', 'LABEL stage=committed', 'WORKDIR /etc', 'EXPOSE 8080/udp' -Author me -Message 'a snapshot'
    }
    AfterAll {
        Remove-Container files-commit -Force
    }

    It 'adds one layer on top of the image''s, and leaves the container running' {
        $base = Get-ContainerImage pester/files:1
        $script:img.RepoTags | Should -Be @('pester/committed:1')
        $script:img.Layers.Count | Should -Be ($base.Layers.Count + 1)
        $script:img.Layers[0] | Should -Be $base.Layers[0]
        (Get-Container files-commit).State | Should -Be 'Running'
    }

    It 'applies -Change to the config' {
        $config = $script:img.Config
        $config.Cmd | Should -Be @('cat', '/data.txt')
        $config.Env | Should -Contain 'A=1'
        $config.Env | Should -Contain 'B=two words'
        $config.Labels['stage'] | Should -Be 'committed'
        $config.WorkingDir | Should -Be '/etc'
        $config.ExposedPorts | Should -Contain '8080/udp'
    }

    It 'runs with the file there, the deleted file still deleted and the remade directory opaque' {
        Start-Container -Image pester/committed:1 -Network none -AutoRemove | Should -Be 'state'
        $out = Start-Container -Image pester/committed:1 -Network none -AutoRemove -Command sh, -c, 'pwd; echo $B; ls /bin/id 2>/dev/null || echo no-id; ls /etc/conf.d'
        $out | Should -Be @('/etc', 'two words', 'no-id', 'new')
    }

    It 'records author and message in the image config' {
        Export-ContainerImage pester/committed:1 -Path "$script:w/committed.tar" -Format OciArchive | Out-Null
        $dir = Join-Path $script:w 'committed'
        New-Item -ItemType Directory $dir | Out-Null
        tar -C $dir -xf "$script:w/committed.tar"
        $config = Get-Content (Join-Path $dir "blobs/sha256/$($script:img.Id.Substring(7))") -Raw | ConvertFrom-Json
        $config.author | Should -Be 'me'
        $config.history[-1].comment | Should -Be 'a snapshot'
    }

    It 'refuses a change docker commit does not accept' {
        { ConvertTo-ContainerImage files-commit -Name pester/bad:1 -Change 'RUN echo hi' -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidChange*'
        Get-ContainerImage -ErrorAction SilentlyContinue | Where-Object { $_.RepoTags -contains 'pester/bad:1' } | Should -BeNullOrEmpty
    }
}

Describe 'Moving a container with its state to another state root' {
    It 'commits, exports, imports into a second root and runs with the file there' {
        Start-Container -Image pester/files:1 -Name files-move -Command sh, -c, 'echo moved-state > /home.txt; rm /bin/id; exec sleep 300' -Network none -Detach | Out-Null
        Start-Sleep -Milliseconds 500
        ConvertTo-ContainerImage files-move -Name pester/moved:1 | Out-Null
        Export-ContainerImage pester/moved:1 -Path "$script:w/moved.tar" | Out-Null
        Export-Container files-move -Path "$script:w/moved-rootfs.tar" | Out-Null
        Remove-Container files-move -Force
        Remove-ContainerImage pester/moved:1 | Out-Null

        $first = @{ Root = $env:PSCONTAINER_ROOT; RunRoot = $env:PSCONTAINER_RUNROOT }
        $second = New-TestStateRoot -Prefix 'psc-files-second'
        try {
            Import-ContainerImage "$script:w/moved.tar" | Out-Null
            Start-Container -Image pester/moved:1 -Command sh, -c, 'cat /home.txt; ls /bin/id 2>/dev/null || echo no-id' -Network none -AutoRemove |
                Should -Be @('moved-state', 'no-id')
            Import-ContainerImage "$script:w/moved-rootfs.tar" -Format RootFs -Name pester/moved-rootfs:1 -Command sh | Out-Null
            Start-Container -Image pester/moved-rootfs:1 -Command cat, /home.txt -Network none -AutoRemove | Should -Be 'moved-state'
            @(Get-TestMount -Path $second.Root) | Where-Object { $_ -notlike '*/shm' } | Should -BeNullOrEmpty
        }
        finally {
            Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
            Remove-TestStateRoot $second
            $env:PSCONTAINER_ROOT = $first.Root
            $env:PSCONTAINER_RUNROOT = $first.RunRoot
        }
    }
}
