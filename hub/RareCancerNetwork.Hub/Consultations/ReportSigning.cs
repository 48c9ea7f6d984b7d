using Google.Protobuf.WellKnownTypes;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>
/// Builds a report version attributed to the signer named by the access token, with a SHA-256 over
/// its canonical content so any later alteration of a stored or forwarded report is detectable.
/// </summary>
internal static class ReportSigning
{
    public static ConsultationReport Sign(SubmitReportRequest request, int version, string expertId, string expertName, DateTimeOffset signedAt)
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
