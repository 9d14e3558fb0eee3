#Requires -Version 7.4
# A cut or damaged archive is never an image: a root filesystem tar cut at an entry boundary (which GNU tar
# rejects), a .tar.gz without its gzip trailer, a gzip whose CRC-32 does not match. Each import fails with an error
# that names the problem, and the store is left exactly as it was.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-integrity'
    Import-Module (Get-TestModulePath) -Force
    $script:tar = (New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'rootfs.tar')).FullName
    # The block number of each member (GNU tar -R): cutting at one leaves whole entries and no end-of-archive blocks.
    $blocks = @(& tar -tvRf $script:tar | ForEach-Object { if ($_ -match '^block (\d+):') { [long]$Matches[1] } })
    $script:boundary = $blocks[[int]($blocks.Count / 2)] * 512
    function script:Write-TestBytes([string]$Name, [byte[]]$Bytes) {
        $path = Join-Path $script:state.Work $Name
        [IO.File]::WriteAllBytes($path, $Bytes)
        $path
    }
    function script:Get-Gzip([byte[]]$Bytes) {
        $ms = [IO.MemoryStream]::new()
        $gz = [IO.Compression.GZipStream]::new($ms, [IO.Compression.CompressionLevel]::Fastest, $true)
        $gz.Write($Bytes, 0, $Bytes.Length); $gz.Dispose()
        $ms.ToArray()
    }
    $script:whole = [IO.File]::ReadAllBytes($script:tar)
    $script:cutTar = $script:whole[0..($script:boundary - 1)]
}

AfterAll {
    Remove-TestStateRoot $script:state
}

Describe 'Importing a cut or damaged archive' {
    It 'GNU tar itself rejects the cut tar (the reference this test relies on)' {
        $path = Write-TestBytes 'cut-reference.tar.gz' (Get-Gzip $script:cutTar)[0..((Get-Gzip $script:cutTar).Length - 9)]
        & tar -tzf $path *> $null
        $LASTEXITCODE | Should -Not -Be 0
    }

    It '<Case> fails with <Id> and stores nothing' -ForEach @(
        @{ Case = 'a tar cut at an entry boundary'; Id = 'ArchiveTruncated'; Make = { Write-TestBytes 'cut.tar' $script:cutTar } }
        @{ Case = 'a .tar.gz of it without its gzip trailer'; Id = 'ArchiveTruncated'; Make = {
            $gz = Get-Gzip $script:cutTar; Write-TestBytes 'cut.tar.gz' $gz[0..($gz.Length - 9)] } }
        @{ Case = 'a whole .tar.gz missing only its 8-byte trailer'; Id = 'ArchiveTruncated'; Make = {
            $gz = Get-Gzip $script:whole; Write-TestBytes 'notrailer.tar.gz' $gz[0..($gz.Length - 9)] } }
        @{ Case = 'a complete gzip of the cut tar (no end-of-archive blocks)'; Id = 'ArchiveTruncated'; Make = {
            Write-TestBytes 'cut-complete-gzip.tar.gz' (Get-Gzip $script:cutTar) } }
        @{ Case = 'a .tar.gz whose CRC-32 does not match'; Id = 'ArchiveChecksumMismatch'; Make = {
            $gz = Get-Gzip $script:whole; $gz[$gz.Length - 8] = $gz[$gz.Length - 8] -bxor 0xff; Write-TestBytes 'badcrc.tar.gz' $gz } }
    ) {
        $before = Get-TestStoreContent -Root $script:state.Root
        $path = & $Make
        foreach ($format in 'Auto', 'RootFs') {
            $err = $null
            Import-ContainerImage $path -Format $format -Name "broken/$($format.ToLowerInvariant()):1" -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err.Count | Should -Be 1 -Because "-Format $format"
            $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*" -Because "-Format ${format}: $($err[0])"
            $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
            Get-ContainerImage "broken/$($format.ToLowerInvariant()):1" -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        }
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $script:state.Root) | Should -BeNullOrEmpty
    }

    It 'a docker archive of four gzip layers with <Case> in layer 2 fails with <Id>; the layers unpacked beside it leave nothing' -ForEach @(
        @{ Case = 'a cut gzip member (no trailer)'; Id = 'ArchiveTruncated'; Damage = { param([byte[]]$gz) $gz[0..($gz.Length - 9)] } }
        @{ Case = 'a CRC-32 that does not match'; Id = 'ArchiveChecksumMismatch'; Damage = { param([byte[]]$gz) $gz[$gz.Length - 8] = $gz[$gz.Length - 8] -bxor 0xff; , $gz } }
        @{ Case = 'content that is not its diff id'; Id = 'DiffIdMismatch'; Damage = { param([byte[]]$gz) $t = [byte[]]$script:whole.Clone(); $t[$t.Length - 2000] = 1; , (Get-Gzip $t) } }
    ) {
        # Layers of 2 MB random data each (so the four are in flight together), the second one damaged.
        $layers = @(); $diffIds = @()
        foreach ($n in 1..4) {
            $data = [byte[]]::new(2MB)
            [Security.Cryptography.RandomNumberGenerator]::Fill($data)
            $tar = New-TestTar -Path (Join-Path $script:state.Work "four-$n.tar") -Entry @(@{ Name = "layer$n/data"; Content = $data })
            $bytes = [IO.File]::ReadAllBytes($tar.FullName)
            $diffIds += Get-TestSha256 -Bytes $bytes
            $gz = Get-Gzip $bytes
            if ($n -eq 2) {
                if ($Id -eq 'DiffIdMismatch') { $diffIds[1] = Get-TestSha256 -Bytes $script:whole }
                $gz = & $Damage $(if ($Id -eq 'DiffIdMismatch') { $null } else { $gz })
            }
            $layers += Write-TestBytes "four-$n.tar.gz" ([byte[]]$gz)
        }
        $archive = New-TestDockerArchive -Path (Join-Path $script:state.Work "four-$Id.tar") -Image @(@{ RepoTags = @("four/$($Id.ToLowerInvariant()):1"); Layers = $layers; DiffIds = $diffIds })
        $before = Get-TestStoreContent -Root $script:state.Root
        $err = $null
        Import-ContainerImage $archive.Path -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*" -Because "$($err[0])"
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        Compare-TestStoreContent -Before $before -After (Get-TestStoreContent -Root $script:state.Root) | Should -BeNullOrEmpty
        @(Get-ChildItem (Join-Path $script:state.Root 'tmp') -Force) | Should -BeNullOrEmpty
    }

    It 'still imports the whole archive, plain and gzip-compressed' {
        (Import-ContainerImage $script:tar -Format RootFs -Name 'whole/plain:1' -Command sh).RepoTags | Should -Be 'whole/plain:1'
        $gz = Write-TestBytes 'whole.tar.gz' (Get-Gzip $script:whole)
        (Import-ContainerImage $gz -Name 'whole/gzip:1' -Command sh).RepoTags | Should -Be 'whole/gzip:1'
        Get-TestStoreProblem -Root $script:state.Root | Should -BeNullOrEmpty
    }
}
