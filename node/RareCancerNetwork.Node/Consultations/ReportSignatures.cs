using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Consultations;

/// <summary>
/// The hub's signatures of expert reports: a compact JWS (RS256, type <c>rcn-report+jwt</c>) by a dedicated
/// report-signing key, whose claims carry the SHA-256 of the report's canonical bytes (which name the signer
/// and the time) with the consultation, version, signer and time for a person to read. Made and checked with
/// Microsoft.IdentityModel, never by hand; a spoke checks offline with the hub's published keys.
/// </summary>
public static class ReportSignatures
{
    public const string TokenType = "rcn-report+jwt";
    private const string DigestClaim = "rcn_report_sha256";
    private const string ConsultationClaim = "rcn_consultation_id";
    private const string VersionClaim = "rcn_report_version";
    private const string SignerClaim = "rcn_signed_by";
    private const string SignedAtClaim = "rcn_signed_at";

    /// <summary>The key id a signature names: the certificate's SHA-256 thumbprint.</summary>
    public static string KeyId(X509Certificate2 certificate) => Authorization.CertificateThumbprints.Of(certificate);

    public static string Sign(ConsultationReport report, X509Certificate2 signingKey)
    {
        var handler = new JsonWebTokenHandler { SetDefaultTimesOnTokenCreation = false };
        return handler.CreateToken(new SecurityTokenDescriptor
        {
            TokenType = TokenType,
            SigningCredentials = new SigningCredentials(new X509SecurityKey(signingKey, KeyId(signingKey)), SecurityAlgorithms.RsaSha256),
            Claims = new Dictionary<string, object>
            {
                [DigestClaim] = ReportDigest.Compute(report),
                [ConsultationClaim] = report.ConsultationId,
                [VersionClaim] = report.Version,
                [SignerClaim] = report.SignedByExpertId,
                [SignedAtClaim] = report.SignedAt.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture),
            },
        });
    }

    /// <summary>Checks a report's signature against the keys held; never throws for a bad signature.</summary>
    public static async Task<ReportSignatureCheck> VerifyAsync(ConsultationReport report, IReadOnlyCollection<X509Certificate2> keys)
    {
        var check = new ReportSignatureCheck { Version = report.Version };
        if (report.SignatureJws.Length == 0)
        {
            return Done(check, SignatureStatus.Missing, "The report carries no signature.");
        }
        JsonWebToken token;
        try
        {
            token = new JsonWebToken(report.SignatureJws);
        }
        catch (ArgumentException)
        {
            return Done(check, SignatureStatus.Invalid, "The signature is not a JWS.");
        }
        check.KeyId = token.Kid ?? "";
        var key = keys.FirstOrDefault(k => KeyId(k) == check.KeyId);
        if (key is null)
        {
            return Done(check, SignatureStatus.UnknownKey, $"Signed with key {check.KeyId}, which is not among the {keys.Count} hub report-signing key(s) held here.");
        }
        var result = await new JsonWebTokenHandler().ValidateTokenAsync(report.SignatureJws, new TokenValidationParameters
        {
            IssuerSigningKey = new X509SecurityKey(key, check.KeyId),
            ValidTypes = [TokenType],
            ValidAlgorithms = [SecurityAlgorithms.RsaSha256],
            ValidateIssuer = false,
            ValidateAudience = false,
            // A report stays signed for good: a signature has no lifetime.
            ValidateLifetime = false,
            RequireExpirationTime = false,
        });
        if (!result.IsValid)
        {
            return Done(check, SignatureStatus.Invalid, $"The signature does not verify with key {check.KeyId} ({result.Exception?.GetType().Name}).");
        }
        var claims = result.Claims;
        string Claim(string name) => claims.TryGetValue(name, out var value) ? Convert.ToString(value, CultureInfo.InvariantCulture) ?? "" : "";
        var digest = ReportDigest.Compute(report);
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.ASCII.GetBytes(Claim(DigestClaim)), System.Text.Encoding.ASCII.GetBytes(digest))
            || Claim(ConsultationClaim) != report.ConsultationId || Claim(VersionClaim) != report.Version.ToString(CultureInfo.InvariantCulture))
        {
            return Done(check, SignatureStatus.Invalid, "The report differs from what the hub signed: it was altered after signing.");
        }
        return Done(check, SignatureStatus.Valid, $"Signed by the hub for {Claim(SignerClaim)} at {Claim(SignedAtClaim)}, key {check.KeyId}.");
    }

    private static ReportSignatureCheck Done(ReportSignatureCheck check, SignatureStatus status, string detail)
    {
        check.Status = status;
        check.Detail = detail;
        return check;
    }
}
