using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The rare-cancer hotline over real gRPC: counsellors at spoke A (CORE-004) and at the hub's central hotline (国立がん研究センター
/// 中央病院, CORE-011) record, search and refer; calls reach the hub without their notes and the caller's contact, and are counted.
/// </summary>
[Collection(NetworkCollection.Name)]
public sealed class HotlineTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string CentralFacility = "CORE-011";

    /// <summary>Nearest to a patient in 愛知県 first: 名古屋大学 (愛知県), 信州大学 (長野県, Chubu), 東京大学 (Kanto, one border on), 北海道大学 (three).</summary>
    private static readonly string[] EndocrineFacilities = ["CORE-005", "HUB-018", "CORE-004", "CORE-001"];

    private static readonly SemaphoreSlim PeopleOnce = new(1);
    private static (string Counsellor, string Central, string OtherCentral, string ExactStatistician)? _people;
    private static string _centralSession = "";

    private async Task<(string Counsellor, string Central, string OtherCentral, string ExactStatistician)> PeopleAsync()
    {
        await PeopleOnce.WaitAsync(Ct);
        try
        {
            if (_people is null)
            {
                var suffix = Guid.CreateVersion7().ToString("N")[^8..];
                var folder = Path.GetTempPath();
                var signIns = await Task.WhenAll(
                    People.AddAndSignInAsync(network.Hub, folder, $"hl-{suffix}", NetworkClaims.Roles.HotlineCounsellor, TestNetwork.FacilityA),
                    People.AddAndSignInAsync(network.Hub, folder, $"hl-central-{suffix}", NetworkClaims.Roles.CentralHotlineCounsellor, CentralFacility),
                    People.AddAndSignInAsync(network.Hub, folder, $"hl-other-{suffix}", NetworkClaims.Roles.CentralHotlineCounsellor, "CORE-010"));
                var users = network.Hub.Services.GetRequiredService<UserAccounts>();
                var administrator = $"hl-admin-{suffix}";
                await users.AddAsync(administrator, "管理者", NetworkClaims.Roles.Administrator, TestNetwork.FacilityA, null, People.Password, enableTotp: true, Ct);
                var statisticianId = $"hl-stat-{suffix}";
                var statistician = await People.AddAndSignInAsync(network.Hub, folder, statisticianId, NetworkClaims.Roles.Statistician, TestNetwork.FacilityA);
                await users.GrantExactStatisticsAsync(statisticianId, administrator, Ct);
                _people = (signIns[0], signIns[1], signIns[2], statistician);
                _centralSession = Path.Combine(folder, $"hl-central-{suffix}.session.json");
                // Endocrine rare cancers at four hospitals (the seeded directory names no specialties; an administrator declares them).
                foreach (var facility in EndocrineFacilities)
                {
                    await network.Hub.ChangeDirectoryAsync(a => a.UpdateFacilityAsync(new Hub.Directory.FacilityChange(facility, OrganSpecialties: [OrganSystem.Endocrine]), Ct));
                }
                await Eventually.UntilAsync(async () => (await network.DirectoryA().SearchFacilitiesAsync(
                    new() { Filter = new FacilityFilter { OrganSpecialty = OrganSystem.Endocrine } }, cancellationToken: Ct)).Facilities.Count,
                    count => count == EndocrineFacilities.Length, "the specialties in spoke A's copy of the directory");
            }
            return _people.Value;
        }
        finally
        {
            PeopleOnce.Release();
        }
    }

    private LocalHotlineService.LocalHotlineServiceClient Local(string token) => new(Clients.Channel(network.SpokeA.Url, network.SpokeA.CaPath, token));

    private HotlineService.HotlineServiceClient Central(string token) => new(network.HubChannel(token));

    private static HotlineCallEntry Entry(string notes, OrganSystem category = OrganSystem.SoftTissue, string description = "") => new()
    {
        StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddMinutes(-20)),
        DurationMinutes = 15,
        Channel = HotlineChannel.Phone,
        CallerRelation = CallerRelation.Family,
        PatientPrefecture = "愛知県",
        PatientAgeBand = AgeBand._40To64,
        CancerCategory = category,
        CancerDescription = description,
        Topics = { HotlineTopic.WishToBeSeen, HotlineTopic.TreatmentOptions },
        Notes = notes,
        Outcomes = { HotlineOutcome.InformationGiven },
    };

    [Fact]
    public async Task ACallRecordedAtASpoke_ReachesTheHubAndIsCounted_ItsNotesAndTheCallersContactNeverLeaveTheSpoke()
    {
        var (counsellor, _, _, statistician) = await PeopleAsync();
        var marker = Guid.CreateVersion7().ToString("N")[^10..];
        var statistics = new StatisticsService.StatisticsServiceClient(network.HubChannel(statistician));
        async Task<long> CountedAsync(Figure figure, string row, string column)
        {
            var table = (await statistics.GetFigureAsync(new() { Query = new FigureQuery { Figure = figure, Exact = true } }, cancellationToken: Ct)).Result.Tables[0];
            var r = table.Rows.ToList().FindIndex(x => x.Code == row);
            var c = table.Columns.ToList().FindIndex(x => x.Code == column);
            return r < 0 || c < 0 ? 0 : table.Cells[r * table.Columns.Count + c].Count;
        }
        var callsBefore = await CountedAsync(Figure.HotlineOutcomes, TestNetwork.FacilityA, "calls");
        var suggestedBefore = (await statistics.GetFigureAsync(new() { Query = new FigureQuery { Figure = Figure.HotlineOutcomes, Exact = true } }, cancellationToken: Ct))
            .Result.Tables[0];

        // Where can a patient from 愛知県 with an endocrine rare cancer be seen? The spoke's copy of the directory, nearest first.
        var suggestions = (await Local(counsellor).SuggestLocalFacilitiesAsync(new()
        {
            Query = new SuggestFacilitiesRequest { OrganSystem = OrganSystem.Endocrine, PatientPrefecture = "愛知県" },
        }, cancellationToken: Ct)).Suggestions;
        Assert.Equal(EndocrineFacilities.Zip([0, 1, 2, 3]), suggestions.Select(s => (s.Facility.FacilityCode, s.Distance)));

        var notes = $"左大腿の腫瘤について家族から相談。近くの専門施設を案内した。{marker}";
        var entry = Entry(notes);
        entry.Outcomes.Add(HotlineOutcome.FacilitySuggested);
        entry.Outcomes.Add(HotlineOutcome.CallBack);
        entry.SuggestedFacilityCodes.Add(suggestions[0].Facility.FacilityCode);
        var contact = new CallbackContact { Name = $"山田 花子{marker}", Phone = "052-123-4567", WhenToCall = "平日の午後" };
        var request = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = entry, CallbackContact = contact };
        var recorded = await Local(counsellor).RecordLocalHotlineCallAsync(request, cancellationToken: Ct);
        Assert.False(recorded.Duplicate);
        Assert.Equal((TestNetwork.FacilityA, 1, notes), (recorded.Call.Call.CentreFacilityCode, recorded.Call.Call.Revision, recorded.Call.Call.Notes));
        Assert.Equal(contact, recorded.Call.CallbackContact);
        // The same request again is the same call.
        Assert.True((await Local(counsellor).RecordLocalHotlineCallAsync(request, cancellationToken: Ct)).Duplicate);

        var unknown = new RecordLocalHotlineCallRequest
        {
            CallId = Guid.CreateVersion7().ToString(),
            Entry = Entry($"病名がはっきりしない。{marker}", OrganSystem.Unspecified, $"原発不明がんと言われた{marker}"),
        };
        await Local(counsellor).RecordLocalHotlineCallAsync(unknown, cancellationToken: Ct);

        foreach (var callId in new[] { request.CallId, unknown.CallId })
        {
            await Eventually.UntilAsync(async () => (await Local(counsellor).GetLocalHotlineCallAsync(new() { CallId = callId }, cancellationToken: Ct)).Call.DeliveryState,
                state => state == DeliveryState.Delivered, $"hotline call {callId} at the hub");
        }
        // Japanese text round-trips exactly at the centre.
        Assert.Equal(notes, (await Local(counsellor).GetLocalHotlineCallAsync(new() { CallId = request.CallId }, cancellationToken: Ct)).Call.Call.Notes);

        // At the hub: the record, never the notes, the cancer as described or the contact.
        await using (var connection = await network.Hub.Services.GetRequiredService<HubDatabase>().OpenAsync(Ct))
        {
            await using var command = connection.Command("SELECT call, notes, cancer_description, centre_facility_code, node_id FROM hotline_calls WHERE call_id IN (@a, @b)")
                .With("@a", request.CallId).With("@b", unknown.CallId);
            await using var reader = await command.ExecuteReaderAsync(Ct);
            var rows = 0;
            while (await reader.ReadAsync(Ct))
            {
                rows++;
                var atHub = HotlineCall.Parser.ParseFrom((byte[])reader[0]);
                Assert.Equal(("", "", "", "", TestNetwork.FacilityA, "spoke-a"),
                    (atHub.Notes, atHub.CancerDescription, reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4)));
                Assert.DoesNotContain(marker, atHub.ToString(), StringComparison.Ordinal);
                Assert.Equal(HotlineTopic.WishToBeSeen, atHub.Topics[0]);
            }
            Assert.Equal(2, rows);
        }
        // Nothing the spoke queued for the hub holds them either (what leaves is what the outbox sends).
        await using (var spoke = new SqliteConnection($"Data Source={Path.Combine(network.SpokeA.DataFolder, "spoke.db")};Mode=ReadOnly;Pooling=False"))
        {
            await spoke.OpenAsync(Ct);
            await using var command = spoke.CreateCommand();
            command.CommandText = "SELECT payload FROM outbox WHERE kind = 'deliver_hotline_call'";
            await using var reader = await command.ExecuteReaderAsync(Ct);
            var payloads = 0;
            while (await reader.ReadAsync(Ct))
            {
                payloads++;
                var text = Encoding.UTF8.GetString((byte[])reader[0]);
                Assert.DoesNotContain(marker, text, StringComparison.Ordinal);
                Assert.DoesNotContain("052-123-4567", text, StringComparison.Ordinal);
            }
            Assert.True(payloads >= 2);
        }
        if (network.Hub.Services.GetRequiredService<HubDatabase>() is SqliteHubDatabase embedded)
        {
            // The hub's whole store, byte for byte (its write-ahead log included): the marker is nowhere in it.
            foreach (var file in System.IO.Directory.GetFiles(Path.GetDirectoryName(embedded.Database.Path)!, Path.GetFileName(embedded.Database.Path) + "*"))
            {
                await using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, Ct);
                Assert.Equal(-1, copy.ToArray().AsSpan().IndexOf(Encoding.UTF8.GetBytes(marker)));
            }
        }

        // Counted: the two calls under centre A; one ended in a suggested facility.
        Assert.Equal(callsBefore + 2, await CountedAsync(Figure.HotlineOutcomes, TestNetwork.FacilityA, "calls"));
        var month = Hub.Statistics.StatisticsStore.JapanMonth(entry.StartedAt.ToDateTimeOffset());
        Assert.True(await CountedAsync(Figure.HotlineCalls, month, TestNetwork.FacilityA) >= 2);
        var after = (await statistics.GetFigureAsync(new() { Query = new FigureQuery { Figure = Figure.HotlineOutcomes, Exact = true } }, cancellationToken: Ct)).Result.Tables[0];
        long Suggested(StatisticsTable table)
        {
            var r = table.Rows.ToList().FindIndex(x => x.Code == TestNetwork.FacilityA);
            var c = table.Columns.ToList().FindIndex(x => x.Code == "facility_suggested");
            return r < 0 ? 0 : table.Cells[r * table.Columns.Count + c].Rate.Numerator;
        }
        Assert.Equal(Suggested(suggestedBefore) + 1, Suggested(after));
        var centreRow = after.Rows.Single(r => r.Code == TestNetwork.FacilityA);
        Assert.Equal("東京大学医学部附属病院", centreRow.LabelJa);
        var byCategory = (await statistics.GetFigureAsync(new()
        {
            Query = new FigureQuery { Figure = Figure.HotlineCalls, Rows = Dimension.OrganSystem, Columns = Dimension.HotlineCentre, Exact = true },
        }, cancellationToken: Ct)).Result.Tables[0];
        Assert.Contains(byCategory.Rows, r => r.Code == nameof(OrganSystem.Unspecified));

        // Every topic has its row (released figures' protection is checked for every figure in StatisticsTests).
        var topics = (await statistics.GetFigureAsync(new() { Query = new FigureQuery { Figure = Figure.HotlineTopics, Exact = true } }, cancellationToken: Ct)).Result.Tables[0];
        Assert.Equal(System.Enum.GetValues<HotlineTopic>().Length - 1, topics.Rows.Count);
    }

    [Fact]
    public async Task CounsellorsSearchTheirCentresNotes_JapaneseIncluded_AndAnAmendmentTravelsAsANewRevision()
    {
        var (counsellor, _, _, _) = await PeopleAsync();
        var marker = Guid.CreateVersion7().ToString("N")[^10..];
        var first = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry($"骨肉腫の治療法と臨床試験について質問 {marker}") };
        var second = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry($"軟部肉腫の費用の相談 {marker}") };
        second.Entry.Topics.Clear();
        second.Entry.Topics.Add(HotlineTopic.Costs);
        await Local(counsellor).RecordLocalHotlineCallAsync(first, cancellationToken: Ct);
        await Local(counsellor).RecordLocalHotlineCallAsync(second, cancellationToken: Ct);

        async Task<List<string>> FoundAsync(string text, HotlineTopic topic = HotlineTopic.Unspecified) =>
            [.. (await Local(counsellor).SearchLocalHotlineCallsAsync(new() { Query = new SearchHotlineCallsRequest { Text = $"{text} {marker}", Topic = topic } },
                cancellationToken: Ct)).Calls.Select(c => c.Call.CallId)];
        // Two characters (below the trigram's three), three and more, and a word in neither.
        Assert.Equal([second.CallId, first.CallId], await FoundAsync("肉腫"));
        Assert.Equal([first.CallId], await FoundAsync("骨肉腫"));
        Assert.Equal([first.CallId], await FoundAsync("臨床試験"));
        Assert.Equal([second.CallId], await FoundAsync("肉腫", HotlineTopic.Costs));
        Assert.Empty(await FoundAsync("脳腫瘍"));

        // An amendment on the revision read: a new revision, delivered in its turn; one on an old revision is refused.
        var amended = Entry($"骨肉腫の治療法と臨床試験について質問 {marker}。折り返し連絡済み。");
        var amendment = await Local(counsellor).AmendLocalHotlineCallAsync(new() { CallId = first.CallId, ExpectedRevision = 1, Entry = amended }, cancellationToken: Ct);
        Assert.Equal(2, amendment.Call.Call.Revision);
        await RpcAssert.FailsAsync(StatusCode.FailedPrecondition, () =>
            Local(counsellor).AmendLocalHotlineCallAsync(new() { CallId = first.CallId, ExpectedRevision = 1, Entry = amended }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal([first.CallId], await FoundAsync("折り返し"));
        await Eventually.UntilAsync(async () => await network.Hub.CountAsync("hotline_calls", "call_id", first.CallId) == 1
            && (await Local(counsellor).GetLocalHotlineCallAsync(new() { CallId = first.CallId }, cancellationToken: Ct)).Call.DeliveryState == DeliveryState.Delivered,
            ready => ready, "the amendment at the hub");
        await using var connection = await network.Hub.Services.GetRequiredService<HubDatabase>().OpenAsync(Ct);
        await using var command = connection.Command("SELECT revision FROM hotline_calls WHERE call_id = @id").With("@id", first.CallId);
        Assert.Equal(2L, Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task FromASuggestionToAReferral_InOneStep_TheCallNamesTheReferral()
    {
        var (counsellor, _, _, _) = await PeopleAsync();
        var call = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry("紹介を希望") };
        await Local(counsellor).RecordLocalHotlineCallAsync(call, cancellationToken: Ct);
        var referralId = Guid.CreateVersion7().ToString();
        var referred = await Local(counsellor).ReferFromHotlineCallAsync(new()
        {
            CallId = call.CallId, ExpectedRevision = 1, ReferralId = referralId, FacilityCode = "CORE-011", LocalPatientId = "HOTLINE-P1",
            Reason = "ホットライン相談から専門施設へ紹介", Urgency = Urgency.Routine,
        }, cancellationToken: Ct);
        Assert.Equal((referralId, "CORE-011", 2), (referred.Referral.ReferralId, referred.Referral.ReceivingFacilityCode, referred.Call.Call.Revision));
        Assert.Contains(HotlineOutcome.ReferralMade, referred.Call.Call.Outcomes);
        Assert.Equal(referralId, referred.Call.Call.ReferralId);
        await Eventually.UntilAsync(async () => await network.Hub.CountAsync("referrals", "referral_id", referralId), n => n == 1, "the referral at the hub");
        await Eventually.UntilAsync(async () => (await Local(counsellor).GetLocalHotlineCallAsync(new() { CallId = call.CallId }, cancellationToken: Ct)).Call.DeliveryState,
            state => state == DeliveryState.Delivered, "the call's new revision at the hub");
        // A call cannot name a referral this facility did not send.
        var bogus = Entry("紹介");
        bogus.Outcomes.Add(HotlineOutcome.ReferralMade);
        bogus.ReferralId = Guid.CreateVersion7().ToString();
        await RpcAssert.InvalidFieldsAsync(() => Local(counsellor).RecordLocalHotlineCallAsync(
            new() { CallId = Guid.CreateVersion7().ToString(), Entry = bogus }, cancellationToken: Ct).ResponseAsync, "entry.referral_id");
    }

    [Fact]
    public async Task BadCalls_AreRefusedWithTheField_AndNothingIsStored()
    {
        var (counsellor, central, _, _) = await PeopleAsync();
        var entry = Entry("x");
        entry.DurationMinutes = 0;
        entry.Topics.Clear();
        entry.Outcomes.Add(HotlineOutcome.CallBack);
        entry.Outcomes.Add(HotlineOutcome.FacilitySuggested);
        entry.PatientPrefecture = "名古屋";
        entry.StartedAt = Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow.AddHours(2));
        var callId = Guid.CreateVersion7().ToString();
        await RpcAssert.InvalidFieldsAsync(() => Local(counsellor).RecordLocalHotlineCallAsync(new() { CallId = callId, Entry = entry }, cancellationToken: Ct).ResponseAsync,
            "entry.duration_minutes", "entry.topics", "entry.patient_prefecture", "entry.started_at", "entry.suggested_facility_codes", "callback_contact");
        await RpcAssert.InvalidFieldsAsync(() => Local(counsellor).RecordLocalHotlineCallAsync(new() { CallId = "not-a-uuid", Entry = Entry("x", OrganSystem.Unspecified) },
            cancellationToken: Ct).ResponseAsync, "call_id", "entry.cancer_description");
        var badPhone = Entry("x");
        badPhone.Outcomes.Add(HotlineOutcome.CallBack);
        await RpcAssert.InvalidFieldsAsync(() => Local(counsellor).RecordLocalHotlineCallAsync(new()
        {
            CallId = callId, Entry = badPhone, CallbackContact = new CallbackContact { Phone = "call me maybe" },
        }, cancellationToken: Ct).ResponseAsync, "callback_contact.phone");
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => Local(counsellor).GetLocalHotlineCallAsync(new() { CallId = callId }, cancellationToken: Ct).ResponseAsync);
        // The same id with other content is a conflict.
        var once = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry("一度目") };
        await Local(counsellor).RecordLocalHotlineCallAsync(once, cancellationToken: Ct);
        await RpcAssert.FailsAsync(StatusCode.AlreadyExists, () => Local(counsellor).RecordLocalHotlineCallAsync(
            new() { CallId = once.CallId, Entry = Entry("二度目") }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.InvalidFieldsAsync(() => Central(central).SuggestFacilitiesAsync(new() { PatientPrefecture = "Tokyo", Limit = 1000 }, cancellationToken: Ct).ResponseAsync,
            "organ_system", "patient_prefecture", "limit");
        await RpcAssert.InvalidFieldsAsync(() => Central(central).SearchHotlineCallsAsync(new() { FromDate = "2026-13-01", Text = new string('あ', 201) },
            cancellationToken: Ct).ResponseAsync, "from_date", "text");

        // A node delivers only its own centre's calls, and never notes.
        var hotlineSync = new HotlineSyncService.HotlineSyncServiceClient(network.HubChannel(network.NodeTokenA));
        var withNotes = RareCancerNetwork.Node.Hotline.HotlineCalls.Create(Guid.CreateVersion7().ToString(), TestNetwork.FacilityA, "someone", Entry("秘密のメモ"), DateTimeOffset.UtcNow);
        await RpcAssert.InvalidFieldsAsync(() => hotlineSync.DeliverHotlineCallAsync(new() { Call = withNotes }, cancellationToken: Ct).ResponseAsync, "call.notes");
        var otherCentre = RareCancerNetwork.Node.Hotline.HotlineCalls.ForHub(
            RareCancerNetwork.Node.Hotline.HotlineCalls.Create(Guid.CreateVersion7().ToString(), TestNetwork.FacilityB, "someone", Entry("x"), DateTimeOffset.UtcNow));
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => hotlineSync.DeliverHotlineCallAsync(new() { Call = otherCentre }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal(0, await network.Hub.CountAsync("hotline_calls", "call_id", [withNotes.CallId, otherCentre.CallId]));
        // A delivery applied once; an older revision changes nothing.
        var own = RareCancerNetwork.Node.Hotline.HotlineCalls.ForHub(
            RareCancerNetwork.Node.Hotline.HotlineCalls.Create(Guid.CreateVersion7().ToString(), TestNetwork.FacilityA, "someone", Entry("x"), DateTimeOffset.UtcNow));
        var deliveries = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => hotlineSync.DeliverHotlineCallAsync(new() { Call = own }, cancellationToken: Ct).ResponseAsync));
        Assert.Single(deliveries, d => !d.Duplicate);
        Assert.Equal(1, await network.Hub.CountAsync("hotline_calls", "call_id", own.CallId));
    }

    [Fact]
    public async Task TheCentralHotline_RecordsAndSearchesItsOwnCalls_AndSeesNoOtherCentresCalls()
    {
        var (counsellor, central, otherCentral, _) = await PeopleAsync();
        var marker = Guid.CreateVersion7().ToString("N")[^10..];
        var request = new RecordHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry($"消化管間質腫瘍（GIST）の再発について {marker}") };
        var recorded = await Central(central).RecordHotlineCallAsync(request, cancellationToken: Ct);
        Assert.Equal((CentralFacility, request.Entry.Notes), (recorded.Call.CentreFacilityCode, recorded.Call.Notes));
        Assert.True((await Central(central).RecordHotlineCallAsync(request, cancellationToken: Ct)).Duplicate);
        Assert.Equal([request.CallId], (await Central(central).SearchHotlineCallsAsync(new() { Text = $"再発 {marker}" }, cancellationToken: Ct)).Calls.Select(c => c.CallId));
        Assert.Equal([request.CallId], (await Central(central).SearchHotlineCallsAsync(new() { Text = $"gist {marker}" }, cancellationToken: Ct)).Calls.Select(c => c.CallId));
        var amended = await Central(central).AmendHotlineCallAsync(new() { CallId = request.CallId, ExpectedRevision = 1, Entry = Entry($"追記 {marker}") }, cancellationToken: Ct);
        Assert.Equal(2, amended.Call.Revision);

        // Another centre's counsellor neither reads, amends nor finds it; nor does anyone find a spoke's call at the hub.
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Central(otherCentral).GetHotlineCallAsync(new() { CallId = request.CallId }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Central(otherCentral).AmendHotlineCallAsync(
            new() { CallId = request.CallId, ExpectedRevision = 2, Entry = Entry("x") }, cancellationToken: Ct).ResponseAsync);
        Assert.Empty((await Central(otherCentral).SearchHotlineCallsAsync(new() { Text = marker }, cancellationToken: Ct)).Calls);
        var atSpoke = new RecordLocalHotlineCallRequest { CallId = Guid.CreateVersion7().ToString(), Entry = Entry($"スポークの相談 {marker}") };
        await Local(counsellor).RecordLocalHotlineCallAsync(atSpoke, cancellationToken: Ct);
        await Eventually.UntilAsync(async () => await network.Hub.CountAsync("hotline_calls", "call_id", atSpoke.CallId), n => n == 1, "the spoke's call at the hub");
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Central(central).GetHotlineCallAsync(new() { CallId = atSpoke.CallId }, cancellationToken: Ct).ResponseAsync);
        Assert.Equal([request.CallId], (await Central(central).SearchHotlineCallsAsync(new() { Text = marker }, cancellationToken: Ct)).Calls.Select(c => c.CallId));

        // Where can this patient be seen, at the hub: 愛知県 first, then Chubu, then the regions beyond; at most as many as asked.
        var suggestions = (await Central(central).SuggestFacilitiesAsync(new() { OrganSystem = OrganSystem.Endocrine, PatientPrefecture = "愛知県", Limit = 3 },
            cancellationToken: Ct)).Suggestions;
        Assert.Equal(EndocrineFacilities.Take(3).Zip([0, 1, 2]), suggestions.Select(s => (s.Facility.FacilityCode, s.Distance)));
        // From 北海道, the order turns round.
        var fromHokkaido = (await Central(central).SuggestFacilitiesAsync(new() { OrganSystem = OrganSystem.Endocrine, PatientPrefecture = "北海道" },
            cancellationToken: Ct)).Suggestions;
        Assert.Equal(["CORE-001", "CORE-004", "HUB-018", "CORE-005"], fromHokkaido.Select(s => s.Facility.FacilityCode));
    }

    [Fact]
    public async Task ACounsellorAtTheCommandLine_RecordsSearchesAmendsAndRefers()
    {
        await PeopleAsync();
        using var folder = new TempFolder("rcn-hotline-cli");
        var client = await network.Hub.RegisterLocalClientAsync("spoke-a", $"hotline-cli-{Guid.CreateVersion7().ToString("N")[^8..]}");
        var profile = folder.Sub("profile.json");
        await File.WriteAllTextAsync(profile, System.Text.Json.JsonSerializer.Serialize(
            new { HubUrl = network.Hub.Url, HubCaCertificatePath = network.Hub.CaPath, client.ClientId, client.ClientSecret }), Ct);
        string[] local = ["--profile", profile, "--session", folder.Sub("no-session.json"), "--spoke-url", network.SpokeA.Url, "--spoke-ca", network.SpokeA.CaPath];
        var marker = Guid.CreateVersion7().ToString("N")[^10..];

        var suggested = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["hotline", "suggest", "--organ", "endocrine", "--prefecture", "愛知県", .. local]);
        Assert.True(suggested.IndexOf("CORE-005", StringComparison.Ordinal) < suggested.IndexOf("CORE-001", StringComparison.Ordinal), suggested);
        var recorded = await NodeProcess.RunAsync(NodeProcess.SpokeProgram,
        [
            "hotline", "record", "--minutes", "12", "--caller", "family", "--prefecture", "愛知県", "--age", "40_to_64", "--category", "endocrine",
            "--topic", "wish_to_be_seen", "--topic", "second_opinion", "--outcome", "facility_suggested", "--outcome", "call_back", "--suggest", "CORE-005",
            "--notes", $"副腎がんの受診先について。{marker}", "--callback-phone", "052-000-1111", "--callback-name", "家族", .. local,
        ]);
        var callId = System.Text.RegularExpressions.Regex.Match(recorded, "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").Value;
        Assert.NotEqual("", callId);
        Assert.Contains("052-000-1111", recorded, StringComparison.Ordinal);

        var found = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["hotline", "search", "--text", $"副腎 {marker}", .. local]);
        Assert.Contains(callId, found, StringComparison.Ordinal);
        var (badExit, bad) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, ["hotline", "search", "--topic", "weather", .. local]);
        Assert.NotEqual(0, badExit);
        Assert.Contains("--topic 'weather' is not one of", bad, StringComparison.Ordinal);

        await NodeProcess.RunAsync(NodeProcess.SpokeProgram,
            ["hotline", "amend", callId, "--outcome", "facility_suggested", "--append-notes", "折り返し済み", "--clear-callback", .. local]);
        var referred = await NodeProcess.RunAsync(NodeProcess.SpokeProgram,
            ["hotline", "refer", callId, "--to-facility", "CORE-005", "--patient", "HOTLINE-CLI-1", "--reason", "受診調整のため紹介", .. local]);
        Assert.Contains("CORE-005", referred, StringComparison.Ordinal);
        var shown = Google.Protobuf.JsonParser.Default.Parse<LocalHotlineCall>(await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["hotline", "show", callId, "--json", .. local]));
        Assert.Equal(3, shown.Call.Revision);
        Assert.Null(shown.CallbackContact);
        Assert.Equal([HotlineOutcome.FacilitySuggested, HotlineOutcome.ReferralMade], shown.Call.Outcomes);
        Assert.Equal($"副腎がんの受診先について。{marker}\n折り返し済み", shown.Call.Notes);

        // The central institution's counsellor, signed in, at the hub's command line.
        string[] session = ["--session", _centralSession];
        var central = await NodeProcess.RunAsync(NodeProcess.HubProgram,
        [
            "hotline", "record", "--minutes", "30", "--caller", "patient", "--category", "bone", "--topic", "clinical_trials", "--outcome", "information_given",
            "--notes", $"骨肉腫の治験について説明。{marker}", .. session,
        ]);
        var centralId = System.Text.RegularExpressions.Regex.Match(central, "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").Value;
        Assert.Contains("CORE-011", central, StringComparison.Ordinal);
        Assert.Contains(centralId, await NodeProcess.RunAsync(NodeProcess.HubProgram, ["hotline", "search", "--text", $"治験 {marker}", .. session]), StringComparison.Ordinal);
        await NodeProcess.RunAsync(NodeProcess.HubProgram, ["hotline", "amend", centralId, "--outcome", "second_opinion_arranged", .. session]);
        var centralShown = Google.Protobuf.JsonParser.Default.Parse<HotlineCall>(await NodeProcess.RunAsync(NodeProcess.HubProgram, ["hotline", "show", centralId, "--json", .. session]));
        Assert.Equal((2, HotlineOutcome.SecondOpinionArranged), (centralShown.Revision, centralShown.Outcomes.Single()));
        Assert.Contains("CORE-005", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["hotline", "suggest", "--organ", "endocrine", "--prefecture", "岐阜県", .. session]),
            StringComparison.Ordinal);
        // A call of a spoke's centre is not the central counsellor's to read.
        var (refusedExit, refused) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, ["hotline", "show", callId, .. session]);
        Assert.NotEqual(0, refusedExit);
        Assert.Contains("PermissionDenied", refused, StringComparison.Ordinal);
    }
}
