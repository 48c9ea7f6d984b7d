using System.Security.Cryptography;
using Google.Protobuf;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Protos.Contract;

/// <summary>
/// SHA-256 over a report's canonical protobuf encoding with <c>content_sha256</c> cleared. The hub sets
/// it when the expert signs the report out; the spoke recomputes it on arrival and refuses a report that
/// was corrupted on the way. It is a digest, not a signature: whoever can alter a report can recompute it.
/// </summary>
public static class ReportDigest
{
    public static string Compute(ConsultationReport report)
    {
        var unsigned = report.Clone();
        unsigned.ContentSha256 = "";
        return Convert.ToHexStringLower(SHA256.HashData(unsigned.ToByteArray()));
    }

    public static bool Verify(ConsultationReport report) =>
        CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.ASCII.GetBytes(Compute(report)), System.Text.Encoding.ASCII.GetBytes(report.ContentSha256));
}
