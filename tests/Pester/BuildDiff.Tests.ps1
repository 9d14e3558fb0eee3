#Requires -Version 7.4
# Build-ContainerImage against docker build, Dockerfile by Dockerfile: each is built by a private dockerd 20.10 with
# its classic builder (DOCKER_BUILDKIT=0) and by us from the same context, and the two images must have the same
# config (Env, Cmd, Entrypoint, WorkingDir, User, Shell, OnBuild, ExposedPorts, Volumes, Labels, Healthcheck,
# StopSignal) and the same file tree in a container of each (paths, modes, owners, link counts, link targets, which
# names are one file, content hashes). Only what the classic builder of 20.10 knows: no heredocs, --chmod or --mount.

BeforeDiscovery {
    # Each case: Name; Slug (names its context and tags); Dockerfile; ContextFiles (relative path = text); Base (a Dockerfile
    # built first, in both, as pester/diff-<Slug>-base:1, which Dockerfile names); BuildArg; Target; Prepare (gets the
    # context directory, for what ContextFiles cannot say: tars, hard links, owners).
    # One stage sets CMD then ENTRYPOINT (the CMD stays); the next, built from it, sets only ENTRYPOINT (the CMD goes).
    $cmdStages = @'
FROM pester/build-base:1 AS first
CMD ["kept"]
ENTRYPOINT /bin/echo entry
FROM first
ENTRYPOINT ["/bin/echo", "reset"]
'@
    $script:cases = @(
        @{
            Name = 'multi-stage with hard links, setuid, whiteouts and --chown'; Slug = 'classic'
            ContextFiles = @{ 'app/config.ini' = "key=value`n"; 'app/remove-me.txt' = 'gone'; 'app/sub/deep.txt' = 'deep' }
            # Hard links in the context (kept by COPY) besides the one the builder stage's RUN makes (kept by COPY --from).
            Prepare = { param($ctx) & ln (Join-Path $ctx 'app/sub/deep.txt') (Join-Path $ctx 'app/sub/deep-link.txt') }
            Dockerfile = @'
FROM pester/build-base:1 AS builder
WORKDIR /src
COPY app/ ./
RUN echo built > /src/out.txt && rm -f /src/remove-me.txt && ln /src/out.txt /src/hard.txt
FROM pester/build-base:1
LABEL tier=frontend name="web app"
ENV APP_HOME=/app MODE=production
WORKDIR $APP_HOME
COPY --from=builder /src/ ./
COPY --chown=65534:65534 app/config.ini conf/
RUN chmod 4755 /app/out.txt && rm /etc/group && mkdir -p /var/empty && ln -s /app/out.txt /app/link
USER nobody
EXPOSE 8080/tcp 53/udp
VOLUME /data
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=5s --retries=2 CMD test -f /app/out.txt
ENTRYPOINT ["/bin/sh"]
CMD ["-c", "cat /app/out.txt"]
'@
        }
        @{
            Name = 'ADD of a local tar, a .tar.gz, a plain file and a directory'; Slug = 'add'
            ContextFiles = @{ 'plain.txt' = "plain`n"; 'dir/a.txt' = 'a' }
            # Entries with their own owners and modes, a setuid file, a symlink and a hard link; a tar inside a
            # directory source is copied, not unpacked.
            Prepare = {
                param($ctx)
                $src = Join-Path $ctx '../add-tar-src'
                New-Item -ItemType Directory -Force "$src/inner/deeper" | Out-Null
                Set-Content "$src/inner/x.txt" 'from the tar'
                Set-Content "$src/inner/deeper/tool" 'tool'
                & chown 1000:1001 "$src/inner/x.txt"
                & chmod 640 "$src/inner/x.txt"
                & chmod 4755 "$src/inner/deeper/tool"
                & chmod 750 "$src/inner/deeper"
                & chown 1000:1000 "$src/inner/deeper"
                & ln -s x.txt "$src/inner/link"
                & ln "$src/inner/x.txt" "$src/inner/hard"
                & tar --numeric-owner -C $src -cf (Join-Path $ctx 'files.tar') inner
                & tar --numeric-owner -C $src -czf (Join-Path $ctx 'files.tar.gz') .
                & tar --numeric-owner -C $src -cf (Join-Path $ctx 'dir/nested.tar') inner
            }
            Dockerfile = @'
FROM pester/build-base:1
ADD files.tar /opt/tar/
ADD files.tar.gz /opt/targz
ADD plain.txt /opt/plain/
ADD plain.txt /opt/renamed.txt
ADD dir/ /opt/dir/
'@
        }
        @{
            Name = 'ARG from -BuildArg and ARG defaults in ENV, WORKDIR, COPY and RUN'; Slug = 'arg'
            ContextFiles = @{ 'default.txt' = 'default'; 'chosen.txt' = 'chosen'; 'given.txt' = 'given' }
            BuildArg = @{ GIVEN = 'given'; FILE = 'chosen.txt' }
            Dockerfile = @'
ARG BASE=pester/build-base:1
FROM ${BASE}
ARG DIR=/srv/app
ARG FILE=default.txt
ARG GIVEN
ARG DERIVED=${DIR}/sub
ENV TARGET_DIR=$DIR GIVEN_ENV=${GIVEN:-none} DERIVED=$DERIVED
WORKDIR $DIR
COPY $FILE ./
COPY ${GIVEN}.txt $DERIVED/
RUN echo "$GIVEN $FILE $DIR" > seen.txt
'@
        }
        @{
            Name = 'SHELL, then shell-form RUN, ENTRYPOINT and CMD'; Slug = 'shell'
            Dockerfile = @'
FROM pester/build-base:1
SHELL ["/bin/sh", "-ec"]
RUN echo "shelled $0" > /shell.txt
ENTRYPOINT echo entry
CMD echo from cmd
'@
        }
        @{
            Name = 'CMD then ENTRYPOINT in one stage keeps the CMD'; Slug = 'cmd-kept'
            Dockerfile = $cmdStages
            Target = 'first'
        }
        @{
            Name = 'ENTRYPOINT resets the CMD of the stage it is built from'; Slug = 'cmd-reset'
            Dockerfile = $cmdStages
        }
        @{
            Name = 'ONBUILD triggers of a parent image run in the child'; Slug = 'onbuild'
            ContextFiles = @{ 'marker.txt' = "marker`n" }
            Base = @'
FROM pester/build-base:1
ONBUILD COPY marker.txt /marker.txt
ONBUILD RUN echo triggered > /triggered.txt
ONBUILD ENV TRIGGERED=yes
LABEL parent=yes
'@
            Dockerfile = @'
FROM pester/diff-onbuild-base:1
RUN cat /marker.txt /triggered.txt > /both.txt
'@
        }
        @{
            Name = 'directories deleted by RUN (whiteouts, opaque directories) and made again'; Slug = 'whiteout'
            Dockerfile = @'
FROM pester/build-base:1
RUN mkdir -p /opt/gone/sub /opt/again/old && echo x > /opt/gone/sub/f && echo y > /opt/again/old/f && chmod 750 /opt/again
RUN rm -rf /opt/gone /var/tmp /root /opt/again && mkdir -p /opt/again/new && echo z > /opt/again/new/f
RUN mkdir /root && chmod 700 /root && rm -rf /usr/bin && echo w > /opt/again/w
'@
        }
        @{
            Name = 'COPY --chown by name, USER name:group, WORKDIR made under a USER'; Slug = 'owners'
            ContextFiles = @{ 'app/a.txt' = 'a'; 'app/sub/b.txt' = 'b'; 'one.txt' = 'one' }
            Dockerfile = @'
FROM pester/build-base:1
COPY --chown=nobody:nogroup app/ /srv/app/
COPY --chown=nobody:nogroup one.txt /srv/deep/er/
COPY --chown=nobody:root one.txt /srv/file/named.txt
COPY --chown=65534 one.txt app/ /srv/both/
RUN mkdir -m 777 /shared
USER nobody:nogroup
WORKDIR /home/nobody/work
WORKDIR rel/ative
RUN touch /shared/made-by-user && id -u > /shared/uid && id -g > /shared/gid
'@
        }
        @{
            Name = 'ENV referring to ENV'; Slug = 'env'
            Dockerfile = @'
FROM pester/build-base:1
ENV A=one
ENV B=${A}-two A=changed C=$A
ENV D ${B} and ${A}
ENV E="${MISSING:-fallback}" F=${A:+set} G='$A literal' H=\$A
WORKDIR /$A
RUN echo "$A|$B|$C|$D|$E|$F|$G|$H" > /env.txt
'@
        }
        @{
            Name = 'EXPOSE, VOLUME and LABEL merged across stages and with the base image''s'; Slug = 'merge'
            Base = @'
FROM pester/build-base:1
LABEL from.base=yes shared=base
EXPOSE 80
VOLUME /base-data
ENV BASE_ENV=1
STOPSIGNAL SIGINT
'@
            Dockerfile = @'
FROM pester/diff-merge-base:1 AS one
LABEL stage=one shared=one
EXPOSE 443/tcp 53/udp
VOLUME ["/one", "/two"]
FROM one
LABEL stage=two
EXPOSE 80/tcp 8080
VOLUME /two /three
'@
        }
        @{
            Name = 'multi-stage with -Target: the target stage only'; Slug = 'target'
            Target = 'target'
            Dockerfile = @'
FROM pester/build-base:1 AS base
RUN echo base > /base.txt
FROM base AS target
LABEL stage=target
COPY --from=base /base.txt /copied.txt
RUN echo target > /target.txt
CMD ["cat", "/target.txt"]
FROM target AS after
RUN echo after > /after.txt
LABEL stage=after
'@
        }
    )
    # Every case has every key (the tests run under strict mode).
    foreach ($case in $script:cases) {
        foreach ($key in 'ContextFiles', 'Prepare', 'Base', 'BuildArg', 'Target') { if (-not $case.ContainsKey($key)) { $case[$key] = $null } }
        if (-not $case.ContextFiles) { $case.ContextFiles = @{} }
    }
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-builddiff'
    Import-Module (Get-TestModulePath) -Force
    Import-Module "$PSScriptRoot/BuildTestSupport.psm1" -Force
    Use-BuildTestState $script:state
    $script:w = $script:state.Work
    . "$PSScriptRoot/../../bench/lib/BenchCommon.ps1"
    . "$PSScriptRoot/../../bench/lib/BenchDockerd.ps1"
    $script:dockerd = if (Get-Command dockerd -ErrorAction Ignore) { Start-BenchDockerd -Directory (Join-Path $script:w 'dockerd') -CgroupParent "psc-test-builddiff-dockerd-$PID" } else { $null }
    if ($script:dockerd -and $script:dockerd.Available) {
        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:w 'busybox.tar') -Applet @('sh', 'echo', 'cat', 'ls', 'rm', 'mkdir', 'stat', 'test', 'true', 'wc', 'id', 'env', 'sleep', 'chmod', 'ln', 'touch')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/build-base:1' -Command sh | Out-Null
        & docker import --change 'CMD ["sh"]' $tar pester/build-base:1 | Out-Null
    }

    function Build-UnderDocker([string]$Context, [string]$Tag, [hashtable]$BuildArg, [string]$Target) {
        $arguments = @('build', '--network', 'none', '-q', '-t', $Tag)
        if ($BuildArg) { foreach ($a in $BuildArg.GetEnumerator()) { $arguments += '--build-arg', "$($a.Key)=$($a.Value)" } }
        if ($Target) { $arguments += '--target', $Target }
        $env:DOCKER_BUILDKIT = '0'
        try { $o = & docker @arguments $Context 2>&1 } finally { Remove-Item Env:DOCKER_BUILDKIT }
        $LASTEXITCODE | Should -Be 0 -Because "docker build of ${Tag}: $($o -join "`n")"
    }

    function Build-Here([string]$Context, [string]$Tag, [hashtable]$BuildArg, [string]$Target) {
        $params = @{ Path = $Context; Tag = $Tag; Network = 'none'; ErrorAction = 'Stop' }
        if ($BuildArg) { $params.BuildArg = $BuildArg }
        if ($Target) { $params.Target = $Target }
        Build-ContainerImage @params
    }

    function Get-Field($Object, [string]$Name) {
        <# A property that may be absent (strict mode): null when the object or the property is missing. #>
        if ($null -eq $Object) { return $null }
        $p = $Object.PSObject.Properties[$Name]
        if ($p) { $p.Value } else { $null }
    }

    function ConvertTo-ConfigLine {
        <# One line per compared config field; null, absent and empty are the same (docker writes OnBuild: [] or null). #>
        param($Config)
        foreach ($field in 'Env', 'Cmd', 'Entrypoint', 'WorkingDir', 'User', 'StopSignal', 'Shell', 'OnBuild') {
            "${field}: " + (@(Get-Field $Config $field | Where-Object { $null -ne $_ }) -join ' | ')
        }
        foreach ($field in 'ExposedPorts', 'Volumes') {
            $value = Get-Field $Config $field
            "${field}: " + $(if ($value) { @($value.PSObject.Properties.Name | Sort-Object) -join ', ' })
        }
        $labels = Get-Field $Config 'Labels'
        'Labels: ' + $(if ($labels) { @($labels.PSObject.Properties | ForEach-Object { "$($_.Name)=$($_.Value)" } | Sort-Object) -join ', ' })
        $h = Get-Field $Config 'Healthcheck'
        'Healthcheck: ' + $(if ($h) { "$(@(Get-Field $h 'Test') -join ' | ') interval=$([long](Get-Field $h 'Interval')) timeout=$([long](Get-Field $h 'Timeout')) start=$([long](Get-Field $h 'StartPeriod')) retries=$([int](Get-Field $h 'Retries'))" })
    }

    function Get-ImageConfigLine([string]$Tag, [switch]$Docker) {
        if ($Docker) { return ConvertTo-ConfigLine (& docker image inspect $Tag | ConvertFrom-Json)[0].Config }
        $id = (Get-ContainerImage $Tag).Id
        ConvertTo-ConfigLine (Get-Content -Raw (Join-Path $script:state.Root "image/blobs/sha256/$($id.Substring(7))") | ConvertFrom-Json).config
    }

    function Get-TreeListing([string]$Tar, [string]$Dir) {
        <#
            A container's exported file tree, listed with mode, owner, link count, size, link target and content hash,
            and which names share an inode. docker's init layer (/etc/mtab, /dev/console, hosts files, .dockerenv) is
            the container's, not the image's.
        #>
        New-Item -ItemType Directory -Force $Dir | Out-Null
        & tar -C $Dir -xpf $Tar --numeric-owner
        Push-Location $Dir
        try {
            & find . -path ./proc -prune -o -path ./sys -prune -o -path ./dev -prune -o -path ./etc/hosts -prune -o -path ./etc/hostname -prune -o -path ./etc/resolv.conf -prune -o -path ./etc/mtab -prune -o -name .dockerenv -prune -o -print0 |
                & xargs -0 stat -c '%n %f %u:%g %h %s %N' | Sort-Object | ForEach-Object { $_ -replace ' \d+ (''[^'']*'' -> )', ' $1' }
            & find . -type f -links +1 -printf '%i %p\n' | Group-Object { ($_ -split ' ', 2)[0] } |
                ForEach-Object { 'linked: ' + ((@($_.Group | ForEach-Object { ($_ -split ' ', 2)[1] }) | Sort-Object) -join ' = ') } | Sort-Object
            & find . -type f -not -path './etc/host*' -not -path './etc/resolv.conf' -not -path './dev/*' -not -name .dockerenv -print0 | & xargs -0 sha256sum | Sort-Object
        }
        finally { Pop-Location }
    }

    function Get-ImageTree([string]$Tag, [string]$Into, [switch]$Docker) {
        $tar = "$Into.tar"
        if ($Docker) {
            $dc = (& docker create $Tag).Trim()
            & docker export -o $tar $dc
            & docker rm -v $dc | Out-Null
        }
        else {
            $pc = New-Container -Image $Tag -Network none
            try { $null = Export-Container $pc.Id -Path $tar } finally { Remove-Container $pc.Id -Force }
        }
        Get-TreeListing $tar $Into
    }

    function Compare-Line($Theirs, $Mine) {
        (Compare-Object @($Theirs) @($Mine) | ForEach-Object { "$(if ($_.SideIndicator -eq '<=') { 'docker' } else { 'ours  ' }): $($_.InputObject)" }) -join "`n"
    }
}

AfterAll {
    if ($script:dockerd) { Stop-BenchDockerd $script:dockerd }
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'the same Dockerfile under docker build' {
    It '<Name>: the config and the file tree equal docker''s' -ForEach $script:cases {
        if (-not $script:dockerd -or -not $script:dockerd.Available) {
            Set-ItResult -Skipped -Because "no private dockerd: $(if ($script:dockerd) { $script:dockerd.Reason } else { 'dockerd is not installed' })"
            return
        }
        $ctx = New-Context "diff-$Slug" $Dockerfile $ContextFiles
        if ($Prepare) { & $Prepare $ctx }
        if ($Base) {
            $baseCtx = New-Context "diff-$Slug-base" $Base $ContextFiles
            Build-UnderDocker $baseCtx "pester/diff-$Slug-base:1"
            $null = Build-Here $baseCtx "pester/diff-$Slug-base:1"
            Compare-Line (Get-ImageConfigLine "pester/diff-$Slug-base:1" -Docker) (Get-ImageConfigLine "pester/diff-$Slug-base:1") | Should -BeNullOrEmpty -Because 'the parent image''s config is docker''s'
        }
        $tag = "pester/diff-${Slug}:1"
        Build-UnderDocker $ctx $tag $BuildArg $Target
        $null = Build-Here $ctx $tag $BuildArg $Target
        Compare-Line (Get-ImageConfigLine $tag -Docker) (Get-ImageConfigLine $tag) | Should -BeNullOrEmpty -Because 'the config is docker''s'
        $theirs = Get-ImageTree $tag (Join-Path $script:w "diff-$Slug-docker") -Docker
        $mine = Get-ImageTree $tag (Join-Path $script:w "diff-$Slug-ours")
        Compare-Line $theirs $mine | Should -BeNullOrEmpty -Because 'the file tree is docker''s'
    }
}
