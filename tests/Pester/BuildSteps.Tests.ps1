#Requires -Version 7.4
# Build-ContainerImage, issue 14's second part: hard links kept by COPY/ADD and RUN, COPY layers reproducible under
# -NoCache, RUN --mount=type=bind,from= and type=secret (type=ssh refused), COPY --from with globs, and the build
# platform (FROM --platform / -Platform checked, BuildKit's platform arguments predefined).

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-buildsteps'
    Import-Module (Get-TestModulePath) -Force
    Import-Module "$PSScriptRoot/BuildTestSupport.psm1" -Force
    Use-BuildTestState $script:state
    $script:w = $script:state.Work
    $tar = New-TestBusyboxRootFs -Path (Join-Path $script:w 'busybox.tar') -Applet @('sh', 'echo', 'cat', 'ls', 'rm', 'mkdir', 'stat', 'test', 'true', 'wc', 'ln', 'tr')
    Import-ContainerImage $tar -Format RootFs -Name 'pester/steps-base:1' -Command sh | Out-Null

    function script:Get-DiffIds([string]$ImageId) {
        $config = Get-Content -Raw (Join-Path $script:state.Root "image/blobs/sha256/$($ImageId.Substring(7))") | ConvertFrom-Json
        @($config.rootfs.diff_ids)
    }

    # Builds a Dockerfile that must fail: the one error, its id and line, and nothing left behind.
    function script:Assert-BuildError([string]$Context, [string]$Id, [int]$Line, [hashtable]$Extra = @{}) {
        $before = @(Get-ContainerImage | Where-Object { $_.RepoTags.Count -gt 0 }).Count
        $err = $null
        $image = Build-ContainerImage -Path $Context -Tag 'pester/steps-bad:1' -Network none -ErrorVariable err -ErrorAction SilentlyContinue @Extra
        $image | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err[0].CategoryInfo.Category | Should -Not -Be 'NotSpecified'
        if ($Line -gt 0) {
            $err[0].TargetObject | Should -Be "Dockerfile:$Line"
            $err[0].Exception.Message | Should -Match "line $Line"
        }
        Get-BuildLeftover | Should -BeNullOrEmpty
        # Steps before the failing one may stay as cache entries (docker keeps them too); no image is tagged.
        @(Get-ContainerImage | Where-Object { $_.RepoTags.Count -gt 0 }).Count | Should -Be $before
        Get-ContainerImage 'pester/steps-bad:1' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0]
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'hard links' {
    BeforeAll {
        $script:linksCtx = New-Context 'links' @'
FROM pester/steps-base:1 AS links
RUN mkdir /s && echo data > /s/x && ln /s/x /s/y
FROM pester/steps-base:1
COPY --from=links /s/ /from-stage/
COPY tree/ /from-context/
ADD tree /added/
'@ @{ 'tree/a' = 'linked'; 'tree/single' = 'alone' }
        & ln (Join-Path $script:linksCtx 'tree/a') (Join-Path $script:linksCtx 'tree/b')
        $script:linked = Build-ContainerImage $script:linksCtx -Tag 'pester/links:1' -Network none -ErrorAction Stop
    }

    It 'keeps files hard-linked in a COPY or ADD source as hard links in the layer' {
        $out = Invoke-InImage 'pester/links:1' 'for d in from-context added; do stat -c "%h %i" /$d/a /$d/b /$d/single | tr "\n" " "; echo; done'
        $rows = @($out -split "`n" | Where-Object { $_.Trim() })
        $rows.Count | Should -Be 2
        foreach ($row in $rows) {
            $f = $row.Trim() -split ' '
            $f[0] | Should -Be '2' -Because "a and b are one file with two names ($row)"
            $f[1] | Should -Be $f[3] -Because "a and b share an inode ($row)"
            $f[4] | Should -Be '1'
        }
    }

    It 'keeps hard links a RUN made, through COPY --from of its stage' {
        $rows = (Invoke-InImage 'pester/links:1' 'stat -c "%h %i" /from-stage/x /from-stage/y; cat /from-stage/y') -split "`n"
        ($rows[0] -split ' ')[0] | Should -Be '2'
        ($rows[0] -split ' ')[1] | Should -Be ($rows[1] -split ' ')[1]
        $rows[2] | Should -Be 'data'
        $null = Build-ContainerImage $script:linksCtx -Target links -Tag 'pester/links-stage:1' -Network none
        $s = (Invoke-InImage 'pester/links-stage:1' 'stat -c "%h %i" /s/x /s/y') -split "`n"
        ($s[0] -split ' ')[0] | Should -Be '2'
        ($s[0] -split ' ')[1] | Should -Be ($s[1] -split ' ')[1]
    }
}

Describe 'COPY layers are reproducible' {
    It 'gives the same layer digests when an unchanged context is built twice with -NoCache' {
        $ctx = New-Context 'repro' @'
FROM pester/steps-base:1
WORKDIR /srv/made/by/workdir
COPY tree/ /opt/deep/tree/
COPY one.txt /made/on/the/way/
COPY <<DOC /etc/heredoc.txt
from a heredoc
DOC
'@ @{ 'tree/a.txt' = 'a'; 'tree/sub/b.txt' = 'b'; 'one.txt' = 'one' }
        $first = Build-ContainerImage $ctx -Tag 'pester/repro:1' -Network none -NoCache
        Start-Sleep -Milliseconds 1100
        $second = Build-ContainerImage $ctx -Tag 'pester/repro:2' -Network none -NoCache
        $a = Get-DiffIds $first.Id
        $b = Get-DiffIds $second.Id
        $a.Count | Should -Be 5
        ($b -join "`n") | Should -Be ($a -join "`n")
        Invoke-InImage 'pester/repro:2' 'cat /opt/deep/tree/sub/b.txt /made/on/the/way/one.txt /etc/heredoc.txt; test -d /srv/made/by/workdir && echo wd' |
            Should -Be "bonefrom a heredoc`nwd"
    }

    It 'gives the same image id too when SOURCE_DATE_EPOCH is given (history and created times take it)' {
        $ctx = Join-Path $script:w 'repro'
        $epoch = @{ SOURCE_DATE_EPOCH = '1700000000' }
        $first = Build-ContainerImage $ctx -Tag 'pester/repro-epoch:1' -Network none -NoCache -BuildArg $epoch
        Start-Sleep -Milliseconds 1100
        $second = Build-ContainerImage $ctx -Tag 'pester/repro-epoch:2' -Network none -NoCache -BuildArg $epoch
        $second.Id | Should -Be $first.Id
        Invoke-InImage 'pester/repro-epoch:1' 'stat -c %Y /made /opt/deep' | Should -Be "1700000000`n1700000000"
    }
}

Describe 'COPY --chown with a user and no group' {
    It 'gives the group id the user''s numeric id, as the Dockerfile reference says, not the user''s primary group' {
        $ctx = New-Context 'chown-user-only' "FROM pester/steps-base:1`nRUN echo 'app:x:1234:4321::/:/bin/sh' >> /etc/passwd`nCOPY --chown=app f.txt /f.txt`nCOPY --chown=77 f.txt /g.txt`n" @{ 'f.txt' = 'x' }
        $null = Build-ContainerImage $ctx -Tag 'pester/chown-user:1' -Network none -ErrorAction Stop
        Invoke-InImage 'pester/chown-user:1' 'stat -c %u:%g /f.txt /g.txt' | Should -Be "1234:1234`n77:77"
    }
}

Describe 'COPY --from with wildcards' {
    It 'copies what the pattern matches in the stage' {
        $ctx = New-Context 'glob' @'
FROM pester/steps-base:1 AS gen
RUN mkdir -p /out/sub && echo 1 > /out/a.txt && echo 2 > /out/b.txt && echo 3 > /out/c.log && echo 4 > /out/sub/d.txt
FROM pester/steps-base:1
COPY --from=gen /out/*.txt /globbed/
COPY --from=gen /out/[ac].* /classes/
COPY --from=gen /out/*/d.txt /deep/
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/glob:1' -Network none -ErrorAction Stop
        Invoke-InImage 'pester/glob:1' 'ls /globbed | tr "\n" " "; echo; ls /classes | tr "\n" " "; echo; cat /deep/d.txt' |
            Should -Be "a.txt b.txt `na.txt c.log `n4"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'copies out only the root entries a wildcard in the first path part matches' {
        $ctx = New-Context 'glob-root' @'
FROM pester/steps-base:1 AS gen
RUN echo 1 > /a.txt && echo 2 > /b.txt && mkdir /c.txt.d && echo 3 > /c.txt.d/x && echo 4 > /keep.log && rm /a.txt && echo 5 > /a.txt
FROM pester/steps-base:1
COPY --from=gen /*.txt /rootglob/
COPY --from=gen /[ab].* /classes/
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/glob-root:1' -Network none -ErrorAction Stop
        Invoke-InImage 'pester/glob-root:1' 'ls /rootglob | tr "\n" " "; echo; ls /classes | tr "\n" " "; echo; cat /rootglob/a.txt' |
            Should -Be "a.txt b.txt `na.txt b.txt `n5"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'resolves a relative source from the root of the stage, as docker build does, not from a WORKDIR' {
        $ctx = New-Context 'from-relative' @'
FROM pester/steps-base:1 AS gen
WORKDIR /work
RUN echo root > /rel.txt && echo workdir > /work/rel.txt && mkdir /g && echo g > /g/one.txt
FROM pester/steps-base:1
WORKDIR /work
COPY --from=gen rel.txt /plain.txt
COPY --from=gen g/*.txt /globbed/
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/from-relative:1' -Network none -ErrorAction Stop
        Invoke-InImage 'pester/from-relative:1' 'cat /plain.txt; cat /globbed/one.txt' | Should -Be "root`ng"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'matches in the directory a link of the stage names (a merged-/usr /lib), inside the stage''s root' {
        $ctx = New-Context 'glob-link' @'
FROM pester/steps-base:1 AS gen
RUN mkdir -p /usr/lib2 && echo so > /usr/lib2/a.so && echo no > /usr/lib2/b.txt && ln -s usr/lib2 /lib2
FROM pester/steps-base:1
COPY --from=gen /lib2/*.so /out/
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/glob-link:1' -Network none -ErrorAction Stop
        Invoke-InImage 'pester/glob-link:1' 'ls /out | tr "\n" " "; cat /out/a.so' | Should -Be "a.so so"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'is a clear error naming the line when nothing matches' {
        $ctx = New-Context 'glob-none' "FROM pester/steps-base:1 AS gen`nRUN mkdir /out`nFROM pester/steps-base:1`nCOPY --from=gen /out/*.none /x/"
        $null = Assert-BuildError $ctx 'SourceNotFound' 4
    }
}

Describe 'RUN --mount=type=cache options' {
    It 'holds a sharing=locked cache for one step at a time and lets it go after, and mounts an ro cache read-only' {
        $ctx = New-Context 'cache-options' @'
FROM pester/steps-base:1
RUN --mount=type=cache,id=steps-lock,target=/c,sharing=locked echo one >> /c/log
RUN --mount=type=cache,id=steps-lock,target=/c,sharing=locked echo two >> /c/log && wc -l < /c/log > /count.txt
RUN --mount=type=cache,id=steps-lock,target=/c,ro (echo three >> /c/log) 2>/dev/null && echo writable > /ro.txt || echo readonly > /ro.txt
'@
        $job = Start-ThreadJob { param($m, $ctx) Import-Module $m; Build-ContainerImage $ctx -Tag 'pester/cache-options:1' -Network none -ErrorAction Stop | Out-Null; 'built' } -ArgumentList (Get-TestModulePath), $ctx
        Wait-Job $job -Timeout 120 | Should -Not -BeNullOrEmpty -Because 'a locked cache is let go after its step (the next step would wait for it forever)'
        Receive-Job $job | Should -Be 'built'
        Remove-Job $job -Force
        Invoke-InImage 'pester/cache-options:1' 'cat /count.txt /ro.txt' | Should -Be "2`nreadonly"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }
}

Describe 'RUN --mount=type=bind with from=' {
    It 'follows a link of the stage inside the stage''s root, never to the host''s directory of that name' {
        # A directory only the host has: a link to it in the stage must not bind it (mount(2) follows links on the host).
        $hostOnly = Join-Path ([IO.Path]::GetTempPath()) "psc-bind-escape-$([guid]::NewGuid().ToString('N'))"
        New-Item -ItemType Directory $hostOnly | Out-Null
        Set-Content (Join-Path $hostOnly 'secret') 'host-secret'
        try {
            $ctx = New-Context 'bind-from-link' @"
FROM pester/steps-base:1 AS s
RUN mkdir /real && echo inside > /real/f && ln -s /real /data && ln -s $hostOnly /escape
FROM pester/steps-base:1
RUN --mount=type=bind,from=s,source=/data,target=/x cat /x/f > /through-link.txt
"@
            $null = Build-ContainerImage $ctx -Tag 'pester/bindfrom-link:1' -Network none -ErrorAction Stop
            Invoke-InImage 'pester/bindfrom-link:1' 'cat /through-link.txt' | Should -Be 'inside'

            $bad = New-Context 'bind-from-escape' @"
FROM pester/steps-base:1 AS s
RUN ln -s $hostOnly /escape
FROM pester/steps-base:1
RUN --mount=type=bind,from=s,source=/escape,target=/x cat /x/secret > /leak.txt
"@
            $null = Assert-BuildError $bad 'SourceNotFound' 4
        }
        finally { Remove-Item -Recurse -Force $hostOnly }
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'binds a path of a stage or an image, read-only, or writable with the writes discarded' {
        $ctx = New-Context 'bind-from' @'
FROM pester/steps-base:1 AS tools
RUN mkdir /tools && echo tool-data > /tools/data.txt
FROM pester/steps-base:1
RUN --mount=type=bind,from=tools,source=/tools,target=/mnt/t cat /mnt/t/data.txt > /seen.txt
RUN --mount=type=bind,from=tools,source=/tools,target=/ro (echo x > /ro/y) 2>/dev/null && echo writable > /ro.txt || echo readonly > /ro.txt
RUN --mount=type=bind,from=tools,source=tools,target=/rw,rw echo scribble > /rw/new.txt && rm /rw/data.txt && echo ok > /rw-ok.txt
RUN --mount=type=bind,from=tools,source=/tools,target=/again cat /again/data.txt > /again.txt && ls /again > /again-list.txt
RUN --mount=type=bind,from=pester/steps-base:1,source=/etc/passwd,target=/p.txt wc -l < /p.txt > /lines.txt
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/bindfrom:1' -Network none -ErrorAction Stop
        $out = Invoke-InImage 'pester/bindfrom:1' 'cat /seen.txt /ro.txt /rw-ok.txt /again.txt /again-list.txt /lines.txt; for p in /mnt /ro /rw /again /p.txt; do test -e $p && echo "stub $p"; done; true'
        $out | Should -Be "tool-data`nreadonly`nok`ntool-data`ndata.txt`n2"
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'is a clear error naming the line when the stage lacks the source' {
        $ctx = New-Context 'bind-from-missing' "FROM pester/steps-base:1 AS a`nFROM pester/steps-base:1`nRUN --mount=type=bind,from=a,source=/nothere,target=/m true"
        $null = Assert-BuildError $ctx 'SourceNotFound' 3
    }
}

Describe 'RUN --mount=type=secret' {
    BeforeAll {
        $script:secretText = "s3cr3t-$([guid]::NewGuid().ToString('N'))"
        $script:secretFile = Join-Path $script:w 'token.txt'
        Set-Content -LiteralPath $script:secretFile -Value $script:secretText -NoNewline
        $script:cfgFile = Join-Path $script:w 'app.cfg'
        Set-Content -LiteralPath $script:cfgFile -Value "cfg-$script:secretText" -NoNewline
        $script:secretCtx = New-Context 'secret' @'
FROM pester/steps-base:1
RUN --mount=type=secret,id=token wc -c < /run/secrets/token > /secret-size.txt
RUN --mount=type=secret,id=cfg,target=/etc/app.cfg,required=true test -s /etc/app.cfg && echo found > /cfg.txt
RUN --mount=type=secret,id=absent test -e /run/secrets/absent && echo mounted > /absent.txt || echo skipped > /absent.txt
'@
    }

    It 'mounts the secret for the step only: in no layer, no cache key, no file of the state root' {
        $null = Build-ContainerImage $script:secretCtx -Tag 'pester/secret:1' -Network none -ErrorAction Stop -Secret @{ token = $script:secretFile }, "id=cfg,src=$script:cfgFile"
        Invoke-InImage 'pester/secret:1' 'cat /secret-size.txt /cfg.txt /absent.txt; test -e /run && echo "has /run"; test -e /etc/app.cfg && echo "has /etc/app.cfg"; true' |
            Should -Be "$($script:secretText.Length)`nfound`nskipped"
        $found = & grep -rl --binary-files=text -F $script:secretText $script:state.Root 2>$null
        $found | Should -BeNullOrEmpty -Because 'the secret is never written into the state root (layers, cache, temp files)'
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'reruns no step when only the secret''s content changed' {
        Set-Content -LiteralPath $script:secretFile -Value 'changed-content' -NoNewline
        $log = Build-ContainerImage $script:secretCtx -Tag 'pester/secret:2' -Network none -Verbose -Secret @{ token = $script:secretFile; cfg = $script:cfgFile } 4>&1
        $runs = @($log | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'RUN ' })
        $runs.Count | Should -Be 3
        $runs | ForEach-Object { $_.Message | Should -Match '\(cached\)' }
    }

    It 'takes a secret from an environment variable (id=ID,env=NAME) and leaves no copy of it' {
        $env:PSC_BUILD_TEST_SECRET = $script:secretText
        try {
            $null = Build-ContainerImage $script:secretCtx -Tag 'pester/secret:env' -Network none -NoCache -ErrorAction Stop -Secret 'id=token,env=PSC_BUILD_TEST_SECRET', "id=cfg,src=$script:cfgFile"
        }
        finally { Remove-Item Env:PSC_BUILD_TEST_SECRET }
        Invoke-InImage 'pester/secret:env' 'cat /secret-size.txt' | Should -Be "$($script:secretText.Length)"
        $found = & grep -rl --binary-files=text -F $script:secretText $script:state.Root 2>$null
        $found | Should -BeNullOrEmpty -Because 'the file the value was written to lives only as long as the build'
        Get-BuildLeftover | Should -BeNullOrEmpty
        Build-ContainerImage $script:secretCtx -Network none -Secret 'id=token,env=PSC_BUILD_TEST_UNSET' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'SecretNotFound,*'
    }

    It 'is a clear error naming the line when a required secret is not given' {
        $null = Assert-BuildError $script:secretCtx 'SecretNotFound' 3 @{ Secret = @{ token = $script:secretFile }; NoCache = $true }
    }

    It 'refuses a malformed -Secret' {
        Build-ContainerImage $script:secretCtx -Network none -Secret 'src=/etc/hostname' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'InvalidSecret,*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
    }

    It 'refuses type=ssh with a clear error naming the line' {
        $ctx = New-Context 'ssh' "FROM pester/steps-base:1`nRUN echo ok`nRUN --mount=type=ssh true"
        $e = Assert-BuildError $ctx 'UnsupportedMount' 3
        $e.Exception.Message | Should -Match 'type=ssh'
    }
}

Describe 'the build platform' {
    BeforeAll {
        $script:hostArch = [PSContainer.Engine.Images.ImageImporter]::HostArchitecture
        $script:foreign = if ($script:hostArch -eq 'arm64') { 'linux/amd64' } else { 'linux/arm64' }
    }

    It 'predefines BuildKit''s platform arguments: in FROM lines, and in a stage once declared' {
        $ctx = New-Context 'platform-args' @'
FROM --platform=$BUILDPLATFORM pester/steps-base:1
ARG TARGETPLATFORM
ARG TARGETARCH
ARG BUILDOS
RUN echo "$TARGETPLATFORM $TARGETARCH $BUILDOS [$TARGETOS]" > /platform.txt
'@
        $null = Build-ContainerImage $ctx -Tag 'pester/platform:1' -Network none -Platform "linux/$script:hostArch" -ErrorAction Stop
        Invoke-InImage 'pester/platform:1' 'cat /platform.txt' | Should -Be "linux/$script:hostArch $script:hostArch linux []"
    }

    It 'refuses a foreign -Platform, naming the FROM line' {
        $ctx = New-Context 'platform-foreign' "FROM pester/steps-base:1`nRUN true"
        $e = Assert-BuildError $ctx 'ForeignPlatform' 1 @{ Platform = $script:foreign }
        $e.Exception.Message | Should -Match ([regex]::Escape($script:foreign))
        $e.Exception.Message | Should -Match 'emulation'
    }

    It 'refuses a foreign FROM --platform, naming its line' {
        $ctx = New-Context 'platform-from' "FROM pester/steps-base:1 AS a`nFROM --platform=$script:foreign pester/steps-base:1`nRUN true"
        $null = Assert-BuildError $ctx 'ForeignPlatform' 2
    }

    It 'refuses a malformed platform' {
        $ctx = New-Context 'platform-bad' "FROM --platform=linux/ pester/steps-base:1"
        $null = Assert-BuildError $ctx 'InvalidPlatform' 1
    }
}
