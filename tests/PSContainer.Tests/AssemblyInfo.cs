// PSContainer drives Linux kernel features (namespaces, cgroups, overlayfs); it runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
