using PSContainer.Engine.Oci;

namespace PSContainer.Engine.Storage;

/// <summary>
/// Unpacked layers, one directory per chain id ($root/layers/HEX/diff), each holding only that layer's changes so it
/// can be an overlayfs lower dir. Images that share a layer stack share the directories.
/// </summary>
public sealed class LayerStore
{
    private readonly StatePaths paths;

    public LayerStore(StatePaths paths) => this.paths = paths;

    public string DirectoryOf(Digest chainId) => Path.Combine(paths.Layers, chainId.Hex);

    /// <summary>The directory to use as an overlayfs lower dir.</summary>
    public string DiffOf(Digest chainId) => Path.Combine(DirectoryOf(chainId), "diff");

    public bool Has(Digest chainId) => Directory.Exists(DiffOf(chainId));

    /// <summary>A fresh directory to unpack into; <see cref="PendingLayer.Commit"/> moves it into place.</summary>
    public PendingLayer Begin()
    {
        string temp = Path.Combine(paths.Temp, TempOwner.NewName("layer"));
        Directory.CreateDirectory(Path.Combine(temp, "diff"));
        return new PendingLayer(this, temp);
    }

    public void Delete(Digest chainId) => DeleteTree(DirectoryOf(chainId));

    public IEnumerable<Digest> All() =>
        Directory.EnumerateDirectories(paths.Layers)
            .Select(d => Path.GetFileName(d))
            .Where(name => Digest.TryParse("sha256:" + name, out _))
            .Select(name => new Digest("sha256", name));

    /// <summary>Removes a tree without following symlinks out of it (layer content is untrusted).</summary>
    public static void DeleteTree(string path)
    {
        var info = new DirectoryInfo(path);
        if (!info.Exists) return;
        if (info.LinkTarget is not null) { info.Delete(); return; }
        foreach (var child in info.EnumerateFileSystemInfos())
        {
            if (child is DirectoryInfo d && d.LinkTarget is null) DeleteTree(d.FullName);
            else child.Delete();
        }
        info.Delete();
    }

    public sealed class PendingLayer : IDisposable
    {
        private readonly LayerStore store;
        private readonly string tempDirectory;
        private bool committed;

        internal PendingLayer(LayerStore store, string tempDirectory)
        {
            this.store = store;
            this.tempDirectory = tempDirectory;
        }

        public string DiffDirectory => Path.Combine(tempDirectory, "diff");

        /// <summary>Moves the unpacked layer into place; false if another session already put the same one there.</summary>
        public bool Commit(Digest chainId)
        {
            try
            {
                Directory.Move(tempDirectory, store.DirectoryOf(chainId));
                committed = true;
                return true;
            }
            catch (IOException) when (store.Has(chainId))
            {
                return false;
            }
        }

        public void Dispose()
        {
            if (!committed) DeleteTree(tempDirectory);
        }
    }
}
