# Helpers of bench/summary.ps1: the bare OCI bundles it runs runc and psc-runtime on, the results the other
# benchmark scripts left in bench/results, and the one table of issue 15's rows. Dot-source after BenchCommon.ps1.

function New-BenchBareBundle {
    <# Writes config.json of a minimal bundle (runc-spec-like: its own namespaces, proc and /dev, read-only root). #>
    param([Parameter(Mandatory)][string]$Bundle, [string]$RootPath = 'rootfs', [Parameter(Mandatory)][string[]]$Arguments, [Parameter(Mandatory)][string]$CgroupsPath)
    New-Item -ItemType Directory -Force $Bundle | Out-Null
    @{
        ociVersion = '1.0.2'
        process    = @{ terminal = $false; user = @{ uid = 0; gid = 0 }; args = $Arguments; env = @('PATH=/bin'); cwd = '/'
            capabilities = @{ bounding = @('CAP_KILL'); effective = @('CAP_KILL'); permitted = @('CAP_KILL') }; noNewPrivileges = $true }
        root       = @{ path = $RootPath; readonly = $true }
        hostname   = 'bench'
        mounts     = @(@{ destination = '/proc'; type = 'proc'; source = 'proc' }, @{ destination = '/dev'; type = 'tmpfs'; source = 'tmpfs'; options = @('nosuid', 'strictatime', 'mode=755', 'size=65536k') })
        linux      = @{ namespaces = @('pid', 'network', 'ipc', 'uts', 'mount', 'cgroup') | ForEach-Object { @{ type = $_ } }
            cgroupsPath = $CgroupsPath; maskedPaths = @('/proc/kcore'); readonlyPaths = @('/proc/sys') }
    } | ConvertTo-Json -Depth 6 | Set-Content (Join-Path $Bundle 'config.json')
}

function Get-BenchJsonNumber([double]$Value) { if ([double]::IsNaN($Value) -or [double]::IsInfinity($Value)) { $null } else { [math]::Round($Value, 3) } }

function Get-BenchResultProperty($Object, [string[]]$Path) {
    <# $Object.a.b... of a parsed JSON document, or $null where a step is missing (other scripts may change shape). #>
    foreach ($p in $Path) {
        if ($null -eq $Object) { return $null }
        $prop = $Object.PSObject.Properties[$p]
        $Object = if ($prop) { $prop.Value } else { $null }
    }
    $Object
}

function ConvertTo-BenchDouble($Value) { if ($null -eq $Value) { [double]::NaN } else { [double]$Value } }

function Read-BenchEarlierResult {
    <#
    .SYNOPSIS
        The figures of issue 15's other rows from the newest network/pull/import/dns result written after -Since
        (NaN where a script did not run, failed, or wrote another shape).
    #>
    param([DateTime]$Since)
    $dir = Join-Path (Split-Path $PSScriptRoot -Parent) 'results'
    $latest = {
        param([string]$Name)
        Get-ChildItem -LiteralPath $dir -Filter "$Name-*.json" -ErrorAction SilentlyContinue | Where-Object LastWriteTime -ge $Since |
            Sort-Object LastWriteTime | Select-Object -Last 1
    }
    $r = [ordered]@{ Files = [ordered]@{}; BridgePodman = [double]::NaN; BridgeDocker = [double]::NaN; PortPsc = [double]::NaN; PortHost = [double]::NaN
        PortPodman = [double]::NaN; PortDocker = [double]::NaN; PullPsc = [double]::NaN; PullPeers = [ordered]@{}; ImportPsc = [double]::NaN
        ImportPeers = [ordered]@{}; DnsPsc = [double]::NaN; DnsAardvark = [double]::NaN }
    foreach ($name in 'network', 'pull', 'import', 'dns') {
        $file = & $latest $name
        if (-not $file) { continue }
        try { $doc = Get-Content -Raw -LiteralPath $file.FullName | ConvertFrom-Json } catch { Write-Host "summary: cannot read $($file.Name): $_"; continue }
        $r.Files[$name] = $file.Name
        switch ($name) {
            'network' {
                $r.BridgePodman = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'podman', 'medianMs')
                $r.BridgeDocker = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'docker', 'medianMs')
                $r.PortPsc = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'psc requests/s', 'requestsPerSecond')
                $r.PortHost = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'host requests/s', 'requestsPerSecond')
                $r.PortPodman = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'podman requests/s', 'requestsPerSecond')
                $r.PortDocker = ConvertTo-BenchDouble (Get-BenchResultProperty $doc 'docker requests/s', 'requestsPerSecond')
            }
            'pull' {
                foreach ($row in @(Get-BenchResultProperty $doc 'results')) {
                    if (-not $row) { continue }
                    $engine = [string](Get-BenchResultProperty $row 'Engine'); $mbps = ConvertTo-BenchDouble (Get-BenchResultProperty $row 'MBps')
                    if ($engine -eq 'PSContainer') { $r.PullPsc = $mbps } elseif ($engine) { $r.PullPeers[$engine] = $mbps }
                }
            }
            'import' {
                foreach ($row in @(Get-BenchResultProperty $doc 'engines')) {
                    if (-not $row) { continue }
                    $engine = [string](Get-BenchResultProperty $row 'engine'); $mbps = ConvertTo-BenchDouble (Get-BenchResultProperty $row 'mbPerSecond')
                    if ($engine -like 'PSContainer*') { $r.ImportPsc = $mbps } elseif ($engine) { $r.ImportPeers[$engine] = $mbps }
                }
            }
            'dns' {
                foreach ($row in @(Get-BenchResultProperty $doc 'memory')) {
                    if (-not $row) { continue }
                    $resolver = [string](Get-BenchResultProperty $row 'resolver'); $mb = (ConvertTo-BenchDouble (Get-BenchResultProperty $row 'rssKb')) / 1024
                    if ($resolver -like 'psc-dns*') { $r.DnsPsc = $mb } elseif ($resolver -like 'aardvark*') { $r.DnsAardvark = $mb }
                }
            }
        }
    }
    [pscustomobject]$r
}

function New-BenchSummaryRow {
    <#
        One row: PSContainer's figure, each peer's with how many times PSContainer is better (ms and MB RSS: peer /
        ours; rates: ours / peer), the goal and whether it is met ($null: not measured).
    #>
    param([string]$Path, [string]$Unit, [double]$Psc, [Collections.IDictionary]$Peers, [string]$Goal, $Met)
    $format = if ($Unit -eq 'ms' -or $Unit -eq 'MB RSS') { 'N1' } else { 'N0' }
    $cells = foreach ($k in $Peers.Keys) {
        $v = [double]$Peers[$k]
        if ([double]::IsNaN($v)) { continue }
        $x = if ($Unit -in 'ms', 'MB RSS') { $v / $Psc } else { $Psc / $v }
        "$k $(Format-BenchNumber $v $format) ($(Format-BenchNumber $x 'N2')x)"
    }
    $numbers = [ordered]@{}
    foreach ($k in $Peers.Keys) { $numbers[$k] = Get-BenchJsonNumber ([double]$Peers[$k]) }
    [pscustomobject]@{
        Path = $Path; Unit = $Unit; Psc = $Psc; PeerNumbers = $numbers; Goal = $Goal
        Met = if ([double]::IsNaN($Psc)) { $null } else { $Met }
        Cells = [ordered]@{ path = $Path; unit = $Unit; PSContainer = (Format-BenchNumber $Psc $format); 'peers (x)' = $(if ($cells) { $cells -join ', ' } else { '-' })
            goal = $Goal; met = $(if ([double]::IsNaN($Psc)) { 'not run' } elseif ($Met) { 'yes' } else { 'no' }) }
    }
}

function Write-BenchSummaryTable([object[]]$Row) {
    Write-BenchTable -Row @($Row | ForEach-Object { [pscustomobject]$_.Cells }) -Column 'path', 'unit', 'PSContainer', 'peers (x)', 'goal', 'met' -RightAlign 'PSContainer'
}
