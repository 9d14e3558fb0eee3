using System.Runtime.Versioning;

// Like the engine it serves: Linux only.
[assembly: SupportedOSPlatform("linux")]
