using PSContainer.Engine.Storage;

namespace PSContainer.Engine.Registry;

/// <summary>A verified, stored registry login (what Connect-ContainerRegistry writes).</summary>
public sealed class RegistryLogin
{
    public string Registry { get; init; } = "";
    public string UserName { get; init; } = "";
    public string Endpoint { get; init; } = "";
    public string StoredIn { get; init; } = "";

    public override string ToString() => $"Login Succeeded: {UserName} on {Registry}";

    /// <summary>docker login: checks the credentials with the registry (GET /v2/, through the token service when it has one), then stores them.</summary>
    public static RegistryLogin Login(StatePaths paths, string registry, RegistryCredential credential, CancellationToken cancel, RegistrySettings? settings = null)
    {
        settings ??= RegistrySettings.Load(paths);
        string name = CredentialStore.NormalizeRegistry(registry);
        using var client = RegistryClient.Create(name, settings, new RegistryClientOptions { Credential = credential });
        client.VerifyLoginAsync(cancel).GetAwaiter().GetResult();
        settings.Credentials.Save(name, credential);
        return new RegistryLogin { Registry = name, UserName = credential.UserName, Endpoint = client.Endpoint?.ToString() ?? "", StoredIn = settings.Credentials.OwnFile };
    }

    public sealed record LogoutResult(bool Removed, bool StillInDockerConfig);

    /// <summary>docker logout: forgets our stored login (docker's own config.json is never written).</summary>
    public static LogoutResult Logout(StatePaths paths, string registry, RegistrySettings? settings = null)
    {
        settings ??= RegistrySettings.Load(paths);
        bool removed = settings.Credentials.Remove(registry);
        return new LogoutResult(removed, settings.Credentials.InReadOnlyFiles(registry));
    }
}
