#!/usr/bin/env pwsh

<#
.SYNOPSIS
    Builds, tests, demonstrates and benchmarks PSContainer. Each task does its own set-up on a fresh Debian 12
    machine (as root): the Debian packages it needs are installed with apt-get when missing.
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 demo
.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 test
.EXAMPLE
    dotnet pwsh ./build.ps1 install

    Builds the module and copies it into ~/.local/share/powershell/Modules/PSContainer/<version>, so that
    `Import-Module PSContainer` finds it by name (-Scope AllUsers: /usr/local/share/powershell/Modules).
.EXAMPLE
    dotnet pwsh ./build.ps1 package

    Builds the module and packs it into out/package/PSContainer.<version>.nupkg, which Install-PSResource installs
    from any repository it is put in (a folder registered with Register-PSResourceRepository -Uri will do).
.PARAMETER Task
    build (default): the module into out/PSContainer. test: build, then unit and Pester tests. unit: the C# tests.
    pester: build, then the Pester tests. demo, bench: build, then the demo or the benchmarks. package: build, then
    a .nupkg in out/package. install: build, then copy the module into a module path (-Scope). clean: delete out/.
.PARAMETER Scope
    install: CurrentUser (default; ~/.local/share/powershell/Modules, or under $XDG_DATA_HOME) or AllUsers
    (/usr/local/share/powershell/Modules, PowerShell's all-users module path on Linux).
.PARAMETER NoBuild
    package, install: use the module an earlier build left in out/PSContainer instead of building it again.
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [ValidateSet('build', 'test', 'unit', 'pester', 'demo', 'bench', 'package', 'install', 'clean')]
    [string]$Task = 'build',

    [ValidateSet('Debug', 'Release')]
    [string]$Configuration = 'Release',

    [ValidateSet('CurrentUser', 'AllUsers')]
    [string]$Scope = 'CurrentUser',

    [switch]$NoBuild
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$repo = $PSScriptRoot
$out = Join-Path $repo 'out/PSContainer'

function Install-DebianPackage([string[]]$Package) {
    $missing = @($Package | Where-Object { -not (& dpkg-query -W -f '${Status}' $_ 2>$null | Select-String -Quiet 'install ok installed') })
    if ($missing.Count -eq 0) { return }
    Write-Host "apt-get install $($missing -join ' ')"
    $env:DEBIAN_FRONTEND = 'noninteractive'
    & apt-get update -qq | Out-Null
    & apt-get install -y -qq --no-install-recommends @missing | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "apt-get install $($missing -join ' ') failed ($LASTEXITCODE)" }
}

function Invoke-NativeBuild {
    # The C runtime and monitor (src/PSContainer.Native/native): built with the system cc, json-c linked statically.
    $native = Join-Path $repo 'src/PSContainer.Native/native'
    if (-not (Test-Path (Join-Path $native 'CMakeLists.txt'))) { return }
    Install-DebianPackage @('gcc', 'make', 'cmake', 'libjson-c-dev', 'libseccomp-dev')
    $buildDir = Join-Path $repo 'out/native-build'
    & cmake -S $native -B $buildDir -DCMAKE_BUILD_TYPE=Release | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "cmake configure failed ($LASTEXITCODE)" }
    & cmake --build $buildDir -j 2 | Out-Null
    if ($LASTEXITCODE -ne 0) { & cmake --build $buildDir -j 1; throw "native build failed ($LASTEXITCODE)" }
    $dest = Join-Path $out 'native'
    New-Item -ItemType Directory -Force $dest | Out-Null
    Get-ChildItem $buildDir -File | Where-Object { $_.Name -like 'psc-*' -and $_.Name -ne 'psc-dns' -and ($_.UnixFileMode -band [IO.UnixFileMode]::UserExecute) } |
        Copy-Item -Destination $dest
    # psc-dns, the one resolver of a state root's user networks (C), sits next to the engine's assembly, which starts it.
    Copy-Item (Join-Path $buildDir 'psc-dns') -Destination $out
}

function Invoke-Build {
    Write-Host "Building PSContainer ($Configuration) into $out"
    if (Test-Path $out) { Remove-Item -Recurse -Force $out }
    & dotnet publish (Join-Path $repo 'src/PSContainer/PSContainer.csproj') -c $Configuration -r linux-x64 --self-contained false `
        -o $out -p:GenerateDocumentationFile=false --nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish failed ($LASTEXITCODE)" }
    # psc-service, the exit command of container monitors and the boot step of Install-ContainerService's unit.
    & dotnet publish (Join-Path $repo 'src/PSContainer.Service/PSContainer.Service.csproj') -c $Configuration -r linux-x64 --self-contained false `
        -o $out -p:GenerateDocumentationFile=false --nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish psc-service failed ($LASTEXITCODE)" }
    # psc-api, the Docker Engine API server (Start-ContainerApiService starts it from this folder).
    & dotnet publish (Join-Path $repo 'src/PSContainer.Api/PSContainer.Api.csproj') -c $Configuration -r linux-x64 --self-contained false `
        -o $out -p:GenerateDocumentationFile=false --nologo -v quiet
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish psc-api failed ($LASTEXITCODE)" }
    # PowerShell loads the module from this folder; it ships its own copy of the PowerShell SDK.
    Get-ChildItem $out -Filter 'System.Management.Automation.dll' | Remove-Item
    Get-ChildItem $out -Filter '*.pdb' | Where-Object Name -notlike 'PSContainer*' | Remove-Item
    Copy-Item (Join-Path $repo 'PSContainer.psd1'), (Join-Path $repo 'PSContainer.format.ps1xml'), (Join-Path $repo 'LICENSE') $out
    # Cmdlet help (MAML) for Get-Help, one file per culture.
    $help = Join-Path $repo 'src/PSContainer/en-US'
    if (Test-Path $help) { Copy-Item -Recurse $help $out }
    Invoke-NativeBuild
}

function Get-BuiltModuleVersion {
    $manifest = Join-Path $out 'PSContainer.psd1'
    if (-not (Test-Path $manifest)) { throw "The module is not built: $manifest is missing. Run 'dotnet pwsh ./build.ps1 build' first." }
    (Import-PowerShellDataFile $manifest).ModuleVersion
}

function Invoke-Package {
    # PSResourceGet packs the module folder as it is (native/ included) with the nuspec it derives from the manifest:
    # Compress-PSResource is Publish-PSResource's packing without a repository. It runs in a child pwsh with a
    # private HOME and XDG dirs because loading PSResourceGet writes the user's PSResourceRepository.xml.
    $null = Get-BuiltModuleVersion
    $dest = Join-Path $repo 'out/package'
    # Only this build's package, so the path printed is the one just made.
    if (Test-Path $dest) { Remove-Item -Recurse -Force $dest }
    New-Item -ItemType Directory $dest | Out-Null
    $tempHome = [IO.Directory]::CreateTempSubdirectory('psc-package-').FullName
    $isolated = @{ HOME = $tempHome; XDG_DATA_HOME = "$tempHome/data"; XDG_CONFIG_HOME = "$tempHome/config"; XDG_CACHE_HOME = "$tempHome/cache" }
    # They must exist: for a missing data folder PSResourceGet writes its configuration relative to the current
    # directory (GetFolderPath returns ""), so the child also starts in the private HOME.
    foreach ($d in $isolated.Values) { New-Item -ItemType Directory -Force $d | Out-Null }
    $saved = @{}
    foreach ($k in $isolated.Keys) { $saved[$k] = [Environment]::GetEnvironmentVariable($k); [Environment]::SetEnvironmentVariable($k, $isolated[$k]) }
    Push-Location $tempHome
    try {
        # This pwsh again: under `dotnet pwsh` the process is dotnet and its first argument pwsh.dll.
        $pwsh = @([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension($pwsh[0]) -eq 'dotnet') { $pwsh += Join-Path $PSHOME 'pwsh.dll' }
        $quote = { "'" + ($args[0] -replace "'", "''") + "'" }
        $script = "`$ErrorActionPreference = 'Stop'; Compress-PSResource -Path $(& $quote $out) -DestinationPath $(& $quote $dest)"
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script
        if ($LASTEXITCODE -ne 0) { throw "Compress-PSResource failed ($LASTEXITCODE); it needs Microsoft.PowerShell.PSResourceGet 1.1+ (PowerShell 7.6 ships it)" }
    }
    finally {
        Pop-Location
        foreach ($k in $saved.Keys) { [Environment]::SetEnvironmentVariable($k, $saved[$k]) }
        Remove-Item -Recurse -Force $tempHome
    }
    $nupkg = @(Get-ChildItem $dest -Filter 'PSContainer.*.nupkg')
    if ($nupkg.Count -ne 1) { throw "Compress-PSResource left $($nupkg.Count) packages in $dest" }
    Write-Host "Package: $($nupkg[0].FullName)"
}

function Invoke-Install {
    # The paths Install-PSResource -Scope uses on Linux, which pwsh puts on $env:PSModulePath. Not $PSHOME-relative:
    # a pwsh run as a dotnet tool has its $PSHOME in the NuGet cache.
    $modules = if ($Scope -eq 'AllUsers') { '/usr/local/share/powershell/Modules' }
               else { Join-Path ([Environment]::GetFolderPath('LocalApplicationData', 'DoNotVerify')) 'powershell/Modules' }
    $dest = Join-Path $modules "PSContainer/$(Get-BuiltModuleVersion)"
    if (Test-Path $dest) { Remove-Item -Recurse -Force $dest }
    New-Item -ItemType Directory -Force $dest | Out-Null
    Copy-Item -Recurse (Join-Path $out '*') $dest
    Write-Host "Installed into $dest"
    if (($env:PSModulePath -split [IO.Path]::PathSeparator) -notcontains $modules) {
        Write-Warning "$modules is not on `$env:PSModulePath: Import-Module PSContainer will not find the module by name."
    }
}

function Invoke-UnitTests {
    # The C# tests, then the SDK client tests (Testcontainers and Docker.DotNet against psc-api: two projects, as both
    # SDKs ship an assembly named Docker.DotNet); counted together. They skip with the reason when the module is not built.
    $projects = [ordered]@{
        'unit'                = 'tests/PSContainer.Tests/PSContainer.Tests.csproj'
        'client-tc'           = 'tests/PSContainer.ClientTests/Testcontainers/PSContainer.ClientTests.Testcontainers.csproj'
        'client-dockerdotnet' = 'tests/PSContainer.ClientTests/DockerDotNet/PSContainer.ClientTests.DockerDotNet.csproj'
    }
    $sum = [pscustomobject]@{ Passed = 0; Failed = 0; Skipped = 0 }
    foreach ($name in $projects.Keys) {
        # A results file of an earlier run must not stand in for this one when the build fails.
        Get-ChildItem (Join-Path $repo 'out/test-results') -Filter "$name.trx" -Recurse -ErrorAction SilentlyContinue | Remove-Item
        & dotnet test (Join-Path $repo $projects[$name]) -c $Configuration --nologo `
            --logger "trx;LogFileName=$name.trx" --results-directory (Join-Path $repo 'out/test-results') -v quiet | Out-Host
        $trx = Get-ChildItem (Join-Path $repo 'out/test-results') -Filter "$name.trx" -Recurse | Sort-Object LastWriteTime | Select-Object -Last 1
        if (-not $trx) { throw "the $name tests did not run (dotnet test exited $LASTEXITCODE)" }
        $counters = ([xml](Get-Content $trx.FullName)).TestRun.ResultSummary.Counters
        $sum.Passed += [int]$counters.passed
        $sum.Failed += [int]$counters.failed + [int]$counters.error
        $sum.Skipped += [int]$counters.notExecuted
    }
    $sum
}

function Install-Pester {
    $pesterDir = Join-Path $repo 'out/tools/Pester'
    if (-not (Test-Path (Join-Path $pesterDir 'Pester.psd1'))) {
        Write-Host 'Getting Pester from NuGet'
        $tmp = Join-Path $repo 'out/tools/pester-restore'
        New-Item -ItemType Directory -Force $tmp | Out-Null
        Set-Content (Join-Path $tmp 'restore.csproj') @'
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup>
  <ItemGroup><PackageDownload Include="Pester" Version="[5.7.1]" /></ItemGroup>
</Project>
'@
        & dotnet restore (Join-Path $tmp 'restore.csproj') --packages (Join-Path $tmp 'packages') -v quiet | Out-Null
        if ($LASTEXITCODE -ne 0) { throw 'restoring Pester from NuGet failed' }
        $pkg = Get-ChildItem (Join-Path $tmp 'packages/pester') -Directory | Select-Object -First 1
        New-Item -ItemType Directory -Force $pesterDir | Out-Null
        Copy-Item -Recurse (Join-Path $pkg.FullName 'tools/*') $pesterDir
    }
    Import-Module (Join-Path $pesterDir 'Pester.psd1') -Force
}

function Install-TestDependency {
    # What the suites use, unit tests included (they run nft, iptables-restore and zstd where they check our output
    # against the real tools): fixture tools, runc for differential tests, podman and docker.io as OCI clients of our
    # runtime (the docker test starts a private dockerd), docker-registry (+ htpasswd, openssl) for registry tests,
    # getfattr for xattr checks, nft and iptables for networks, python3 for a UDP echo server, script (bsdutils) for
    # TTY tests, file, pgrep (procps) and modprobe (kmod) that fixtures call, strace to inject delays and faults into the
    # runtime (ProcessHardening.Tests.ps1), tmux for the terminal sessions (ContainerInteractive.Tests.ps1),
    # docker-compose 1.29 as a client of the Docker API (DockerCompose.Tests.ps1).
    Install-DebianPackage @('busybox-static', 'umoci', 'skopeo', 'zstd', 'runc', 'podman', 'docker.io', 'docker-registry',
        'apache2-utils', 'openssl', 'attr', 'nftables', 'iptables', 'iproute2', 'python3', 'bsdutils', 'file', 'procps', 'kmod',
        'strace', 'keyutils', 'golang-github-containers-common', 'tmux', 'docker-compose', 'curl')
}

function Save-HostBaseline {
    # The host as it is before the first test: HostClean.Tests.ps1, the last Pester file, checks that the suite
    # left it the same (links, mounts, netns, cgroups, firewall rules, processes). Taken anew by every run.
    Import-Module (Join-Path $repo 'tests/Pester/HostState.psm1') -Force
    $dir = Join-Path $repo 'out/test-results'
    New-Item -ItemType Directory -Force $dir | Out-Null
    $env:PSCONTAINER_TEST_HOST_BASELINE = Save-TestHostState -Path (Join-Path $dir 'host-baseline.json')
}

function Invoke-PesterTests {
    Install-Pester
    # Test files run in this function's scope: they are written for PowerShell's defaults (no strict mode,
    # errors that continue), not this script's.
    Set-StrictMode -Off
    $ErrorActionPreference = 'Continue'
    $config = New-PesterConfiguration
    # The host check runs after every other file.
    $files = @(Get-ChildItem (Join-Path $repo 'tests/Pester') -Filter '*.Tests.ps1' | Sort-Object Name)
    $config.Run.Path = [string[]]@(($files | Where-Object Name -ne 'HostClean.Tests.ps1').FullName) + @(($files | Where-Object Name -eq 'HostClean.Tests.ps1').FullName)
    $config.Run.PassThru = $true
    $config.Output.Verbosity = 'Detailed'
    $result = Invoke-Pester -Configuration $config
    [pscustomobject]@{ Passed = $result.PassedCount; Failed = $result.FailedCount; Skipped = $result.SkippedCount }
}

function Write-Summary($results) {
    $results = @($results | Where-Object { $_ -and $_.PSObject.Properties['Passed'] })
    $passed = ($results | Measure-Object Passed -Sum).Sum
    $failed = ($results | Measure-Object Failed -Sum).Sum
    $skipped = ($results | Measure-Object Skipped -Sum).Sum
    $line = "$passed passed, $failed failed"
    if ($skipped) { $line += ", $skipped skipped" }
    Write-Host $line
    if ($failed) { exit 1 }
}

switch ($Task) {
    'build' { Invoke-Build }
    'clean' { Remove-Item -Recurse -Force (Join-Path $repo 'out') -ErrorAction SilentlyContinue; & dotnet clean $repo -v quiet --nologo | Out-Null }
    'unit' { Install-TestDependency; Write-Summary @(Invoke-UnitTests) }
    'package' { if (-not $NoBuild) { Invoke-Build }; Invoke-Package }
    'install' { if (-not $NoBuild) { Invoke-Build }; Invoke-Install }
    'pester' { Install-TestDependency; Invoke-Build; Save-HostBaseline; Write-Summary @(Invoke-PesterTests) }
    'test' {
        Install-TestDependency
        Invoke-Build
        Save-HostBaseline
        $unit = Invoke-UnitTests
        $pester = Invoke-PesterTests
        Write-Summary @($unit, $pester)
    }
    'demo' {
        Install-DebianPackage @('busybox-static', 'nftables')
        Invoke-Build
        & (Join-Path $repo 'demo/demo.ps1') -ModulePath $out
    }
    'bench' {
        # Competitors (docker, podman) are used when present, never installed or started here.
        Install-DebianPackage @('busybox-static', 'skopeo', 'umoci', 'runc')
        Invoke-Build
        $benchStart = Get-Date
        foreach ($script in 'import', 'run', 'runtime', 'pull', 'network', 'dns', 'health', 'api', 'build', 'phases') {
            $path = Join-Path $repo "bench/$script.ps1"
            if (Test-Path $path) { Write-Host "`n#### bench/$script.ps1" -ForegroundColor Cyan; & $path -ModulePath $out }
        }
        # Last: issue 15's rows in one table, measuring the lifecycle rows and reading the results written above.
        Write-Host "`n#### bench/summary.ps1" -ForegroundColor Cyan
        & (Join-Path $repo 'bench/summary.ps1') -ModulePath $out -Since $benchStart
    }
}
