#Requires -Version 7.4
# -User, -GroupAdd and Invoke-ContainerCommand -User against the image's own /etc/passwd and /etc/group (issue 11,
# "holes to close"): the files are read inside the container's root as regular files of bounded size, and the
# process gets docker's supplementary groups. The groups are compared under our runtime and runc. Also the
# working directory as the engine passes it (CVE-2024-21626): runtime-level tests are in ProcessHardening.Tests.ps1.

BeforeDiscovery {
    $runtimes = @(@{ Runtime = 'psc' }; if (Get-Command runc -ErrorAction SilentlyContinue) { @{ Runtime = 'runc' } })
}

BeforeAll {
    Import-Module "$PSScriptRoot/TestSupport.psm1" -Force
    $script:state = New-TestStateRoot -Prefix 'psc-users'
    Import-Module (Get-TestModulePath) -Force
    $applets = @('sh', 'id', 'sleep', 'cat')
    function Import-UsersImage([string]$Name, [scriptblock]$Customize) {
        $tar = New-TestBusyboxRootFs -Path (Join-Path $state.Work "$($Name -replace '[/:]', '-').tar") -Applet $applets -Customize $Customize
        Import-ContainerImage $tar -Format RootFs -Name $Name -Command sh | Out-Null
    }
    Import-UsersImage 'pester/users:1' {
        param($dir)
        Set-Content (Join-Path $dir 'etc/passwd') "root:x:0:0:root:/root:/bin/sh`napp:x:1000:1000:app:/home/app:/bin/sh"
        Set-Content (Join-Path $dir 'etc/group') "root:x:0:`nwheel:x:10:app`naudio:x:29:other,app`nstaff:x:50:`napp:x:1000:"
    }
    Import-UsersImage 'pester/users-fifo:1' {
        param($dir)
        Remove-Item (Join-Path $dir 'etc/passwd')
        & mkfifo (Join-Path $dir 'etc/passwd')
    }
    # /etc is a symlink to a host directory holding a passwd; inside the root the same path holds another one.
    $script:hostEtc = Join-Path $state.Work 'host-etc'
    New-Item -ItemType Directory $hostEtc | Out-Null
    Set-Content (Join-Path $hostEtc 'passwd') 'hostonly:x:4321:4321:host:/:/bin/sh'
    Import-UsersImage 'pester/users-etclink:1' {
        param($dir)
        Remove-Item -Recurse (Join-Path $dir 'etc')
        & ln -s $hostEtc (Join-Path $dir 'etc')
        New-Item -ItemType Directory "$dir$hostEtc" | Out-Null
        Set-Content "$dir$hostEtc/passwd" 'inside:x:77:77:inside:/:/bin/sh'
    }
    Import-UsersImage 'pester/users-big:1' {
        param($dir)
        & truncate -s 5M (Join-Path $dir 'etc/group')
    }
}

AfterAll {
    Get-Container -All -ErrorAction SilentlyContinue | Remove-Container -Force -ErrorAction SilentlyContinue
    Remove-TestStateRoot $script:state
}

Describe 'reading the image''s /etc/passwd and /etc/group' {
    It 'a FIFO /etc/passwd is a clear error within seconds, not a start that hangs holding the lock' {
        $c = New-Container pester/users-fifo:1 -Command id -User nobody -Network none
        # In another process: a start that blocks opening the FIFO must fail this test, not hang the suite.
        $job = Start-TestPwsh -Script @"
Import-Module '$(Get-TestModulePath)'
try { Start-Container '$($c.Id)' -ErrorAction Stop | Out-Null; 'started' }
catch { "`$(`$_.FullyQualifiedErrorId)|`$(`$_.CategoryInfo.Category)|`$(`$_.Exception.Message)" }
"@
        $r = Wait-TestPwsh $job -TimeoutSeconds 60
        $r.TimedOut | Should -BeFalse -Because 'reading the user database must not block'
        $id, $category, $message = $r.Stdout.Trim() -split '\|', 3
        $id | Should -BeLike 'InvalidUserDatabase,*'
        $category | Should -Be 'InvalidData'
        $message | Should -Match '/etc/passwd is not a regular file'
        # The lock is free: the container is removed at once.
        $c | Remove-Container
    }

    It 'an /etc that is a symlink to a host path is resolved inside the root: the host''s users are not found' {
        { Start-Container -Image pester/users-etclink:1 -Command id -User hostonly -Network none -AutoRemove -ErrorAction Stop } |
            Should -Throw -ErrorId 'UserNotFound,*'
        # What the container itself sees at /etc/passwd is what the engine reads.
        Start-Container -Image pester/users-etclink:1 -Command id -User inside -Network none -AutoRemove | Should -Be 'uid=77(inside) gid=77 groups=77'
        Start-Container -Image pester/users-etclink:1 -Command id -User 4321 -Network none -AutoRemove | Should -Be 'uid=4321 gid=0 groups=0'
    }

    It 'an /etc/group larger than the limit is a clear error' {
        $e = { Start-Container -Image pester/users-big:1 -Command id -User nobody -Network none -AutoRemove -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidUserDatabase,*' -PassThru
        $e.Exception.Message | Should -Match '/etc/group is larger than 4 MiB'
    }
}

Describe 'supplementary groups under <Runtime>' -ForEach $runtimes {
    BeforeAll {
        $script:c = Start-Container -Image pester/users:1 -Command sleep, 300 -User app -GroupAdd staff, 4242 -Runtime $Runtime -Network none -Detach
    }
    AfterAll { $script:c | Remove-Container -Force }

    It 'a user gets the groups /etc/group lists it in, and -GroupAdd names and numbers' {
        Start-Container -Image pester/users:1 -Command id -User app -Runtime $Runtime -Network none -AutoRemove |
            Should -Be 'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),1000(app)'
        Start-Container -Image pester/users:1 -Command id -User app -GroupAdd staff, 4242 -Runtime $Runtime -Network none -AutoRemove |
            Should -Be 'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),50(staff),1000(app),4242'
        # user:group is that group alone (docker's rule); -GroupAdd still adds.
        Start-Container -Image pester/users:1 -Command id -User app:staff -GroupAdd 4242 -Runtime $Runtime -Network none -AutoRemove |
            Should -Be 'uid=1000(app) gid=50(staff) groups=50(staff),4242'
    }

    It 'Invoke-ContainerCommand -User gets the user''s groups and the container''s -GroupAdd' {
        Invoke-ContainerCommand $script:c.Id -Command id | Should -Be 'uid=1000(app) gid=1000(app) groups=10(wheel),29(audio),50(staff),1000(app),4242'
        Invoke-ContainerCommand $script:c.Id -Command id -User root | Should -Be 'uid=0(root) gid=0(root) groups=0(root),50(staff),4242'
    }

    It 'an unknown -GroupAdd name is GroupNotFound at start; a malformed one is refused at creation' {
        { Start-Container -Image pester/users:1 -Command id -GroupAdd ghosts -Runtime $Runtime -Network none -AutoRemove -ErrorAction Stop } |
            Should -Throw -ErrorId 'GroupNotFound,*'
        { New-Container pester/users:1 -GroupAdd 'a:b' -Runtime $Runtime -Network none -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidGroup,*'
    }
}

Describe 'a working directory through /proc/self/fd (CVE-2024-21626)' {
    It 'New-Container -WorkingDirectory /proc/self/fd/<N> fails to start with a clear error for every fd the runtime may hold' {
        foreach ($n in @(3..12) + 255) {
            $e = { Start-Container -Image pester/users:1 -Command sh, -c, 'pwd; cat /proc/self/status' -WorkingDirectory "/proc/self/fd/$n" -Network none -AutoRemove -ErrorAction Stop } |
                Should -Throw -ErrorId 'ContainerCreateFailed,*' -PassThru
            # An open fd is refused as a magic link; a closed one is simply not there.
            $e.Exception.Message | Should -Match "process.cwd /proc/self/fd/$n( cannot be resolved inside the container's root .*refused|: .*No such file or directory)"
        }
    }
}
