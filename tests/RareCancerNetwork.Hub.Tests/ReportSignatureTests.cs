using System.Security.Cryptography.X509Certificates;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Consultations;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>Reports signed for real: by the hub's report-signing key, checkable offline, failing for any change, across key rollover.</summary>
public sealed class ReportSignatureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static SubmitReportRequest Report(string consultationId, int replaces = 0) => new()
    {
        ConsultationId = consultationId,
        Diagnosis = new Diagnosis { Text = "脱分化型脂肪肉腫", MorphologyCode = "8858/3" },
        Concordance = Concordance.MajorDiscordance,
        RecommendedAncillaryTests = { "MDM2 FISH" },
        Comment = "高分化成分と脱分化成分を認める。",
        ReplacesVersion = replaces,
        AmendmentReason = replaces > 0 ? "免疫染色の追加結果" : "",
    };

    private static async Task<IReadOnlyList<X509Certificate2>> PublishedAsync(HubStore hub) =>
        [.. (await new ReportSigningKeys(hub.Database, TimeProvider.System).ListAsync(Ct)).Select(k => X509CertificateLoader.LoadCertificate(k.CertificateDer.ToByteArray()))];

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task EveryReport_IsSigned_AndAnyChangeAfterSigningFailsVerification(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var id = await hub.DeliverAsync();
        var report = await hub.Store.SubmitReportAsync("soft", "佐藤 花子", Report(id), Ct);
        var keys = await PublishedAsync(hub);

        var check = await ReportSignatures.VerifyAsync(report, keys);
        Assert.Equal(SignatureStatus.Valid, check.Status);
        Assert.Equal(ReportSignatures.KeyId(Assert.Single(keys)), check.KeyId);
        Assert.Contains("soft", check.Detail, StringComparison.Ordinal);

        // Whatever is changed, digest recomputed or not, the signature no longer matches.
        foreach (var alter in new Action<ConsultationReport>[]
        {
            r => r.Diagnosis.Text = "高分化型脂肪肉腫",
            r => r.Concordance = Concordance.Concordant,
            r => r.SignedByExpertId = "someone-else",
            r => r.SignedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddDays(-1)),
            r => r.Version = 2,
        })
        {
            var altered = report.Clone();
            alter(altered);
            altered.ContentSha256 = ReportDigest.Compute(altered);
            Assert.Equal(SignatureStatus.Invalid, (await ReportSignatures.VerifyAsync(altered, keys)).Status);
        }
        var forged = report.Clone();
        forged.SignatureJws = forged.SignatureJws[..^4] + (forged.SignatureJws.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");
        Assert.Equal(SignatureStatus.Invalid, (await ReportSignatures.VerifyAsync(forged, keys)).Status);
        var unsigned = report.Clone();
        unsigned.SignatureJws = "";
        Assert.Equal(SignatureStatus.Missing, (await ReportSignatures.VerifyAsync(unsigned, keys)).Status);
        Assert.Equal(SignatureStatus.UnknownKey, (await ReportSignatures.VerifyAsync(report, [])).Status);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task KeyRollover_SignsWithTheNewKeyAtOnce_AndKeepsOldReportsVerifiable(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        await hub.AddExpertAsync("soft", 10, OrganSystem.SoftTissue);
        var id = await hub.DeliverAsync();
        var keys = new ReportSigningKeys(hub.Database, TimeProvider.System);
        var first = await hub.Store.SubmitReportAsync("soft", "佐藤 花子", Report(id), Ct);
        var oldKey = Assert.Single(await keys.ListAsync(Ct)).KeyId;

        var pending = await keys.AddAsync(DateTimeOffset.UtcNow.AddHours(1), Ct);
        var stillOld = await hub.Store.SubmitReportAsync("soft", "佐藤 花子", Report(id, replaces: 1), Ct);
        Assert.Equal(oldKey, (await ReportSignatures.VerifyAsync(stillOld, await PublishedAsync(hub))).KeyId);

        var next = await keys.AddAsync(DateTimeOffset.UtcNow.AddMinutes(-1), Ct);
        Assert.True(await keys.RetireAsync(oldKey, Ct));
        var amended = await hub.Store.SubmitReportAsync("soft", "佐藤 花子", Report(id, replaces: 2), Ct);

        var published = await PublishedAsync(hub);
        Assert.Equal(3, published.Count);
        Assert.Equal((SignatureStatus.Valid, next.KeyId), ((await ReportSignatures.VerifyAsync(amended, published)).Status, (await ReportSignatures.VerifyAsync(amended, published)).KeyId));
        Assert.Equal(SignatureStatus.Valid, (await ReportSignatures.VerifyAsync(first, published)).Status);
        Assert.True((await keys.ListAsync(Ct)).Single(k => k.KeyId == oldKey).Retired);
        Assert.NotEqual(pending.KeyId, next.KeyId);
    }
}
