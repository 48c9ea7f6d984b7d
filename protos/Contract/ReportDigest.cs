using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Protos.Contract;

/// <summary>
/// SHA-256 over a report's canonical bytes: its protobuf encoding with <c>content_sha256</c> and
/// <c>signature_jws</c> cleared. The hub sets <c>content_sha256</c> when the expert signs the report out; the
/// spoke recomputes it on arrival and refuses a report that was corrupted on the way. It is a digest, not a
/// signature (whoever can alter a report can recompute it): the hub's signature covers the same bytes.
/// </summary>
public static class ReportDigest
{
    public static byte[] CanonicalBytes(ConsultationReport report)
    {
        var canonical = report.Clone();
        canonical.ContentSha256 = "";
        canonical.SignatureJws = "";
        return canonical.ToByteArray();
    }

    public static string Compute(ConsultationReport report) => Convert.ToHexStringLower(SHA256.HashData(CanonicalBytes(report)));

    public static bool Verify(ConsultationReport report) =>
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(Compute(report)), System.Text.Encoding.ASCII.GetBytes(report.ContentSha256));
}
