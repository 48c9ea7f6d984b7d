using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// The thumbprint a node's tokens are bound to and its standing is checked against: SHA-256 of the certificate, lowercase
/// hex, the same for every object holding the same certificate (it is computed once per object).
/// </summary>
public sealed class CertificateThumbprintTests
{
    [Fact]
    public void Thumbprint_IsTheLowercaseHexSha256OfTheCertificate_ThePerObjectValueNeverCrossesCertificates()
    {
        using var first = SelfSigned("CN=spoke-one");
        using var second = SelfSigned("CN=spoke-two");
        using var firstAgain = X509CertificateLoader.LoadCertificate(first.RawData);

        var expected = Convert.ToHexStringLower(SHA256.HashData(first.RawData));
        Assert.Equal(expected, CertificateThumbprints.Of(first));
        Assert.Equal(expected, CertificateThumbprints.Of(first));
        Assert.Equal(expected, CertificateThumbprints.Of(firstAgain));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(second.RawData)), CertificateThumbprints.Of(second));
        Assert.NotEqual(expected, CertificateThumbprints.Of(second));
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var now = DateTimeOffset.UtcNow;
        return new CertificateRequest(subject, key, HashAlgorithmName.SHA256).CreateSelfSigned(now.AddMinutes(-1), now.AddDays(1));
    }
}
