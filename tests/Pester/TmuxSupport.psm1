#Requires -Version 7.4
# A private tmux server for suites that drive programs through a REAL pseudo-terminal: keys go in with send-keys,
# the screen comes back with capture-pane. Initialize-TestTmux names the server (one per suite, so a kill-server
# touches nothing else); the other functions act on it.

$script:server = $null

function Initialize-TestTmux {
    <# Names this suite's tmux server after -Prefix; returns whether tmux is installed. #>
    param([Parameter(Mandatory)] [string]$Prefix)
    $script:server = "$Prefix-$([guid]::NewGuid().ToString('N').Substring(0, 12))"
    [bool](Get-Command tmux -ErrorAction SilentlyContinue)
}

function Invoke-Tmux {
    if (-not $script:server) { throw 'Initialize-TestTmux first' }
    & tmux -L $script:server @args
}

function Stop-TestTmux {
    <# Ends the server (every session of it) and removes its socket, which kill-server leaves behind. #>
    if (-not $script:server) { return }
    & tmux -L $script:server kill-server 2>$null
    $dir = if ($env:TMUX_TMPDIR) { $env:TMUX_TMPDIR } else { '/tmp' }
    Remove-Item -LiteralPath (Join-Path $dir "tmux-$(& id -u)/$($script:server)") -Force -ErrorAction SilentlyContinue
}

function Send-Line {
    param([string]$Session, [string]$Text)
    Invoke-Tmux send-keys -t $Session -l -- $Text
    Invoke-Tmux send-keys -t $Session Enter
}

function Get-Screen {
    <# The pane's text with its scrollback, wrapped lines joined. #>
    param([string]$Session)
    (Invoke-Tmux capture-pane -p -J -t $Session -S -500) -join "`n"
}

function Wait-Screen {
    <# Polls the screen (with its scrollback) until -Pattern matches; bounded. Returns the screen. #>
    param([string]$Session, [string]$Pattern, [int]$TimeoutSeconds = 30)
    $deadline = [DateTime]::UtcNow.AddSeconds($TimeoutSeconds)
    do {
        $screen = Get-Screen $Session
        if ($screen -match $Pattern) { return $screen }
        Start-Sleep -Milliseconds 200
    } while ([DateTime]::UtcNow -lt $deadline)
    throw "Timed out after $TimeoutSeconds s waiting for /$Pattern/ on the screen of '$Session':`n$screen"
}

Export-ModuleMember -Function Initialize-TestTmux, Invoke-Tmux, Stop-TestTmux, Send-Line, Get-Screen, Wait-Screen
