using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Node.Hosting;

/// <summary>
/// Creates a local development certificate authority and a TLS server certificate signed by it,
/// so that a node runs over TLS on first start without any set-up. Production deployments
/// configure certificates issued by the institution's own PKI instead.
/// </summary>
public static class DevelopmentCertificates
{
    public const string CaCertificateFileName = "dev-ca.crt";
    private const string CaKeyFileName = "dev-ca.key";
    public const string ServerCertificateFileName = "server.pfx";

    /// <summary>Result of <see cref="EnsureCreated"/>: where the CA certificate and the server certificate are.</summary>
    public sealed record Result(string CaCertificatePath, string ServerPfxPath);

    /// <summary>
    /// Loads the CA and server certificate from <paramref name="folder"/>, creating them when absent.
    /// The server certificate names 127.0.0.1, ::1, localhost and <paramref name="extraDnsNames"/>.
    /// </summary>
    public static Result EnsureCreated(string folder, string commonName, IEnumerable<string>? extraDnsNames = null)
    {
        Directory.CreateDirectory(folder);
        var caCertPath = Path.Combine(folder, CaCertificateFileName);
        var caKeyPath = Path.Combine(folder, CaKeyFileName);
        var serverPath = Path.Combine(folder, ServerCertificateFileName);
        if (File.Exists(caCertPath) && File.Exists(serverPath))
        {
            return new Result(caCertPath, serverPath);
        }

        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest($"CN={commonName} Development CA, O=Rare Cancer Network (development)", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddYears(5));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var serverRequest = new CertificateRequest($"CN={commonName}", serverKey, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddIpAddress(IPAddress.IPv6Loopback);
        san.AddDnsName("localhost");
        foreach (var name in extraDnsNames ?? [])
        {
            san.AddDnsName(name);
        }
        serverRequest.CertificateExtensions.Add(san.Build());
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        serverRequest.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var serverPublic = serverRequest.Create(ca, now.AddMinutes(-5), now.AddYears(2), serial);
        using var server = serverPublic.CopyWithPrivateKey(serverKey);

        PrivateFiles.Write(caKeyPath, caKey.ExportPkcs8PrivateKeyPem());
        File.WriteAllText(caCertPath, ca.ExportCertificatePem());
        PrivateFiles.Write(serverPath, server.Export(X509ContentType.Pkcs12));
        return new Result(caCertPath, serverPath);
    }

    /// <summary>
    /// The node's server certificate: the configured one (an institution's PKI; no development CA then),
    /// or else the development CA and certificate in <paramref name="tlsFolder"/>.
    /// </summary>
    public static Result Resolve(string? configuredCertificatePath, string tlsFolder, string commonName) =>
        string.IsNullOrWhiteSpace(configuredCertificatePath)
            ? EnsureCreated(tlsFolder, commonName)
            : new Result("", configuredCertificatePath);

    /// <summary>Loads a PKCS#12 server certificate written by <see cref="EnsureCreated"/>.</summary>
    public static X509Certificate2 LoadServerCertificate(string pfxPath, string? password = null) =>
        X509CertificateLoader.LoadPkcs12FromFile(pfxPath, password, X509KeyStorageFlags.EphemeralKeySet);

}
