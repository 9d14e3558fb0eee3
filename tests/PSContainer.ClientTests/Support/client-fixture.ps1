#Requires -Version 7.4
<#
    The SDK client tests' server, set up and torn down the way the Pester API suites do it (TestSupport.psm1,
    DockerApiSupport.psm1): `setup` makes a private state root, imports a busybox image built from Debian's
    busybox-static as clienttest/busybox:1, creates one stopped container through the engine (engine-made, for the
    clients to see) and starts psc-api on a socket of the root; it prints the state as one JSON line. `teardown` takes
    that line back, says which containers the clients left, stops the server, removes everything of the root (host
    network objects and cgroups too) and prints what was left over as one JSON line.
#>
param(
    [Parameter(Mandatory)][ValidateSet('setup', 'teardown')][string]$Mode,
    [Parameter(Mandatory)][string]$Repo,
    [string]$State
)
$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $Repo 'out/PSContainer/PSContainer.psd1')
Import-Module (Join-Path $Repo 'tests/Pester/TestSupport.psm1')
Import-Module (Join-Path $Repo 'tests/Pester/DockerApiSupport.psm1')

if ($Mode -eq 'setup') {
    $s = New-TestStateRoot -Prefix 'psc-client'
    try {
        $tar = New-TestBusyboxRootFs -Path (Join-Path $s.Work 'busybox.tar')
        Import-ContainerImage $tar -Format RootFs -Name 'clienttest/busybox:1' -Command sh | Out-Null
        New-Container clienttest/busybox:1 -Name engine-made -Command true -Network none | Out-Null
        $service = Start-TestApiService -State $s -Name client
    }
    catch {
        Remove-TestApiStateRoot -State $s | Out-Null
        throw
    }
    [pscustomobject]@{
        Root = $s.Root; RunRoot = $s.RunRoot; Work = $s.Work; CgroupParent = $s.CgroupParent
        Socket = $service.Socket; DockerHost = $service.Api.DockerHost; Pid = $service.Api.Pid; LogPath = $service.LogPath
    } | ConvertTo-Json -Compress
    return
}

$saved = $State | ConvertFrom-Json
# The state object New-TestStateRoot made in the setup process (this process had none of it in its environment).
$s = [pscustomobject]@{
    Root = $saved.Root; RunRoot = $saved.RunRoot; Work = $saved.Work; CgroupParent = $saved.CgroupParent
    PreviousRoot = $null; PreviousRunRoot = $null; PreviousCgroupParent = $null
}
$env:PSCONTAINER_ROOT = $s.Root
$env:PSCONTAINER_RUNROOT = $s.RunRoot
$env:PSCONTAINER_CGROUP_PARENT = $s.CgroupParent
$left = @(Get-Container -All | Where-Object Name -ne 'engine-made' | ForEach-Object Name)
Stop-ContainerApiService -SocketPath $saved.Socket -ErrorAction Continue
$alive = [PSContainer.Engine.Containers.ProcessInfo]::Exists([int]$saved.Pid)
Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
$leaks = @(Get-TestApiLeak -State $s)
$bridges = @(Remove-TestApiStateRoot -State $s)
[pscustomobject]@{
    ContainersLeft = $left
    ServerAlive    = $alive
    Leaks          = $leaks + $bridges + @($s.Root, $s.RunRoot, $s.Work | Where-Object { Test-Path $_ })
} | ConvertTo-Json -Compress
