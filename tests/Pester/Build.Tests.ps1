#Requires -Version 7.4
# Build-ContainerImage (docker build): a multi-stage Dockerfile using every instruction, the image's config and
# files, the cache (a no-change rebuild is the same image; a one-file change rebuilds from that step), bad input
# (each a clear error with the Dockerfile line, nothing left behind), and the image under docker (load, registry).

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-build'
    Import-Module (Get-TestModulePath) -Force
    Import-Module "$PSScriptRoot/BuildTestSupport.psm1" -Force
    Use-BuildTestState $script:state
    $script:w = $script:state.Work
    $script:busyboxTar = New-TestBusyboxRootFs -Path (Join-Path $script:w 'busybox.tar') -Applet @('sh', 'echo', 'cat', 'ls', 'rm', 'mkdir', 'stat', 'test', 'true', 'wc', 'id', 'env', 'sleep')
    Import-ContainerImage $script:busyboxTar -Format RootFs -Name 'pester/build-base:1' -Command sh | Out-Null

    $script:fullDockerfile = @'
# syntax=docker/dockerfile:1
ARG BASE=pester/build-base:1
FROM ${BASE} AS builder
ARG GREETING=hello
WORKDIR /src
COPY app/ ./
RUN echo "$GREETING from builder" > /src/out.txt && rm -f /src/remove-me.txt
RUN --mount=type=cache,target=/cache echo run >> /cache/log && wc -l < /cache/log > /src/cache-count

FROM pester/build-base:1 AS unused
RUN exit 1

FROM ${BASE}
LABEL org.example.name="web app" \
      tier=frontend
ENV APP_HOME=/app MODE=${MODE:-production} FLAG=${GREETING:+set}
WORKDIR $APP_HOME
COPY --from=builder /src/out.txt ./
COPY --chown=65534:65534 --chmod=640 app/config.ini conf/
ADD files.tar /app/extracted/
COPY <<EOF /app/heredoc.txt
mode=$MODE
EOF
RUN <<EOF
echo heredoc-run > /app/run.txt
rm /etc/group
EOF
RUN --mount=type=bind,source=app,target=/mnt cat /mnt/config.ini > /app/bound.txt
USER nobody
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD test -f /app/out.txt
SHELL ["/bin/sh", "-ec"]
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /app/out.txt"]
'@
    $script:full = New-Context 'full' $script:fullDockerfile @{ 'app/config.ini' = "key=value`n"; 'app/remove-me.txt' = 'gone'; 'app/ignored.log' = 'no'; '.dockerignore' = "*/*.log`n" }
    $extra = Join-Path $script:w 'tar-src'
    New-Item -ItemType Directory -Force "$extra/inner" | Out-Null
    Set-Content "$extra/inner/x.txt" 'from the tar'
    & tar -C $extra -cf (Join-Path $script:full 'files.tar') inner
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'Build-ContainerImage builds a multi-stage Dockerfile' {
    BeforeAll {
        $script:info = @()
        $script:image = Build-ContainerImage $script:full -Tag 'pester/built:1', 'pester/built:latest' -Network none -InformationVariable script:info -WarningVariable script:warnings -WarningAction SilentlyContinue
    }

    It 'returns the image with its tags' {
        $script:image | Should -Not -BeNullOrEmpty
        $script:image.RepoTags | Should -Contain 'pester/built:1'
        $script:image.RepoTags | Should -Contain 'pester/built:latest'
    }

    It 'notes that the syntax directive is ignored' {
        ($script:warnings -join "`n") | Should -Match 'syntax directive'
    }

    It 'sets the image config as the Dockerfile says' {
        $c = (Get-ContainerImage 'pester/built:1').Config
        $c.Env | Should -Contain 'APP_HOME=/app'
        $c.Env | Should -Contain 'MODE=production'
        $c.Env | Should -Contain 'FLAG='
        $c.WorkingDir | Should -Be '/app'
        $c.User | Should -Be 'nobody'
        $c.ExposedPorts | Should -Be @('53/udp', '8080/tcp')
        $c.Volumes | Should -Be @('/data')
        $c.Labels['org.example.name'] | Should -Be 'web app'
        $c.Labels['tier'] | Should -Be 'frontend'
        $c.StopSignal | Should -Be 'SIGTERM'
        $c.Healthcheck.Test | Should -Be @('CMD-SHELL', 'test -f /app/out.txt')
        $c.Healthcheck.Retries | Should -Be 2
        $c.Entrypoint | Should -Be @('/bin/sh')
        $c.Cmd | Should -Be @('-c', 'cat /app/out.txt')
    }

    It 'has the files the steps made, with owners, modes and deletions' {
        $out = Invoke-InImage 'pester/built:1' 'cat /app/out.txt; stat -c "%u:%g %a" /app/conf/config.ini; cat /app/heredoc.txt /app/run.txt /app/extracted/inner/x.txt /app/bound.txt; test -e /etc/group && echo group-present || echo group-deleted; test -e /src && echo src-present || echo no-src'
        $out | Should -Match 'hello from builder'
        $out | Should -Match '65534:65534 640'
        $out | Should -Match 'mode=production'
        $out | Should -Match 'heredoc-run'
        $out | Should -Match 'from the tar'
        $out | Should -Match 'key=value'
        $out | Should -Match 'group-deleted'
        $out | Should -Match 'no-src'
    }

    It 'leaves files .dockerignore names out and deletes what a RUN removed' {
        $builder = @(Get-ContainerImage | Where-Object { $_.RepoTags.Count -eq 0 })
        $builder.Count | Should -BeGreaterThan 0
        $out = Invoke-InImage 'pester/built:1' 'ls /app /app/conf'
        $out | Should -Not -Match 'ignored.log'
    }

    It 'streams the output of RUN steps to the information stream' {
        $ctx = New-Context 'output' "FROM pester/build-base:1`nRUN echo visible-output && echo to-stderr >&2`n"
        Build-ContainerImage $ctx -Tag 'pester/output:1' -Network none -NoCache -InformationVariable out | Out-Null
        $lines = @($out | Where-Object { $_.Tags -contains 'PSContainer.Build' })
        ($lines | Where-Object { $_.Tags -contains 'stdout' }).MessageData | Should -Contain 'visible-output'
        ($lines | Where-Object { $_.Tags -contains 'stderr' }).MessageData | Should -Contain 'to-stderr'
    }

    It 'runs the image it built' {
        Invoke-InImage 'pester/built:1' 'id -u' | Should -Match '0'
        $c = New-Container -Image 'pester/built:1' -Network none
        try {
            Start-Container $c.Id -Wait | Out-Null
            (Get-ContainerLog $c.Id | ForEach-Object Line) -join '' | Should -Match 'hello from builder'
        }
        finally { Remove-Container $c.Id -Force }
    }
}

Describe 'ONBUILD triggers' {
    It 'runs the base image''s triggers right after FROM, and clears them' {
        $base = New-Context 'onbuild-base' "FROM pester/build-base:1`nONBUILD COPY marker.txt /marker.txt`nONBUILD RUN echo triggered > /triggered.txt`n"
        Build-ContainerImage $base -Tag 'pester/onbuild-base:1' -Network none | Out-Null
        $child = New-Context 'onbuild-child' "FROM pester/onbuild-base:1`nRUN cat /marker.txt /triggered.txt > /both.txt`n" @{ 'marker.txt' = "marker`n" }
        $image = Build-ContainerImage $child -Tag 'pester/onbuild-child:1' -Network none
        Invoke-InImage 'pester/onbuild-child:1' 'cat /both.txt' | Should -Be "marker`ntriggered"
        $config = Get-Content -Raw (Join-Path $script:state.Root "image/blobs/sha256/$($image.Id.Substring(7))") | ConvertFrom-Json
        $config.config.OnBuild | Should -BeNullOrEmpty
    }
}

Describe 'the build cache' {
    It 'gives the same image for a rebuild with no change, every step from the cache' {
        $first = Build-ContainerImage $script:full -Tag 'pester/cache:1' -Network none -WarningAction SilentlyContinue
        $verbose = Build-ContainerImage $script:full -Tag 'pester/cache:2' -Network none -Verbose -WarningAction SilentlyContinue 4>&1
        $second = $verbose | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $second.Id | Should -Be $first.Id
        $steps = @($verbose | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match '(RUN|COPY|ADD) ' })
        $steps.Count | Should -BeGreaterThan 0
        $steps | ForEach-Object { $_.Message | Should -Match '\(cached\)' }
    }

    It 'rebuilds from the step whose source changed' {
        $ctx = New-Context 'change' "FROM pester/build-base:1`nCOPY a.txt /a.txt`nRUN echo built > /run.txt`nCOPY b.txt /b.txt`n" @{ 'a.txt' = 'a'; 'b.txt' = 'b1' }
        $one = Build-ContainerImage $ctx -Tag 'pester/change:1' -Network none
        Set-Content (Join-Path $ctx 'b.txt') 'b2' -NoNewline
        $log = Build-ContainerImage $ctx -Tag 'pester/change:2' -Network none -Verbose 4>&1
        $two = $log | Where-Object { $_ -isnot [System.Management.Automation.VerboseRecord] }
        $two.Id | Should -Not -Be $one.Id
        ($log | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'RUN echo' }).Message | Should -Match '\(cached\)'
        ($log | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'COPY b.txt' }).Message | Should -Not -Match '\(cached\)'
        Invoke-InImage 'pester/change:2' 'cat /b.txt' | Should -Be 'b2'
    }

    It 'counts the steps a build took from the cache, and when last (docker system df -v USAGE and LAST USED)' {
        $ctx = New-Context 'usage' "FROM pester/build-base:1`nCOPY usage.txt /usage.txt`n" @{ 'usage.txt' = 'counted' }
        $null = Build-ContainerImage $ctx -Tag 'pester/usage:1' -Network none
        $engine = [PSContainer.Engine.ContainerEngine]::ForEnvironment()
        $step = { @([PSContainer.Engine.Services.BuildCacheRecords]::Read($engine).Records | Where-Object Description -Like 'COPY usage.txt /usage.txt*') }
        $made = & $step
        $made.Count | Should -Be 1
        $made[0].UsageCount | Should -Be 0
        $made[0].LastUsedAt | Should -BeNullOrEmpty
        $start = [DateTime]::UtcNow.AddSeconds(-1)
        $null = Build-ContainerImage $ctx -Tag 'pester/usage:2' -Network none
        $null = Build-ContainerImage $ctx -Tag 'pester/usage:3' -Network none
        $used = & $step
        $used[0].UsageCount | Should -Be 2
        $used[0].LastUsedAt | Should -BeGreaterThan $start
    }

    It 'rebuilds a COPY whose sources changed only in which files are hard links of each other' {
        $ctx = New-Context 'links' "FROM pester/build-base:1`nCOPY d /d/`n" @{ 'd/x' = 'same'; 'd/y' = 'same' }
        $null = Build-ContainerImage $ctx -Tag 'pester/links:1' -Network none
        Invoke-InImage 'pester/links:1' 'stat -c %h /d/x' | Should -Be '1'
        Remove-Item (Join-Path $ctx 'd/y')
        & ln (Join-Path $ctx 'd/x') (Join-Path $ctx 'd/y')
        $log = Build-ContainerImage $ctx -Tag 'pester/links:2' -Network none -Verbose 4>&1
        ($log | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'COPY d' }).Message | Should -Not -Match '\(cached\)'
        Invoke-InImage 'pester/links:2' 'stat -c %h /d/x' | Should -Be '2'
    }

    It 'is shown by Get-ContainerDiskUsage and emptied by Remove-ContainerBuildCache' {
        $row = Get-ContainerDiskUsage | Where-Object Type -eq 'BuildCache'
        $row.TotalCount | Should -BeGreaterThan 0
        $row.Size | Should -BeGreaterThan 0
        Remove-ContainerBuildCache -Confirm:$false | Out-Null
        (Get-ContainerDiskUsage | Where-Object Type -eq 'BuildCache').TotalCount | Should -Be 0
        $ctx = Join-Path $script:w 'change'
        $log = Build-ContainerImage $ctx -Tag 'pester/change:3' -Network none -Verbose 4>&1
        ($log | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] -and $_.Message -match 'RUN echo' }).Message | Should -Not -Match '\(cached\)'
    }
}

Describe 'bad input is a clear error naming the line, and leaves nothing' {
    It '<Name>' -ForEach @(
        @{ Name = 'unknown instruction'; Dockerfile = "FROM pester/build-base:1`nFROBNICATE x"; Id = 'UnknownInstruction'; Line = 2 }
        @{ Name = 'missing COPY source'; Dockerfile = "FROM pester/build-base:1`nCOPY nothere.txt /x"; Id = 'SourceNotFound'; Line = 2 }
        @{ Name = 'COPY escaping the context'; Dockerfile = "FROM pester/build-base:1`nCOPY ../x /x"; Id = 'ContextEscape'; Line = 2 }
        @{ Name = 'symlink out of the context'; Dockerfile = "FROM pester/build-base:1`nCOPY out /x"; Id = 'ContextSymlinkEscape'; Line = 2; Link = $true }
        @{ Name = 'symlinked directory out of the context'; Dockerfile = "FROM pester/build-base:1`nCOPY out/passwd /x"; Id = 'ContextSymlinkEscape'; Line = 2; LinkDir = $true }
        @{ Name = 'ADD of a URL'; Dockerfile = "FROM pester/build-base:1`nADD http://127.0.0.1:1/x /x"; Id = 'AddUrlRefused'; Line = 2 }
        @{ Name = 'a RUN that fails'; Dockerfile = "FROM pester/build-base:1`nRUN echo ok`nRUN echo bad && exit 3"; Id = 'BuildStepFailed'; Line = 3; Exit = 3 }
        @{ Name = 'a missing target'; Dockerfile = "FROM pester/build-base:1 AS a"; Id = 'TargetNotFound'; Line = 0; Target = 'b' }
    ) {
        $ctx = New-Context "bad-$([guid]::NewGuid().ToString('N').Substring(0, 8))" $Dockerfile
        if ($Link) { & ln -s /etc/passwd (Join-Path $ctx 'out') }
        if ($LinkDir) { & ln -s /etc (Join-Path $ctx 'out') }
        $before = @(Get-ContainerImage).Count
        $err = $null
        $params = @{ Path = $ctx; Tag = 'pester/bad:1'; Network = 'none'; ErrorVariable = 'err'; ErrorAction = 'SilentlyContinue' }
        if ($Target) { $params.Target = $Target }
        Build-ContainerImage @params | Should -BeNullOrEmpty
        $err.Count | Should -Be 1
        $err[0].FullyQualifiedErrorId | Should -BeLike "$Id,*"
        $err[0].CategoryInfo.Category | Should -Not -Be 'NotSpecified'
        if ($Line -gt 0) {
            $err[0].TargetObject | Should -Be "Dockerfile:$Line"
            $err[0].Exception.Message | Should -Match "line $Line"
        }
        if ($Exit) { $err[0].Exception.Message | Should -Match "exit code $Exit"; $err[0].Exception.ExitCode | Should -Be $Exit }
        Get-ContainerImage 'pester/bad:1' -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-BuildLeftover | Should -BeNullOrEmpty
        if ($Id -ne 'BuildStepFailed') { @(Get-ContainerImage).Count | Should -Be $before }
    }

    It 'never writes through a symlink one source of a COPY staged when another source meets it' {
        # a -> a host directory (copied as the link it is, through the glob) and d/a/pwned: staging d after a must
        # not follow the staged link onto the host.
        $victim = Join-Path $script:w 'victim'
        New-Item -ItemType Directory -Force $victim | Out-Null
        $ctx = New-Context 'overlap' "FROM pester/build-base:1`nCOPY a* d /dest/" @{ 'd/a/pwned' = 'x' }
        & ln -s $victim (Join-Path $ctx 'a')
        $image = Build-ContainerImage -Path $ctx -Tag pester/overlap:1 -Network none -ErrorVariable err -ErrorAction SilentlyContinue
        Get-ChildItem $victim | Should -BeNullOrEmpty -Because 'the build wrote nothing outside its staging tree'
        if ($image) {
            Invoke-InImage pester/overlap:1 'test -d /dest/a && cat /dest/a/pwned' | Should -Be 'x'
            Remove-ContainerImage pester/overlap:1
        }
        else { $err[0].FullyQualifiedErrorId | Should -BeLike 'SourcesOverlapSymlink,*' }
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'gives a writable bind mount a copy: what RUN writes there never reaches the context' {
        $ctx = New-Context 'rw-bind' "FROM pester/build-base:1`nRUN --mount=type=bind,source=src,target=/mnt,rw rm /mnt/keep.txt && echo new > /mnt/new.txt && ls /mnt > /seen.txt" @{ 'src/keep.txt' = 'k'; 'src/secret.txt' = 's'; '.dockerignore' = "src/secret.txt`n" }
        $null = Build-ContainerImage -Path $ctx -Tag pester/rwbind:1 -Network none -ErrorAction Stop
        Get-ChildItem (Join-Path $ctx 'src') -Name | Sort-Object | Should -Be @('keep.txt', 'secret.txt')
        # The step saw the context path without what .dockerignore names, and wrote into its own copy.
        Invoke-InImage pester/rwbind:1 'cat /seen.txt' | Should -Be 'new.txt'
        Remove-ContainerImage pester/rwbind:1
        Get-BuildLeftover | Should -BeNullOrEmpty
    }

    It 'leaves a running build''s step containers to container prune, and Repair-ContainerState removes a killed build''s' {
        $live = [PSContainer.Engine.Build.BuildContainers]::Labels('step')
        # The same owner with a pid no process has: a build that was killed.
        $parts = $live['io.pscontainer.build.owner'].Split('-')
        $ids = $parts[1].Split('.')
        $deadPid = 4000000
        while (Test-Path "/proc/$deadPid") { $deadPid++ }
        $dead = @{ 'io.pscontainer.build' = 'step'; 'io.pscontainer.build.owner' = "build-$deadPid.$($ids[1]).$($ids[2])-$($parts[2])" }
        $deadId = (New-Container pester/build-base:1 -Name pester-deadstep -Label $dead -Network none -Command true).Id
        $null = New-Container pester/build-base:1 -Name pester-livestep -Label ([hashtable]$live) -Network none -Command true
        $service = [PSContainer.Engine.Services.ContainerService]::new([PSContainer.Engine.ContainerEngine]::ForEnvironment())
        $noFilters = [Collections.Generic.Dictionary[string, Collections.Generic.IReadOnlyList[string]]]::new()
        $pruned = $service.Prune($noFilters).ContainersDeleted
        $pruned | Should -Contain $deadId -Because 'a killed build''s container is prunable'
        Get-Container pester-livestep -All | Should -Not -BeNullOrEmpty -Because 'a running build''s step container is not pruned'
        $null = New-Container pester/build-base:1 -Name pester-deadstep -Label $dead -Network none -Command true
        Repair-ContainerState
        Get-Container pester-deadstep -All -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        Get-Container pester-livestep -All | Should -Not -BeNullOrEmpty
        Remove-Container pester-livestep -Force
    }

    It 'never opens a symlink a wildcard ADD matched: a link to a host tar is copied as a link, not unpacked' {
        $hostTar = Join-Path $script:w 'host-secret.tar'
        $src = Join-Path $script:w 'host-secret'
        New-Item -ItemType Directory -Force $src | Out-Null
        Set-Content (Join-Path $src 'leaked') 'secret'
        & tar -C $src -cf $hostTar leaked
        $ctx = New-Context 'add-link' "FROM pester/build-base:1`nADD *.tar /x/"
        & ln -s $hostTar (Join-Path $ctx 'evil.tar')
        $null = Build-ContainerImage -Path $ctx -Tag pester/addlink:1 -Network none -ErrorAction Stop
        Invoke-InImage pester/addlink:1 'test -L /x/evil.tar && echo link; test -e /x/leaked && echo leaked; true' | Should -Be 'link'
        Remove-ContainerImage pester/addlink:1
    }

    It 'applies .dockerignore when the context is reached through a symlink' {
        $ctx = New-Context 'ignored-through-link' "FROM pester/build-base:1`nCOPY . /app/" @{ 'keep.txt' = 'k'; 'secret.txt' = 's'; '.dockerignore' = "secret.txt`n" }
        $link = Join-Path $script:w 'context-link'
        & ln -sfn $ctx $link
        $null = Build-ContainerImage -Path $link -Tag pester/linked:1 -Network none -ErrorAction Stop
        Invoke-InImage pester/linked:1 'test -e /app/keep.txt && echo kept; test -e /app/secret.txt && echo leaked; true' | Should -Be 'kept'
        Remove-ContainerImage pester/linked:1
        Remove-Item $link
    }

    It 'refuses a Dockerfile of 10 MB' {
        $ctx = New-Context 'huge' ''
        $text = "FROM pester/build-base:1`n" + ('# ' + ('x' * 1022) + "`n") * 10240
        [IO.File]::WriteAllText((Join-Path $ctx 'Dockerfile'), $text)
        Build-ContainerImage $ctx -Tag 'pester/huge:1' -ErrorVariable err -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'DockerfileTooLarge,*'
        Get-BuildLeftover | Should -BeNullOrEmpty
    }
}

# The differential of config and file tree against docker build, Dockerfile by Dockerfile, is BuildDiff.Tests.ps1.
Describe 'an image built here under docker' {
    BeforeAll {
        . "$PSScriptRoot/../../bench/lib/BenchCommon.ps1"
        . "$PSScriptRoot/../../bench/lib/BenchDockerd.ps1"
        $script:dockerd = if (Get-Command dockerd -ErrorAction Ignore) { Start-BenchDockerd -Directory (Join-Path $script:w 'dockerd') -CgroupParent "psc-test-build-dockerd-$PID" } else { $null }
    }
    AfterAll {
        if ($script:dockerd) { Stop-BenchDockerd $script:dockerd }
    }

    It 'makes an image that runs under docker after Export-ContainerImage and docker load, and through a registry' {
        if (-not $script:dockerd -or -not $script:dockerd.Available) {
            Set-ItResult -Skipped -Because "no private dockerd: $(if ($script:dockerd) { $script:dockerd.Reason } else { 'dockerd is not installed' })"
            return
        }
        if (-not (Get-Command docker-registry -ErrorAction Ignore)) { Set-ItResult -Skipped -Because 'docker-registry is not installed'; return }
        $archive = Join-Path $script:w 'built.tar'
        Export-ContainerImage 'pester/built:1' -Path $archive
        $loaded = & docker load -i $archive 2>&1
        $LASTEXITCODE | Should -Be 0 -Because ($loaded -join "`n")
        (& docker run --rm --network none pester/built:1 2>&1) -join "`n" | Should -Match 'hello from builder'

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $registry = Start-TestDockerRegistry -Directory (Join-Path $script:w 'registry')
        try {
            Submit-ContainerImage 'pester/built:1' -Destination "$($registry.Host)/pester/built:1" -Quiet | Out-Null
            (Invoke-RestMethod "http://$($registry.Host)/v2/pester/built/tags/list").tags | Should -Contain '1'
            $pulled = & docker pull "$($registry.Host)/pester/built:1" 2>&1
            $LASTEXITCODE | Should -Be 0 -Because ($pulled -join "`n")
            (& docker run --rm --network none "$($registry.Host)/pester/built:1" 2>&1) -join "`n" | Should -Match 'hello from builder'
            # FROM an image the store lacks: pulled from its registry.
            $ctx = New-Context 'from-pull' "FROM $($registry.Host)/pester/built:1`nUSER 0`nRUN cat /app/out.txt > /pulled.txt`n"
            Build-ContainerImage $ctx -Tag 'pester/from-pull:1' -Network none | Out-Null
            Get-ContainerImage "$($registry.Host)/pester/built:1" | Should -Not -BeNullOrEmpty
            Invoke-InImage 'pester/from-pull:1' 'cat /pulled.txt' | Should -Match 'hello from builder'
        }
        finally { Stop-TestDockerRegistry $registry }
    }
}
