using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>
/// A spoke node's TLS client certificate: self-signed (RFC 8705 self_signed_tls_client_auth), created in
/// the node's data folder so its private key never leaves the node. The hub registers the certificate
/// (not a secret) and binds the node's access tokens to it.
/// </summary>
public static class NodeClientCertificate
{
    public const string PfxFileName = "node-client.pfx";
    public const string CertificateFileName = "node-client.crt";

    public static X509Certificate2 LoadOrCreate(string keysFolder, string nodeId)
    {
        System.IO.Directory.CreateDirectory(keysFolder);
        var pfx = Path.Combine(keysFolder, PfxFileName);
        if (!File.Exists(pfx))
        {
            using var certificate = Create(nodeId);
            PrivateFiles.WriteIfAbsent(pfx, certificate.Export(X509ContentType.Pkcs12));
            File.WriteAllText(Path.Combine(keysFolder, CertificateFileName), certificate.ExportCertificatePem());
        }
        return X509CertificateLoader.LoadPkcs12FromFile(pfx, null, X509KeyStorageFlags.EphemeralKeySet);
    }

    /// <summary>A new self-signed client-authentication certificate (RSA 2048, two years).</summary>
    public static X509Certificate2 Create(string nodeId)
    {
        using var key = RSA.Create(2048);
        return Create(nodeId, key);
    }

    /// <summary>
    /// A certificate for a key made elsewhere: the benchmark's hundreds of spokes share one, since making an RSA key
    /// takes tens of milliseconds (each certificate, and so each thumbprint the hub binds tokens to, is still its own).
    /// </summary>
    public static X509Certificate2 Create(string nodeId, RSA key)
    {
        var request = new CertificateRequest($"CN=rcn-node {nodeId}, O=Rare Cancer Network", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        using var created = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(2));
        // Re-import so the private key is usable for TLS on every platform.
        return X509CertificateLoader.LoadPkcs12(created.Export(X509ContentType.Pkcs12), null, X509KeyStorageFlags.EphemeralKeySet);
    }

    public static X509Certificate2 LoadPublic(string pemPath) => X509Certificate2.CreateFromPem(File.ReadAllText(pemPath));
}
