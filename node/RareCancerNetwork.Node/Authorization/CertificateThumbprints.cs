using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>
/// SHA-256 thumbprints of certificates, in lowercase hex: what the hub registers a node by and binds its tokens to, and the
/// key id a report signature names (<see cref="Consultations.ReportSignatures.KeyId"/>). A TLS
/// connection presents the same certificate object on every call, so its thumbprint is computed once per connection
/// rather than twice a call (the token cache's key and the standing check).
/// </summary>
public static class CertificateThumbprints
{
    private static readonly ConditionalWeakTable<X509Certificate2, string> Computed = new();

    public static string Of(X509Certificate2 certificate) =>
        Computed.GetValue(certificate, static presented => Convert.ToHexStringLower(presented.GetCertHash(HashAlgorithmName.SHA256)));
}
