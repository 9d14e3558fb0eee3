#!/usr/bin/env pwsh
<#
.SYNOPSIS
    PSContainer's demo: builds a busybox image from Debian's busybox-static, imports it, inspects it, saves it in
    the formats docker and OCI tools read, and cleans up. Uses a private state root, so it never touches a user's
    images.
#>
param([string]$ModulePath = (Join-Path $PSScriptRoot '../out/PSContainer'))

$ErrorActionPreference = 'Stop'
$work = Join-Path ([IO.Path]::GetTempPath()) "psc-demo-$([guid]::NewGuid().ToString('N').Substring(0, 8))"
$env:PSCONTAINER_ROOT = Join-Path $work 'state'
$env:PSCONTAINER_RUNROOT = Join-Path $work 'run'
New-Item -ItemType Directory -Force $work | Out-Null
Import-Module $ModulePath -Force
$clock = [Diagnostics.Stopwatch]::StartNew()

try {
    Write-Host "`n== Build a root filesystem from /bin/busybox and import it (docker import)" -ForegroundColor Cyan
    $rootfs = Join-Path $work 'rootfs'
    New-Item -ItemType Directory -Force "$rootfs/bin", "$rootfs/etc", "$rootfs/www" | Out-Null
    Copy-Item /bin/busybox "$rootfs/bin/busybox"
    foreach ($applet in 'sh', 'ls', 'cat', 'echo', 'httpd', 'wget') { New-Item -ItemType SymbolicLink -Path "$rootfs/bin/$applet" -Target busybox | Out-Null }
    Set-Content "$rootfs/www/index.html" '<h1>Hello from PSContainer</h1>'
    & tar -C $rootfs -czf "$work/rootfs.tar.gz" .
    $image = Import-ContainerImage "$work/rootfs.tar.gz" -Name demo/web:1.0 -Command httpd, '-f', '-p', '80', '-h', '/www' `
        -ExposePort 80 -Label @{ 'org.opencontainers.image.title' = 'demo web' }
    $image | Format-List Id, RepoTags, Size, Architecture, Config

    Write-Host "== Tag it and list images (docker images)" -ForegroundColor Cyan
    Add-ContainerImageTag demo/web:1.0 demo/web:latest
    Get-ContainerImage | Format-Table

    Write-Host "== Save it as a docker archive and as an OCI archive" -ForegroundColor Cyan
    Export-ContainerImage demo/web:1.0 -Path "$work/web-docker.tar" | Format-Table Name, Length
    Export-ContainerImage demo/web:1.0 -Path "$work/web-oci.tar" -Format OciArchive | Format-Table Name, Length
    if (Get-Command skopeo -ErrorAction SilentlyContinue) {
        Write-Host "skopeo inspect docker-archive: sees layers $((& skopeo inspect "docker-archive:$work/web-docker.tar" | ConvertFrom-Json).Layers -join ', ')"
    }

    Write-Host "== Remove the image, load it back from the archive (docker rmi / docker load)" -ForegroundColor Cyan
    Get-ContainerImage demo/web | Remove-ContainerImage -Force -Verbose
    $loaded = Import-ContainerImage "$work/web-docker.tar"
    "Loaded {0} as {1}; same id: {2}" -f $loaded.ShortId, ($loaded.RepoTags -join ', '), ($loaded.Id -eq $image.Id)
}
finally {
    Get-ContainerImage | Remove-ContainerImage -Force -ErrorAction SilentlyContinue
    Remove-Item -Recurse -Force $work -ErrorAction SilentlyContinue
    Write-Host ("`nDemo finished in {0:N1} s" -f $clock.Elapsed.TotalSeconds) -ForegroundColor Cyan
}
