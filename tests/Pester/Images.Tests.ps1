#Requires -Version 7.4
<#
    Images: import (root filesystem, OCI layout dir/tar, docker save archives old and new, compressed), inspect, tag,
    export (read back by skopeo), remove, whiteouts through a real overlay mount, hostile and corrupt archives, the
    pipeline, two sessions at once, tab completion. Every fixture is built here from busybox-static, umoci and
    skopeo; nothing is downloaded. Runs in a private state root that it deletes at the end.
#>

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $modulePath = Get-TestModulePath
    # The private root is set before the module's first cmdlet call; the default root is never touched.
    $script:state = New-TestStateRoot
    $script:root = $state.Root
    $script:work = $state.Work
    Import-Module $modulePath -Force
    Assert-TestTool @{ umoci = 'umoci'; skopeo = 'skopeo'; zstd = 'zstd'; gzip = 'gzip'; tar = 'tar'; '/bin/busybox' = 'busybox-static' }

    function Clear-Images {
        Get-ContainerImage | Remove-ContainerImage -Force -ErrorAction SilentlyContinue
    }

    # Removes every image, and collects garbage even when there is no image to remove (an earlier failed import may
    # have left content behind), so the next test starts from an empty store.
    function Reset-Store {
        $marker = "$work/reset-marker.tar"
        if (-not (Test-Path $marker)) { New-TestTar -Path $marker -Entry @(@{ Name = 'marker'; Content = 'reset' }) | Out-Null }
        Import-ContainerImage -Path $marker -Format RootFs -ErrorAction Stop | Out-Null
        Clear-Images
    }

    function Invoke-Skopeo {
        $output = & skopeo @args 2>&1
        if ($LASTEXITCODE -ne 0) { throw "skopeo $($args -join ' ') failed: $($output -join "`n")" }
        ($output -join "`n") | ConvertFrom-Json
    }

    function Read-TarMember([string]$Tar, [string]$Member) {
        $text = & tar -xOf $Tar $Member 2>&1
        if ($LASTEXITCODE -ne 0) { throw "tar -xOf $Tar $Member failed: $text" }
        ($text -join "`n") | ConvertFrom-Json
    }

    # Imports and collects errors, terminating or not, so a test can look at both.
    function Import-Collect {
        param([Parameter(Mandatory)][string[]]$Path, [hashtable]$Parameters = @{})
        $errs = $null
        $thrown = @()
        $images = @()
        try {
            $images = @(Import-ContainerImage -Path $Path @Parameters -ErrorAction SilentlyContinue -ErrorVariable errs)
        }
        catch {
            $thrown = @($_)
        }
        [pscustomobject]@{ Images = $images; Errors = @(@($errs) + $thrown | Where-Object { $_ -is [Management.Automation.ErrorRecord] }) }
    }

    # ---- fixtures ----
    $script:fx = @{}
    $fx.Busybox = (New-TestBusyboxRootFs -Path "$work/busybox.tar").FullName
    $fx.BusyboxGz = (Compress-TestFile -Path $fx.Busybox -Format gzip).FullName

    $fx.Umoci = New-TestUmociImage -Directory "$work/umoci" -Tag v1
    $fx.UmociInfo = Get-TestOciLayoutImage -Layout $fx.Umoci.Layout -Tag v1
    $fx.OciTar = "$work/umoci-layout.tar"
    Invoke-TestTool tar --numeric-owner -C $fx.Umoci.Layout -cf $fx.OciTar . | Out-Null
    $fx.DockerArchive = "$work/umoci-docker.tar"
    Invoke-TestTool skopeo copy -q "oci:$($fx.Umoci.Reference)" "docker-archive:$($fx.DockerArchive):fixture/umoci-docker:v1" | Out-Null
    $fx.OciArchive = "$work/umoci-oci-archive.tar"
    Invoke-TestTool skopeo copy -q "oci:$($fx.Umoci.Reference)" "oci-archive:$($fx.OciArchive)" | Out-Null
    $fx.DockerArchiveGz = (Compress-TestFile -Path $fx.DockerArchive -Format gzip).FullName
    $fx.DockerArchiveZst = (Compress-TestFile -Path $fx.DockerArchive -Format zstd).FullName
    $fx.OciArchiveZstdLayers = "$work/umoci-zstd-layers.tar"
    & skopeo copy -q --dest-compress-format zstd "oci:$($fx.Umoci.Reference)" "oci-archive:$($fx.OciArchiveZstdLayers)" 2>&1 | Out-Null
    if ($LASTEXITCODE -ne 0) { $fx.OciArchiveZstdLayers = $null }   # this skopeo cannot write zstd layers

    # A docker save archive in the legacy layout, two images sharing a base layer; image b's copy of that layer is a
    # layer.tar symlink to image a's, as old docker save wrote it.
    $l1 = New-TestTar -Path "$work/legacy-l1.tar" -Entry @(
        @{ Name = 'etc'; Type = 'Directory' }, @{ Name = 'etc/os-release'; Content = "ID=legacy`n" },
        @{ Name = 'bin'; Type = 'Directory' }, @{ Name = 'bin/tool'; Content = '#!/bin/sh'; Mode = 0x1ED })
    $l2 = New-TestTar -Path "$work/legacy-l2.tar" -Entry @(
        @{ Name = 'etc'; Type = 'Directory' }, @{ Name = 'etc/b-only'; Content = 'b' }, @{ Name = 'bin/.wh.tool' })
    $fx.Legacy = New-TestDockerArchive -Path "$work/legacy.tar" -Image @(
        @{ RepoTags = @('legacy/a:1'); Layers = @($l1.FullName); Config = @{ Cmd = @('/bin/tool'); Env = @('A=1') } },
        @{ RepoTags = @('legacy/b:1'); Layers = @($l1.FullName, $l2.FullName); Config = @{ Cmd = @('/bin/true'); Env = @('B=2'); User = '1000' } })

    $script:canary = "$work/canary"
    New-Item -ItemType Directory -Force "$canary/dir" | Out-Null
    [IO.File]::WriteAllText("$canary/file", 'canary file')
    [IO.File]::WriteAllText("$canary/dir/inner", 'canary inner')
}

AfterAll {
    Remove-TestStateRoot $script:state
}

Describe 'Import-ContainerImage of a root filesystem (docker import)' {
    BeforeAll { Reset-Store }

    It 'imports a busybox rootfs tar with -Name, -Command, -Environment and -WorkingDirectory' {
        $image = Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name fixture/busybox -Command '/bin/sh', '-c', 'echo hi' `
            -Environment @{ FOO = 'bar'; PATH = '/bin' } -WorkingDirectory /work -User nobody -Label @{ origin = 'pester' } -ExposePort 80, 53/udp -ErrorAction Stop
        @($image).Count | Should -Be 1
        $image.RepoTags | Should -Be @('fixture/busybox:latest')
        $image.Config.Cmd | Should -Be @('/bin/sh', '-c', 'echo hi')
        $image.Config.Env | Should -Contain 'FOO=bar'
        $image.Config.Env | Should -Contain 'PATH=/bin'
        $image.Config.WorkingDir | Should -Be '/work'
        $image.Config.User | Should -Be 'nobody'
        $image.Config.Labels['origin'] | Should -Be 'pester'
        $image.Config.ExposedPorts | Should -Be @('53/udp', '80/tcp')
        $image.Architecture | Should -Be (Get-TestHostArchitecture)
        $image.Os | Should -Be 'linux'
        # One layer whose diff id is the tar itself; the id is the digest of the stored config.
        $image.Layers | Should -Be @(Get-TestSha256 -Path $fx.Busybox)
        Get-TestSha256 -Path "$root/image/blobs/sha256/$($image.Id.Substring(7))" | Should -Be $image.Id
        $image.Size | Should -BeGreaterThan (Get-Item /bin/busybox).Length
    }

    It 'is listed by Get-ContainerImage by name, full name, id prefix and manifest digest' {
        $image = Get-ContainerImage fixture/busybox -ErrorAction Stop
        @($image).Count | Should -Be 1
        (Get-ContainerImage 'docker.io/fixture/busybox:latest').Id | Should -Be $image.Id
        (Get-ContainerImage -Id $image.ShortId).Id | Should -Be $image.Id
        (Get-ContainerImage -Id $image.Id).Id | Should -Be $image.Id
        (Get-ContainerImage -Digest $image.ManifestDigest).Id | Should -Be $image.Id
        $image.ShortId | Should -Be $image.Id.Substring(7, 12)
    }

    It 'unpacks busybox into its layer directory byte for byte, with its symlinks and modes' {
        $image = Get-ContainerImage fixture/busybox
        $dir = Get-TestLayerDirectory -Root $root -DiffId $image.Layers
        (Get-FileHash "$dir/bin/busybox").Hash | Should -Be (Get-FileHash /bin/busybox).Hash
        (Get-Item "$dir/bin/sh").LinkTarget | Should -Be 'busybox'
        (& stat -c '%a %u:%g' "$dir/tmp") | Should -Be '1777 0:0'
        (& stat -c '%a' "$dir/bin/busybox") | Should -Be '755'
    }

    It 'recognizes a gzip-compressed root filesystem without -Format' {
        $image = Import-ContainerImage -Path $fx.BusyboxGz -Name fixture/busybox-gz -ErrorAction Stop
        $image.Layers | Should -Be @(Get-TestSha256 -Path $fx.Busybox)
        $image.RepoTags | Should -Be @('fixture/busybox-gz:latest')
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'reports an unknown image as ImageNotFound / ObjectNotFound' {
        Get-ContainerImage no/such:image -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        # A wildcard that matches nothing is not an error.
        Get-ContainerImage 'nothing*' -ErrorAction Stop | Should -BeNullOrEmpty
    }
}

Describe 'Import-ContainerImage of OCI layouts and docker archives' {
    BeforeAll { Reset-Store }

    It 'imports the umoci OCI layout directory with its config, layers and manifest' {
        $expected = $fx.UmociInfo
        $image = Import-ContainerImage -Path $fx.Umoci.Layout -Name fixture/umoci:v1 -ErrorAction Stop
        @($image).Count | Should -Be 1
        $image.Id | Should -Be $expected.ConfigDigest
        $image.ManifestDigest | Should -Be $expected.ManifestDigest
        $image.Layers | Should -Be $expected.DiffIds
        $image.Layers.Count | Should -Be 3
        $image.RepoTags | Should -Contain 'fixture/umoci:v1'
        $image.Architecture | Should -Be $expected.Config.architecture
        $image.Architecture | Should -Be (Get-TestHostArchitecture)   # umoci new writes the host's
        $image.Os | Should -Be 'linux'
        $image.Config.Cmd | Should -Be @('/bin/sh')
        $image.Config.Env | Should -Contain 'FOO=bar'
        $image.Config.WorkingDir | Should -Be '/data'
        $image.Config.Labels['fixture'] | Should -Be 'umoci'
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'imports the same layout as a tar file to the same image id' {
        $image = Import-ContainerImage -Path $fx.OciTar -Name fixture/umoci:tar -ErrorAction Stop
        $image.Id | Should -Be $fx.UmociInfo.ConfigDigest
        $all = @(Get-ContainerImage -Id $image.Id)
        $all.Count | Should -Be 1
        $all[0].RepoTags | Should -Contain 'fixture/umoci:v1'
        $all[0].RepoTags | Should -Contain 'fixture/umoci:tar'
    }

    It 'imports <Fixture> to the same image' -TestCases @(
        @{ Fixture = 'DockerArchive'; Name = $null; Tag = 'fixture/umoci-docker:v1' }
        @{ Fixture = 'OciArchive'; Name = 'fixture/umoci-oci:v1'; Tag = 'fixture/umoci-oci:v1' }
        @{ Fixture = 'DockerArchiveGz'; Name = 'fixture/umoci-gz:v1'; Tag = 'fixture/umoci-gz:v1' }
        @{ Fixture = 'DockerArchiveZst'; Name = 'fixture/umoci-zst:v1'; Tag = 'fixture/umoci-zst:v1' }
        @{ Fixture = 'OciArchiveZstdLayers'; Name = 'fixture/umoci-zstd-layers:v1'; Tag = 'fixture/umoci-zstd-layers:v1' }
    ) {
        param($Fixture, $Name, $Tag)
        if (-not $fx[$Fixture]) { Set-ItResult -Skipped -Because "skopeo here cannot write $Fixture"; return }
        $parameters = @{}
        if ($Name) { $parameters.Name = $Name }
        $image = Import-ContainerImage -Path $fx[$Fixture] @parameters -ErrorAction Stop
        @($image).Count | Should -Be 1
        $image.Id | Should -Be $fx.UmociInfo.ConfigDigest
        $image.Layers | Should -Be $fx.UmociInfo.DiffIds
        (Get-ContainerImage $Tag -ErrorAction Stop).Id | Should -Be $image.Id
        @(Get-ContainerImage | Where-Object Id -EQ $image.Id).Count | Should -Be 1
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'stores zstd layers as zstd blobs' {
        if (-not $fx.OciArchiveZstdLayers) { Set-ItResult -Skipped -Because 'this skopeo cannot write zstd layers'; return }
        $image = Get-ContainerImage fixture/umoci-zstd-layers:v1 -ErrorAction Stop
        $rows = @(Invoke-TestSqlite "$root/state.db" "SELECT media_type, blob_digest FROM image_layers WHERE image_id = '$($image.Id)' ORDER BY position")
        $rows.Count | Should -Be 3
        foreach ($r in $rows) {
            $r.media_type | Should -Match 'zstd'
            $head = [byte[]]::new(4)
            $f = [IO.File]::OpenRead("$root/image/blobs/sha256/$($r.blob_digest.Substring(7))")
            try { $null = $f.Read($head, 0, 4) } finally { $f.Dispose() }
            [Convert]::ToHexString($head) | Should -Be '28B52FFD'
        }
    }

    It 'imports a legacy docker save archive whose layer.tar is a symlink to another layer directory' {
        $images = @(Import-ContainerImage -Path $fx.Legacy.Path -ErrorAction Stop)
        $images.Count | Should -Be 2
        $a = Get-ContainerImage legacy/a:1 -ErrorAction Stop
        $b = Get-ContainerImage legacy/b:1 -ErrorAction Stop
        $a.Id | Should -Be $fx.Legacy.Images[0].Id
        $b.Id | Should -Be $fx.Legacy.Images[1].Id
        $a.Layers | Should -Be $fx.Legacy.Images[0].DiffIds
        $b.Layers | Should -Be $fx.Legacy.Images[1].DiffIds
        $a.Config.Cmd | Should -Be @('/bin/tool')
        $b.Config.Cmd | Should -Be @('/bin/true')
        $b.Config.User | Should -Be '1000'
        # The base layer is unpacked once and shared.
        $aDirs = @(Get-TestLayerDirectory -Root $root -DiffId $a.Layers)
        $bDirs = @(Get-TestLayerDirectory -Root $root -DiffId $b.Layers)
        $bDirs[0] | Should -Be $aDirs[0]
        Get-Content -Raw "$($aDirs[0])/etc/os-release" | Should -Be "ID=legacy`n"
        (& stat -c '%F %t:%T' "$($bDirs[1])/bin/tool") | Should -Be 'character special file 0:0'
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}

Describe 'Whiteouts across three layers' {
    BeforeAll {
        Reset-Store
        $script:umoci = Import-ContainerImage -Path $fx.Umoci.Layout -Name fixture/umoci:v1 -ErrorAction Stop
        $script:layerDirs = @(Get-TestLayerDirectory -Root $root -DiffId $umoci.Layers)
        $script:mnt = "$work/mnt-whiteouts"
    }
    AfterEach { Dismount-TestOverlay -Target $mnt }

    It 'keeps each layer in the directory of its chain id, as the store records it' {
        $rows = @(Invoke-TestSqlite "$root/state.db" "SELECT chain_id FROM image_layers WHERE image_id = '$($umoci.Id)' ORDER BY position")
        $rows.chain_id | Should -Be @(Get-TestChainId -DiffId $umoci.Layers)
        foreach ($d in $layerDirs) { $d | Should -Exist }
    }

    It 'writes .wh. files as 0/0 character devices and .wh..wh..opq as trusted.overlay.opaque' {
        $l1, $l2, $l3 = $layerDirs
        (& stat -c '%F %t:%T' "$l2/etc/deleted") | Should -Be 'character special file 0:0'
        (& stat -c '%F %t:%T' "$l2/keep/sub") | Should -Be 'character special file 0:0'
        "$l2/etc/.wh.deleted" | Should -Not -Exist
        "$l3/data/.wh..wh..opq" | Should -Not -Exist
        Get-Content -Raw "$l1/etc/deleted" | Should -Be 'to be deleted'   # lower layers are untouched
        if (Get-Command getfattr -ErrorAction Ignore) {
            (& getfattr --absolute-names --only-values -n trusted.overlay.opaque "$l3/data") | Should -Be 'y'
            & getfattr --absolute-names --only-values -n trusted.overlay.opaque "$l1/data" 2>$null
            $LASTEXITCODE | Should -Not -Be 0
        }
    }

    It 'gives the right final tree when the layers are mounted as overlayfs' {
        $reason = Test-TestOverlaySupport
        if ($reason) { Set-ItResult -Skipped -Because $reason; return }
        Mount-TestOverlay -LowerDir $layerDirs -Target $mnt
        Get-Content -Raw "$mnt/etc/changed" | Should -Be 'v2'
        "$mnt/etc/deleted" | Should -Not -Exist
        Get-Content -Raw "$mnt/keep/k" | Should -Be 'kept'
        "$mnt/keep/sub" | Should -Not -Exist
        @(Get-ChildItem -Force "$mnt/data" | ForEach-Object Name) | Should -Be @('n')
        (Get-Item "$mnt/data/n").Length | Should -Be 512
        @(Get-ChildItem -Force "$mnt/etc" | ForEach-Object Name) | Should -Be @('changed')
    }
}

Describe 'Four layers unpacked side by side' {
    BeforeAll {
        # Plain, gzip and zstd layers, the second one repeated as the fourth (the same blob at two chain ids, both
        # in flight at once), each 1 MB of random data so that all are being read and unpacked together.
        $tars = foreach ($n in 1..3) {
            $data = [byte[]]::new(1MB)
            [Security.Cryptography.RandomNumberGenerator]::Fill($data)
            New-TestTar -Path "$work/side-$n.tar" -Entry @(@{ Name = "layer$n"; Type = 'Directory' }, @{ Name = "layer$n/data"; Content = $data }, @{ Name = 'shared'; Content = "from $n" })
        }
        $script:sideDiffIds = @($tars | ForEach-Object { Get-TestSha256 -Path $_.FullName })
        $layers = @($tars[0].FullName, (Compress-TestFile -Path $tars[1].FullName -Format gzip).FullName, (Compress-TestFile -Path $tars[2].FullName -Format zstd).FullName)
        $script:sideArchive = New-TestDockerArchive -Path "$work/side.tar" -Image @(@{ RepoTags = @('side/four:1'); Layers = @($layers + $layers[1]); DiffIds = @($sideDiffIds + $sideDiffIds[1]) })
    }

    It 'stores each layer in its own chain directory with its own files, and re-imports its export to the same id' {
        Reset-Store
        $image = Import-ContainerImage $sideArchive.Path
        $image.Id | Should -Be $sideArchive.Images[0].Id
        $rows = @(Invoke-TestSqlite (Join-Path $root 'state.db') "SELECT position, chain_id, diff_id, media_type FROM image_layers WHERE image_id = '$($image.Id)' ORDER BY position")
        $rows.Count | Should -Be 4
        ($rows.diff_id -join ',') | Should -Be ((@($sideDiffIds) + $sideDiffIds[1]) -join ',')
        $rows.media_type[1] | Should -BeLike '*gzip'
        $rows.media_type[2] | Should -BeLike '*zstd'
        foreach ($i in 0..3) {
            $n = @(1, 2, 3, 2)[$i]
            $diff = Join-Path $root "layers/$($rows[$i].chain_id.Substring(7))/diff"
            @(Get-ChildItem -LiteralPath $diff -Name | Sort-Object) | Should -Be @("layer$n", 'shared')
            Get-Content -Raw -LiteralPath "$diff/shared" | Should -Be "from $n"
            (Get-Item -LiteralPath "$diff/layer$n/data").Length | Should -Be 1MB
        }
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty

        $export = "$work/side-export.tar"
        Export-ContainerImage side/four:1 -Path $export
        Reset-Store
        (Import-ContainerImage $export).Id | Should -Be $image.Id
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}

Describe 'Tag, export and remove' {
    BeforeAll {
        Reset-Store
        $script:docker = Import-ContainerImage -Path $fx.DockerArchive -ErrorAction Stop
        $script:exportDocker = "$work/export-docker.tar"
        $script:exportOci = "$work/export-oci.tar"
    }

    It 'Add-ContainerImageTag adds names that find the same image' {
        $tagged = Add-ContainerImageTag fixture/umoci-docker:v1 fixture/umoci:extra, localhost:5000/fixture/umoci:2 -PassThru -ErrorAction Stop
        $tagged.Id | Should -Be $docker.Id
        $tagged.RepoTags | Should -Contain 'fixture/umoci-docker:v1'
        $tagged.RepoTags | Should -Contain 'fixture/umoci:extra'
        $tagged.RepoTags | Should -Contain 'localhost:5000/fixture/umoci:2'
        (Get-ContainerImage fixture/umoci:extra).Id | Should -Be $docker.Id
        (Get-ContainerImage localhost:5000/fixture/umoci:2).Id | Should -Be $docker.Id
        @(Get-ContainerImage).Count | Should -Be 1
    }

    It 'Add-ContainerImageTag refuses an invalid name' {
        Add-ContainerImageTag fixture/umoci-docker:v1 'Bad Name!' -ErrorAction SilentlyContinue -ErrorVariable err
        $err.Count | Should -BeGreaterThan 0
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidReference,*'
        (Get-ContainerImage -Id $docker.Id).RepoTags.Count | Should -Be 3
    }

    It 'exports to a docker archive that skopeo reads with the same layers' {
        $file = Export-ContainerImage fixture/umoci:extra -Path $exportDocker -ErrorAction Stop
        $file | Should -BeOfType [IO.FileInfo]
        $file.FullName | Should -Be $exportDocker
        $image = Get-ContainerImage fixture/umoci:extra
        $inspect = Invoke-Skopeo inspect "docker-archive:$exportDocker"
        $inspect.Layers | Should -Be $image.Layers
        $inspect.Architecture | Should -Be $image.Architecture
        (Invoke-Skopeo inspect --config "docker-archive:$exportDocker").rootfs.diff_ids | Should -Be $image.Layers
        (Invoke-Skopeo inspect "docker-archive:${exportDocker}:fixture/umoci:extra").Layers | Should -Be $image.Layers
        # Exported by one name: only that name is in the archive.
        (Read-TarMember $exportDocker manifest.json)[0].RepoTags | Should -Be @('fixture/umoci:extra')
        @(& tar -tf $exportDocker | Where-Object { $_ -like '*.tmp' }) | Should -BeNullOrEmpty
        @(Get-ChildItem -Force $work -Filter '.*.tmp') | Should -BeNullOrEmpty
    }

    It 'exports a docker archive that podman load (docker load''s format) takes, with the same image id' {
        if (-not (Get-Command podman -ErrorAction SilentlyContinue)) { Set-ItResult -Skipped -Because 'podman is not installed'; return }
        $image = Get-ContainerImage fixture/umoci:extra
        Export-ContainerImage fixture/umoci:extra -Path $exportDocker -ErrorAction Stop | Out-Null
        # A private podman store, so a user's podman images are never touched.
        $p = "/tmp/psc-pl-$([guid]::NewGuid().ToString('N').Substring(0, 8))"   # podman wants a runroot under 50 characters
        $base = @('--root', "$p/storage", '--runroot', "$p/run", '--tmpdir', "$p/tmp", '--storage-driver', 'overlay')
        try {
            $out = & podman @base load -i $exportDocker 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($out -join "`n")
            $loaded = (& podman @base image inspect --format '{{.Id}}' localhost/fixture/umoci:extra 2>$null) ?? (& podman @base image inspect --format '{{.Id}}' fixture/umoci:extra)
            "sha256:$loaded" | Should -Be $image.Id
        }
        finally {
            & podman @base rmi -af *> $null
            foreach ($m in @(Get-Content /proc/self/mountinfo | ForEach-Object { ($_ -split ' ')[4] } | Where-Object { $_.StartsWith($p) } | Sort-Object Length -Descending)) { & umount -l $m 2>$null }
            & rm -rf --one-file-system $p
        }
    }

    It 'exports to an OCI archive that skopeo reads with the same manifest and layers' {
        $image = Get-ContainerImage fixture/umoci:extra
        Export-ContainerImage -Name fixture/umoci:extra -Path $exportOci -Format OciArchive -ErrorAction Stop | Out-Null
        $manifest = Get-Content -Raw "$root/image/blobs/sha256/$($image.ManifestDigest.Substring(7))" | ConvertFrom-Json
        $inspect = Invoke-Skopeo inspect "oci-archive:$exportOci"
        $inspect.Digest | Should -Be $image.ManifestDigest
        $inspect.Layers | Should -Be @($manifest.layers.digest)
        $inspect.Labels.fixture | Should -Be 'umoci'
        (Invoke-Skopeo inspect --config "oci-archive:$exportOci").rootfs.diff_ids | Should -Be $image.Layers
        (Invoke-Skopeo inspect "oci-archive:${exportOci}:docker.io/fixture/umoci:extra").Digest | Should -Be $image.ManifestDigest
        # An OCI archive is not a docker archive.
        & tar -tf $exportOci | Should -Not -Contain 'manifest.json'
    }

    It 'exports an image given by id under all its tags' {
        $file = "$work/export-by-id.tar"
        Export-ContainerImage $docker.ShortId -Path $file -ErrorAction Stop | Out-Null
        $tags = (Read-TarMember $file manifest.json)[0].RepoTags
        $tags | Should -Contain 'fixture/umoci-docker:v1'
        $tags | Should -Contain 'fixture/umoci:extra'
        $tags | Should -Contain 'localhost:5000/fixture/umoci:2'
        (Invoke-Skopeo inspect "docker-archive:${file}:localhost:5000/fixture/umoci:2").Layers | Should -Be $docker.Layers
    }

    It 'does not overwrite a file with -NoClobber' {
        $before = (Get-FileHash $exportOci).Hash
        Export-ContainerImage fixture/umoci:extra -Path $exportOci -NoClobber -ErrorAction SilentlyContinue -ErrorVariable err | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ExportFileExists,*'
        $err[0].CategoryInfo.Category | Should -Be 'ResourceExists'
        (Get-FileHash $exportOci).Hash | Should -Be $before
    }

    It 'removing one of several tags only untags' {
        $result = Remove-ContainerImage fixture/umoci:extra -PassThru -ErrorAction Stop
        $result.Untagged | Should -Be @('fixture/umoci:extra')
        $result.Deleted | Should -BeNullOrEmpty
        $image = Get-ContainerImage -Id $docker.Id -ErrorAction Stop
        $image.RepoTags | Should -Not -Contain 'fixture/umoci:extra'
        $image.RepoTags.Count | Should -Be 2
    }

    It 'refuses to delete by id an image with several tags without -Force' {
        Remove-ContainerImage $docker.ShortId -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageHasMultipleTags,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidOperation'
        (Get-ContainerImage -Id $docker.Id).RepoTags.Count | Should -Be 2
    }

    It 'deletes the image with its last tag, and -Force deletes by id' {
        Remove-ContainerImage localhost:5000/fixture/umoci:2 -ErrorAction Stop
        $result = Remove-ContainerImage fixture/umoci-docker:v1 -PassThru -ErrorAction Stop
        $result.Deleted | Should -Be @($docker.Id)
        Get-ContainerImage -Id $docker.Id -ErrorAction SilentlyContinue | Should -BeNullOrEmpty

        $again = Import-ContainerImage -Path $fx.DockerArchive -ErrorAction Stop
        Add-ContainerImageTag $again.Id fixture/umoci:other -ErrorAction Stop
        Remove-ContainerImage $again.Id -Force -ErrorAction Stop
        @(Get-ContainerImage).Count | Should -Be 0
    }

    It 're-importing the exports gives the same image id' {
        $fromDocker = Import-ContainerImage -Path $exportDocker -ErrorAction Stop
        $fromDocker.Id | Should -Be $docker.Id
        $fromDocker.Layers | Should -Be $docker.Layers
        $fromDocker.RepoTags | Should -Be @('fixture/umoci:extra')
        $fromOci = Import-ContainerImage -Path $exportOci -ErrorAction Stop
        $fromOci.Id | Should -Be $docker.Id
        $fromOci.ManifestDigest | Should -Be $docker.ManifestDigest
        @(Get-ContainerImage).Count | Should -Be 1
    }

    It 'leaves an empty store, layers/ and blobs/ after every image is removed' {
        Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name fixture/busybox -ErrorAction Stop | Out-Null
        Import-ContainerImage -Path $fx.Legacy.Path -ErrorAction Stop | Out-Null
        @(Get-ContainerImage).Count | Should -Be 4
        Get-ContainerImage | Remove-ContainerImage -Force -ErrorAction Stop
        Get-ContainerImage | Should -BeNullOrEmpty
        @(Get-ChildItem -Force "$root/layers") | Should -BeNullOrEmpty
        @(Get-ChildItem -Force "$root/image/blobs/sha256") | Should -BeNullOrEmpty
        @(Get-ChildItem -Force "$root/tmp") | Should -BeNullOrEmpty
        @((Get-Content -Raw "$root/image/index.json" | ConvertFrom-Json).manifests) | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
    }

    It 'reports removing an unknown image as ImageNotFound' {
        Remove-ContainerImage no/such:image -ErrorAction SilentlyContinue -ErrorVariable err
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImageNotFound,*'
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
    }
}

Describe 'Hostile layers' {
    BeforeEach { Reset-Store }
    BeforeAll {
        $script:canaryBefore = Get-TestTreeSnapshot -Path $canary
        $script:canaryRel = $canary.TrimStart('/')
        function Expand-Placeholder([string]$Text) { $Text.Replace('{canary}', $canary).Replace('{canaryrel}', $canaryRel) }
    }

    It 'contains <Case>' -TestCases @(
        @{ Case = 'an absolute path (docker import strips the leading /)'; Expect = 'Confined'; Inside = '{canaryrel}/abs-file'
            Entries = @(@{ Name = '{canary}/abs-file'; Content = 'x' }) }
        @{ Case = 'an absolute path climbing with ..'; Expect = 'Error'; Id = 'LayerPathEscapes'
            Entries = @(@{ Name = '/../../../../../..{canary}/abs-dotdot'; Content = 'x' }) }
        @{ Case = 'a ../ escape'; Expect = 'Error'; Id = 'LayerPathEscapes'
            Entries = @(@{ Name = 'ok'; Content = 'fine' }, @{ Name = '../../../../../../../..{canary}/dotdot'; Content = 'x' }) }
        @{ Case = 'a ../ escape below a directory'; Expect = 'Error'; Id = 'LayerPathEscapes'
            Entries = @(@{ Name = 'a'; Type = 'Directory' }, @{ Name = 'a/../../escaped'; Content = 'x' }) }
        @{ Case = 'a symlink to outside, then a write through it'; Expect = 'ErrorOrConfined'; Inside = '{canaryrel}/pwned'
            Entries = @(@{ Name = 'link'; Type = 'Symlink'; LinkName = '{canary}' }, @{ Name = 'link/pwned'; Content = 'x' }) }
        @{ Case = 'a relative symlink climbing out, then a write through it'; Expect = 'ErrorOrConfined'; Inside = '{canaryrel}/pwned'
            Entries = @(@{ Name = 'link'; Type = 'Symlink'; LinkName = '../../../../../../../../..{canary}' }, @{ Name = 'link/pwned'; Content = 'x' }) }
        @{ Case = 'a symlink to outside whose target also exists in the layer'; Expect = 'Confined'; Inside = '{canaryrel}/pwned'
            Entries = @(@{ Name = '{canaryrel}'; Type = 'Directory' }, @{ Name = 'link'; Type = 'Symlink'; LinkName = '{canary}' }, @{ Name = 'link/pwned'; Content = 'x' }) }
        @{ Case = 'a hard link to a file outside'; Expect = 'Error'; Id = 'LayerEntryRefused|LayerEntryFailed'
            Entries = @(@{ Name = 'h'; Type = 'HardLink'; LinkName = '{canary}/file' }, @{ Name = 'h'; Content = 'overwritten' }) }
        @{ Case = 'a hard link climbing out with ..'; Expect = 'Error'; Id = 'LayerPathEscapes'
            Entries = @(@{ Name = 'h'; Type = 'HardLink'; LinkName = '../../../../../../../..{canary}/file' }, @{ Name = 'h'; Content = 'overwritten' }) }
        @{ Case = 'a directory swapped for a symlink to outside'; Expect = 'ErrorOrConfined'; Inside = '{canaryrel}/dir/pwned'
            Entries = @(@{ Name = 'd'; Type = 'Directory' }, @{ Name = 'd/ok'; Content = 'ok' }, @{ Name = 'd'; Type = 'Symlink'; LinkName = '{canary}/dir' }, @{ Name = 'd/pwned'; Content = 'x' }) }
        @{ Case = 'a file written over a symlink to outside'; Expect = 'Confined'; Inside = 'evil'
            Entries = @(@{ Name = 'evil'; Type = 'Symlink'; LinkName = '{canary}/file' }, @{ Name = 'evil'; Content = 'overwritten' }) }
    ) {
        param($Case, $Expect, $Id, $Inside, $Entries)
        $entries = foreach ($e in $Entries) {
            $copy = @{} + $e
            $copy.Name = Expand-Placeholder $e.Name
            if ($e.ContainsKey('LinkName')) { $copy.LinkName = Expand-Placeholder $e.LinkName }
            $copy
        }
        $tar = New-TestTar -Path "$work/hostile-$([guid]::NewGuid().ToString('N')).tar" -Entry $entries
        $before = Get-TestStoreContent -Root $root

        $result = Import-Collect -Path $tar.FullName -Parameters @{ Format = 'RootFs'; Name = 'hostile/layer:1' }

        Get-TestTreeSnapshot -Path $canary | Should -Be $canaryBefore
        $failed = $result.Errors.Count -gt 0
        if ($Expect -eq 'Error' -or ($Expect -eq 'ErrorOrConfined' -and $failed)) {
            $pattern = if ($Expect -eq 'Error') { $Id } else { 'LayerEntryFailed|LayerEntryRefused|LayerPathEscapes' }
            $result.Errors.Count | Should -Be 1
            $result.Errors[0].FullyQualifiedErrorId | Should -Match "^($pattern),"
            $result.Errors[0].CategoryInfo.Category | Should -BeIn 'SecurityError', 'InvalidData'
            $result.Images | Should -BeNullOrEmpty
            Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        }
        else {
            $result.Errors | Should -BeNullOrEmpty
            $result.Images.Count | Should -Be 1
            $dir = Get-TestLayerDirectory -Root $root -DiffId $result.Images[0].Layers
            $confined = Join-Path $dir (Expand-Placeholder $Inside)
            $confined | Should -Exist
            (Get-Item -Force $confined).LinkTarget | Should -BeNullOrEmpty
            Remove-ContainerImage $result.Images[0].Id -Force -ErrorAction Stop
            Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        }
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'refuses a hostile layer inside a docker archive and leaves nothing of the archive behind' {
        $good = New-TestTar -Path "$work/hostile-good-layer.tar" -Entry @(@{ Name = 'etc'; Type = 'Directory' }, @{ Name = 'etc/good'; Content = 'a good layer first' })
        $bad = New-TestTar -Path "$work/hostile-bad-layer.tar" -Entry @(@{ Name = '../../../../../../..' + $canary + '/from-archive'; Content = 'x' })
        $archive = New-TestDockerArchive -Path "$work/hostile-docker.tar" -Image @(@{ RepoTags = @('hostile/docker:1'); Layers = @($good.FullName, $bad.FullName) })
        $before = Get-TestStoreContent -Root $root

        $result = Import-Collect -Path $archive.Path

        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'LayerPathEscapes,*'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'SecurityError'
        Get-ContainerImage hostile/docker -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-TestTreeSnapshot -Path $canary | Should -Be $canaryBefore
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}

Describe 'Corrupt and wrong input' {
    BeforeEach {
        Reset-Store
        # Images that stay, so "unchanged" is checked against a store that has content.
        Import-ContainerImage -Path $fx.Legacy.Path -ErrorAction Stop | Out-Null
    }
    BeforeAll {
        $script:goodLayer = New-TestTar -Path "$work/corrupt-good.tar" -Entry @(@{ Name = 'good'; Content = 'good content' })
        $script:otherLayer = New-TestTar -Path "$work/corrupt-other.tar" -Entry @(@{ Name = 'other'; Content = 'other content' })
    }

    It 'refuses a docker archive whose <Case> does not match the config diff_id (DiffIdMismatch) and leaves the store unchanged' -TestCases @(
        @{ Case = 'only layer'; Layers = 1 }
        @{ Case = 'second layer'; Layers = 2 }
    ) {
        param($Case, $Layers)
        $layerFiles = @($goodLayer.FullName, $otherLayer.FullName)[0..($Layers - 1)]
        $diffIds = @($layerFiles | ForEach-Object { Get-TestSha256 -Path $_ })
        $diffIds[-1] = Get-TestSha256 -Text "not the layer $Layers"
        $archive = New-TestDockerArchive -Path "$work/diffid-mismatch-$Layers.tar" -Image @(@{ RepoTags = @("corrupt/diffid:$Layers"); Layers = $layerFiles; DiffIds = $diffIds })
        $before = Get-TestStoreContent -Root $root

        $result = Import-Collect -Path $archive.Path

        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'DiffIdMismatch,*'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $result.Images | Should -BeNullOrEmpty
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'refuses an OCI layout whose layer blob does not match its digest (DigestMismatch)' {
        $copy = "$work/corrupt-layout"
        Copy-Item -Recurse $fx.Umoci.Layout $copy
        $layers = $fx.UmociInfo.LayerDigests
        # Put another valid layer's bytes under the first layer's name.
        Copy-Item -Force "$copy/blobs/sha256/$($layers[1].Substring(7))" "$copy/blobs/sha256/$($layers[0].Substring(7))"
        $before = Get-TestStoreContent -Root $root

        $result = Import-Collect -Path $copy

        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -Match '^(DigestMismatch|SizeMismatch),'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
    }

    It 'refuses a file that is not a tar (<Format>)' -TestCases @(
        @{ Format = 'Auto'; Id = 'ImportNotAnArchive' }
        @{ Format = 'DockerArchive'; Id = 'ImportNotAnArchive' }
        @{ Format = 'RootFs'; Id = 'LayerInvalid' }
    ) {
        param($Format, $Id)
        $file = "$work/not-a-tar.bin"
        [IO.File]::WriteAllText($file, ("this is not a tar archive`n" * 100))
        $before = Get-TestStoreContent -Root $root
        $result = Import-Collect -Path $file -Parameters @{ Format = $Format }
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'reports a missing path with category ObjectNotFound' {
        $result = Import-Collect -Path "$work/does-not-exist.tar"
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ImportPathNotFound,*'
    }

    It 'refuses a directory that is not an OCI layout' {
        New-Item -ItemType Directory -Force "$work/not-a-layout/blobs" | Out-Null
        [IO.File]::WriteAllText("$work/not-a-layout/readme.txt", 'just a directory')
        $before = Get-TestStoreContent -Root $root
        $result = Import-Collect -Path "$work/not-a-layout"
        $result.Errors.Count | Should -Be 1
        $result.Errors[0].FullyQualifiedErrorId | Should -BeLike 'ImportUnknownFormat,*'
        $result.Errors[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
    }
}

Describe 'Pipeline' {
    BeforeAll {
        Reset-Store
        $script:pipeDir = "$work/pipe"
        New-Item -ItemType Directory -Force $pipeDir | Out-Null
        Copy-Item $fx.DockerArchive "$pipeDir/a-umoci-docker.tar"
        [IO.File]::WriteAllText("$pipeDir/b-broken.tar", ("not a tar`n" * 100))
        Copy-Item $fx.Legacy.Path "$pipeDir/c-legacy.tar"
        Copy-Item $fx.OciArchive "$pipeDir/d-oci-archive.tar"
    }

    It 'Get-ChildItem *.tar | Import-ContainerImage imports every good archive and reports the bad one' {
        $images = @(Get-ChildItem "$pipeDir/*.tar" | Import-ContainerImage -ErrorAction SilentlyContinue -ErrorVariable err)
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike 'ImportNotAnArchive,*'
        $err[0].TargetObject | Should -BeLike '*b-broken.tar'
        # umoci image (docker + OCI archive: one image), legacy a and b.
        $images.Count | Should -Be 4
        @($images.Id | Sort-Object -Unique).Count | Should -Be 3
        $all = @(Get-ContainerImage)
        $all.Count | Should -Be 3
        $all.Id | Should -Contain $fx.UmociInfo.ConfigDigest
        (Get-ContainerImage legacy/b:1).Id | Should -Be $fx.Legacy.Images[1].Id
    }

    It 'Get-ContainerImage fixture* | Export-ContainerImage writes every matching image to one archive' {
        Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name fixture/busybox -ErrorAction Stop | Out-Null
        $file = "$work/pipe-export.tar"
        $out = Get-ContainerImage fixture* | Export-ContainerImage -Path $file -ErrorAction Stop
        @($out).Count | Should -Be 1
        $manifest = @(Read-TarMember $file manifest.json)
        $manifest.Count | Should -Be 2
        @($manifest.RepoTags | Sort-Object) | Should -Be @('fixture/busybox:latest', 'fixture/umoci-docker:v1')
        (Invoke-Skopeo inspect "docker-archive:${file}:fixture/busybox:latest").Layers | Should -Be (Get-ContainerImage fixture/busybox).Layers
        (Invoke-Skopeo inspect "docker-archive:${file}:fixture/umoci-docker:v1").Layers | Should -Be $fx.UmociInfo.DiffIds
    }

    It 'Remove-ContainerImage -WhatIf leaves the image' {
        Remove-ContainerImage legacy/a:1 -WhatIf
        Get-ContainerImage legacy/a | Remove-ContainerImage -Force -WhatIf
        (Get-ContainerImage legacy/a:1 -ErrorAction Stop).Id | Should -Be $fx.Legacy.Images[0].Id
    }

    It 'Get-ContainerImage x | Remove-ContainerImage -Force removes exactly that image' {
        Add-ContainerImageTag legacy/a:1 legacy/a:second -ErrorAction Stop
        Get-ContainerImage legacy/a | Remove-ContainerImage -Force -ErrorAction Stop
        Get-ContainerImage legacy/a -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        (Get-ContainerImage legacy/b:1 -ErrorAction Stop).Id | Should -Be $fx.Legacy.Images[1].Id
        # b shares a's base layer, which must still be there.
        $dirs = @(Get-TestLayerDirectory -Root $root -DiffId (Get-ContainerImage legacy/b:1).Layers)
        "$($dirs[0])/etc/os-release" | Should -Exist
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}

Describe 'Two sessions importing at once' {
    BeforeAll {
        Reset-Store
        $own = foreach ($n in 1, 2) {
            $layer = New-TestTar -Path "$work/session-$n-layer.tar" -Entry @(@{ Name = "session$n"; Type = 'Directory' }, @{ Name = "session$n/data"; Content = ("session $n " * 2000) })
            New-TestDockerArchive -Path "$work/session-$n.tar" -Image @(@{ RepoTags = @("concurrent/own:$n"); Layers = @($layer.FullName) })
        }
        $script:sessionArchives = $own
    }

    It 'lists every image once and leaves a consistent store (imports racing each other and garbage collection)' {
        $go = "$work/session-go"
        $shared = @($fx.DockerArchive, $fx.Legacy.Path)
        $jobs = foreach ($n in 1, 2) {
            # The two sessions take the shared archives in opposite order, so the same layers race.
            $order = if ($n -eq 1) { @($shared[0], $shared[1], $sessionArchives[0].Path) } else { @($shared[1], $shared[0], $sessionArchives[1].Path) }
            $list = ($order | ForEach-Object { "'$_'" }) -join ','
            $script = @"
`$ErrorActionPreference = 'Stop'
`$ProgressPreference = 'SilentlyContinue'
Import-Module '$(Get-TestModulePath)'
New-Item -ItemType File '$work/session-ready-$n' | Out-Null
`$deadline = [DateTime]::UtcNow.AddSeconds(60)
while (-not (Test-Path '$go') -and [DateTime]::UtcNow -lt `$deadline) { Start-Sleep -Milliseconds 10 }
`$failures = 0
for (`$i = 0; `$i -lt 4; `$i++) {
    foreach (`$p in @($list)) {
        try { Import-ContainerImage -Path `$p | Out-Null }
        catch { `$failures++; [Console]::Error.WriteLine("`${p}: `$(`$_.FullyQualifiedErrorId): `$_") }
    }
    # Removing its own image collects garbage while the other session imports.
    if (`$i -lt 3) {
        try { Remove-ContainerImage 'concurrent/own:$n' }
        catch { `$failures++; [Console]::Error.WriteLine("remove: `$(`$_.FullyQualifiedErrorId): `$_") }
    }
}
exit `$failures
"@
            Start-TestPwsh -Script $script
        }
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while (-not ((Test-Path "$work/session-ready-1") -and (Test-Path "$work/session-ready-2")) -and
                -not @($jobs | Where-Object { $_.Process.HasExited }) -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 20 }
            New-Item -ItemType File $go | Out-Null
        }
        finally {
            $results = @($jobs | Wait-TestPwsh -TimeoutSeconds 120)
        }
        $results.TimedOut | Should -Not -Contain $true
        # The store first (integrity, blob digests, leftovers, index.json), then what each session saw.
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
        foreach ($r in $results) {
            $r.Stderr | Should -BeNullOrEmpty
            $r.ExitCode | Should -Be 0
        }
        $images = @(Get-ContainerImage -ErrorAction Stop)
        $expectedIds = @($fx.UmociInfo.ConfigDigest) + $fx.Legacy.Images.Id + $sessionArchives.Images.Id
        @($images.Id | Sort-Object) | Should -Be @($expectedIds | Sort-Object)
        @($images.RepoTags | Sort-Object) | Should -Be @('concurrent/own:1', 'concurrent/own:2', 'fixture/umoci-docker:v1', 'legacy/a:1', 'legacy/b:1')
    }

    It 'an import waits while another process holds the store lock exclusively (as garbage collection does)' {
        Assert-TestTool @{ flock = 'util-linux' }
        $holder = [Diagnostics.Process]::Start('flock', [string[]]@('-x', "$root/store.lock", 'sleep', '2'))
        try {
            Start-Sleep -Milliseconds 300
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $result = Import-Collect -Path $sessionArchives[0].Path
            $watch.Stop()
        }
        finally {
            if (-not $holder.WaitForExit(10000)) { $holder.Kill() }
        }
        $result.Errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" } | Should -BeNullOrEmpty
        $result.Images.Id | Should -Be $sessionArchives[0].Images[0].Id
        $watch.Elapsed.TotalSeconds | Should -BeGreaterThan 1
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}

Describe 'Argument completion' {
    BeforeAll {
        Reset-Store
        $script:completionImage = Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name fixture/busybox -ErrorAction Stop
    }

    It 'completes <Line> with the fixture tag' -TestCases @(
        @{ Line = 'Get-ContainerImage fix' }
        @{ Line = 'Remove-ContainerImage fixture/b' }
        @{ Line = 'Export-ContainerImage -Path x.tar -Name fix' }
        @{ Line = 'Add-ContainerImageTag fix' }
    ) {
        param($Line)
        $completion = TabExpansion2 -inputScript $Line -cursorColumn $Line.Length
        $completion.CompletionMatches.CompletionText | Should -Contain 'fixture/busybox:latest'
    }

    It 'completes a short id' {
        $prefix = $completionImage.ShortId.Substring(0, 6)
        $line = "Get-ContainerImage $prefix"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Contain $completionImage.ShortId
    }
}

Describe 'A state root deleted under the session' {
    It 'is a new, empty store once it is made again under the same path, and what is written there is seen by others' {
        Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name 'pester/before-delete:1' | Out-Null
        @(Get-ContainerImage).RepoTags | Should -Contain 'pester/before-delete:1'
        # rm -rf of the root while this session has its database open, then a new root at the same path.
        Remove-Item -Recurse -Force -LiteralPath $root
        New-Item -ItemType Directory $root | Out-Null
        Get-ContainerImage | Should -BeNullOrEmpty -Because 'the images went with the deleted root'
        Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name 'pester/after-delete:1' | Out-Null
        # Another process reads the new root's database: the import went there, not into the deleted file.
        $other = Start-TestPwsh -Script "Import-Module '$modulePath'; (Get-ContainerImage).RepoTags -join ','" | Wait-TestPwsh
        $other.ExitCode | Should -Be 0 -Because $other.Stderr
        $other.Stdout.Trim() | Should -Be 'pester/after-delete:1'
    }

    It 'is a new store too when the session used another root meanwhile (build.ps1 bench runs its scripts so)' {
        @(Get-ContainerImage).RepoTags | Should -Contain 'pester/after-delete:1'
        $other = "$work/other-root"
        $env:PSCONTAINER_ROOT = $other
        try {
            Get-ContainerImage | Should -BeNullOrEmpty
        }
        finally {
            $env:PSCONTAINER_ROOT = $root
        }
        Remove-Item -Recurse -Force -LiteralPath $root, $other
        New-Item -ItemType Directory $root | Out-Null
        Get-ContainerImage | Should -BeNullOrEmpty -Because 'the images went with the deleted root'
        Import-ContainerImage -Path $fx.Busybox -Format RootFs -Name 'pester/after-switch:1' | Out-Null
        $seen = Start-TestPwsh -Script "Import-Module '$modulePath'; (Get-ContainerImage).RepoTags -join ','" | Wait-TestPwsh
        $seen.ExitCode | Should -Be 0 -Because $seen.Stderr
        $seen.Stdout.Trim() | Should -Be 'pester/after-switch:1'
    }
}
