using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace RareCancerNetwork.HubClient;

/// <summary>
/// Validates a server certificate against one configured CA only (not the machine's trust store),
/// so a node trusts exactly the network's CA. With no CA configured, the system trust store applies.
/// </summary>
public sealed class PinnedCaTrust
{
    private readonly X509Certificate2? _ca;

    private PinnedCaTrust(X509Certificate2? ca) => _ca = ca;

    /// <summary>Trust the PEM CA certificate at <paramref name="caCertificatePath"/>, or the system store when null/empty.</summary>
    public static PinnedCaTrust FromFile(string? caCertificatePath) =>
        new(string.IsNullOrWhiteSpace(caCertificatePath) ? null : X509CertificateLoader.LoadCertificate(File.ReadAllBytes(caCertificatePath)));

    public bool Validate(X509Certificate? certificate, X509Chain? _, SslPolicyErrors errors)
    {
        if (_ca is null)
        {
            return errors == SslPolicyErrors.None;
        }
        if (certificate is null || (errors & SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(_ca);
        // Development CAs publish no revocation lists.
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    /// <summary>An HTTP/2-capable handler that trusts only this CA, with TLS 1.2 as the floor.</summary>
    public SocketsHttpHandler CreateHandler()
    {
        var handler = new SocketsHttpHandler
        {
            EnableMultipleHttp2Connections = true,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            // The same keepalive as the nodes' listeners: a dead hub connection (the feed's in particular) is noticed in seconds.
            KeepAlivePingDelay = Node.Hosting.KeepAlive.PingDelay,
            KeepAlivePingTimeout = Node.Hosting.KeepAlive.PingTimeout,
        };
        handler.SslOptions.EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, errors) => Validate(cert, chain, errors);
        return handler;
    }

    /// <summary>Applies this trust to an <see cref="HttpClientHandler"/> (used by OpenIddict's HTTP integration).</summary>
    public void Apply(HttpClientHandler handler)
    {
        handler.SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13;
        handler.ServerCertificateCustomValidationCallback = (_, cert, chain, errors) => Validate(cert, chain, errors);
    }
}
