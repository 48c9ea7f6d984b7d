using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Builds a report version signed out by the expert the access token names (the clinical sign-out), with a
/// SHA-256 content digest that detects corruption in storage or transit. The hub's signature, which gives the
/// tamper-evidence a digest cannot, is added by the store (ReportSigningKeys, ReportSignatures).
/// </summary>
internal static class ReportVersions
{
    public static ConsultationReport Create(SubmitReportRequest request, int version, string expertId, string expertName, DateTimeOffset signedAt)
    {
        var report = new ConsultationReport
        {
            ConsultationId = request.ConsultationId,
            Version = version,
            Diagnosis = request.Diagnosis.Clone(),
            Concordance = request.Concordance,
            Comment = request.Comment,
            SignedByExpertId = expertId,
            SignedByName = expertName,
            SignedAt = Timestamp.FromDateTimeOffset(signedAt),
            AmendmentReason = version > 1 ? request.AmendmentReason : "",
        };
        report.RecommendedAncillaryTests.AddRange(request.RecommendedAncillaryTests);
        report.ContentSha256 = ReportDigest.Compute(report);
        return report;
    }
}
