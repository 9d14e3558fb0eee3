#!/usr/bin/env pwsh
<#
.SYNOPSIS
    PSContainer's demo: builds a web server image from a Dockerfile over Debian's busybox-static, runs it with a published port, a
    healthcheck and its site in a named volume, waits until it is healthy, fetches the page through that port, shows
    the containers like docker ps and their resource use like docker stats, lists them with the docker CLI through
    PSContainer's Docker API socket, and cleans up. Uses a private state root, so it never touches a user's images,
    containers or volumes.
#>
param([string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'))

$ErrorActionPreference = 'Stop'
$work = Join-Path ([IO.Path]::GetTempPath()) "psc-demo-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$env:PSCONTAINER_ROOT = Join-Path $work 'state'
$env:PSCONTAINER_RUNROOT = Join-Path $work 'run'
$env:PSCONTAINER_CGROUP_PARENT = 'psc-demo'
New-Item -ItemType Directory -Force $work | Out-Null
Import-Module $ModulePath -Force
$clock = [Diagnostics.Stopwatch]::StartNew()
$networking = (Get-Command New-Container).Parameters.ContainsKey('Publish')

function Step([string]$Text) { Write-Host "`n== $Text" -ForegroundColor Cyan }

try {
    Step 'Make a base image from /bin/busybox: a root filesystem tar, imported like docker import'
    $rootfs = Join-Path $work 'rootfs'
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/etc", "$rootfs/tmp" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($applet in 'sh', 'ls', 'cat', 'echo', 'httpd', 'wget', 'hostname', 'id') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox | Out-Null }
    Set-Content "$rootfs/etc/passwd" "root:x:0:0:root:/root:/bin/sh`nwww:x:33:33:www:/www:/bin/sh"
    Set-Content "$rootfs/etc/group" "root:x:0:`nwww:x:33:"
    & tar --numeric-owner -C $rootfs -czf "$work/rootfs.tar.gz" .
    Import-ContainerImage "$work/rootfs.tar.gz" -Name demo/busybox:1.0 -Command sh | Out-Null

    Step 'Build the web server image from a Dockerfile (docker build), daemonless'
    $context = Join-Path $work 'web'
    New-Item -ItemType Directory -Force "$context/www" | Out-Null
    Set-Content "$context/www/index.html" '<h1>Hello from PSContainer</h1>'
    Set-Content "$context/Dockerfile" @"
FROM demo/busybox:1.0
COPY --chown=www:www www/ /www/
RUN echo "built by Build-ContainerImage" > /www/built.txt
EXPOSE 80
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"@
    $image = Build-ContainerImage $context -Tag demo/web:1.0 -Network none -InformationAction Continue
    Get-ContainerImage | Format-Table

    Step 'Run a one-off container in the foreground (docker run): its output comes down the pipeline'
    Start-Container -Image demo/web:1.0 -Command sh, -c, 'echo "hello from $(hostname), uid $(id -u)"' -AutoRemove -Network none

    Step 'Put the site in a named volume (docker volume create; it outlives the containers that use it)'
    $site = New-ContainerVolume site -Label @{ demo = 'web' }
    Set-Content (Join-Path $site.Mountpoint 'index.html') '<h1>Hello from a PSContainer volume</h1>'
    $site | Format-Table Name, Driver, Mountpoint

    # The monitor runs this check in the container; Wait-Container -Condition Healthy returns once it passes.
    $health = @{ HealthCommand = 'wget -q -O /dev/null http://127.0.0.1/'; HealthInterval = '200ms'; Volume = 'site:/www:ro' }
    if ($networking) {
        Step 'Start the web server with a published port and a healthcheck (docker run -d -p 8080:80 --health-cmd …)'
        $web = Start-Container -Image demo/web:1.0 -Name web -Publish 8080:80 -Memory 64MB -Detach @health
        Wait-Container web -Condition Healthy -Timeout 30 | Format-Table Name, Status
        $page = $null
        for ($i = 0; $i -lt 50 -and -not $page; $i++) {
            try { $page = Invoke-WebRequest http://127.0.0.1:8080/ -TimeoutSec 2 } catch { Start-Sleep -Milliseconds 100 }
        }
        if (-not $page) { throw 'the web server did not answer on 127.0.0.1:8080' }
        "GET http://127.0.0.1:8080/ -> $($page.StatusCode): $($page.Content.Trim())"
    }
    else {
        Step 'Start the web server (docker run -d); networks and published ports come with container networking'
        $web = Start-Container -Image demo/web:1.0 -Name web -Memory 64MB -Network none -Detach @health
        Wait-Container web -Condition Healthy -Timeout 30 | Format-Table Name, Status
        Invoke-ContainerCommand web -Command wget, -q, -O, -, http://127.0.0.1/
    }

    Step 'List containers (docker ps) and read the server''s details'
    Get-Container | Format-Table
    $web = Get-Container web
    "{0} is {1}, pid {2}, memory limit {3:N0} MB" -f $web.Name, $web.Status, $web.Pid, ($web.Limits.Memory / 1MB)

    Step 'Its resource use (docker stats --no-stream)'
    Get-ContainerStatistics web | Format-Table

    if ((Get-Command docker -CommandType Application -ErrorAction SilentlyContinue) -and (Get-Command Start-ContainerApiService -ErrorAction SilentlyContinue)) {
        Step 'The same container through the Docker Engine API: the docker CLI against our socket (docker ps)'
        $api = Start-ContainerApiService -SocketPath (Join-Path $work 'docker.sock')
        try { & docker -H $api.DockerHost ps }
        finally { $api | Stop-ContainerApiService }
    }

    Step 'Stop and remove it (docker stop; docker rm)'
    $web | Stop-Container -Timeout 2 -PassThru | Format-Table Name, State, ExitCode
    $web | Remove-Container
    Get-Container -All | Format-Table
    Remove-ContainerVolume site -Confirm:$false
}
finally {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Get-ContainerImage -ErrorAction SilentlyContinue | Remove-ContainerImage -Force -ErrorAction SilentlyContinue
    Get-ContainerVolume -ErrorAction SilentlyContinue | Remove-ContainerVolume -Force -Confirm:$false -ErrorAction SilentlyContinue
    if (Get-Command Get-ContainerNetwork -ErrorAction SilentlyContinue) {
        # User networks go; the predefined bridge network cannot be removed, so its host bridge and firewall rules are
        # taken down explicitly (-Force), leaving the host as the demo found it. Errors are shown, not hidden.
        Get-ContainerNetwork | Where-Object Name -ne bridge | Remove-ContainerNetwork -Force -ErrorAction Continue
        Remove-ContainerNetwork bridge -Force -ErrorAction Continue
    }
    foreach ($h in Get-ChildItem /sys/fs/cgroup -Directory) {
        $p = Join-Path $h.FullName 'psc-demo'
        if (Test-Path $p) { Get-ChildItem $p -Directory | ForEach-Object { [IO.Directory]::Delete($_.FullName) }; [IO.Directory]::Delete($p) }
    }
    & rm -rf --one-file-system -- $work
    Write-Host ("`nDemo finished in {0:N1} s" -f $clock.Elapsed.TotalSeconds) -ForegroundColor Cyan
}
