using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// The hub's token signing and encryption keys, persisted in the data folder so that tokens
/// (and spokes' cached key sets) stay valid across restarts.
/// </summary>
internal static class TokenKeys
{
    public const string SigningFileName = "token-signing.pfx";
    public const string EncryptionFileName = "token-encryption.pfx";

    public static X509Certificate2 LoadOrCreate(string folder, string fileName, X509KeyUsageFlags usage)
    {
        System.IO.Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, fileName);
        if (!File.Exists(path))
        {
            using var rsa = RSA.Create(3072);
            var request = new CertificateRequest($"CN=Rare Cancer Network hub {usage}", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
            request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, true));
            using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddYears(2));
            var temporary = path + ".tmp";
            File.WriteAllBytes(temporary, certificate.Export(X509ContentType.Pkcs12));
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            // Atomic: two processes starting at once never see a half-written key.
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException) when (File.Exists(path))
            {
                File.Delete(temporary);
            }
        }
        return X509CertificateLoader.LoadPkcs12FromFile(path, null, X509KeyStorageFlags.EphemeralKeySet);
    }
}
