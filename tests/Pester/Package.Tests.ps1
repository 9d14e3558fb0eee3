#Requires -Version 7.4
# The module as users get it: `build.ps1 package` makes a .nupkg that Install-PSResource installs from a local file
# repository, `build.ps1 install` copies the module into a module path, and either way a fresh pwsh finds it with
# `Import-Module PSContainer` by name and runs a container with it. PSResourceGet runs only in child pwsh processes
# whose HOME and XDG dirs are private, so the user's PSResourceRepository.xml and module paths are never touched.
# Uses the module `build.ps1 build` left in out/PSContainer (-NoBuild): rebuilding it here would replace the module
# the other test files load.

BeforeDiscovery {
    $script:isRoot = $IsLinux -and ((& id -u) -eq '0')
    $script:hasBusybox = Test-Path /bin/busybox
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:repoRoot = Get-TestRepositoryRoot
    $script:built = Join-Path $repoRoot 'out/PSContainer'
    if (-not (Test-Path (Join-Path $built 'PSContainer.psd1'))) { throw "The module is not built: run 'dotnet pwsh ./build.ps1 build' first." }
    $script:manifest = Import-PowerShellDataFile (Join-Path $built 'PSContainer.psd1')
    $script:state = New-TestStateRoot -Prefix 'psc-package'
    $script:cgroupParent = "psc-test-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    $env:PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
    $script:executables = @('native/psc-runtime', 'native/psc-monitor', 'psc-dns', 'psc-api')
    $script:anyExecute = [IO.UnixFileMode]'UserExecute, GroupExecute, OtherExecute'

    # The user's own PSResourceGet configuration, to show it is left as it was.
    $script:userRepositoryFile = Join-Path ([Environment]::GetFolderPath('LocalApplicationData', 'DoNotVerify')) 'PSResourceGet/PSResourceRepository.xml'
    $script:userRepositoryBefore = if (Test-Path $userRepositoryFile) { Get-Content -Raw $userRepositoryFile } else { $null }

    function New-PrivateHome([string]$Name) {
        <# A HOME for a child pwsh, and the environment that makes pwsh and PSResourceGet use only it. #>
        $dir = Join-Path $script:state.Work $Name
        # All made now: for a missing data folder PSResourceGet writes its configuration relative to the current directory.
        foreach ($d in '.local/share', '.config', '.cache') { New-Item -ItemType Directory -Force (Join-Path $dir $d) | Out-Null }
        $modules = Join-Path $dir '.local/share/powershell/Modules'
        [pscustomobject]@{
            Home        = $dir
            Modules     = $modules
            Environment = @{
                HOME                      = $dir
                XDG_DATA_HOME             = Join-Path $dir '.local/share'
                XDG_CONFIG_HOME           = Join-Path $dir '.config'
                XDG_CACHE_HOME            = Join-Path $dir '.cache'
                # Only the private user path and pwsh's own modules (pwsh adds the shared path itself).
                PSModulePath              = "$modules$([IO.Path]::PathSeparator)$(Join-Path $PSHOME 'Modules')"
                # Nothing may point the module at the repository's build instead of the installed copy.
                PSCONTAINER_TEST_MODULE   = ''
                PSCONTAINER_NATIVE_DIR    = ''
                PSCONTAINER_DNS_BINARY    = ''
                PSCONTAINER_CGROUP_PARENT = $script:cgroupParent
            }
        }
    }

    function Invoke-ChildPwsh([string]$Script, [hashtable]$Environment, [int]$TimeoutSeconds = 180) {
        <# Runs -Script in a fresh pwsh; throws with its output unless it exits 0. Returns its stdout lines. #>
        $r = Start-TestPwsh -Script $Script -Environment $Environment | Wait-TestPwsh -TimeoutSeconds $TimeoutSeconds
        if ($r.TimedOut -or $r.ExitCode -ne 0) {
            throw "child pwsh failed (exit $($r.ExitCode), timed out: $($r.TimedOut)):`n$($r.Stdout)`n$($r.Stderr)"
        }
        @($r.Stdout -split "`r?`n" | Where-Object { $_ -ne '' })
    }

    function ConvertTo-Literal([string]$Text) { "'" + ($Text -replace "'", "''") + "'" }

    # What a fresh pwsh reports after `Import-Module PSContainer` by name (its last stdout line, JSON): the module's
    # version, folder and cmdlets, and the output of -Then, a script run after the import.
    function Get-ImportedByName([hashtable]$Environment, [string]$Then = '') {
        $script = @"
`$ErrorActionPreference = 'Stop'
Import-Module PSContainer
`$m = Get-Module PSContainer
`$output = @($Then)
[pscustomobject]@{
    Version    = "`$(`$m.Version)"
    ModuleBase = `$m.ModuleBase
    Cmdlets    = @(Get-Command -Module PSContainer -CommandType Cmdlet | ForEach-Object Name)
    Output     = @(`$output | ForEach-Object { "`$_" })
} | ConvertTo-Json -Compress
"@
        Invoke-ChildPwsh -Script $script -Environment $Environment | Select-Object -Last 1 | ConvertFrom-Json
    }
}

AfterAll {
    # Containers are -AutoRemove; a failed run may leave one: remove it through the repository's module.
    if ($script:state -and @(Get-ChildItem (Join-Path $script:state.Root 'containers') -ErrorAction Ignore).Count -gt 0) {
        Import-Module (Get-TestModulePath) -Force
        Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    }
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory -ErrorAction SilentlyContinue) {
        $p = Join-Path $h.FullName $script:cgroupParent
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    Remove-Item Env:PSCONTAINER_CGROUP_PARENT -ErrorAction SilentlyContinue
    if ($script:state) { Remove-TestStateRoot $script:state }
}

Describe 'build.ps1 package, installed with Install-PSResource' {
    BeforeAll {
        $script:packHome = New-PrivateHome 'pack-home'
        # The real task; its own PSResourceGet child must leave even this private HOME's configuration alone.
        $lines = Invoke-ChildPwsh -Script "& ./build.ps1 package -NoBuild" -Environment $packHome.Environment
        $script:nupkg = ($lines | Where-Object { $_ -like 'Package: *' } | Select-Object -Last 1) -replace '^Package: ', ''

        # A local file repository in a private PSResourceGet configuration, and the package installed from it.
        $script:userHome = New-PrivateHome 'user-home'
        $repository = Join-Path $state.Work 'repository'
        New-Item -ItemType Directory -Force $repository | Out-Null
        Copy-Item $nupkg $repository
        $install = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name PSContainerTest -Uri $(ConvertTo-Literal $repository) -Trusted
Install-PSResource -Name PSContainer -Repository PSContainerTest -TrustRepository -Scope CurrentUser
"@
        $null = Invoke-ChildPwsh -Script $install -Environment $userHome.Environment
        $script:installed = Join-Path $userHome.Modules "PSContainer/$($manifest.ModuleVersion)"
        # What Install-PSResource laid down, before any import could change it.
        $script:modesAsInstalled = @{}
        foreach ($e in $executables) { $modesAsInstalled[$e] = (Get-Item (Join-Path $installed $e)).UnixFileMode }
    }

    It 'writes one .nupkg to out/package with the manifest, LICENSE and the linux-x64 native binaries' {
        $nupkg | Should -Be (Join-Path $repoRoot "out/package/PSContainer.$($manifest.ModuleVersion).nupkg")
        $nupkg | Should -Exist
        Add-Type -AssemblyName System.IO.Compression.FileSystem
        $zip = [IO.Compression.ZipFile]::OpenRead($nupkg)
        try { $entries = @($zip.Entries.FullName) } finally { $zip.Dispose() }
        foreach ($f in 'PSContainer.psd1', 'PSContainer.dll', 'PSContainer.format.ps1xml', 'LICENSE', 'en-US/PSContainer.dll-Help.xml',
            'native/psc-runtime', 'native/psc-monitor', 'psc-dns', 'psc-service.dll', 'psc-api', 'psc-api.dll') {
            $entries | Should -Contain $f
        }
        (& file -b (Join-Path $built 'native/psc-runtime')) | Should -Match 'ELF 64-bit.*x86-64'
    }

    It 'never writes a PSResourceGet configuration outside a private HOME' {
        Join-Path $packHome.Home '.local/share/PSResourceGet' | Should -Not -Exist -Because 'build.ps1 package runs PSResourceGet under a HOME of its own'
        # Where PSResourceGet writes when the data folder is missing: the current directory (the repository's here).
        Join-Path $repoRoot 'PSResourceGet' | Should -Not -Exist
        $after = if (Test-Path $userRepositoryFile) { Get-Content -Raw $userRepositoryFile } else { $null }
        $after | Should -Be $userRepositoryBefore -Because "the user's $userRepositoryFile stays as it was"
        Join-Path $userHome.Home '.local/share/PSResourceGet/PSResourceRepository.xml' | Should -FileContentMatch 'PSContainerTest'
    }

    It 'installs the version of the manifest into the private user module path' {
        Join-Path $installed 'PSContainer.psd1' | Should -Exist
        Join-Path $installed 'LICENSE' | Should -Exist
        (Test-ModuleManifest (Join-Path $installed 'PSContainer.psd1')).Version | Should -Be ([version]$manifest.ModuleVersion)
    }

    Context 'a fresh pwsh that imports it by name' -Skip:(-not $isRoot) {
        BeforeAll {
            $rootfs = Join-Path $state.Work 'busybox.tar'
            $script:run = $null
            $then = ''
            if (Test-Path /bin/busybox) {
                $null = New-TestBusyboxRootFs -Path $rootfs -Applet @('sh', 'echo')
                $then = "Import-ContainerImage $(ConvertTo-Literal $rootfs) -Format RootFs -Name pester/package:1 -Command sh | Out-Null; " +
                    'Start-Container -Image pester/package:1 -Network none -AutoRemove -Command echo, hello'
            }
            $script:run = Get-ImportedByName -Environment $userHome.Environment -Then $then
        }

        It 'loads the installed copy, with every cmdlet of the manifest' {
            $run.ModuleBase | Should -Be $installed
            $run.Version | Should -Be $manifest.ModuleVersion
            @($run.Cmdlets | Sort-Object) | Should -Be @($manifest.CmdletsToExport | Sort-Object)
        }

        It 'restores the execute bits the package dropped, and the binaries run' {
            foreach ($e in $executables) {
                $path = Join-Path $installed $e
                ((Get-Item $path).UnixFileMode -band $anyExecute) | Should -Be $anyExecute -Because "$e is executable after the import"
            }
            (& (Join-Path $installed 'native/psc-runtime') --version)[0] | Should -BeLike 'psc-runtime version *'
            & (Join-Path $installed 'native/psc-monitor') 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 2 -Because 'psc-monitor ran and refused an empty command line'
            & (Join-Path $installed 'psc-dns') --bogus x 2>&1 | Out-Null
            $LASTEXITCODE | Should -Be 2 -Because 'psc-dns ran and refused an unknown option'
            if (@($modesAsInstalled.Values | Where-Object { $_ -band $anyExecute }).Count -gt 0) {
                Set-ItResult -Inconclusive -Because "Install-PSResource kept some execute bits ($($modesAsInstalled.Values -join '; ')), so the restore was not needed"
            }
        }

        It 'runs a container: Start-Container -Image -Command echo, hello' -Skip:(-not $hasBusybox) {
            $run.Output | Should -Be @('hello')
        }
    }
}

Describe 'build.ps1 install' {
    BeforeAll {
        $script:installHome = New-PrivateHome 'install-home'
        $null = Invoke-ChildPwsh -Script '& ./build.ps1 install -NoBuild' -Environment $installHome.Environment
        $script:installedCopy = Join-Path $installHome.Modules "PSContainer/$($manifest.ModuleVersion)"
    }

    It 'copies the built module into the user module path under its version, execute bits and all' {
        Join-Path $installedCopy 'PSContainer.psd1' | Should -Exist
        Join-Path $installedCopy 'LICENSE' | Should -Exist
        foreach ($e in $executables) {
            ((Get-Item (Join-Path $installedCopy $e)).UnixFileMode -band $anyExecute) | Should -Be $anyExecute -Because "$e is copied with its mode"
        }
    }

    It 'is what Import-Module PSContainer loads in a fresh pwsh with that HOME' {
        $run = Get-ImportedByName -Environment $installHome.Environment
        $run.ModuleBase | Should -Be $installedCopy
        $run.Version | Should -Be $manifest.ModuleVersion
    }
}

Describe 'the manifest' {
    BeforeAll {
        # The built module imported by path in a fresh pwsh: what it exports, and the [Cmdlet] classes its assembly holds.
        $script:exports = (Invoke-ChildPwsh -Environment @{} -Script @"
`$ErrorActionPreference = 'Stop'
`$m = Import-Module $(ConvertTo-Literal (Join-Path $built 'PSContainer.psd1')) -PassThru
[pscustomobject]@{
    Exported = @(Get-Command -Module PSContainer | ForEach-Object Name)
    Classes  = @(`$m.ImplementingAssembly.GetTypes() |
        ForEach-Object { `$_.GetCustomAttributes([System.Management.Automation.CmdletAttribute], `$false) } |
        ForEach-Object { "`$(`$_.VerbName)-`$(`$_.NounName)" })
} | ConvertTo-Json -Compress
"@) | Select-Object -Last 1 | ConvertFrom-Json
    }

    It 'lists exactly the [Cmdlet] classes of the assembly, by name, and an import exports them all' {
        $declared = @($manifest.CmdletsToExport)
        $declared | Where-Object { $_ -match '[*?]' } | Should -BeNullOrEmpty -Because 'a wildcard would export whatever the assembly holds'
        $declared.Count | Should -BeGreaterThan 0
        # One line per difference names the cmdlet: "<= X" only in the assembly (or the import), "=> X" only in the manifest.
        Compare-Object @($exports.Classes) $declared | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" } | Should -BeNullOrEmpty
        Compare-Object @($exports.Exported) $declared | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" } | Should -BeNullOrEmpty
    }

    It 'passes Test-ModuleManifest and carries what a gallery shows' {
        $m = Test-ModuleManifest (Join-Path $built 'PSContainer.psd1') -ErrorAction Stop
        $m.PowerShellVersion | Should -Be ([version]'7.6')
        $m.CompatiblePSEditions | Should -Be @('Core')
        $m.Tags | Should -Contain 'Linux'
        $m.Tags | Should -Contain 'PSEdition_Core'
        $m.LicenseUri | Should -Not -BeNullOrEmpty
        $m.ProjectUri | Should -Not -BeNullOrEmpty
        $m.ReleaseNotes | Should -Not -BeNullOrEmpty
        $manifest.FormatsToProcess | Should -Be @('PSContainer.format.ps1xml')
        Join-Path $built 'LICENSE' | Should -FileContentMatch 'MIT License'
    }
}
