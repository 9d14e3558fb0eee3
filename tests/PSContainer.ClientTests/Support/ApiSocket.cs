using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;

namespace PSContainer.ClientTests;

/// <summary>Plain HTTP over the server's socket, to check what an SDK did without asking the same SDK.</summary>
public static class ApiSocket
{
    public static HttpClient Client(string socket) => new(new SocketsHttpHandler
    {
        ConnectCallback = async (_, cancel) =>
        {
            var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            await s.ConnectAsync(new UnixDomainSocketEndPoint(socket), cancel);
            return new NetworkStream(s, ownsSocket: true);
        },
    })
    { BaseAddress = new Uri("http://localhost"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>The names (without the leading /) of every container the server lists.</summary>
    public static async Task<string[]> ContainerNames(string socket)
    {
        using var http = Client(socket);
        using var doc = await http.GetFromJsonAsync<JsonDocument>("/containers/json?all=1");
        return doc!.RootElement.EnumerateArray().SelectMany(c => c.GetProperty("Names").EnumerateArray()).Select(n => n.GetString()!.TrimStart('/')).ToArray();
    }
}
