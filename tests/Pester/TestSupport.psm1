#Requires -Version 7.4
<#
    Helpers shared by the PSContainer Pester suites: a private state root per test file, fixture images built from
    Debian packages and real tools (busybox-static, umoci, skopeo), hand-built tar and docker-save archives, and
    leak/integrity checks of a state root. Nothing here touches the default root (/var/lib/pscontainer).

    Typical use in a *.Tests.ps1:

        BeforeAll {
            Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
            $script:state = New-TestStateRoot          # sets $env:PSCONTAINER_ROOT before the first cmdlet call
            Import-Module (Get-TestModulePath) -Force
        }
        AfterAll { Remove-TestStateRoot $script:state }
#>

Set-StrictMode -Version Latest

# ---- module and pwsh -------------------------------------------------------------------------------------------

function Get-TestRepositoryRoot {
    (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
}

function Get-TestRuntimeBinary {
    <#
        psc-runtime for tests that drive it directly: $env:PSC_RUNTIME when set, else a fresh cmake build into
        -WorkDirectory (never a stale copy), else what build.ps1 put in out/. An absolute path.
    #>
    param([Parameter(Mandatory)][string]$WorkDirectory)
    if ($env:PSC_RUNTIME) { return (Resolve-Path $env:PSC_RUNTIME).ProviderPath }
    $repo = Get-TestRepositoryRoot
    $build = Join-Path $WorkDirectory 'build'
    & cmake -S (Join-Path $repo 'src/PSContainer.Native/native') -B $build -DCMAKE_BUILD_TYPE=Release *> $null
    & cmake --build $build --target psc-runtime *> $null
    if ($LASTEXITCODE -eq 0 -and (Test-Path "$build/psc-runtime")) { return "$build/psc-runtime" }
    Join-Path $repo 'out/PSContainer/native/psc-runtime'
}

function Get-TestModulePath {
    <# The built module: $env:PSCONTAINER_TEST_MODULE when set (a .psd1 or its folder), else out/PSContainer (build.ps1 build). #>
    $path = if ($env:PSCONTAINER_TEST_MODULE) { $env:PSCONTAINER_TEST_MODULE } else { Join-Path (Get-TestRepositoryRoot) 'out/PSContainer/PSContainer.psd1' }
    if (Test-Path $path -PathType Container) { $path = Join-Path $path 'PSContainer.psd1' }
    if (-not (Test-Path $path)) { throw "The module is not built: $path is missing. Run 'dotnet pwsh ./build.ps1 build' first." }
    $path
}

function Get-TestPwshCommand {
    <#
        How to start another pwsh like this one: the native pwsh host, or `dotnet <pwsh.dll>` when this session runs as
        a dotnet tool. Returns @{ FilePath; Arguments } (Arguments go before -NoProfile etc.).
    #>
    $exe = [Environment]::ProcessPath
    if ([IO.Path]::GetFileNameWithoutExtension($exe) -eq 'dotnet') {
        $dll = [Environment]::GetCommandLineArgs()[0]
        if ($dll -notlike '*.dll') { $dll = Join-Path $PSHOME 'pwsh.dll' }
        return [pscustomobject]@{ FilePath = $exe; Arguments = @($dll) }
    }
    [pscustomobject]@{ FilePath = $exe; Arguments = @() }
}

function Start-TestPwsh {
    <#
        Starts a separate pwsh process (not a runspace or thread job) running -Script, with the current environment
        (so the same $env:PSCONTAINER_ROOT). Its stdout/stderr are collected; use Wait-TestPwsh for the result.
    #>
    param(
        [Parameter(Mandatory)][string]$Script,
        [hashtable]$Environment = @{},
        [string]$WorkingDirectory = (Get-TestRepositoryRoot)
    )
    $pwsh = Get-TestPwshCommand
    $psi = [Diagnostics.ProcessStartInfo]::new($pwsh.FilePath)
    foreach ($a in $pwsh.Arguments) { $psi.ArgumentList.Add($a) }
    foreach ($a in @('-NoProfile', '-NonInteractive', '-Command', $Script)) { $psi.ArgumentList.Add($a) }
    $psi.UseShellExecute = $false
    $psi.RedirectStandardOutput = $true
    $psi.RedirectStandardError = $true
    $psi.WorkingDirectory = $WorkingDirectory
    foreach ($k in $Environment.Keys) { $psi.Environment[$k] = [string]$Environment[$k] }
    $process = [Diagnostics.Process]::Start($psi)
    [pscustomobject]@{
        Process = $process
        Stdout  = $process.StandardOutput.ReadToEndAsync()
        Stderr  = $process.StandardError.ReadToEndAsync()
    }
}

function Wait-TestPwsh {
    <# Waits for a Start-TestPwsh process; kills it (by its own id) after -TimeoutSeconds. #>
    param(
        [Parameter(Mandatory, ValueFromPipeline)]$Job,
        [int]$TimeoutSeconds = 120
    )
    process {
        $timedOut = -not $Job.Process.WaitForExit($TimeoutSeconds * 1000)
        if ($timedOut) {
            try { $Job.Process.Kill($true) } catch { }
            $Job.Process.WaitForExit()
        }
        [pscustomobject]@{
            ExitCode = $Job.Process.ExitCode
            TimedOut = $timedOut
            Stdout   = $Job.Stdout.GetAwaiter().GetResult()
            Stderr   = $Job.Stderr.GetAwaiter().GetResult()
        }
    }
}

# ---- private state root ----------------------------------------------------------------------------------------

function New-TestStateRoot {
    <#
        Makes a private state root /tmp/<Prefix>-<guid> (plus -run, -work siblings for the runtime root and the
        test's own fixtures) and points $env:PSCONTAINER_ROOT / $env:PSCONTAINER_RUNROOT at it. Call it before the
        first PSContainer cmdlet. Remove-TestStateRoot undoes everything.
    #>
    param([string]$Prefix = 'psc-pester')
    $root = "/tmp/$Prefix-$([guid]::NewGuid().ToString('N'))"
    $state = [pscustomobject]@{
        Root            = $root
        RunRoot         = "$root-run"
        Work            = "$root-work"
        PreviousRoot    = $env:PSCONTAINER_ROOT
        PreviousRunRoot = $env:PSCONTAINER_RUNROOT
        # Containers' cgroups go under a parent of the test's own (not the default 'pscontainer', which would
        # outlive the test); a suite may still set another one after this.
        CgroupParent    = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
        PreviousCgroupParent = $env:PSCONTAINER_CGROUP_PARENT
    }
    New-Item -ItemType Directory -Force $state.Root, $state.RunRoot, $state.Work | Out-Null
    $env:PSCONTAINER_ROOT = $state.Root
    $env:PSCONTAINER_RUNROOT = $state.RunRoot
    $env:PSCONTAINER_CGROUP_PARENT = $state.CgroupParent
    $state
}

function Wait-TestNetworkTeardown {
    <#
        The veths and network namespaces of stopped or removed containers go in the background (the kernel destroys an
        unpinned namespace and its veth pairs after an RCU grace period): waits, at most -TimeoutSeconds, until those
        the host object ledger of the state root -Root (default: $env:PSCONTAINER_ROOT) names are gone, through the
        engine's hook. Returns what is still there ("veth pscv...", "netns ..."): empty when everything went. A leak
        check calls this first and then looks at the host as before, so it stays exact.
    #>
    param([string]$Root = $env:PSCONTAINER_ROOT, [string]$RunRoot, [double]$TimeoutSeconds = 10)
    $engine = 'PSContainer.Engine.ContainerEngine' -as [type]
    if (-not $Root) { return }
    if (-not $engine -or -not $engine.Assembly.GetType('PSContainer.Engine.Containers.ContainerManager').GetMethod('WaitForNetworkTeardown') -or
        -not (Test-Path -LiteralPath "$Root/state.db")) {
        # The module is not loaded here (its examples ran in another process), or is a build without the hook: wait
        # for the root's veths instead.
        $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
        do {
            $left = @(& ip -o link show type veth 2>$null | Where-Object { $_ -match "alias pscontainer:$([regex]::Escape($Root))$" } |
                ForEach-Object { "veth $(($_ -split ': ')[1] -replace '@.*$')" })
            if ($left.Count -eq 0) { return }
            Start-Sleep -Milliseconds 20
        } while ([DateTime]::UtcNow -lt $deadline)
        return $left
    }
    $previous = $env:PSCONTAINER_ROOT, $env:PSCONTAINER_RUNROOT
    try {
        $env:PSCONTAINER_ROOT = $Root
        if ($RunRoot) { $env:PSCONTAINER_RUNROOT = $RunRoot }
        @($engine::ForEnvironment().Containers.WaitForNetworkTeardown([TimeSpan]::FromSeconds($TimeoutSeconds)))
    }
    finally { $env:PSCONTAINER_ROOT, $env:PSCONTAINER_RUNROOT = $previous }
}

function Get-TestMount {
    <# Mount points at or under any of -Path (from /proc/self/mountinfo), deepest first. #>
    param([Parameter(Mandatory)][string[]]$Path)
    $mounts = foreach ($line in [IO.File]::ReadAllLines('/proc/self/mountinfo')) {
        $point = ($line -split ' ')[4] -replace '\\040', ' '
        foreach ($p in $Path) {
            if ($point -eq $p -or $point.StartsWith($p.TrimEnd('/') + '/')) { $point; break }
        }
    }
    @($mounts | Sort-Object Length -Descending -Unique)
}

function Remove-TestStateRoot {
    <# Unmounts whatever is still mounted under the test's directories, deletes them and restores the environment. #>
    param([Parameter(Mandatory, Position = 0)]$State)
    if ($null -eq $State) { return }
    # What the module made in this root first, the way a user removes it (the default bridge's host objects too),
    # when the suite's own clean-up has not.
    if ($env:PSCONTAINER_ROOT -eq $State.Root -and (Get-Command Get-Container -ErrorAction Ignore)) {
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
        Get-ContainerNetwork -ErrorAction SilentlyContinue | Remove-ContainerNetwork -Force -ErrorAction SilentlyContinue
    }
    # Veths and namespaces the kernel is still taking down are not for the clean-up below to delete.
    $null = Wait-TestNetworkTeardown -Root $State.Root -RunRoot $State.RunRoot
    $paths = @($State.Root, $State.RunRoot, $State.Work) | Where-Object { $_ -and $_ -like '/tmp/*' }
    # Host network objects of this root (the default `bridge` network outlives its containers): links carry the
    # alias pscontainer:<root>, the nftables table is pscontainer_<first 8 hex of sha256(root)>.
    if ($State.Root -like '/tmp/*') {
        Get-Process -Name 'psc-dns' -ErrorAction SilentlyContinue | Where-Object {
            (Get-Content "/proc/$($_.Id)/cmdline" -Raw -ErrorAction SilentlyContinue) -match [regex]::Escape($State.RunRoot) } | Stop-Process -Force -ErrorAction SilentlyContinue
        foreach ($line in @(& ip -o link 2>$null)) {
            if ($line -match "^\d+: ([^:@]+)[:@].*alias pscontainer:$([regex]::Escape($State.Root))$") { & ip link del $Matches[1] 2>$null }
        }
        if (Get-Command nft -ErrorAction SilentlyContinue) {
            $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($State.Root))).Substring(0, 8).ToLowerInvariant()
            & nft delete table inet "pscontainer_$hash" 2>$null
        }
        if (Get-Command iptables -ErrorAction SilentlyContinue) {
            # The iptables backend's chains PSC-<hash>-DNAT/-POST/-FWD and the jumps to them (comment pscontainer:pscontainer_<hash>).
            $hash = [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($State.Root))).Substring(0, 8).ToLowerInvariant()
            foreach ($t in 'nat', 'filter') {
                foreach ($rule in @(& iptables -w -t $t -S 2>$null | Where-Object { $_ -match "^-A \S+ .*-j PSC-$hash-" })) {
                    & iptables -w -t $t @(($rule -replace '^-A ', '-D ') -split ' ') 2>$null
                }
                foreach ($chain in @(& iptables -w -t $t -S 2>$null | Where-Object { $_ -match "^-N PSC-$hash-" } | ForEach-Object { ($_ -split ' ')[1] })) {
                    & iptables -w -t $t -F $chain 2>$null
                    & iptables -w -t $t -X $chain 2>$null
                }
            }
        }
    }
    foreach ($m in Get-TestMount -Path $paths) { & umount -l $m 2>$null }
    foreach ($p in $paths) {
        # rm does not follow symlinks; --one-file-system stops at anything still mounted.
        if (Test-Path -LiteralPath $p) { & rm -rf --one-file-system -- $p }
    }
    if ($State.PSObject.Properties['CgroupParent'] -and $State.CgroupParent) {
        # Removed containers leave no cgroup, so what is left is the (empty) parent in each hierarchy.
        foreach ($dir in @(Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue | ForEach-Object { Join-Path $_.FullName $State.CgroupParent }) + "/sys/fs/cgroup/$($State.CgroupParent)") {
            if (-not (Test-Path -LiteralPath $dir)) { continue }
            Get-ChildItem -LiteralPath $dir -Directory | ForEach-Object { & rmdir $_.FullName 2>$null }
            & rmdir $dir 2>$null
        }
        $env:PSCONTAINER_CGROUP_PARENT = $State.PreviousCgroupParent
    }
    $env:PSCONTAINER_ROOT = $State.PreviousRoot
    $env:PSCONTAINER_RUNROOT = $State.PreviousRunRoot
}

# ---- state database and store content --------------------------------------------------------------------------

function Invoke-TestSqlite {
    <#
        Runs a query against a state.db read-only (its own connection, no pooling, so nothing stays open) and returns
        the rows as objects. Uses the Microsoft.Data.Sqlite the module ships.
    #>
    param(
        [Parameter(Mandatory)][string]$Database,
        [Parameter(Mandatory)][string]$Query
    )
    if (-not ('Microsoft.Data.Sqlite.SqliteConnection' -as [type])) {
        Add-Type -Path (Join-Path (Split-Path (Get-TestModulePath)) 'Microsoft.Data.Sqlite.dll')
    }
    $builder = [Microsoft.Data.Sqlite.SqliteConnectionStringBuilder]::new()
    $builder.DataSource = $Database
    $builder.Mode = [Microsoft.Data.Sqlite.SqliteOpenMode]::ReadOnly
    $builder.Pooling = $false
    $connection = [Microsoft.Data.Sqlite.SqliteConnection]::new($builder.ToString())
    try {
        $connection.Open()
        $command = $connection.CreateCommand()
        $command.CommandText = $Query
        $reader = $command.ExecuteReader()
        try {
            while ($reader.Read()) {
                $row = [ordered]@{}
                for ($i = 0; $i -lt $reader.FieldCount; $i++) {
                    $row[$reader.GetName($i)] = if ($reader.IsDBNull($i)) { $null } else { $reader.GetValue($i) }
                }
                [pscustomobject]$row
            }
        }
        finally { $reader.Dispose() }
    }
    finally { $connection.Dispose() }
}

function Get-TestStoreContent {
    <#
        What a state root holds, by name: image ids, tags, layer records (database) and layer directories, blobs and
        temporary entries (files). Two snapshots compare with Compare-TestStoreContent.
    #>
    param([Parameter(Mandatory)][string]$Root)
    $db = Join-Path $Root 'state.db'
    $hasDb = Test-Path $db
    $names = { param($dir) if (Test-Path -LiteralPath $dir) { @(Get-ChildItem -LiteralPath $dir -Force | ForEach-Object Name | Sort-Object) } else { @() } }
    [pscustomobject]@{
        Images      = if ($hasDb) { @(Invoke-TestSqlite $db 'SELECT id FROM images ORDER BY id' | ForEach-Object id) } else { @() }
        Tags        = if ($hasDb) { @(Invoke-TestSqlite $db 'SELECT name FROM tags ORDER BY name' | ForEach-Object name) } else { @() }
        ImageLayers = if ($hasDb) { @(Invoke-TestSqlite $db 'SELECT image_id || '' '' || position || '' '' || chain_id AS r FROM image_layers ORDER BY 1' | ForEach-Object r) } else { @() }
        LayerRows   = if ($hasDb) { @(Invoke-TestSqlite $db 'SELECT chain_id FROM layers ORDER BY chain_id' | ForEach-Object chain_id) } else { @() }
        Layers      = & $names (Join-Path $Root 'layers')
        Blobs       = & $names (Join-Path $Root 'image/blobs/sha256')
        Temp        = & $names (Join-Path $Root 'tmp')
    }
}

function Compare-TestStoreContent {
    <# Differences between two Get-TestStoreContent snapshots, one line each ("+Blobs abc…" = appeared); empty when equal. #>
    param([Parameter(Mandatory)]$Before, [Parameter(Mandatory)]$After)
    foreach ($p in 'Images', 'Tags', 'ImageLayers', 'LayerRows', 'Layers', 'Blobs', 'Temp') {
        foreach ($d in Compare-Object @($Before.$p) @($After.$p)) {
            '{0}{1} {2}' -f ($d.SideIndicator -eq '=>' ? '+' : '-'), $p, $d.InputObject
        }
    }
}

function Get-TestStoreProblem {
    <#
        Checks a state root and returns one line per problem (nothing when healthy):
        PRAGMA integrity_check and foreign_key_check, every blob's sha256 equals its file name, every image's config,
        manifest and layer blobs and layer directories exist, every layer directory and layer record is used by an
        image, no temporary files are left, image/index.json lists exactly the database's images and tags. -ExpectEmpty also requires that no
        image, tag, layer or blob is left.
    #>
    param(
        [Parameter(Mandatory)][string]$Root,
        [switch]$ExpectEmpty
    )
    $db = Join-Path $Root 'state.db'
    $blobDir = Join-Path $Root 'image/blobs/sha256'
    if (-not (Test-Path $db)) { 'state.db is missing'; return }
    $integrity = @(Invoke-TestSqlite $db 'PRAGMA integrity_check' | ForEach-Object { $_.PSObject.Properties.Value })
    if ($integrity.Count -ne 1 -or $integrity[0] -ne 'ok') { "integrity_check: $($integrity -join '; ')" }
    foreach ($fk in Invoke-TestSqlite $db 'PRAGMA foreign_key_check') { "foreign_key_check: $($fk.table) row $($fk.rowid) -> $($fk.parent)" }

    $blobs = @(if (Test-Path $blobDir) { Get-ChildItem -LiteralPath $blobDir -Force })
    foreach ($b in $blobs) {
        if ($b.PSIsContainer) { "blob $($b.Name) is a directory"; continue }
        $hash = (Get-FileHash -LiteralPath $b.FullName -Algorithm SHA256).Hash.ToLowerInvariant()
        if ($hash -ne $b.Name) { "blob $($b.Name) has sha256 $hash" }
    }
    $blobNames = [Collections.Generic.HashSet[string]]::new([string[]]@($blobs | ForEach-Object Name))
    $layerDirs = @(if (Test-Path (Join-Path $Root 'layers')) { Get-ChildItem -LiteralPath (Join-Path $Root 'layers') -Force | ForEach-Object Name })

    $images = @(Invoke-TestSqlite $db 'SELECT id, manifest_digest FROM images')
    $imageLayers = @(Invoke-TestSqlite $db 'SELECT image_id, position, chain_id, blob_digest FROM image_layers')
    foreach ($i in $images) {
        foreach ($d in $i.id, $i.manifest_digest) { if (-not $blobNames.Contains($d.Substring(7))) { "image $($i.id): blob $d is missing" } }
    }
    foreach ($l in $imageLayers) {
        if (-not $blobNames.Contains($l.blob_digest.Substring(7))) { "image $($l.image_id) layer $($l.position): blob $($l.blob_digest) is missing" }
        if (-not (Test-Path -LiteralPath (Join-Path $Root "layers/$($l.chain_id.Substring(7))/diff") -PathType Container)) {
            "image $($l.image_id) layer $($l.position): layer directory $($l.chain_id) is missing"
        }
    }
    $usedChains = @($imageLayers | ForEach-Object { $_.chain_id.Substring(7) } | Sort-Object -Unique)
    foreach ($dir in $layerDirs) { if ($dir -notin $usedChains) { "layer directory $dir is not used by any image" } }
    foreach ($row in Invoke-TestSqlite $db 'SELECT chain_id FROM layers') {
        if ($row.chain_id.Substring(7) -notin $usedChains) { "layer record $($row.chain_id) is not used by any image" }
    }
    $temp = Join-Path $Root 'tmp'
    if (Test-Path $temp) { foreach ($t in Get-ChildItem -LiteralPath $temp -Force) { "temporary entry left: tmp/$($t.Name)" } }
    # Temporaries written next to the database or the layout by mistake.
    foreach ($t in Get-ChildItem -LiteralPath $Root -Force -File | Where-Object Name -like '*.tmp') { "temporary file left: $($t.Name)" }

    # The store's OCI layout index must name exactly the images and tags the database has (OCI tools read it).
    $index = Join-Path $Root 'image/index.json'
    $expected = @(Invoke-TestSqlite $db 'SELECT i.manifest_digest AS d, t.name AS n FROM images i LEFT JOIN tags t ON t.image_id = i.id' |
            ForEach-Object { "$($_.d) $($_.n)".Trim() } | Sort-Object)
    $listed = @(if (Test-Path $index) {
            foreach ($m in @((Get-Content -Raw $index | ConvertFrom-Json).manifests)) {
                if (-not $m) { continue }
                if (-not $blobNames.Contains($m.digest.Substring(7))) { "index.json names $($m.digest), which is not stored" }
                $name = if ($m.PSObject.Properties['annotations'] -and $m.annotations.PSObject.Properties['io.containerd.image.name']) { $m.annotations.'io.containerd.image.name' }
                "LISTED $("$($m.digest) $name".Trim())"
            }
        })
    $listed | Where-Object { $_ -notlike 'LISTED *' }
    foreach ($d in Compare-Object $expected @($listed | Where-Object { $_ -like 'LISTED *' } | ForEach-Object { $_.Substring(7) } | Sort-Object)) {
        if ($d.SideIndicator -eq '<=') { "index.json does not list $($d.InputObject)" } else { "index.json lists $($d.InputObject), which the database does not have" }
    }

    if ($ExpectEmpty) {
        $c = Get-TestStoreContent -Root $Root
        foreach ($p in 'Images', 'Tags', 'ImageLayers', 'LayerRows', 'Layers', 'Blobs') {
            if (@($c.$p).Count -gt 0) { "$p not empty: $(@($c.$p) -join ', ')" }
        }
    }
}

# ---- digests and layers ----------------------------------------------------------------------------------------

function Get-TestSha256 {
    <# sha256:<hex> of a file (-Path), bytes (-Bytes) or a UTF-8 string (-Text). #>
    [CmdletBinding(DefaultParameterSetName = 'Path')]
    param(
        [Parameter(Mandatory, ParameterSetName = 'Path', Position = 0)][string]$Path,
        [Parameter(Mandatory, ParameterSetName = 'Bytes')][byte[]]$Bytes,
        [Parameter(Mandatory, ParameterSetName = 'Text')][string]$Text
    )
    $hash = switch ($PSCmdlet.ParameterSetName) {
        'Path' { [Security.Cryptography.SHA256]::HashData([IO.File]::ReadAllBytes($Path)) }
        'Bytes' { [Security.Cryptography.SHA256]::HashData($Bytes) }
        'Text' { [Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($Text)) }
    }
    'sha256:' + [Convert]::ToHexStringLower($hash)
}

function Get-TestChainId {
    <# OCI chain ids of a layer stack, base first: ChainID(L1) = DiffID(L1), ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln)). #>
    param([Parameter(Mandatory)][string[]]$DiffId)
    $previous = $null
    foreach ($d in $DiffId) {
        $previous = if ($null -eq $previous) { $d } else { Get-TestSha256 -Text "$previous $d" }
        $previous
    }
}

function Get-TestLayerDirectory {
    <# The unpacked layer directories ($root/layers/<chain>/diff) of an image, base first, from its diff ids. #>
    param(
        [Parameter(Mandatory)][string]$Root,
        [Parameter(Mandatory)][string[]]$DiffId
    )
    foreach ($chain in Get-TestChainId -DiffId $DiffId) { Join-Path $Root "layers/$($chain.Substring(7))/diff" }
}

function Get-TestHostArchitecture {
    switch ([Runtime.InteropServices.RuntimeInformation]::OSArchitecture) {
        'X64' { 'amd64' } 'Arm64' { 'arm64' } 'Arm' { 'arm' } 'X86' { '386' } 'S390x' { 's390x' } 'Ppc64le' { 'ppc64le' }
        default { "$_".ToLowerInvariant() }
    }
}

# ---- overlay mounts --------------------------------------------------------------------------------------------

function Test-TestOverlaySupport {
    <# $null when overlayfs can be mounted here, else the reason (for -Skip). #>
    if ((& id -u) -ne '0') { return 'overlay mounts need root' }
    if (-not (Select-String -Quiet -Pattern '\boverlay$' -Path /proc/filesystems) -and -not (Test-Path /sys/module/overlay)) {
        & modprobe overlay 2>$null
        if (-not (Select-String -Quiet -Pattern '\boverlay$' -Path /proc/filesystems)) { return 'the kernel has no overlayfs' }
    }
    $null
}

function Mount-TestOverlay {
    <#
        Mounts the lower directories read-only as one overlay at -Target. -LowerDir is base first (as images list
        layers); overlayfs wants the top first, which this takes care of. Always pair with Dismount-TestOverlay.
    #>
    param(
        [Parameter(Mandatory)][string[]]$LowerDir,
        [Parameter(Mandatory)][string]$Target
    )
    New-Item -ItemType Directory -Force $Target | Out-Null
    $topFirst = @($LowerDir)
    [array]::Reverse($topFirst)
    $lower = ($topFirst | ForEach-Object { $_ -replace '([:,\\])', '\$1' }) -join ':'
    $output = & mount -t overlay overlay -o "ro,lowerdir=$lower" $Target 2>&1
    if ($LASTEXITCODE -ne 0) { throw "mount -t overlay failed ($LASTEXITCODE): $output" }
}

function Dismount-TestOverlay {
    param([Parameter(Mandatory)][string]$Target)
    if (Get-TestMount -Path $Target) {
        & umount $Target 2>$null
        if ($LASTEXITCODE -ne 0) { & umount -l $Target }
    }
}

# ---- trees -----------------------------------------------------------------------------------------------------

function Get-TestTreeSnapshot {
    <#
        A comparable listing of a directory tree: one line per entry "relative/path type mode [sha256|link target|dev]",
        without following symlinks. For canary directories that must stay unchanged.
    #>
    param([Parameter(Mandatory)][string]$Path)
    if (-not (Test-Path -LiteralPath $Path)) { return @() }
    $out = & find $Path -mindepth 1 -printf '%P\t%y\t%m\t%l\t%s\n' 2>&1
    @(foreach ($line in $out | Sort-Object) {
            $f = "$line" -split "`t"
            $extra = if ($f[1] -eq 'f') { (Get-FileHash -LiteralPath (Join-Path $Path $f[0]) -Algorithm SHA256).Hash } elseif ($f[1] -eq 'l') { $f[3] } else { '' }
            "$($f[0]) $($f[1]) $($f[2]) $extra"
        })
}

# ---- archives --------------------------------------------------------------------------------------------------

function New-TestTar {
    <#
        Writes a tar (PAX) from entry descriptions, with any names the test wants (absolute, "..", links anywhere):
        @{ Name = 'a/b'; Type = 'File'|'Directory'|'Symlink'|'HardLink'|'CharDevice'|'Fifo'; Content = 'text' or
        [byte[]]; LinkName = '...'; Mode = 0o644; Uid = 0; Gid = 0; Major = 0; Minor = 0 }.
        -Compress gzip|zstd compresses the result. Returns the file.
    #>
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][object[]]$Entry,
        [ValidateSet('none', 'gzip', 'zstd')][string]$Compress = 'none'
    )
    $types = @{
        File = 'RegularFile'; Directory = 'Directory'; Symlink = 'SymbolicLink'; HardLink = 'HardLink'
        CharDevice = 'CharacterDevice'; Fifo = 'Fifo'
    }
    $stream = [IO.File]::Create($Path)
    try {
        $writer = [Formats.Tar.TarWriter]::new($stream, [Formats.Tar.TarEntryFormat]::Pax, $true)
        foreach ($e in $Entry) {
            $type = $e['Type'] ?? 'File'
            $tarType = [Formats.Tar.TarEntryType]$types[$type]
            $tarEntry = [Formats.Tar.PaxTarEntry]::new($tarType, $e['Name'])
            $tarEntry.Mode = [IO.UnixFileMode]($e['Mode'] ?? ($type -eq 'Directory' ? 0x1ED : 0x1A4))
            $tarEntry.Uid = $e['Uid'] ?? 0
            $tarEntry.Gid = $e['Gid'] ?? 0
            $tarEntry.ModificationTime = [DateTimeOffset]::FromUnixTimeSeconds(1700000000)
            if ($type -in 'Symlink', 'HardLink') { $tarEntry.LinkName = $e['LinkName'] }
            if ($type -eq 'CharDevice') { $tarEntry.DeviceMajor = $e['Major'] ?? 0; $tarEntry.DeviceMinor = $e['Minor'] ?? 0 }
            if ($type -eq 'File') {
                $content = $e['Content'] ?? ''
                # (assigned in the branches: an empty array returned from an if statement would unroll to $null)
                if ($content -is [byte[]]) { $bytes = $content } else { $bytes = [Text.Encoding]::UTF8.GetBytes([string]$content) }
                $tarEntry.DataStream = [IO.MemoryStream]::new($bytes)
            }
            $writer.WriteEntry($tarEntry)
        }
        $writer.Dispose()
    }
    finally { $stream.Dispose() }
    if ($Compress -ne 'none') { Compress-TestFile -Path $Path -Format $Compress -InPlace | Out-Null }
    Get-Item -LiteralPath $Path
}

function Compress-TestFile {
    <# gzip or zstd a file to <Path>.gz/.zst (or in place with -InPlace). Returns the compressed file. #>
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][ValidateSet('gzip', 'zstd')][string]$Format,
        [switch]$InPlace
    )
    $out = $Path + ($Format -eq 'gzip' ? '.gz' : '.zst')
    if ($Format -eq 'gzip') { & gzip -n -c -- $Path > $out } else { & zstd -q -f -o $out -- $Path }
    if ($LASTEXITCODE -ne 0) { throw "$Format failed on $Path" }
    if ($InPlace) { Move-Item -Force $out $Path; $out = $Path }
    Get-Item -LiteralPath $out
}

function New-TestDockerArchive {
    <#
        Writes a docker save tar in the LEGACY layout old docker versions wrote: one directory per layer
        (<v1id>/layer.tar, <v1id>/json, <v1id>/VERSION), the config as <confighex>.json, manifest.json with
        "Layers": ["<v1id>/layer.tar", ...] and repositories. When a layer's content was already written for an
        earlier directory, its layer.tar is a symlink "../<first v1id>/layer.tar", as docker save does.

        -Image is a list of @{ RepoTags = @('repo:tag'); Layers = @('/path/layer1.tar', ...); Config = @{...} (image
        config "config" section, optional); DiffIds = @(...) (optional: overrides what the config claims) }.
        Layer tars are taken as given (uncompressed or not); diff ids are their sha256 unless overridden.
        Returns @{ Path; Images = @(@{ Id; DiffIds; RepoTags }) }.
    #>
    param(
        [Parameter(Mandatory)][string]$Path,
        [Parameter(Mandatory)][object[]]$Image,
        [string]$Architecture = (Get-TestHostArchitecture)
    )
    $staging = "$Path.staging"
    if (Test-Path $staging) { & rm -rf -- $staging }
    New-Item -ItemType Directory $staging | Out-Null
    try {
        $written = @{}      # diff id -> v1 id whose dir holds the real layer.tar
        $manifest = [Collections.Generic.List[object]]::new()
        $repositories = [ordered]@{}
        $results = foreach ($img in $Image) {
            $layerFiles = @($img['Layers'])
            $actualDiffs = @($layerFiles | ForEach-Object { Get-TestSha256 -Path $_ })
            $diffIds = @(if ($img['DiffIds']) { $img['DiffIds'] } else { $actualDiffs })
            $config = [ordered]@{
                architecture = $Architecture
                os           = 'linux'
                created      = '2024-01-01T00:00:00Z'
                config       = ($img['Config'] ?? @{ Env = @('PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin') })
                rootfs       = [ordered]@{ type = 'layers'; diff_ids = $diffIds }
                history      = @($layerFiles | ForEach-Object { [ordered]@{ created = '2024-01-01T00:00:00Z'; created_by = 'New-TestDockerArchive' } })
            }
            $configBytes = [Text.Encoding]::UTF8.GetBytes(($config | ConvertTo-Json -Depth 10 -Compress))
            $configDigest = Get-TestSha256 -Bytes $configBytes
            $configHex = $configDigest.Substring(7)
            [IO.File]::WriteAllBytes((Join-Path $staging "$configHex.json"), $configBytes)

            $parent = ''
            $layerPaths = for ($i = 0; $i -lt $layerFiles.Count; $i++) {
                $isTop = $i -eq $layerFiles.Count - 1
                # docker's v1 ids depend on the parent, and the top one on the image config too.
                $v1 = (Get-TestSha256 -Text "$parent $($actualDiffs[$i]) $($isTop ? $configHex : '')").Substring(7)
                $dir = Join-Path $staging $v1
                if (-not (Test-Path $dir)) {
                    New-Item -ItemType Directory $dir | Out-Null
                    Set-Content -NoNewline -LiteralPath (Join-Path $dir 'VERSION') -Value '1.0'
                    $json = [ordered]@{ id = $v1; created = '2024-01-01T00:00:00Z'; container_config = @{ Cmd = $null } }
                    if ($parent) { $json.parent = $parent }
                    Set-Content -NoNewline -LiteralPath (Join-Path $dir 'json') -Value ($json | ConvertTo-Json -Compress)
                    $key = $actualDiffs[$i]
                    if ($written.ContainsKey($key) -and $written[$key] -ne $v1) {
                        & ln -s "../$($written[$key])/layer.tar" (Join-Path $dir 'layer.tar')
                    }
                    else {
                        Copy-Item -LiteralPath $layerFiles[$i] (Join-Path $dir 'layer.tar')
                        $written[$key] = $v1
                    }
                }
                $parent = $v1
                "$v1/layer.tar"
            }
            $tags = @($img['RepoTags'] ?? @())
            $manifest.Add([ordered]@{ Config = "$configHex.json"; RepoTags = $tags; Layers = @($layerPaths) })
            foreach ($t in $tags) {
                $colon = $t.LastIndexOf(':')
                $repo = $t.Substring(0, $colon)
                if (-not $repositories.Contains($repo)) { $repositories[$repo] = [ordered]@{} }
                $repositories[$repo][$t.Substring($colon + 1)] = $parent
            }
            [pscustomobject]@{ Id = $configDigest; DiffIds = $diffIds; RepoTags = $tags }
        }
        Set-Content -NoNewline -LiteralPath (Join-Path $staging 'manifest.json') -Value (ConvertTo-Json -InputObject @($manifest) -Depth 10 -Compress)
        if ($repositories.Count -gt 0) {
            Set-Content -NoNewline -LiteralPath (Join-Path $staging 'repositories') -Value ($repositories | ConvertTo-Json -Depth 5 -Compress)
        }
        $output = & tar --numeric-owner --owner=0 --group=0 -C $staging -cf $Path . 2>&1
        if ($LASTEXITCODE -ne 0) { throw "tar failed: $output" }
        [pscustomobject]@{ Path = $Path; Images = @($results) }
    }
    finally { & rm -rf -- $staging }
}

# ---- fixture images --------------------------------------------------------------------------------------------

function Assert-TestTool {
    <# Throws (naming the Debian package) when a tool the fixtures need is missing. #>
    param([Parameter(Mandatory)][hashtable]$Tool)
    foreach ($name in $Tool.Keys) {
        if (-not (Get-Command $name -CommandType Application -ErrorAction Ignore) -and -not (Test-Path $name)) {
            throw "$name is missing; install the Debian package '$($Tool[$name])' (build.ps1 pester does)."
        }
    }
}

function New-TestBusyboxRootFs {
    <#
        A root filesystem tar with the static busybox from Debian's busybox-static (/bin/busybox), its applets as
        symlinks, /etc/passwd and /etc/group, and the usual empty directories. -Customize gets the directory before
        it is packed (to replace /etc files with what a test needs). Returns the tar file.
    #>
    param(
        [Parameter(Mandatory)][string]$Path,
        [scriptblock]$Customize,
        [string[]]$Applet = @('sh', 'ls', 'cat', 'echo', 'true', 'false', 'sleep', 'env', 'id', 'ps', 'wget', 'nc', 'httpd', 'ip', 'hostname', 'mount', 'grep', 'test')
    )
    Assert-TestTool @{ '/bin/busybox' = 'busybox-static' }
    $dir = "$Path.rootfs"
    if (Test-Path $dir) { & rm -rf -- $dir }
    foreach ($d in 'bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'var/tmp', 'usr/bin') { New-Item -ItemType Directory -Force (Join-Path $dir $d) | Out-Null }
    Copy-Item /bin/busybox (Join-Path $dir 'bin/busybox')
    foreach ($a in $Applet) { & ln -s busybox (Join-Path $dir "bin/$a") }
    Set-Content -LiteralPath (Join-Path $dir 'etc/passwd') -Value "root:x:0:0:root:/root:/bin/sh`nnobody:x:65534:65534:nobody:/:/bin/false"
    Set-Content -LiteralPath (Join-Path $dir 'etc/group') -Value "root:x:0:`nnogroup:x:65534:"
    & chmod 1777 (Join-Path $dir 'tmp') (Join-Path $dir 'var/tmp')
    if ($Customize) { & $Customize $dir }
    $output = & tar --numeric-owner --owner=0 --group=0 --sort=name -C $dir -cf $Path . 2>&1
    if ($LASTEXITCODE -ne 0) { throw "tar failed: $output" }
    & rm -rf -- $dir
    Get-Item -LiteralPath $Path
}

function Invoke-TestTool {
    <# Runs a native tool and throws with its output when it fails. #>
    param([Parameter(Mandatory)][string]$FilePath, [Parameter(ValueFromRemainingArguments)][string[]]$ArgumentList)
    $output = & $FilePath @ArgumentList 2>&1
    if ($LASTEXITCODE -ne 0) { throw "$FilePath $($ArgumentList -join ' ') failed ($LASTEXITCODE): $($output -join "`n")" }
    $output
}

function New-TestUmociImage {
    <#
        An OCI image layout made with umoci, three layers with whiteouts:
          1 (repack)  etc/changed=v1, etc/deleted, data/a, data/old/b, keep/k, keep/sub/s
          2 (repack)  etc/changed=v2, etc/deleted removed (.wh.deleted), keep/sub removed (.wh.sub)
          3 (insert --opaque) data replaced wholesale (.wh..wh..opq) by data/n
        and config Cmd=/bin/sh, Env FOO=bar, WorkingDir=/data, label fixture=umoci.
        Returns @{ Layout; Tag; Reference ("layout:tag") }.
    #>
    param(
        [Parameter(Mandatory)][string]$Directory,
        [string]$Tag = 'v1'
    )
    Assert-TestTool @{ umoci = 'umoci' }
    New-Item -ItemType Directory -Force $Directory | Out-Null
    $layout = Join-Path $Directory 'layout'
    $ref = "${layout}:$Tag"
    Invoke-TestTool umoci init --layout $layout | Out-Null
    Invoke-TestTool umoci new --image $ref | Out-Null

    $b1 = Join-Path $Directory 'bundle1'
    Invoke-TestTool umoci unpack --image $ref $b1 | Out-Null
    $r = Join-Path $b1 'rootfs'
    foreach ($d in 'etc', 'data/old', 'keep/sub') { New-Item -ItemType Directory -Force (Join-Path $r $d) | Out-Null }
    [IO.File]::WriteAllText((Join-Path $r 'etc/changed'), 'v1')
    [IO.File]::WriteAllText((Join-Path $r 'etc/deleted'), 'to be deleted')
    [IO.File]::WriteAllText((Join-Path $r 'data/a'), 'old a')
    [IO.File]::WriteAllText((Join-Path $r 'data/old/b'), 'old b')
    [IO.File]::WriteAllText((Join-Path $r 'keep/k'), 'kept')
    [IO.File]::WriteAllText((Join-Path $r 'keep/sub/s'), 'sub')
    Invoke-TestTool umoci repack --image $ref $b1 | Out-Null

    # repack diffs against the bundle's unpack-time state, so each layer needs a fresh unpack.
    $b2 = Join-Path $Directory 'bundle2'
    Invoke-TestTool umoci unpack --image $ref $b2 | Out-Null
    $r = Join-Path $b2 'rootfs'
    Remove-Item (Join-Path $r 'etc/deleted')
    Remove-Item -Recurse (Join-Path $r 'keep/sub')
    [IO.File]::WriteAllText((Join-Path $r 'etc/changed'), 'v2')
    Invoke-TestTool umoci repack --image $ref $b2 | Out-Null

    # umoci 0.4.7 insert does not close its tar writer: the last member's padding and the end-of-archive blocks are
    # missing. A last file of exactly 512 bytes needs no padding, so the layer is still a well-formed tar.
    $new = Join-Path $Directory 'newdata'
    New-Item -ItemType Directory -Force $new | Out-Null
    [IO.File]::WriteAllBytes((Join-Path $new 'n'), [byte[]]@(foreach ($i in 0..511) { [byte](65 + $i % 26) }))
    Invoke-TestTool umoci insert --image $ref --opaque $new /data | Out-Null

    Invoke-TestTool umoci config --image $ref --config.cmd /bin/sh --config.env FOO=bar --config.workingdir /data --config.label fixture=umoci | Out-Null
    Invoke-TestTool umoci gc --layout $layout | Out-Null
    & rm -rf -- $b1 $b2 $new
    [pscustomobject]@{ Layout = $layout; Tag = $Tag; Reference = $ref }
}

function Get-TestOciLayoutImage {
    <# The manifest and config of a tag in an OCI image layout directory (for expected values). #>
    param([Parameter(Mandatory)][string]$Layout, [string]$Tag)
    $index = Get-Content -Raw (Join-Path $Layout 'index.json') | ConvertFrom-Json
    $descriptor = @($index.manifests | Where-Object { -not $Tag -or ($_.annotations -and $_.annotations.'org.opencontainers.image.ref.name' -eq $Tag) })[0]
    $manifest = Get-Content -Raw (Join-Path $Layout "blobs/sha256/$($descriptor.digest.Substring(7))") | ConvertFrom-Json
    $config = Get-Content -Raw (Join-Path $Layout "blobs/sha256/$($manifest.config.digest.Substring(7))") | ConvertFrom-Json
    [pscustomobject]@{
        ManifestDigest = $descriptor.digest
        Manifest       = $manifest
        ConfigDigest   = $manifest.config.digest
        Config         = $config
        DiffIds        = @($config.rootfs.diff_ids)
        LayerDigests   = @($manifest.layers.digest)
    }
}

# ---- containers on networks ------------------------------------------------------------------------------------

function Start-TestWebContainer {
    <# A busybox httpd container serving /www/index.html with -Text (default: its name), started; -Extra is splatted into New-Container. #>
    param([Parameter(Mandatory)][string]$Image, [Parameter(Mandatory)][string]$Name, [string]$Text = $Name, [hashtable]$Extra = @{})
    $cmd = "mkdir -p /www; echo $Text > /www/index.html; exec httpd -f -p 80 -h /www"
    New-Container $Image -Name $Name -Command sh, -c, $cmd @Extra | Start-Container -PassThru
}

function Invoke-TestInContainer {
    <# Runs a shell script in a throwaway container on -Network; returns its output lines, stderr included. #>
    param([Parameter(Mandatory)][string]$Image, [Parameter(Mandatory)][string]$Network, [Parameter(Mandatory)][string]$Script, [hashtable]$Extra = @{})
    # The container's stderr arrives as error records: collected as lines, whatever the caller's error preference.
    @(Start-Container -Image $Image -Network $Network -AutoRemove -Command sh, -c, $Script @Extra -ErrorAction Continue 2>&1 | ForEach-Object { "$_" })
}

function Wait-TestHttp {
    <# GETs -Uri until it answers (10 s at most) and returns the trimmed body. #>
    param([Parameter(Mandatory)][string]$Uri)
    $deadline = [DateTime]::UtcNow.AddSeconds(10)
    while ($true) {
        try { return (Invoke-WebRequest $Uri -TimeoutSec 2).Content.Trim() }
        catch { if ([DateTime]::UtcNow -gt $deadline) { throw } ; Start-Sleep -Milliseconds 100 }
    }
}

Export-ModuleMember -Function *-Test*
