#Requires -Version 7.4
<#
    Registries (issue #5): Request-ContainerImage (pull), Submit-ContainerImage (push), Connect-/Disconnect-ContainerRegistry
    against Debian's docker-registry, started here on 127.0.0.1 with its own configuration and storage in the test's
    directory (plain HTTP; TLS with a CA made here; htpasswd Basic auth). Never touches a system registry service.
#>

BeforeDiscovery {
    $script:missing = @(foreach ($tool in 'docker-registry', 'openssl', 'htpasswd', 'skopeo', 'umoci') {
            if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) { $tool }
        })
    $script:skipReason = if ($missing) { "missing: $($missing -join ', ') (Debian packages docker-registry, openssl, apache2-utils, skopeo, umoci)" }
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix psc-registry
    $script:modulePath = Get-TestModulePath
    Import-Module $script:modulePath -Force
    $script:sourceRoot = $state.Root

    function Get-FreePort {
        $l = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
        $l.Start(); $port = $l.LocalEndpoint.Port; $l.Stop()
        $port
    }

    function Start-TestRegistry {
        <# docker-registry on 127.0.0.1:<free port>, storage under the test's work directory. #>
        param([string]$Name, [string]$TlsCertificate, [string]$TlsKey, [string]$Htpasswd)
        $dir = Join-Path $state.Work "registry-$Name"
        New-Item -ItemType Directory -Force $dir | Out-Null
        $port = Get-FreePort
        $yaml = @(
            'version: 0.1'
            'log:'
            '  level: error'
            '  accesslog:'
            '    disabled: true'
            'storage:'
            '  filesystem:'
            "    rootdirectory: $dir/data"
            '  delete:'
            '    enabled: true'
            'http:'
            "  addr: 127.0.0.1:$port"
            "  secret: psc-test-$Name"
        )
        if ($TlsCertificate) { $yaml += '  tls:', "    certificate: $TlsCertificate", "    key: $TlsKey" }
        if ($Htpasswd) { $yaml += 'auth:', '  htpasswd:', '    realm: psc-test', "    path: $Htpasswd" }
        $config = Join-Path $dir 'config.yml'
        Set-Content -LiteralPath $config -Value ($yaml -join "`n")
        $process = Start-Process -FilePath docker-registry -ArgumentList 'serve', $config -PassThru `
            -RedirectStandardOutput (Join-Path $dir 'stdout.log') -RedirectStandardError (Join-Path $dir 'stderr.log')
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while ($true) {
            $c = [Net.Sockets.TcpClient]::new()
            try { $c.Connect('127.0.0.1', $port); break } catch { } finally { $c.Dispose() }
            if ($process.HasExited -or [DateTime]::UtcNow -gt $deadline) {
                throw "docker-registry did not start: $(Get-Content -Raw (Join-Path $dir 'stderr.log'))"
            }
            Start-Sleep -Milliseconds 100
        }
        [pscustomobject]@{ Process = $process; Port = $port; Host = "127.0.0.1:$port"; Data = "$dir/data"; Config = $config }
    }

    function Stop-TestRegistry($Registry) {
        if ($Registry -and -not $Registry.Process.HasExited) {
            $Registry.Process.Kill()
            $Registry.Process.WaitForExit(10000) | Out-Null
        }
    }

    function Restart-TestRegistry($Registry) {
        Stop-TestRegistry $Registry
        $dir = Split-Path $Registry.Config
        $Registry.Process = Start-Process -FilePath docker-registry -ArgumentList 'serve', $Registry.Config -PassThru `
            -RedirectStandardOutput (Join-Path $dir 'stdout2.log') -RedirectStandardError (Join-Path $dir 'stderr2.log')
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while ($true) {
            $c = [Net.Sockets.TcpClient]::new()
            try { $c.Connect('127.0.0.1', $Registry.Port); break } catch { } finally { $c.Dispose() }
            if ([DateTime]::UtcNow -gt $deadline) { throw 'docker-registry did not restart' }
            Start-Sleep -Milliseconds 100
        }
    }

    function Use-Root([string]$Root) {
        <# Points the engine at another state root (a fresh one for each pull that must start cold). #>
        if (-not $Root) { $Root = Join-Path $state.Work "pull-$([guid]::NewGuid().ToString('N').Substring(0, 8))" }
        $env:PSCONTAINER_ROOT = $Root
        $Root
    }

    function Get-RegistryBlobFile($Registry, [string]$Digest) {
        $hex = $Digest.Substring(7)
        Join-Path $Registry.Data "docker/registry/v2/blobs/sha256/$($hex.Substring(0, 2))/$hex/data"
    }

    function Send-TestBlob($Registry, [string]$Repository, [byte[]]$Bytes) {
        $digest = Get-TestSha256 -Bytes $Bytes
        $start = Invoke-WebRequest -Method Post -Uri "http://$($Registry.Host)/v2/$Repository/blobs/uploads/" -SkipHttpErrorCheck
        $location = [string]$start.Headers['Location']
        if (-not $location.StartsWith('http')) { $location = "http://$($Registry.Host)$location" }
        $sep = $location.Contains('?') ? '&' : '?'
        $null = Invoke-WebRequest -Method Put -Uri "$location${sep}digest=$digest" -Body $Bytes -ContentType 'application/octet-stream'
        $digest
    }

    function Send-TestManifest($Registry, [string]$Repository, [string]$Reference, [string]$Json, [string]$MediaType) {
        $bytes = [Text.Encoding]::UTF8.GetBytes($Json)
        $null = Invoke-WebRequest -Method Put -Uri "http://$($Registry.Host)/v2/$Repository/manifests/$Reference" -Body $bytes -ContentType $MediaType
        Get-TestSha256 -Bytes $bytes
    }

    function New-TestFileImage([string]$Name, [int]$Bytes = 65536, [string]$Architecture) {
        <# An image of one layer holding one file of random bytes, imported under $Name into the source root. #>
        $data = [byte[]]::new($Bytes)
        [Security.Cryptography.RandomNumberGenerator]::Fill($data)
        $tar = Join-Path $state.Work "$($Name -replace '[/:]', '_').tar"
        if ($Architecture) {
            $layer = Join-Path $state.Work "$($Name -replace '[/:]', '_')-layer.tar"
            New-TestTar -Path $layer -Entry @(@{ Name = 'data'; Content = $data }, @{ Name = 'arch'; Content = $Architecture }) | Out-Null
            $archive = New-TestDockerArchive -Path $tar -Image @(@{ RepoTags = @($Name); Layers = @($layer) }) -Architecture $Architecture
            Import-ContainerImage $archive.Path
        }
        else {
            New-TestTar -Path $tar -Entry @(@{ Name = 'data'; Content = $data }) | Out-Null
            Import-ContainerImage $tar -Name $Name -Format RootFs
        }
    }

    if (-not ('PscTestProxy' -as [type])) {
        Add-Type -TypeDefinition @'
using System;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Threading;
using System.Threading.Tasks;

/// A TCP proxy on 127.0.0.1 for fault tests: forwards to a port, and cuts every connection once Budget bytes went
/// from the server to clients, or slows them to BytesPerSecond.
public sealed class PscTestProxy : IDisposable
{
    private readonly TcpListener listener = new TcpListener(IPAddress.Loopback, 0);
    private readonly int target;
    private readonly ConcurrentBag<TcpClient> open = new ConcurrentBag<TcpClient>();
    private long forwarded;
    public long Budget = long.MaxValue;
    public int BytesPerSecond;
    public int Port;
    public long Forwarded { get { return Interlocked.Read(ref forwarded); } }

    public PscTestProxy(int target)
    {
        this.target = target;
        listener.Start();
        Port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task.Run(AcceptLoop);
    }

    private async Task AcceptLoop()
    {
        while (true)
        {
            TcpClient client;
            try { client = await listener.AcceptTcpClientAsync(); } catch { return; }
            open.Add(client);
            var _ = Task.Run(() => Handle(client));
        }
    }

    private async Task Handle(TcpClient client)
    {
        using (client)
        using (var server = new TcpClient())
        {
            try
            {
                open.Add(server);
                await server.ConnectAsync(IPAddress.Loopback, target);
                var up = Pump(client.GetStream(), server.GetStream(), false, client, server);
                var down = Pump(server.GetStream(), client.GetStream(), true, client, server);
                await Task.WhenAny(up, down);
            }
            catch { }
        }
    }

    private async Task Pump(NetworkStream from, NetworkStream to, bool counted, TcpClient a, TcpClient b)
    {
        var buffer = new byte[16384];
        try
        {
            while (true)
            {
                int n = await from.ReadAsync(buffer, 0, buffer.Length);
                if (n == 0) break;
                if (counted)
                {
                    long after = Interlocked.Add(ref forwarded, n);
                    if (after > Budget)
                    {
                        int allowed = (int)Math.Max(0, n - (after - Budget));
                        if (allowed > 0) await to.WriteAsync(buffer, 0, allowed);
                        break;
                    }
                    if (BytesPerSecond > 0) await Task.Delay((int)(n * 1000L / BytesPerSecond));
                }
                await to.WriteAsync(buffer, 0, n);
            }
        }
        catch { }
        try { a.Client.Close(); } catch { }
        try { b.Client.Close(); } catch { }
    }

    public void Dispose()
    {
        listener.Stop();
        foreach (var c in open) { try { c.Close(); } catch { } }
    }
}
'@
    }

    if (-not $script:skipReason) {
        $script:registry = Start-TestRegistry -Name plain
        $script:hostPort = $registry.Host

        # Fixtures, in the source root.
        $rootfs = New-TestBusyboxRootFs -Path (Join-Path $state.Work 'busybox.tar')
        $script:busybox = Import-ContainerImage $rootfs -Name fixture/busybox:1
        $script:bigData = 48MB
        $script:big = New-TestFileImage -Name fixture/big:1 -Bytes $bigData
        $script:pushed = Submit-ContainerImage fixture/busybox:1 -Destination "$hostPort/fixture/busybox:1" -Quiet
        $null = Submit-ContainerImage fixture/big:1 -Destination "$hostPort/fixture/big:1" -Quiet
    }
}

AfterAll {
    if ($script:registry) { Stop-TestRegistry $script:registry }
    if ($script:tlsRegistry) { Stop-TestRegistry $script:tlsRegistry }
    Remove-TestStateRoot $script:state
}

Describe 'Request-ContainerImage and Submit-ContainerImage over plain HTTP' -Skip:([bool]$skipReason) {
    AfterEach { Use-Root $sourceRoot | Out-Null }

    It 'pushes an image and pulls it back into an empty store, identical' {
        $pushed.Reference | Should -Be "$hostPort/fixture/busybox:1"
        $pushed.Digest | Should -Be $busybox.ManifestDigest
        $pushed.Uploaded | Should -Be 2
        (Get-ContainerImage -Name fixture/busybox:1).RepoDigests | Should -Contain "$hostPort/fixture/busybox@$($busybox.ManifestDigest)"

        $root = Use-Root
        $image = Request-ContainerImage "$hostPort/fixture/busybox:1"
        $image.Id | Should -Be $busybox.Id
        $image.ManifestDigest | Should -Be $busybox.ManifestDigest
        $image.Layers | Should -Be $busybox.Layers
        $image.RepoTags | Should -Be @("$hostPort/fixture/busybox:1")
        $image.RepoDigests | Should -Be @("$hostPort/fixture/busybox@$($busybox.ManifestDigest)")
        (Get-ContainerImage).Id | Should -Be @($busybox.Id)
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty

        # Pulling again changes nothing and downloads no layer.
        $before = Get-TestStoreContent -Root $root
        (Request-ContainerImage "$hostPort/fixture/busybox:1" -Quiet).Id | Should -Be $busybox.Id
        Compare-TestStoreContent $before (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
    }

    It 'pulls the image of New-Container when it is missing (-Pull missing, the default), never with -Pull never' {
        Use-Root | Out-Null
        { New-Container "$hostPort/fixture/busybox:1" -Command true -Network none -Pull never -ErrorAction Stop } | Should -Throw -ErrorId 'ImageNotFound*'
        Get-ContainerImage | Should -BeNullOrEmpty
        $c = New-Container "$hostPort/fixture/busybox:1" -Command true -Network none
        $c.ImageId | Should -Be $busybox.Id
        (Get-ContainerImage).Id | Should -Be @($busybox.Id)
        $again = New-Container "$hostPort/fixture/busybox:1" -Command true -Network none -Pull always
        $again.ImageId | Should -Be $busybox.Id
        $c, $again | Remove-Container
    }

    It 'pulls by digest (no tag, only the repository digest) and by tag and digest together' {
        Use-Root | Out-Null
        $image = Request-ContainerImage "$hostPort/fixture/busybox@$($busybox.ManifestDigest)" -Quiet
        $image.Id | Should -Be $busybox.Id
        $image.RepoTags | Should -BeNullOrEmpty
        $image.RepoDigests | Should -Be @("$hostPort/fixture/busybox@$($busybox.ManifestDigest)")
        (Request-ContainerImage "$hostPort/fixture/busybox:1@$($busybox.ManifestDigest)" -Quiet).Id | Should -Be $busybox.Id
    }

    It 'skips blobs the repository has, mounts blobs from another repository, uploads in chunks' {
        $again = Submit-ContainerImage fixture/busybox:1 -Destination "$hostPort/fixture/busybox:1" -Quiet
        $again.Skipped | Should -Be 2
        $again.Uploaded | Should -Be 0
        $mounted = Submit-ContainerImage -Name fixture/busybox:1 -Destination "$hostPort/other/busybox:2" -Quiet
        $mounted.Mounted | Should -Be 2
        $mounted.Digest | Should -Be $busybox.ManifestDigest

        $image = New-TestFileImage -Name fixture/chunked:1 -Bytes 300000
        $chunked = $image | Submit-ContainerImage -Destination "$hostPort/fixture/chunked:1" -ChunkSize 65536 -Quiet
        $chunked.Uploaded | Should -Be 2
        Use-Root | Out-Null
        (Request-ContainerImage "$hostPort/fixture/chunked:1" -Quiet).Id | Should -Be $image.Id
    }

    It 'pushes by name to where the name says, and an image object to its tags' {
        $image = New-TestFileImage -Name "$hostPort/byname/app:3" -Bytes 1000
        $r = Submit-ContainerImage "$hostPort/byname/app:3" -Quiet
        $r.Reference | Should -Be "$hostPort/byname/app:3"
        $r2 = Get-ContainerImage -Name "$hostPort/byname/app:3" | Submit-ContainerImage -Quiet
        $r2.Skipped | Should -Be 2
        $r2.Digest | Should -Be $image.ManifestDigest
    }

    It 'fails with <Id> for <Case> and leaves the store as it was' -TestCases @(
        @{ Case = 'an unknown repository'; Ref = { "$hostPort/nothing/here:1" }; Id = 'RepositoryNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'an unknown tag'; Ref = { "$hostPort/fixture/busybox:nope" }; Id = 'TagNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'an unknown digest'; Ref = { "$hostPort/fixture/busybox@sha256:$('0' * 64)" }; Id = 'DigestNotFound'; Category = 'ObjectNotFound' }
        @{ Case = 'a registry that is down'; Ref = { "127.0.0.1:$(Get-FreePort)/fixture/busybox:1" }; Id = 'RegistryUnavailable'; Category = 'ResourceUnavailable' }
        @{ Case = 'an invalid reference'; Ref = { 'Not/Valid:!' }; Id = 'InvalidReference'; Category = 'InvalidArgument' }
        @{ Case = 'an unknown platform'; Ref = { "$hostPort/fixture/busybox:1" }; Id = 'NoMatchingPlatform'; Category = 'ObjectNotFound'; Platform = 'linux/s390x' }
    ) {
        $root = Use-Root
        Request-ContainerImage "$hostPort/fixture/busybox:1" -Quiet | Out-Null
        $before = Get-TestStoreContent -Root $root
        $reference = & $Ref
        $extra = if ($Platform) { @{ Platform = $Platform } } else { @{} }
        $err = $null
        Request-ContainerImage $reference -Quiet @extra -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err | Should -HaveCount 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err[0].CategoryInfo.Category | Should -Be $Category
        Compare-TestStoreContent $before (Get-TestStoreContent -Root $root) | Should -BeNullOrEmpty
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'goes on with the next name after a failed one' {
        Use-Root | Out-Null
        $err = $null
        $images = Request-ContainerImage "$hostPort/nothing/here:1", "$hostPort/fixture/busybox:1" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
        $images.Id | Should -Be $busybox.Id
        $err | Should -HaveCount 1
    }

    It 'rejects a manifest whose config is not an image config (UnsupportedManifestMediaType)' {
        $config = Send-TestBlob $registry 'artifact/thing' ([Text.Encoding]::UTF8.GetBytes('{"kind":"not an image"}'))
        $manifest = [ordered]@{
            schemaVersion = 2; mediaType = 'application/vnd.oci.image.manifest.v1+json'
            config = [ordered]@{ mediaType = 'application/vnd.example.thing.config.v1+json'; digest = $config; size = 23 }
            layers = @()
        } | ConvertTo-Json -Depth 5 -Compress
        Send-TestManifest $registry 'artifact/thing' 'v1' $manifest 'application/vnd.oci.image.manifest.v1+json' | Out-Null
        $root = Use-Root
        $err = $null
        Request-ContainerImage "$hostPort/artifact/thing:v1" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'UnsupportedManifestMediaType,*'
        Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
    }

    Context 'a blob on the registry that is damaged' {
        It 'fails with <Id> when the layer is <Case>, and leaves nothing behind' -TestCases @(
            # (a byte of the file's data, not of a tar header: the tar stays readable and only the digest tells)
            @{ Case = 'different content of the same size'; Id = 'DigestMismatch'; Damage = { param($f) $b = [IO.File]::ReadAllBytes($f); $b[5000] = $b[5000] -bxor 0xff; [IO.File]::WriteAllBytes($f, $b) } }
            @{ Case = 'truncated'; Id = 'BlobTruncated'; Damage = { param($f) $s = [IO.File]::Open($f, 'Open'); $s.SetLength($s.Length - 1000); $s.Dispose() } }
            @{ Case = 'larger than the manifest declares'; Id = 'BlobTooLarge'; Damage = { param($f) $s = [IO.File]::Open($f, 'Append'); $s.Write([byte[]]::new(512)); $s.Dispose() } }
        ) {
            $name = "damaged/$($Id.ToLowerInvariant()):1"
            $image = New-TestFileImage -Name "fixture/$name" -Bytes 200000
            $null = Submit-ContainerImage "fixture/$name" -Destination "$hostPort/$name" -Quiet
            $layerBlob = (Invoke-TestSqlite (Join-Path $sourceRoot 'state.db') "SELECT blob_digest FROM image_layers WHERE image_id = '$($image.Id)'").blob_digest
            & $Damage (Get-RegistryBlobFile $registry $layerBlob)

            $root = Use-Root
            $err = $null
            Request-ContainerImage "$hostPort/$name" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
            Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
        }

        It 'fails with DigestMismatch when a gzip layer''s bytes change but not its content (the gzip MTIME)' {
            # Decompressed, the layer is the same tar with the same diff id: only the blob digest can tell.
            $name = 'damaged/mtime:1'
            $data = [byte[]]::new(200000)
            [Security.Cryptography.RandomNumberGenerator]::Fill($data)
            $tar = Join-Path $state.Work 'mtime-layer.tar'
            New-TestTar -Path $tar -Entry @(@{ Name = 'data'; Content = $data }) -Compress gzip | Out-Null
            $image = Import-ContainerImage $tar -Name "fixture/$name" -Format RootFs
            $layer = Invoke-TestSqlite (Join-Path $sourceRoot 'state.db') "SELECT blob_digest, media_type FROM image_layers WHERE image_id = '$($image.Id)'"
            $layer.media_type | Should -BeLike '*gzip'
            $null = Submit-ContainerImage "fixture/$name" -Destination "$hostPort/$name" -Quiet
            $file = Get-RegistryBlobFile $registry $layer.blob_digest
            $b = [IO.File]::ReadAllBytes($file)
            $b[4] = 1; $b[5] = 2; $b[6] = 3; $b[7] = 4   # MTIME: not part of the decompressed data
            [IO.File]::WriteAllBytes($file, $b)

            $root = Use-Root
            $err = $null
            Request-ContainerImage "$hostPort/$name" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike 'DigestMismatch,*'
            Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
        }
    }

    Context 'four layers pulled in parallel' {
        BeforeAll {
            Use-Root $sourceRoot | Out-Null
            function New-TestLayeredImage([string]$Name, [int]$Count = 4, [int]$Bytes = 3MB) {
                <# An image of $Count gzip layers (one file of random bytes each), imported into the source root and pushed. #>
                $dir = Join-Path $state.Work "layered-$($Name -replace '[/:]', '_')"
                New-Item -ItemType Directory -Force $dir | Out-Null
                $layers = @(); $diffIds = @()
                foreach ($n in 1..$Count) {
                    $data = [byte[]]::new($Bytes)
                    [Security.Cryptography.RandomNumberGenerator]::Fill($data)
                    $tar = Join-Path $dir "layer$n.tar"
                    New-TestTar -Path $tar -Entry @(@{ Name = "layer$n/data"; Content = $data }) | Out-Null
                    $diffIds += Get-TestSha256 -Path $tar
                    & gzip -1 -n -f $tar
                    $layers += "$tar.gz"
                }
                $archive = New-TestDockerArchive -Path (Join-Path $dir 'image.tar') -Image @(@{ RepoTags = @("fixture/$Name"); Layers = $layers; DiffIds = $diffIds })
                $image = Import-ContainerImage $archive.Path
                $null = Submit-ContainerImage "fixture/$Name" -Destination "$hostPort/$Name" -Quiet
                $image
            }
            $script:layered = New-TestLayeredImage -Name 'layered/good:1'
        }

        It 'pulls every layer, identical to the pushed image' {
            $root = Use-Root
            $image = Request-ContainerImage "$hostPort/layered/good:1" -Quiet
            $image.Id | Should -Be $layered.Id
            @(Invoke-TestSqlite (Join-Path $root 'state.db') 'SELECT chain_id FROM image_layers').Count | Should -Be 4
            Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
        }

        It 'fails with <Id> when layer 2 of 4 is <Case>: no image, layer directory, blob or temporary file remains' -TestCases @(
            # The gzip MTIME changed: the layer unpacks to the right diff id, only the blob digest (known after the
            # last byte, when the other layers are unpacked too) can tell.
            @{ Case = 'different bytes of the same content'; Id = 'DigestMismatch'; Damage = { param($f) $b = [IO.File]::ReadAllBytes($f); $b[4] = 1; $b[5] = 2; [IO.File]::WriteAllBytes($f, $b) } }
            @{ Case = 'truncated'; Id = 'BlobTruncated'; Damage = { param($f) $s = [IO.File]::Open($f, 'Open'); $s.SetLength($s.Length - 100000); $s.Dispose() } }
        ) {
            Use-Root $sourceRoot | Out-Null
            $name = "layered/$($Id.ToLowerInvariant()):1"
            $image = New-TestLayeredImage -Name $name
            $blobs = @(Invoke-TestSqlite (Join-Path $sourceRoot 'state.db') "SELECT blob_digest FROM image_layers WHERE image_id = '$($image.Id)' ORDER BY position").blob_digest
            $blobs.Count | Should -Be 4
            & $Damage (Get-RegistryBlobFile $registry $blobs[1])

            $root = Use-Root
            $err = $null
            Request-ContainerImage "$hostPort/$name" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
            $err | Should -HaveCount 1
            $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
            $err[0].TargetObject | Should -Be $blobs[1]
            Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
        }

        It 'kill -9 while four layers are unpacking: nothing is visible, and Repair-ContainerState removes every temporary' {
            $root = Use-Root
            $killed = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Request-ContainerImage '$hostPort/layered/good:1' -Quiet" -Environment @{
                PSCONTAINER_ROOT = $root; PSCONTAINER_CRASH_AT = 'import-layer-written' } | Wait-TestPwsh -TimeoutSeconds 120
            $killed.ExitCode | Should -Be 137 -Because "the session was killed (SIGKILL) at the crash point: $($killed.Stderr)"
            $left = @(Get-ChildItem (Join-Path $root 'tmp') -Force)
            @($left | Where-Object Name -like 'layer-*').Count | Should -BeGreaterThan 1 -Because "layers were unpacked side by side: $($left.Name -join ', ')"
            Get-ContainerImage | Should -BeNullOrEmpty
            Repair-ContainerState
            @(Get-ChildItem (Join-Path $root 'tmp') -Force) | Should -BeNullOrEmpty
            Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
        }
    }

    Context 'a multi-platform index' {
        BeforeAll {
            Use-Root $sourceRoot | Out-Null
            $script:amd64 = New-TestFileImage -Name multi/app:amd64 -Bytes 5000 -Architecture amd64
            $script:arm64 = New-TestFileImage -Name multi/app:arm64 -Bytes 5000 -Architecture arm64
            $null = Submit-ContainerImage multi/app:amd64 -Destination "$hostPort/multi/app:amd64" -Quiet
            $null = Submit-ContainerImage multi/app:arm64 -Destination "$hostPort/multi/app:arm64" -Quiet
            $entries = foreach ($i in @(@{ Image = $amd64; Arch = 'amd64' }, @{ Image = $arm64; Arch = 'arm64'; Variant = 'v8' })) {
                $size = (Get-Item (Join-Path $sourceRoot "image/blobs/sha256/$($i.Image.ManifestDigest.Substring(7))")).Length
                $platform = [ordered]@{ architecture = $i.Arch; os = 'linux' }
                if ($i.Variant) { $platform.variant = $i.Variant }
                [ordered]@{ mediaType = $i.Image.ManifestMediaType; digest = $i.Image.ManifestDigest; size = $size; platform = $platform }
            }
            $index = [ordered]@{ schemaVersion = 2; mediaType = 'application/vnd.oci.image.index.v1+json'; manifests = @($entries) } | ConvertTo-Json -Depth 6 -Compress
            $script:indexDigest = Send-TestManifest $registry 'multi/app' 'latest' $index 'application/vnd.oci.image.index.v1+json'
        }

        It 'picks linux/<Arch> (<How>)' -TestCases @(
            @{ How = 'this host by default'; Platform = $null; Arch = 'host' }
            @{ How = '-Platform linux/arm64'; Platform = 'linux/arm64'; Arch = 'arm64' }
            @{ How = '-Platform linux/arm64/v8'; Platform = 'linux/arm64/v8'; Arch = 'arm64' }
            @{ How = '-Platform linux/amd64'; Platform = 'linux/amd64'; Arch = 'amd64' }
        ) {
            if ($Arch -eq 'host') { $Arch = Get-TestHostArchitecture }
            $expected = if ($Arch -eq 'arm64') { $arm64 } else { $amd64 }
            Use-Root | Out-Null
            $extra = if ($Platform) { @{ Platform = $Platform } } else { @{} }
            $image = Request-ContainerImage "$hostPort/multi/app:latest" -Quiet @extra
            $image.Id | Should -Be $expected.Id
            $image.Architecture | Should -Be $Arch
            $image.ManifestDigest | Should -Be $expected.ManifestDigest
            $image.RepoDigests | Should -Be @("$hostPort/multi/app@$indexDigest")
        }

        It 'names the platforms it has when none matches' {
            Use-Root | Out-Null
            $err = $null
            Request-ContainerImage "$hostPort/multi/app:latest" -Platform linux/riscv64 -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
            $err[0].FullyQualifiedErrorId | Should -BeLike 'NoMatchingPlatform,*'
            $err[0].Exception.Message | Should -Match 'linux/amd64, linux/arm64'
        }
    }

    Context 'interruptions' {
        It 'leaves nothing visible when the connection breaks mid-layer, and the next pull completes' {
            $proxy = [PscTestProxy]::new($registry.Port)
            try {
                $proxy.Budget = 8MB
                $root = Use-Root
                $err = $null
                Request-ContainerImage "127.0.0.1:$($proxy.Port)/fixture/big:1" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
                $err | Should -HaveCount 1
                $err[0].FullyQualifiedErrorId | Should -Match '^(BlobTruncated|RegistryUnavailable),'
                Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty

                # The registry goes down and comes back; the same pull then completes.
                Restart-TestRegistry $registry
                $proxy.Budget = [long]::MaxValue
                $image = Request-ContainerImage "127.0.0.1:$($proxy.Port)/fixture/big:1" -Quiet
                $image.Id | Should -Be $big.Id
                Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
            }
            finally { $proxy.Dispose() }
        }

        It 'kill -9 of the pulling session after a layer is stored: nothing is visible, and the next pull cleans up and completes' {
            $root = Use-Root
            $killed = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; Request-ContainerImage '$hostPort/fixture/big:1' -Quiet" -Environment @{
                PSCONTAINER_ROOT = $root; PSCONTAINER_CRASH_AT = 'import-layer-written' } | Wait-TestPwsh -TimeoutSeconds 120
            $killed.ExitCode | Should -Be 137 -Because "the session was killed (SIGKILL) at the crash point: $($killed.Stderr)"
            @(Get-ChildItem (Join-Path $root 'tmp') -Force).Count | Should -BeGreaterThan 0 -Because 'the killed pull had a layer in tmp/'
            Get-ContainerImage | Should -BeNullOrEmpty
            $image = Request-ContainerImage "$hostPort/fixture/big:1" -Quiet
            $image.Id | Should -Be $big.Id
            Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
        }

        It 'stops promptly and cleanly when the pipeline is stopped (Ctrl+C), with progress per layer until then' {
            $proxy = [PscTestProxy]::new($registry.Port)
            $ps = [powershell]::Create()
            try {
                $proxy.BytesPerSecond = 2MB
                $root = Use-Root
                $null = $ps.AddScript("Import-Module '$modulePath'; Request-ContainerImage '127.0.0.1:$($proxy.Port)/fixture/big:1'")
                $async = $ps.BeginInvoke()
                $deadline = [DateTime]::UtcNow.AddSeconds(30)
                while ($proxy.Forwarded -lt 3MB -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
                $proxy.Forwarded | Should -BeGreaterThan 3MB
                Start-Sleep -Milliseconds 500
                $watch = [Diagnostics.Stopwatch]::StartNew()
                $ps.Stop()
                $watch.Elapsed.TotalSeconds | Should -BeLessThan 10
                $ps.InvocationStateInfo.State | Should -Be 'Stopped'
                $progress = @($ps.Streams.Progress)
                $progress | Where-Object { $_.ParentActivityId -eq -1 -and $_.Activity -like 'Pulling *' } | Should -Not -BeNullOrEmpty
                $layer = @($progress | Where-Object { $_.ParentActivityId -ne -1 -and $_.Activity -like 'Layer *' })
                $layer | Should -Not -BeNullOrEmpty
                $layer.StatusDescription | Where-Object { $_ -match 'MiB, [\d.]+ MB/s' } | Should -Not -BeNullOrEmpty
                Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
            }
            finally { $ps.Dispose(); $proxy.Dispose() }
        }

        It 'writes no progress with -Quiet' {
            $ps = [powershell]::Create()
            try {
                Use-Root | Out-Null
                $null = $ps.AddScript("Import-Module '$modulePath'; Request-ContainerImage '$hostPort/fixture/busybox:1' -Quiet")
                $out = $ps.Invoke()
                $out.Id | Should -Be $busybox.Id
                $ps.Streams.Progress | Should -BeNullOrEmpty
            }
            finally { $ps.Dispose() }
        }

        It 'pulls the same image from two pwsh sessions at once into one store' {
            $root = Use-Root
            $script = "`$ErrorActionPreference = 'Stop'; Import-Module '$modulePath'; (Request-ContainerImage '$hostPort/fixture/big:1' -Quiet).Id"
            $jobs = 1..2 | ForEach-Object { Start-TestPwsh -Script $script -Environment @{ PSCONTAINER_ROOT = $root } }
            $results = $jobs | Wait-TestPwsh -TimeoutSeconds 240
            foreach ($r in $results) {
                $r.TimedOut | Should -BeFalse
                $r.ExitCode | Should -Be 0 -Because $r.Stderr
                $r.Stdout.Trim() | Should -Be $big.Id
            }
            Use-Root $root | Out-Null
            @(Get-ContainerImage).Count | Should -Be 1
            Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
        }
    }

    Context 'round trips with skopeo' {
        It 'an image we pushed is the same for skopeo, byte for byte' {
            $raw = Invoke-TestTool skopeo inspect --raw --tls-verify=false "docker://$hostPort/fixture/busybox:1"
            Get-TestSha256 -Text ($raw -join "`n") | Should -Be $busybox.ManifestDigest
            # dir: keeps blobs as they are (oci: would compress the uncompressed layer, changing its digest).
            $copy = Join-Path $state.Work 'skopeo-copy'
            Invoke-TestTool skopeo copy --src-tls-verify=false "docker://$hostPort/fixture/busybox:1" "dir:$copy" | Out-Null
            Get-TestSha256 -Path "$copy/manifest.json" | Should -Be $busybox.ManifestDigest
            $manifest = Get-Content -Raw "$copy/manifest.json" | ConvertFrom-Json
            $manifest.config.digest | Should -Be $busybox.Id
            foreach ($blob in @($manifest.config.digest) + @($manifest.layers.digest)) {
                Get-TestSha256 -Path "$copy/$($blob.Substring(7))" | Should -Be $blob
            }
            $config = Get-Content -Raw "$copy/$($busybox.Id.Substring(7))" | ConvertFrom-Json
            $config.rootfs.diff_ids | Should -Be $busybox.Layers
        }

        It 'an image skopeo pushed (built with umoci) is pulled by us with the same digests' {
            $fixture = New-TestUmociImage -Directory (Join-Path $state.Work 'umoci')
            Invoke-TestTool skopeo copy --dest-tls-verify=false "oci:$($fixture.Reference)" "docker://$hostPort/umoci/image:v1" | Out-Null
            $expected = Get-TestOciLayoutImage -Layout $fixture.Layout -Tag $fixture.Tag
            $root = Use-Root
            $image = Request-ContainerImage "$hostPort/umoci/image:v1" -Quiet
            $image.Id | Should -Be $expected.ConfigDigest
            $image.ManifestDigest | Should -Be $expected.ManifestDigest
            $image.Layers | Should -Be $expected.DiffIds
            $image.Config.Cmd | Should -Be @('/bin/sh')
            $dirs = Get-TestLayerDirectory -Root $root -DiffId $image.Layers
            Get-Content -Raw (Join-Path $dirs[0] 'etc/changed') | Should -Be 'v1'
            Get-Content -Raw (Join-Path $dirs[1] 'etc/changed') | Should -Be 'v2'
            Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
        }
    }
}

Describe 'registries with TLS and htpasswd logins' -Skip:([bool]$skipReason) {
    BeforeAll {
        $tls = Join-Path $state.Work 'tls'
        New-Item -ItemType Directory -Force $tls | Out-Null
        function Invoke-Native([string]$File, [string[]]$Arguments) {
            $output = & $File @Arguments 2>&1
            if ($LASTEXITCODE -ne 0) { throw "$File $($Arguments -join ' ') failed ($LASTEXITCODE): $($output -join "`n")" }
            $output | Where-Object { $_ -is [string] }
        }
        Invoke-Native openssl @('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$tls/ca.key", '-out', "$tls/ca.crt", '-days', '2', '-subj', '/CN=psc-test-ca') | Out-Null
        Invoke-Native openssl @('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', "$tls/server.key", '-out', "$tls/server.csr", '-subj', '/CN=127.0.0.1') | Out-Null
        Set-Content "$tls/ext.cnf" "subjectAltName=IP:127.0.0.1,DNS:localhost`nbasicConstraints=CA:FALSE`nextendedKeyUsage=serverAuth"
        Invoke-Native openssl @('x509', '-req', '-in', "$tls/server.csr", '-CA', "$tls/ca.crt", '-CAkey', "$tls/ca.key", '-CAcreateserial', '-out', "$tls/server.crt", '-days', '2', '-extfile', "$tls/ext.cnf") | Out-Null
        $htpasswd = Invoke-Native htpasswd @('-Bbn', 'alice', 'c0rrect-horse')
        Set-Content "$tls/htpasswd" ($htpasswd | Where-Object { $_ })
        $script:tlsRegistry = Start-TestRegistry -Name tls -TlsCertificate "$tls/server.crt" -TlsKey "$tls/server.key" -Htpasswd "$tls/htpasswd"
        $script:secure = $tlsRegistry.Host
        $script:caFile = "$tls/ca.crt"
        $script:good = [pscredential]::new('alice', (ConvertTo-SecureString 'c0rrect-horse' -AsPlainText -Force))
        $script:bad = [pscredential]::new('alice', (ConvertTo-SecureString 'wrong-horse' -AsPlainText -Force))

        function Use-TrustingRoot {
            $root = Use-Root
            New-Item -ItemType Directory -Force "$root/certs.d/$secure" | Out-Null
            Copy-Item $caFile "$root/certs.d/$secure/ca.crt"
            $root
        }

        Use-Root $sourceRoot | Out-Null
        New-Item -ItemType Directory -Force "$sourceRoot/certs.d/$secure" | Out-Null
        Copy-Item $caFile "$sourceRoot/certs.d/$secure/ca.crt"
        $null = Submit-ContainerImage fixture/busybox:1 -Destination "$secure/secure/busybox:1" -Credential $good -Quiet
    }
    AfterEach {
        Remove-Item Env:DOCKER_CONFIG -ErrorAction Ignore
        Use-Root $sourceRoot | Out-Null
    }

    It 'refuses a certificate from an unknown CA (RegistryCertificateUntrusted) and never falls back to HTTP' {
        $root = Use-Root
        $err = $null
        Request-ContainerImage "$secure/secure/busybox:1" -Credential $good -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RegistryCertificateUntrusted,*'
        $err[0].CategoryInfo.Category | Should -Be 'SecurityError'
        Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
    }

    It 'fails with <Id> <Case>' -TestCases @(
        @{ Case = 'without credentials'; Id = 'RegistryAuthenticationRequired'; Cred = $null }
        @{ Case = 'with a wrong password'; Id = 'RegistryAuthenticationFailed'; Cred = 'bad' }
    ) {
        $root = Use-TrustingRoot
        $extra = if ($Cred) { @{ Credential = (Get-Variable $Cred -ValueOnly) } } else { @{} }
        $err = $null
        Request-ContainerImage "$secure/secure/busybox:1" -Quiet @extra -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err[0].CategoryInfo.Category | Should -Be 'PermissionDenied'
        $err[0].Exception.Message | Should -Not -Match 'horse'
        Get-TestStoreProblem -Root $root -ExpectEmpty | Should -BeNullOrEmpty
    }

    It 'pulls with -Credential over TLS with the CA from certs.d' {
        $root = Use-TrustingRoot
        $image = Request-ContainerImage "$secure/secure/busybox:1" -Credential $good -Quiet
        $image.Id | Should -Be $busybox.Id
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'Connect-ContainerRegistry checks the password, stores the login (0600) for later pulls; Disconnect forgets it' {
        $root = Use-TrustingRoot
        $err = $null
        Connect-ContainerRegistry $secure -Credential $bad -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RegistryAuthenticationFailed,*'
        Test-Path "$root/auth.json" | Should -BeFalse

        $login = Connect-ContainerRegistry $secure -Credential $good
        $login.Registry | Should -Be $secure
        $login.UserName | Should -Be 'alice'
        [int](Get-Item "$root/auth.json").UnixFileMode | Should -Be 384   # 0600
        $auth = Get-Content -Raw "$root/auth.json" | ConvertFrom-Json -AsHashtable
        [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String($auth.auths[$secure].auth)) | Should -Be 'alice:c0rrect-horse'

        (Request-ContainerImage "$secure/secure/busybox:1" -Quiet).Id | Should -Be $busybox.Id

        Disconnect-ContainerRegistry $secure
        (Get-Content -Raw "$root/auth.json" | ConvertFrom-Json -AsHashtable).auths.Keys | Should -Not -Contain $secure
        Remove-ContainerImage "$secure/secure/busybox:1" | Out-Null
        $err = $null
        Request-ContainerImage "$secure/secure/busybox:1" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RegistryAuthenticationRequired,*'
        Disconnect-ContainerRegistry $secure -WarningVariable warn -WarningAction SilentlyContinue
        $warn | Should -Match 'Not logged in'
    }

    It "uses a login from docker's config.json" {
        $root = Use-TrustingRoot
        $dockerConfig = Join-Path $state.Work 'docker-config'
        New-Item -ItemType Directory -Force $dockerConfig | Out-Null
        $auth = [Convert]::ToBase64String([Text.Encoding]::UTF8.GetBytes('alice:c0rrect-horse'))
        Set-Content "$dockerConfig/config.json" "{`"auths`":{`"https://$secure`":{`"auth`":`"$auth`"}}}"
        $env:DOCKER_CONFIG = $dockerConfig
        (Request-ContainerImage "$secure/secure/busybox:1" -Quiet).Id | Should -Be $busybox.Id
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }

    It 'pushes with a stored login and fails to push without one' {
        $root = Use-TrustingRoot
        Request-ContainerImage "$secure/secure/busybox:1" -Credential $good -Quiet | Out-Null
        $err = $null
        Submit-ContainerImage "$secure/secure/busybox:1" -Destination "$secure/secure/copy:1" -Quiet -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'RegistryAuthenticationRequired,*'
        Connect-ContainerRegistry $secure -Credential $good | Out-Null
        (Submit-ContainerImage "$secure/secure/busybox:1" -Destination "$secure/secure/copy:1" -Quiet).Mounted | Should -Be 2
    }

    It 'pulls through a mirror from registries.json, tagged with the name asked for' {
        $root = Use-Root
        New-Item -ItemType Directory -Force $root | Out-Null
        # A registry that is not there (127.0.0.2:1), mirrored by our plain-HTTP one: nothing leaves 127.0.0.0/8.
        Set-Content "$root/registries.json" "{`"registries`": {`"127.0.0.2:1`": {`"mirrors`": [`"http://$hostPort`"]}}}"
        $image = Request-ContainerImage '127.0.0.2:1/fixture/busybox:1' -Quiet
        $image.Id | Should -Be $busybox.Id
        $image.RepoTags | Should -Be @('127.0.0.2:1/fixture/busybox:1')
        Get-TestStoreProblem -Root $root | Should -BeNullOrEmpty
    }
}
