// psc-service drives the engine, which runs on Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
