using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// The hub's token signing and encryption keys, persisted in the data folder so that tokens
/// (and spokes' cached key sets) stay valid across restarts.
/// </summary>
internal static class TokenKeys
{
    public const string SigningFileName = "token-signing.pfx";
    public const string EncryptionFileName = "token-encryption.pfx";

    public const string RetiredFolderName = "retired";

    /// <summary>
    /// Every signing key in the folder that has not expired: the first (<see cref="SigningFileName"/>,
    /// created when absent) plus those added for rollover (<c>token-signing-*.pfx</c>). All are published;
    /// OpenIddict signs with the valid one that expires last, so a newly added key takes over and the
    /// previous one keeps validating its tokens until it is retired.
    /// </summary>
    public static IReadOnlyList<X509Certificate2> LoadSigningKeys(string folder)
    {
        EnsureCreated(folder, SigningFileName, X509KeyUsageFlags.DigitalSignature);
        var keys = new List<X509Certificate2>();
        foreach (var path in System.IO.Directory.GetFiles(folder, "token-signing*.pfx").Order(StringComparer.Ordinal))
        {
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.EphemeralKeySet);
            if (certificate.NotAfter > DateTime.UtcNow)
            {
                keys.Add(certificate);
            }
            else
            {
                certificate.Dispose();
            }
        }
        return keys;
    }

    /// <summary>Adds a signing key for rollover; it signs from <paramref name="activatesAt"/> (and a hub restart) on.</summary>
    public static X509Certificate2 AddSigningKey(string folder, DateTimeOffset activatesAt)
    {
        var fileName = $"token-signing-{activatesAt.UtcDateTime:yyyyMMddHHmmss}.pfx";
        using var rsa = RSA.Create(3072);
        var request = new CertificateRequest("CN=Rare Cancer Network hub DigitalSignature", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        using var certificate = request.CreateSelfSigned(activatesAt, activatesAt.AddYears(2).AddDays(1));
        PrivateFiles.WriteIfAbsent(Path.Combine(folder, fileName), certificate.Export(X509ContentType.Pkcs12));
        return X509CertificateLoader.LoadCertificate(certificate.RawData);
    }

    /// <summary>Moves a signing key out of use (tokens it signed are refused after the next restart).</summary>
    public static bool RetireSigningKey(string folder, string sha256Thumbprint)
    {
        foreach (var path in System.IO.Directory.GetFiles(folder, "token-signing*.pfx"))
        {
            using var certificate = X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.EphemeralKeySet);
            if (Convert.ToHexStringLower(certificate.GetCertHash(HashAlgorithmName.SHA256)) == sha256Thumbprint)
            {
                var retired = System.IO.Directory.CreateDirectory(Path.Combine(folder, RetiredFolderName)).FullName;
                File.Move(path, Path.Combine(retired, Path.GetFileName(path)), overwrite: true);
                return true;
            }
        }
        return false;
    }

    public static X509Certificate2 LoadOrCreate(string folder, string fileName, X509KeyUsageFlags usage) =>
        X509CertificateLoader.LoadPkcs12FromFile(EnsureCreated(folder, fileName, usage), null, X509KeyStorageFlags.EphemeralKeySet);

    /// <returns>The key file's path, after creating it when absent.</returns>
    private static string EnsureCreated(string folder, string fileName, X509KeyUsageFlags usage)
    {
        System.IO.Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            using var rsa = RSA.Create(3072);
            var request = new CertificateRequest($"CN=Rare Cancer Network hub {usage}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(2));
            PrivateFiles.WriteIfAbsent(path, certificate.Export(X509ContentType.Pkcs12));
        }
        return path;
    }
}
