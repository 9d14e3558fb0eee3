using PSContainer.Engine.Images;
using PSContainer.Engine.Registry;
using PSContainer.Engine.Services;

namespace PSContainer.Api;

/// <summary>POST /images/create as dockerd answers it: "Pulling from", a line per layer change, the digest and the status.</summary>
public static class PullStream
{
    public static Task Run(HttpContext ctx, ImageService images, ImageReference reference, string? platform, RegistryCredential? credential) =>
        JsonMessageStream.Run(ctx, lines =>
        {
            string tag = reference.Tag ?? reference.Digest?.ToString() ?? "latest";
            lines.TryWrite(JsonMessageStream.Status($"Pulling from {reference.Path}", tag));
            string? before = images.Find(reference.ToString())?.Id;
            var image = images.Pull(reference.ToString(), platform, credential, new JsonMessageStream.LayerProgress(lines), ctx.RequestAborted);
            lines.TryWrite(JsonMessageStream.Status("Digest: " + image.ManifestDigest));
            string familiar = reference.FamiliarString;
            lines.TryWrite(JsonMessageStream.Status(before == image.Id ? $"Status: Image is up to date for {familiar}" : $"Status: Downloaded newer image for {familiar}"));
        });
}
