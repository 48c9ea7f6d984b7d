using System.Net;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Protos.Contract;

namespace RareCancerNetwork.Node.Hosting;

/// <summary>
/// Kestrel endpoints of a node: HTTPS only, HTTP/1.1 + HTTP/2 (token endpoint and gRPC on one port),
/// TLS 1.2 minimum. Addresses are explicit, so nothing listens beyond loopback unless configured.
/// </summary>
public static class NodeListener
{
    public static void Listen(KestrelServerOptions kestrel, IEnumerable<string> urls, X509Certificate2 certificate)
    {
        foreach (var url in urls)
        {
            // The same rule that validated the settings: a host that skipped validation still never listens on plain HTTP.
            if (NodeConfiguration.ListenUrlProblem(url) is { } problem)
            {
                throw new InvalidOperationException($"Listen URL {problem}.");
            }
            var uri = new Uri(url);
            var addresses = uri.Host == "localhost"
                ? [IPAddress.Loopback]
                : new[] { IPAddress.Parse(uri.Host.Trim('[', ']')) };
            foreach (var address in addresses)
            {
                kestrel.Listen(address, uri.Port, endpoint =>
                {
                    endpoint.Protocols = HttpProtocols.Http1AndHttp2;
                    endpoint.UseHttps(certificate, https =>
                    {
                        https.SslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13;
                        // Note: a client certificate is optional at the TLS layer and not chained to any CA:
                        // the token endpoint matches it to the registered node (RFC 8705 self-signed client
                        // authentication), and certificate-bound tokens are refused without the same certificate.
                        https.ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate;
                        https.AllowAnyClientCertificate();
                    });
                });
            }
        }
        // Large enough for consultation text, small enough to stop abuse; gRPC enforces its own limit too.
        kestrel.Limits.MaxRequestBodySize = 2L * ContractLimits.MaxMessageBytes;
        // A peer that vanished (cable, power, a stalled firewall) is noticed within about fifteen seconds, so its open
        // feed stream and uploads are released, instead of waiting for TCP to give up.
        kestrel.Limits.Http2.KeepAlivePingDelay = KeepAlive.PingDelay;
        kestrel.Limits.Http2.KeepAlivePingTimeout = KeepAlive.PingTimeout;
    }

    /// <summary>The addresses actually bound (after port 0 was resolved), as https URLs.</summary>
    public static IReadOnlyList<string> BoundAddresses(WebApplication app) =>
        app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
}
