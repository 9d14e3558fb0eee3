@{
    RootModule           = 'PSContainer.dll'
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0b6c1e-2a0e-4c1f-9a55-3b8d6f2e4a10'
    Author               = 'PSContainer contributors'
    Copyright            = '(c) PSContainer contributors. MIT License.'
    Description          = 'A Linux container engine inside PowerShell: OCI images, containers, networks and volumes as cmdlets and objects.'
    PowerShellVersion    = '7.6'
    CompatiblePSEditions = @('Core')
    FormatsToProcess     = @('PSContainer.format.ps1xml')
    CmdletsToExport      = @(
        'Request-ContainerImage'
        'Submit-ContainerImage'
        'Connect-ContainerRegistry'
        'Disconnect-ContainerRegistry'
        'Get-ContainerImage'
        'Import-ContainerImage'
        'Export-ContainerImage'
        'Remove-ContainerImage'
        'Add-ContainerImageTag'
        'New-Container'
        'Start-Container'
        'Stop-Container'
        'Restart-Container'
        'Remove-Container'
        'Wait-Container'
        'Get-Container'
        'Get-ContainerLog'
        'New-ContainerNetwork'
        'Get-ContainerNetwork'
        'Remove-ContainerNetwork'
        'Connect-ContainerNetwork'
        'Disconnect-ContainerNetwork'
        'Repair-ContainerState'
        'Invoke-ContainerCommand'
        'Suspend-Container'
        'Resume-Container'
        'Get-ContainerStatistics'
        'Get-ContainerProcess'
        'Get-ContainerChange'
        'Rename-Container'
        'Get-ContainerDiskUsage'
        'Get-ContainerEvent'
        'New-ContainerVolume'
        'Get-ContainerVolume'
        'Remove-ContainerVolume'
        'Copy-ContainerItem'
        'Export-Container'
        'ConvertTo-ContainerImage'
        'Install-ContainerService'
        'Uninstall-ContainerService'
        'Enter-ContainerSession'
        'Start-ContainerApiService'
        'Stop-ContainerApiService'
        'Install-ContainerApiService'
        'Uninstall-ContainerApiService'
        'Build-ContainerImage'
        'Remove-ContainerBuildCache'
        'Send-ContainerInput'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        # What a gallery shows. The URIs are placeholders until the project has a public home.
        PSData = @{
            Tags         = @('Containers', 'OCI', 'Docker', 'Podman', 'Linux', 'PSEdition_Core')
            LicenseUri   = 'https://github.com/PSContainer/PSContainer/blob/main/LICENSE'
            ProjectUri   = 'https://github.com/PSContainer/PSContainer'
            ReleaseNotes = '0.1.0: first packaged release. Images (import, export, pull, push, tag), containers on its own OCI runtime (psc-runtime) and monitor (psc-monitor), bridge networks with published ports and name resolution (psc-dns). Linux x64, run as root.'
        }
    }
}
