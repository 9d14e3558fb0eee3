#Requires -Version 7.4
# The lifecycle suite (Containers.Tests.ps1) once more, with $env:PSCONTAINER_USERNS=auto: every container made
# without -UserNamespace gets its own range of ids, and everything must work as it does without one (issue 11).
# Its tests are named "Containers (-UserNamespace Auto by default)...", so a failure says which mode it is.
. (Join-Path $PSScriptRoot 'Containers.Tests.ps1') -UserNamespace Auto
