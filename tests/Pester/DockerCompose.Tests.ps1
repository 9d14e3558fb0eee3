#Requires -Version 7.4
# docker-compose 1.29 (Debian's docker-compose, docker-py underneath, API 1.41) against psc-api on a private socket
# and state root: a two-service project (a busybox httpd serving from a named volume, and a client that fetches
# http://web/ by service name on the project network), then down -v, after which nothing of the project is left
# on the host: no container, network, volume, bridge, firewall table or network namespace (issue 13).

BeforeDiscovery {
    $script:why = if (-not (Test-Path /usr/bin/docker-compose)) { 'no docker-compose (Debian package docker-compose)' }
                  elseif (-not (Test-Path /usr/bin/docker)) { 'no docker CLI (/usr/bin/docker, Debian package docker.io)' }
                  elseif (-not (Test-Path /bin/busybox)) { 'no busybox-static' }
}

Describe 'docker-compose against psc-api' -Skip:([bool]$script:why) {
    BeforeAll {
        Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
        $script:state = New-TestStateRoot -Prefix 'psc-dcomp'
        Import-Module (Get-TestModulePath) -Force
        $script:native = Join-Path (Split-Path (Get-TestModulePath)) 'native'
        $script:ready = (Test-Path "$script:native/psc-runtime") -and (Test-Path "$script:native/psc-monitor") -and (Test-Path (Join-Path (Split-Path (Get-TestModulePath)) 'psc-dns'))

        $tar = New-TestBusyboxRootFs -Path (Join-Path $script:state.Work 'busybox.tar')
        Import-ContainerImage $tar -Format RootFs -Name 'pester/busybox:1' -Command sh | Out-Null

        Import-Module "$PSScriptRoot/DockerApiSupport.psm1" -Force
        $script:service = Start-TestApiService -State $script:state
        $script:project = 'pester' + (Get-Random -Minimum 10000 -Maximum 99999)
        $script:port = Get-TestFreePort
        $script:dir = Join-Path $script:state.Work 'project'
        New-Item -ItemType Directory -Force $script:dir | Out-Null
        # The client retries: depends_on orders the starts, it does not wait for httpd to listen.
        Set-Content -LiteralPath (Join-Path $script:dir 'docker-compose.yml') -Value @"
version: "3.7"
services:
  web:
    image: pester/busybox:1
    command: ["sh", "-c", "echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www"]
    volumes:
      - site:/www
    ports:
      - "127.0.0.1:$($script:port):80"
  client:
    image: pester/busybox:1
    depends_on: [web]
    command: ["sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do wget -qO- http://web/ && exit 0; sleep 0.5; done; echo web did not answer >&2; exit 1"]
volumes:
  site: {}
"@
        function script:Invoke-Compose {
            Invoke-DockerProcess -FilePath /usr/bin/docker-compose -WorkingDirectory $script:dir -TimeoutSeconds 180 `
                -Arguments (@('--ansi', 'never', '-p', $script:project) + @($args | ForEach-Object { "$_" })) -Environment @{ COMPOSE_INTERACTIVE_NO_CLI = '1' }
        }
        $table = 'pscontainer_' + [Convert]::ToHexString([Security.Cryptography.SHA256]::HashData([Text.Encoding]::UTF8.GetBytes($script:state.Root))).ToLowerInvariant().Substring(0, 8)
        function script:Get-ProjectLeft {
            @(
                Get-Container -All | ForEach-Object { "container $($_.Name)" }
                Get-ContainerNetwork | ForEach-Object { "network $($_.Name)" }
                Get-ContainerVolume | ForEach-Object { "volume $($_.Name)" }
                Wait-TestNetworkTeardown | ForEach-Object { "pending $_" }
                @(& ip -o link show 2>$null) -match [regex]::Escape("pscontainer:$($script:state.Root)") | ForEach-Object { "link $_" }
                if (Get-Command nft -ErrorAction SilentlyContinue) { @(& nft list tables 2>$null) -match "\b$table\b" | ForEach-Object { "nft $_" } }
                Get-TestApiLeak -State $script:state
            )
        }
    }

    AfterAll {
        if ($script:ready) { Invoke-Compose down -v --timeout 2 | Out-Null }
        # Checked after the clean-up, so a failure here leaves nothing behind either.
        Remove-TestApiSuite $script:service $script:state | Should -BeNullOrEmpty -Because 'no server, socket or bridge of the test root outlives it'
    }

    BeforeEach {
        if (-not $script:ready) { Set-ItResult -Skipped -Because 'psc-runtime/psc-monitor/psc-dns are not built (out/PSContainer/native)' }
    }

    It 'up -d makes the project network and volume and starts both services; the client reaches web by its service name' {
        $up = Invoke-Compose up -d
        $up.Code | Should -Be 0 -Because "$($up.Out)`n$($up.Err)"
        (Get-ContainerNetwork "$($script:project)_default").Labels['com.docker.compose.project'] | Should -Be $script:project
        (Get-ContainerVolume "$($script:project)_site").Labels['com.docker.compose.project'] | Should -Be $script:project
        $client = "$($script:project)_client_1"
        $deadline = [DateTime]::UtcNow.AddSeconds(30)
        while ((Get-Container $client).State -eq 'Running' -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 250 }
        (Get-Container $client).ExitCode | Should -Be 0 -Because (Get-ContainerLog $client | Out-String)
        (Get-Container "$($script:project)_web_1").State | Should -Be 'Running'
        (Get-Container "$($script:project)_web_1").Networks | Should -Be @("$($script:project)_default")
    }

    It 'the published port answers on 127.0.0.1 from the host, with the page written into the named volume' {
        $r = Invoke-WebRequest -Uri "http://127.0.0.1:$($script:port)/" -TimeoutSec 10
        $r.Content.Trim() | Should -Be 'hello-from-web'
        Get-Content (Join-Path (Get-ContainerVolume "$($script:project)_site").Mountpoint 'index.html') | Should -Be 'hello-from-web'
    }

    It 'ps lists the services with their states and ports; logs shows what the client fetched' {
        $ps = Invoke-Compose ps
        $ps.Code | Should -Be 0 -Because $ps.Err
        $ps.Out | Should -Match "$($script:project)_web_1\s.*Up.*127\.0\.0\.1:$($script:port)->80/tcp"
        $ps.Out | Should -Match "$($script:project)_client_1\s.*Exit 0"
        $q = Invoke-Compose ps -q
        $q.Lines.Count | Should -Be 2
        $logs = Invoke-Compose logs client
        $logs.Code | Should -Be 0 -Because $logs.Err
        $logs.Out | Should -Match 'client_1\s+\|\s+hello-from-web'
    }

    It 'exec -T runs a command in the web service' {
        # compose exec (even -T) creates the exec with AttachStdin and starts it on a hijacked stream: attached exec,
        # which the api-stream branch adds. Until that is merged the server refuses it by name, and only that refusal
        # skips this test; any other failure fails it.
        $e = Invoke-Compose exec -T web cat /www/index.html
        if ($e.Code -ne 0 -and $e.Err -match 'AttachStdin for exec .*not served by this API yet') {
            Set-ItResult -Skipped -Because 'psc-api does not serve attached exec yet (api-stream branch): compose exec needs it'
            return
        }
        $e.Code | Should -Be 0 -Because "$($e.Out)`n$($e.Err)"
        $e.Out | Should -Be 'hello-from-web'
    }

    It 'down -v removes the containers, network and volume, and leaves nothing on the host' {
        $down = Invoke-Compose down -v --timeout 2
        $down.Code | Should -Be 0 -Because "$($down.Out)`n$($down.Err)"
        Get-ProjectLeft | Should -BeNullOrEmpty
    }
}
