using System.Text;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Statistics;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The statistics service over real gRPC with statisticians signed in: a record enrolled at a spoke is counted once it
/// reaches the hub, released figures never show a small count, exact figures only with the permission and audited, bad
/// queries refused with the field, and the CSV file.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class StatisticsTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private static readonly SemaphoreSlim PeopleOnce = new(1);
    private static string? _statistician;
    private static string? _exactStatistician;
    private static string? _exactUserId;
    private static string? _administrator;

    private async Task<(string Plain, string Exact)> StatisticiansAsync()
    {
        await PeopleOnce.WaitAsync(Ct);
        try
        {
            if (_statistician is null)
            {
                var suffix = Guid.CreateVersion7().ToString("N")[^8..];
                _statistician = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), $"stat-{suffix}", NetworkClaims.Roles.Statistician, "CORE-004");
                _exactUserId = $"stat-exact-{suffix}";
                _exactStatistician = await People.AddAndSignInAsync(network.Hub, Path.GetTempPath(), _exactUserId, NetworkClaims.Roles.Statistician, "CORE-004");
                var users = network.Hub.Services.GetRequiredService<UserAccounts>();
                _administrator = $"admin-{suffix}";
                await users.AddAsync(_administrator, "管理者", NetworkClaims.Roles.Administrator, "CORE-004", null, People.Password, enableTotp: true, Ct);
                // Only an administrator grants it, and only to a statistician.
                await Assert.ThrowsAsync<RareCancerNetwork.Node.Errors.PreconditionFailedException>(() => users.GrantExactStatisticsAsync(_exactUserId, "nobody", Ct));
                await Assert.ThrowsAsync<RareCancerNetwork.Node.Errors.PreconditionFailedException>(() => users.GrantExactStatisticsAsync(_administrator, _administrator, Ct));
                await users.GrantExactStatisticsAsync(_exactUserId, _administrator, Ct);
            }
            return (_statistician, _exactStatistician!);
        }
        finally
        {
            PeopleOnce.Release();
        }
    }

    private StatisticsService.StatisticsServiceClient Client(string token) => new(Clients.Channel(network.Hub.Url, network.Hub.CaPath, token));

    [Fact]
    public async Task EnrolledRecord_IsCounted_ReleasedFiguresShowNoSmallCount_ExactOnesCarryEverything()
    {
        var (plain, exact) = await StatisticiansAsync();
        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        record.EnrolmentDate = "2024-07-03";
        record.Diagnosis.DiagnosisDate = "2024-06-01";
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = $"STAT-{Guid.CreateVersion7():N}", Record = record }, cancellationToken: Ct);
        await Eventually.UntilAsync(() => network.Hub.Services.GetRequiredService<RareCancerNetwork.Hub.Registry.RegistryStore>().GetAsync(record.RecordId, Ct),
            r => r is not null, "the record at the hub");

        var query = new FigureQuery { Figure = Figure.RegistryEnrolment, Filter = new StatisticsFilter { FromMonth = "2024-07", ToMonth = "2024-07" } };
        var released = (await Client(plain).GetFigureAsync(new() { Query = query }, cancellationToken: Ct)).Result;
        var table = Assert.Single(released.Tables);
        Assert.False(released.Provenance.Exact);
        Assert.Equal(10, released.Provenance.Threshold);
        Assert.InRange(released.Provenance.AsOf.ToDateTimeOffset(), DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Contains("二次利用", released.Provenance.ConsentRuleJa, StringComparison.Ordinal);
        Assert.Equal("2024-07", released.Provenance.FiltersJa.Split('〜')[0]);
        Assert.All(table.Cells, c => Assert.False(c.ValueCase == StatisticsCell.ValueOneofCase.Count && c.Count is >= 1 and < 10, "a small count was released"));
        Assert.All(table.Cells, c => Assert.Equal(SuppressionReason.Unspecified, c.Reason));
        // One record in the month: the table is withheld whole.
        Assert.True(table.Withheld);

        var auditLog = network.Hub.Services.GetRequiredService<AuditLog>();
        var before = (await auditLog.ReadAsync(0, int.MaxValue, Ct)).Count;
        var exactQuery = query.Clone();
        exactQuery.Exact = true;
        var exactResult = (await Client(exact).GetFigureAsync(new() { Query = exactQuery }, cancellationToken: Ct)).Result;
        var exactTable = Assert.Single(exactResult.Tables);
        var soft = exactTable.Cells[exactTable.Rows.ToList().FindIndex(r => r.Code == "2024-07") * exactTable.Columns.Count
            + exactTable.Columns.ToList().FindIndex(c => c.Code == nameof(OrganSystem.SoftTissue))];
        Assert.True(soft.Count >= 1);
        Assert.True(soft.Suppressed);
        Assert.NotEqual(SuppressionReason.Unspecified, soft.Reason);
        Assert.True(exactResult.Provenance.Exact);
        var audited = (await auditLog.ReadAsync(0, int.MaxValue, Ct)).Skip(before).ToList();
        var entry = Assert.Single(audited, e => e.EventType == StatisticsGrpcService.ExactStatisticsEvent);
        Assert.Equal(_exactUserId, entry.UserId);
        Assert.Equal("statistics_figure", entry.ObjectType);
        Assert.Equal(nameof(Figure.RegistryEnrolment), entry.ObjectId);
        Assert.DoesNotContain(record.PatientPseudonym, entry.Detail, StringComparison.Ordinal);

        // Without the permission, exact is refused (and the refusal audited as an authorization failure).
        var denied = await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
            () => Client(plain).GetFigureAsync(new() { Query = new FigureQuery { Figure = Figure.RegistryEnrolment, Exact = true } }, cancellationToken: Ct).ResponseAsync);
        Assert.Contains("exact-statistics permission", denied.Status.Detail, StringComparison.Ordinal);
        // Revoked: refused at the next query, with the same token.
        await network.Hub.Services.GetRequiredService<UserAccounts>().RevokeExactStatisticsAsync(_exactUserId!, Ct);
        try
        {
            await RpcAssert.FailsAsync(StatusCode.PermissionDenied,
                () => Client(exact).GetFigureAsync(new() { Query = new FigureQuery { Figure = Figure.RegistryEnrolment, Exact = true } }, cancellationToken: Ct).ResponseAsync);
        }
        finally
        {
            await network.Hub.Services.GetRequiredService<UserAccounts>().GrantExactStatisticsAsync(_exactUserId!, _administrator!, Ct);
        }
    }

    [Fact]
    public async Task EveryFigure_Answers_WithProvenance_AndNoSmallCount()
    {
        var (plain, _) = await StatisticiansAsync();
        foreach (var figure in Enum.GetValues<Figure>().Where(f => f != Figure.Unspecified))
        {
            var query = new FigureQuery { Figure = figure };
            if (figure == Figure.TreatmentOutcomes)
            {
                query.Cohort = new TreatmentCohort { Regimen = "パゾパニブ" };
            }
            var result = (await Client(plain).GetFigureAsync(new() { Query = query }, cancellationToken: Ct)).Result;
            Assert.NotEmpty(result.Tables);
            Assert.False(string.IsNullOrEmpty(result.TitleJa));
            Assert.False(string.IsNullOrEmpty(result.Provenance.ConsentRuleEn));
            Assert.All(result.Tables.SelectMany(t => t.Cells), c => Assert.False(c.ValueCase == StatisticsCell.ValueOneofCase.Count && c.Count is >= 1 and < 10,
                $"{figure}: a small count was released"));
            Assert.All(result.Tables.SelectMany(t => t.Cells).Where(c => c.ValueCase == StatisticsCell.ValueOneofCase.Rate),
                c => Assert.True(c.Rate.Denominator >= 10, $"{figure}: a rate over fewer than 10"));
            Assert.All(result.Curves, c => Assert.True(c.Suppressed || c.Points.All(p => p.AtRisk >= 10), $"{figure}: a curve point with fewer than 10 at risk"));
        }
    }

    [Fact]
    public async Task BadQueries_AreRefusedWithTheField_AndTheServiceKeepsAnswering()
    {
        var (plain, _) = await StatisticiansAsync();
        var client = Client(plain);
        Task Get(FigureQuery? query) => client.GetFigureAsync(new() { Query = query }, cancellationToken: Ct).ResponseAsync;
        await RpcAssert.InvalidFieldsAsync(() => Get(null), "query");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery()), "query.figure");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ConsultationCounts, Filter = new() { FromMonth = "2026-13", ToMonth = "2026-4" } }),
            "query.filter.from_month", "query.filter.to_month");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ConsultationCounts, Filter = new() { FromMonth = "2026-05", ToMonth = "2026-04" } }),
            "query.filter.to_month");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ConsultationCounts, Filter = new() { Region = "アトランティス", Prefecture = "東京" } }),
            "query.filter.region", "query.filter.prefecture");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ConsultationCounts, Rows = Dimension.Month, Columns = Dimension.Month }), "query.columns");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.RegistryEnrolment, Rows = Dimension.ReferralOutcome }), "query.rows");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ConsultationTurnaround, Rows = Dimension.Month }), "query.rows");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.ReferralCounts, Filter = new() { OrganSystem = OrganSystem.Bone } }),
            "query.filter.organ_system");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.TreatmentOutcomes }), "query.cohort");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.TreatmentOutcomes, Cohort = new() { ArmId = "A" } }), "query.cohort");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.TreatmentOutcomes, Cohort = new() { Regimen = "x", ArmId = "A" } }), "query.cohort.arm_id");
        await RpcAssert.InvalidFieldsAsync(() => Get(new FigureQuery { Figure = Figure.RegistryEnrolment, Cohort = new() { Regimen = "x" } }), "query.cohort");
        await RpcAssert.InvalidFieldsAsync(() => client.ExportFigureAsync(new() { Query = new() { Figure = Figure.RegistryEnrolment }, TableKey = "nope" },
            cancellationToken: Ct).ResponseAsync, "table_key");
        Assert.Single((await client.GetFigureAsync(new() { Query = new() { Figure = Figure.RegistryEnrolment } }, cancellationToken: Ct)).Result.Tables);
    }

    [Fact]
    public async Task Export_IsACsvFileWithBom_JapaneseAndEnglishHeaders()
    {
        var (plain, _) = await StatisticiansAsync();
        var export = await Client(plain).ExportFigureAsync(new()
        {
            Query = new() { Figure = Figure.PanelTests, Rows = Dimension.Region, Columns = Dimension.Designation },
        }, cancellationToken: Ct);
        Assert.Equal("text/csv; charset=utf-8", export.MediaType);
        Assert.Matches(@"^rcn-paneltests-\d{8}\.csv$", export.FileName);
        var bytes = export.Content.ToByteArray();
        Assert.Equal(new byte[] { 0xEF, 0xBB, 0xBF }, bytes[..3]);
        var text = Encoding.UTF8.GetString(bytes, 3, bytes.Length - 3);
        Assert.StartsWith("地域 (Region),英語表記 (English),がんゲノム医療中核拠点病院 (Genomic core hospital)", text, StringComparison.Ordinal);
        Assert.Contains("計,Total,", text, StringComparison.Ordinal);
        Assert.Contains("同意 (Consent)", text, StringComparison.Ordinal);
        var curve = await Client(plain).ExportFigureAsync(new()
        {
            Query = new() { Figure = Figure.TreatmentOutcomes, Cohort = new() { Regimen = "パゾパニブ" } }, TableKey = "os",
        }, cancellationToken: Ct);
        Assert.StartsWith("時間（months） (Time (months)),リスク集合 (At risk)", Encoding.UTF8.GetString(curve.Content.ToByteArray(), 3, 60), StringComparison.Ordinal);
    }
}
