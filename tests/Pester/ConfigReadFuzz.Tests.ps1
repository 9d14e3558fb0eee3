#Requires -Version 7.4
# psc-runtime reads linux.seccomp of config.json as raw text with a small scanner of its own (runtime/config_read.c),
# so a cached profile is never parsed. A hand-written parser is fuzzed against the library it stands in for: random
# configurations (key orders, whitespace, escapes, decoy "seccomp"/"linux" keys elsewhere and inside strings,
# json-c's comments, single quotes, duplicate and escaped keys, cut files) must give the profile json-c finds and
# the same rest of the configuration.

BeforeDiscovery {
    $script:skip = -not ((Get-Command gcc -ErrorAction SilentlyContinue) -and (Get-Command python3 -ErrorAction SilentlyContinue) -and (Test-Path /usr/include/json-c/json.h))
}

Describe 'config.json scanner against json-c' -Skip:$skip {
    BeforeAll {
        $script:work = Join-Path ([IO.Path]::GetTempPath()) "psc-config-fuzz-$PID"
        New-Item -ItemType Directory -Force $work | Out-Null
        $native = Join-Path $PSScriptRoot '../../src/PSContainer.Native/native'
        $script:check = Join-Path $work 'check'
        & gcc -O1 -Wall -Wextra -Werror -D_GNU_SOURCE -I "$native/runtime" -I "$native/common" (Join-Path $PSScriptRoot 'fixtures/config-read-check.c') "$native/runtime/config_read.c" -ljson-c -o $check
        $LASTEXITCODE | Should -Be 0 -Because 'the checker builds'
    }
    AfterAll { Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue }

    It 'agrees with json-c on <Count> random configurations (seed <Seed>)' -ForEach @(
        @{ Seed = 11; Count = 2500 }
        @{ Seed = 12; Count = 2500 }
    ) {
        $dir = Join-Path $work "seed$Seed"
        New-Item -ItemType Directory -Force $dir | Out-Null
        & python3 (Join-Path $PSScriptRoot 'fixtures/config-read-fuzz.py') $Seed $Count $dir
        $files = @(Get-ChildItem $dir -Filter *.json | ForEach-Object FullName)
        $files.Count | Should -Be $Count
        $out = @(& $check @files)
        $out | Should -BeNullOrEmpty
        $LASTEXITCODE | Should -Be 0
    }

    It 'takes linux.seccomp, not a decoy profile at another depth' {
        # Written by hand so it does not depend on the generator: json-c's linux.seccomp is the ALLOW one.
        $file = Join-Path $work 'decoy.json'
        Set-Content $file '{"process":{"seccomp":{"defaultAction":"SCMP_ACT_KILL"}},"linux":{"seccomp":{"defaultAction":"SCMP_ACT_ALLOW"}}}'
        $out = @(& $check $file)
        $out | Should -BeNullOrEmpty -Because 'the real scanner takes linux.seccomp'
        $LASTEXITCODE | Should -Be 0
    }
}
