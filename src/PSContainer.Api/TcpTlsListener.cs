using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace PSContainer.Api;

/// <summary>
/// The TCP listener, mutual TLS only (dockerd's --tlsverify): the API gives root on this host, so a client must show
/// a certificate the client CA issued; plain TCP is never offered (ServiceOptions refuses --tcp without the three
/// files). Certificates are read before Kestrel starts, so a bad file is a clear start-up error, not a dead listener.
/// </summary>
public sealed class TcpTlsListener
{
    private readonly IPEndPoint endpoint;
    private readonly X509Certificate2 serverCertificate;
    private readonly X509Certificate2Collection clientCa;

    private TcpTlsListener(IPEndPoint endpoint, X509Certificate2 serverCertificate, X509Certificate2Collection clientCa)
    {
        this.endpoint = endpoint;
        this.serverCertificate = serverCertificate;
        this.clientCa = clientCa;
    }

    public static TcpTlsListener Load(TcpTlsOptions options)
    {
        X509Certificate2 server;
        var ca = new X509Certificate2Collection();
        try
        {
            // Through PKCS#12 once: SslStream on Linux wants a certificate whose key is not an ephemeral PEM import.
            using (var pem = X509Certificate2.CreateFromPemFile(options.CertificateFile, options.KeyFile))
                server = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
            ca.ImportFromPemFile(options.ClientCaFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"cannot read the TLS files (--tlscert {options.CertificateFile}, --tlskey {options.KeyFile}, --tlscacert {options.ClientCaFile}): {e.Message}", e);
        }
        if (ca.Count == 0) throw new ArgumentException($"--tlscacert {options.ClientCaFile} holds no certificate");
        if (!server.HasPrivateKey) throw new ArgumentException($"--tlskey {options.KeyFile} is not the key of {options.CertificateFile}");
        return new TcpTlsListener(options.Endpoint, server, ca);
    }

    public void Listen(KestrelServerOptions kestrel)
    {
        kestrel.Listen(endpoint, listen =>
        {
            // HTTP/1.1 only: docker's hijacked streams (attach, exec) are HTTP/1.1 upgrades.
            listen.Protocols = HttpProtocols.Http1;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = serverCertificate,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                ClientCertificateValidation = (certificate, presented, _) => IssuedByClientCa(certificate, presented),
            });
            // After TLS, so the request-head pump and the half-close guard that attach and exec need see plain HTTP.
            listen.Use(HalfCloseConnection.Middleware);
        });
    }

    /// <summary>The client's certificate chains to the client CA alone (not to the system's roots), and is in date.
    /// Intermediates the client sent with it may complete the chain, as Go's TLS (dockerd's) lets them; they are
    /// only links, never trusted as roots.</summary>
    private bool IssuedByClientCa(X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(clientCa);
        if (presented is not null)
        {
            // SslStream keeps what the client sent in its chain's extra store; the elements are what it could link.
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (var element in presented.ChainElements)
                if (!element.Certificate.Equals(certificate)) chain.ChainPolicy.ExtraStore.Add(element.Certificate);
        }
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        // No AIA fetches on behalf of a client not yet authenticated: the chain is what it sent and the CA file.
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid("1.3.6.1.5.5.7.3.2")); // clientAuth, when the certificate limits its uses
        return chain.Build(certificate);
    }
}

/// <summary>--tcp ADDRESS:PORT with --tlscert, --tlskey and --tlscacert.</summary>
public sealed record TcpTlsOptions(IPEndPoint Endpoint, string CertificateFile, string KeyFile, string ClientCaFile);
