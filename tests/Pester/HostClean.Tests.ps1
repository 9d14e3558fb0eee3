#Requires -Version 7.4
# Runs last (build.ps1 orders it so): the host must hold exactly the links, mounts, network namespaces, cgroups,
# firewall rules and container or engine processes it held before the first test. build.ps1 saves that snapshot
# and names it in $env:PSCONTAINER_TEST_HOST_BASELINE.

BeforeDiscovery {
    $script:baseline = $env:PSCONTAINER_TEST_HOST_BASELINE
    $script:noBaseline = -not ($baseline -and (Test-Path $baseline))
}

Describe 'The host after the whole suite' {
    BeforeAll {
        Import-Module "$PSScriptRoot/HostState.psm1" -Force
    }

    It 'has the same <Kind> as before the first test' -Skip:$noBaseline -ForEach @(
        @{ Kind = 'Links' }, @{ Kind = 'Mounts' }, @{ Kind = 'Netns' }, @{ Kind = 'Cgroups' },
        @{ Kind = 'Nftables' }, @{ Kind = 'Iptables' }, @{ Kind = 'Processes' }
    ) {
        $before = Get-Content -Raw $env:PSCONTAINER_TEST_HOST_BASELINE | ConvertFrom-Json
        # Processes and links can take a moment to go after their owner was told to stop.
        $deadline = [DateTime]::UtcNow.AddSeconds(10)
        do {
            $diff = @(Compare-TestHostState -Before $before -After (Get-TestHostState) | Where-Object { $_ -match "^[+-]$Kind " })
            if ($diff.Count -eq 0) { break }
            Start-Sleep -Milliseconds 250
        } while ([DateTime]::UtcNow -lt $deadline)
        $diff | Should -BeNullOrEmpty -Because 'a test left these behind (+) or removed them (-)'
    }
}
