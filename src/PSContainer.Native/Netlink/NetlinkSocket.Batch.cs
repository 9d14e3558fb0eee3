namespace PSContainer.Native.Netlink;

public sealed unsafe partial class NetlinkSocket
{
    /// <summary>
    /// Sends several requests (each with NLM_F_ACK) in one write and waits for every acknowledgement: the kernel
    /// handles the messages of one write in order, so a set-up of N steps costs one round trip instead of N. Every
    /// answer is read before anything is thrown, so none is left for the next request; the first refusal (in request
    /// order) is thrown. A refused step does not stop the later ones, so callers batch only steps that are harmless
    /// after an earlier one failed (and undo the whole on failure, as they would anyway).
    /// </summary>
    public void RequestAll(IReadOnlyList<(NetlinkMessageBuilder Message, string What)> requests)
    {
        if (requests.Count == 0) return;
        uint first = sequence + 1;
        var parts = new byte[requests.Count][];
        int total = 0;
        for (int i = 0; i < requests.Count; i++)
        {
            parts[i] = requests[i].Message.ToArray(++sequence);
            total += parts[i].Length;
        }
        var all = new byte[total];
        int at = 0;
        foreach (var part in parts)
        {
            part.CopyTo(all, at);
            at += part.Length;
        }
        Send(all);
        var errno = new int?[requests.Count];
        int pending = requests.Count;
        while (pending > 0)
        {
            foreach (var m in Receive())
            {
                uint i = m.Sequence - first;
                if (i >= (uint)requests.Count || m.Type != Rt.NLMSG_ERROR || errno[i] is not null) continue;
                errno[i] = m.Errno;
                pending--;
            }
        }
        for (int i = 0; i < requests.Count; i++)
            if (errno[i] is int e && e != 0) throw new NetlinkException(requests[i].What, e);
    }
}
