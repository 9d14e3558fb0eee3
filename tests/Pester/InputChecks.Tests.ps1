#Requires -Version 7.4
# What a container is given is checked once, the same way everywhere, when it is given: environment names and
# values, hostnames, image references. Nothing is made for refused input.

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-input'
    Import-Module (Get-TestModulePath) -Force
    $script:tar = (New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar') -Applet @('sh', 'env', 'hostname', 'sleep')).FullName
    Import-ContainerImage $script:tar -Format RootFs -Name 'pester/input:1' -Command sh | Out-Null
}

AfterAll {
    Remove-TestStateRoot $script:state
}

Describe 'Input checks' {
    AfterEach { Get-Container -All | Remove-Container -Force }

    It 'refuses an environment name with "=" in New-Container and Import-ContainerImage alike' {
        New-Container pester/input:1 -Network none -Environment @{ 'A=B' = 'c' } -ErrorVariable create -ErrorAction SilentlyContinue | Out-Null
        $create[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEnvironment,*'
        { Import-ContainerImage $script:tar -Format RootFs -Name pester/env:1 -Environment @{ 'A=B' = 'c' } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidEnvironment,PSContainer.Commands.ImportContainerImageCommand'
        Get-ContainerImage pester/env:1 -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Container -All | Should -BeNullOrEmpty
    }

    It 'refuses a NUL in an environment value instead of cutting it' {
        New-Container pester/input:1 -Network none -Environment @{ A = "a`0b" } -ErrorVariable refused -ErrorAction SilentlyContinue | Out-Null
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEnvironment,*'
        { Import-ContainerImage $script:tar -Format RootFs -Name pester/nul:1 -Environment @{ A = "a`0b" } -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidEnvironment,*'
        $c = New-Container pester/input:1 -Network none -Command sleep, 30 | Start-Container -PassThru
        Invoke-ContainerCommand $c.Name -Command env -Environment @{ A = "a`0b" } -ErrorVariable exec -ErrorAction SilentlyContinue | Out-Null
        $exec[0].FullyQualifiedErrorId | Should -BeLike 'InvalidEnvironment,*'
        Get-Container -All | Measure-Object | ForEach-Object Count | Should -Be 1
    }

    It 'refuses a hostname Linux or RFC 1123 would not take when the container is made, not when it starts' {
        New-Container pester/input:1 -Network none -Hostname ('a' * 300) -ErrorVariable long -ErrorAction SilentlyContinue | Out-Null
        $long[0].FullyQualifiedErrorId | Should -BeLike 'InvalidHostname,*'
        $long[0].Exception.Message | Should -Match '64'
        New-Container pester/input:1 -Network none -Hostname 'bad_name' -ErrorVariable bad -ErrorAction SilentlyContinue | Out-Null
        $bad[0].FullyQualifiedErrorId | Should -BeLike 'InvalidHostname,*'
        Get-Container -All | Should -BeNullOrEmpty
        Start-Container -Image pester/input:1 -Network none -AutoRemove -Hostname ('h' * 63) -Command hostname | Should -Be ('h' * 63)
    }

    It 'says an invalid reference is invalid, not missing' {
        New-Container 'Probe/BB:1' -Pull never -ErrorVariable refused -ErrorAction SilentlyContinue | Out-Null
        $refused[0].FullyQualifiedErrorId | Should -BeLike 'InvalidReference,*'
        $refused[0].Exception.Message | Should -Match 'lowercase'
        Start-Container -Image 'Probe/BB:1' -Pull never -ErrorVariable run -ErrorAction SilentlyContinue | Out-Null
        $run[0].FullyQualifiedErrorId | Should -BeLike 'InvalidReference,*'
    }
}
