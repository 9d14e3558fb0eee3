#Requires -Version 7.4
# The README's PowerShell examples run as written, in order, in a fresh pwsh — from a directory laid out like a
# clone after the demo command (out/ holds the built module) and against a private state root — so the README
# cannot rot. A block that fails names itself.

BeforeDiscovery {
    $readme = Join-Path $PSScriptRoot '../../README.md'
    $script:blocks = @([regex]::Matches((Get-Content -Raw $readme), '(?ms)^```powershell\r?\n(.*?)^```') | ForEach-Object { $_.Groups[1].Value })
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-readme'
    $modulePath = Get-TestModulePath
    # A clone's root as the README assumes it: ./out/PSContainer is the built module.
    $script:clone = Join-Path $script:state.Work 'clone'
    New-Item -ItemType Directory -Force "$script:clone/out" | Out-Null
    New-Item -ItemType SymbolicLink -Path "$script:clone/out/PSContainer" -Target (Split-Path $modulePath) | Out-Null
    # The package the README installs by name, as its `build.ps1 package` line makes it (without rebuilding the
    # module the other suites use).
    $repo = Get-TestRepositoryRoot
    $pack = Start-TestPwsh -Script "& '$repo/build.ps1' package -NoBuild" | Wait-TestPwsh -TimeoutSeconds 300
    if ($pack.ExitCode -ne 0) { throw "build.ps1 package failed: $($pack.Stderr)" }
    New-Item -ItemType SymbolicLink -Path "$script:clone/out/package" -Target "$repo/out/package" | Out-Null
    # PSResourceGet's repository list and installed modules go to a home of the test's own.
    $script:privateHome = Join-Path $script:state.Work 'home'
    New-Item -ItemType Directory -Force "$script:privateHome/.local/share", "$script:privateHome/.config", "$script:privateHome/.cache" | Out-Null
}

AfterAll {
    Remove-TestStateRoot $script:state
}

Describe 'README.md' {
    It 'has PowerShell examples' {
        $blocks.Count | Should -BeGreaterThan 2
    }

    It 'runs every PowerShell example as written, in order' {
        # As a user types them: each statement is its own pipeline to Out-Default (so every command's output gets
        # its own table, as at a prompt), in one session (later blocks use earlier variables). A failure stops the
        # run and names its block.
        $blockFile = Join-Path $script:state.Work 'blocks.json'
        ConvertTo-Json -InputObject @($blocks) | Set-Content $blockFile
        $script = @"
`$ErrorActionPreference = 'Stop'
`$blocks = Get-Content -Raw '$blockFile' | ConvertFrom-Json
for (`$i = 0; `$i -lt `$blocks.Count; `$i++) {
    Write-Output "#### block `$(`$i + 1)"
    `$errors = `$null
    `$ast = [Management.Automation.Language.Parser]::ParseInput(`$blocks[`$i], [ref]`$null, [ref]`$errors)
    if (`$errors) { [Console]::Error.WriteLine("README block `$(`$i + 1) does not parse: `$(`$errors[0])"); exit 1 }
    foreach (`$statement in `$ast.EndBlock.Statements) {
        try { Invoke-Expression `$statement.Extent.Text | Out-Default }
        catch { [Console]::Error.WriteLine("README block `$(`$i + 1) failed at '`$(`$statement.Extent.Text)': `$_"); exit 1 }
    }
}
Write-Output '#### done'
"@
        $run = Start-TestPwsh -Script $script -WorkingDirectory $script:clone -Environment @{
            HOME                      = $script:privateHome
            XDG_DATA_HOME             = "$script:privateHome/.local/share"
            XDG_CONFIG_HOME           = "$script:privateHome/.config"
            XDG_CACHE_HOME            = "$script:privateHome/.cache"
        } | Wait-TestPwsh -TimeoutSeconds 180
        $run.TimedOut | Should -BeFalse
        $run.Stderr | Should -BeNullOrEmpty
        $run.ExitCode | Should -Be 0
        $run.Stdout | Should -Match '#### done'
        $run.Stdout | Should -Match 'hello from [0-9a-f]{12}'
        $run.Stdout | Should -Match 'Hello from PSContainer'
        $run.Stdout | Should -Match 'CONTAINER ID'
        # Installed from the package, and found by name by a fresh pwsh of that user.
        Get-ChildItem "$script:privateHome/.local/share/powershell/Modules/PSContainer/*/PSContainer.psd1" | Should -Not -BeNullOrEmpty
        $byName = Start-TestPwsh -Script 'Import-Module PSContainer -ErrorAction Stop; (Get-Module PSContainer).ModuleBase' -Environment @{
            HOME = $script:privateHome; XDG_DATA_HOME = "$script:privateHome/.local/share"
            XDG_CONFIG_HOME = "$script:privateHome/.config"; XDG_CACHE_HOME = "$script:privateHome/.cache"
        } | Wait-TestPwsh
        $byName.Stderr | Should -BeNullOrEmpty
        $byName.Stdout.Trim() | Should -BeLike "$script:privateHome/.local/share/powershell/Modules/PSContainer/*"
        # The examples clean up after themselves: no container or image is left in the state root.
        $left = Start-TestPwsh -Script "Import-Module '$(Get-TestModulePath)'; @(Get-Container -All).Count; @(Get-ContainerImage).Count" | Wait-TestPwsh
        ($left.Stdout.Trim() -split "`n" | ForEach-Object Trim) | Should -Be @('0', '0')
        Get-ChildItem $script:clone -Exclude out | Should -BeNullOrEmpty
        # ... and the default network's host bridge is gone with Remove-ContainerNetwork bridge -Force.
        Wait-TestNetworkTeardown -Root $script:state.Root | Should -BeNullOrEmpty
        @(& ip -o link | Where-Object { $_ -match [regex]::Escape("alias pscontainer:$($script:state.Root)") }) | Should -BeNullOrEmpty
    }
}
