# What the Build*.Tests.ps1 files share: build contexts under the test state root's work folder, running a command in
# a new container of a built image, and what a failed build may not leave behind. Use-BuildTestState names the
# state root (New-TestStateRoot's object) the other functions work in.

$script:buildState = $null

function Use-BuildTestState {
    param([Parameter(Mandatory)]$State)
    $script:buildState = $State
}

function New-Context {
    <# A build context folder named Name under the work folder: its Dockerfile and Files (relative path = text). #>
    param([string]$Name, [string]$Dockerfile, [hashtable]$Files = @{})
    $dir = Join-Path $script:buildState.Work $Name
    New-Item -ItemType Directory -Force $dir | Out-Null
    Set-Content -LiteralPath (Join-Path $dir 'Dockerfile') -Value $Dockerfile -NoNewline
    foreach ($f in $Files.GetEnumerator()) {
        $path = Join-Path $dir $f.Key
        New-Item -ItemType Directory -Force (Split-Path $path) | Out-Null
        Set-Content -LiteralPath $path -Value $f.Value -NoNewline
    }
    $dir
}

function Invoke-InImage {
    <# Runs a shell script in a new container of the image (as root, no network) and returns its output. #>
    param([string]$Image, [string]$Script)
    $c = New-Container -Image $Image -Entrypoint @() -Command sh, -c, $Script -User 0 -Network none
    try {
        Start-Container $c.Id -Wait | Out-Null
        (Get-ContainerLog $c.Id | ForEach-Object { $_.Line }) -join "`n"
    }
    finally { Remove-Container $c.Id -Force }
}

function Get-BuildLeftover {
    <# What a failed build may not leave: containers, mounts under the root, temp files. #>
    @(Get-Container -All | ForEach-Object { "container $($_.Name)" }) +
    @(Get-TestMount -Path $script:buildState.Root | Where-Object { $_ -notlike '*/shm' } | ForEach-Object { "mount $_" }) +
    @(Get-ChildItem -Force (Join-Path $script:buildState.Root 'tmp') -ErrorAction SilentlyContinue | ForEach-Object { "temp $($_.Name)" })
}

Export-ModuleMember -Function Use-BuildTestState, New-Context, Invoke-InImage, Get-BuildLeftover
