using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// The directory as the hub publishes it, on both providers: versions only for what changed, the spoke that serves
/// each facility, administration that never deletes, and the feed announcement to every active spoke.
/// </summary>
public sealed class DirectoryStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The test store's CORE-004 (Tokyo, runs spoke-test) plus a Tokyo hospital, an Osaka hospital and a Hokkaido hospital.</summary>
    private static async Task<(HubStore Hub, DirectoryAdministration Admin)> CreateAsync(HubStorageProvider provider)
    {
        var hub = await HubStore.CreateAsync(provider);
        await hub.ExecuteAsync(
            """
            INSERT INTO prefectures VALUES ('大阪府', 'Kinki', '27');
            INSERT INTO prefectures VALUES ('北海道', 'Hokkaido', '01');
            INSERT INTO prefectures VALUES ('千葉県', 'Kanto', '12');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('HUB-008', 'がん研究会有明病院', 2, '東京都', 'Kanto');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('HUB-022', '大阪国際がんセンター', 2, '大阪府', 'Kinki');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-001', '北海道大学病院', 1, '北海道', 'Hokkaido');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-010', '国立がん研究センター東病院', 1, '千葉県', 'Kanto');
            """);
        return (hub, new DirectoryAdministration(hub.Database, hub.Feed, TimeProvider.System));
    }

    private static async Task<Dictionary<string, Facility>> FacilitiesAsync(HubStore hub)
    {
        await using var connection = await hub.Database.OpenAsync(Ct);
        return (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.FacilityKind, Ct)).ToDictionary(e => e.Facility.FacilityCode, e => e.Facility);
    }

    private static async Task<PullDirectoryResponse> PullAsync(HubStore hub, long after, int pageSize = 100)
    {
        await using var connection = await hub.Database.OpenAsync(Ct);
        return await DirectoryPublisher.PullAsync(connection, after, pageSize, Ct);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Publication_VersionsOnlyWhatChanged_AndPullingPagesThroughIt(HubStorageProvider provider)
    {
        var (hub, admin) = await CreateAsync(provider);
        await using var _ = hub;

        var first = await admin.RepublishAsync(Ct);
        Assert.Equal(5, first);
        Assert.Equal(first, await admin.RepublishAsync(Ct));

        var page = await PullAsync(hub, 0, pageSize: 3);
        Assert.Equal((3, true, 3L), (page.Entries.Count, page.More, page.ThroughVersion));
        var rest = await PullAsync(hub, page.ThroughVersion, pageSize: 3);
        Assert.Equal((2, false, 5L), (rest.Entries.Count, rest.More, rest.ThroughVersion));
        Assert.Empty((await PullAsync(hub, 5)).Entries);

        var events = await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 10, Ct);
        Assert.Equal(5, Assert.Single(events).DirectoryChanged.DirectoryVersion);

        var version = await admin.UpdateFacilityAsync(new FacilityChange("HUB-022", OrganSpecialties: [OrganSystem.SoftTissue, OrganSystem.Bone]), Ct);
        Assert.Equal(6, version);
        var changed = Assert.Single((await PullAsync(hub, 5)).Entries);
        Assert.Equal(("HUB-022", 6L), (changed.Facility.FacilityCode, changed.Facility.DirectoryVersion));
        Assert.Equal([OrganSystem.SoftTissue, OrganSystem.Bone], changed.Facility.OrganSpecialties);
        Assert.Equal(6, (await hub.Feed.ReadAfterAsync(HubStore.NodeId, 0, 10, Ct))[^1].DirectoryChanged.DirectoryVersion);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task EveryFacility_IsServed_ByItsOwnSpoke_ItsPrefecturesOrRegions_ElseTheNetworksFirst_UnlessAnAdministratorChose(HubStorageProvider provider)
    {
        var (hub, admin) = await CreateAsync(provider);
        await using var _ = hub;
        await admin.RepublishAsync(Ct);

        var facilities = await FacilitiesAsync(hub);
        Assert.All(facilities.Values, f => Assert.Equal(("spoke-test", "CORE-004"), (f.ServingNodeId, f.ServingFacilityCode)));

        // A spoke in Chiba (Kanto) and one in Osaka: Osaka's hospital passes to Osaka's spoke; Tokyo's stay with Tokyo's (same prefecture).
        await hub.ExecuteAsync(
            """
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-chiba', 'CORE-010', '2026-02-01T00:00:00.0000000Z');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-osaka', 'HUB-022', '2026-03-01T00:00:00.0000000Z');
            """);
        var before = await PullAsync(hub, 0);
        await admin.RepublishAsync(Ct);
        facilities = await FacilitiesAsync(hub);
        Assert.Equal("spoke-test", facilities["HUB-008"].ServingNodeId);
        Assert.Equal("spoke-chiba", facilities["CORE-010"].ServingNodeId);
        Assert.Equal("spoke-osaka", facilities["HUB-022"].ServingNodeId);
        Assert.Equal("spoke-test", facilities["CORE-001"].ServingNodeId);
        Assert.Equal(["CORE-010", "HUB-022"], (await PullAsync(hub, before.ThroughVersion)).Entries.Select(e => e.Facility.FacilityCode).Order());

        // The administrator's choice wins while that spoke is active; 'automatic' gives it back to the rule.
        await admin.UpdateFacilityAsync(new FacilityChange("CORE-001", ServedByNodeId: "spoke-osaka"), Ct);
        Assert.Equal(("spoke-osaka", "HUB-022"), ((await FacilitiesAsync(hub))["CORE-001"].ServingNodeId, (await FacilitiesAsync(hub))["CORE-001"].ServingFacilityCode));
        var heardByOsaka = (await hub.Feed.ReadAfterAsync("spoke-osaka", 0, 100, Ct)).Count;
        await hub.ExecuteAsync("UPDATE spoke_nodes SET revoked_at = '2026-04-01T00:00:00.0000000Z' WHERE node_id = 'spoke-osaka'");
        await admin.RepublishAsync(Ct);
        facilities = await FacilitiesAsync(hub);
        Assert.Equal("spoke-test", facilities["CORE-001"].ServingNodeId);
        Assert.Equal("spoke-test", facilities["HUB-022"].ServingNodeId);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => admin.UpdateFacilityAsync(new FacilityChange("CORE-001", ServedByNodeId: "spoke-osaka"), Ct));

        // The revoked spoke's feed hears nothing more; the active ones hear every change.
        Assert.Equal(heardByOsaka, (await hub.Feed.ReadAfterAsync("spoke-osaka", 0, 100, Ct)).Count);
        Assert.Equal(await admin.RepublishAsync(Ct), (await hub.Feed.ReadAfterAsync("spoke-chiba", 0, 100, Ct))[^1].DirectoryChanged.DirectoryVersion);
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Facilities_AreAdded_Updated_AndRetired_NeverDeleted(HubStorageProvider provider)
    {
        var (hub, admin) = await CreateAsync(provider);
        await using var _ = hub;

        var invalid = await Assert.ThrowsAsync<InvalidFieldsException>(() =>
            admin.AddFacilityAsync(new FacilityChange("hosp 1", "", FacilityDesignation.RareCancerCoreCenter, "Tokyo"), Ct));
        Assert.Equal(["designation", "facility_code", "name_ja"], invalid.Violations.Select(v => v.Field).Order());
        await Assert.ThrowsAsync<InvalidFieldsException>(() =>
            admin.AddFacilityAsync(new FacilityChange("HOSP-201", "新病院", FacilityDesignation.GenomicCooperative, "Tokyo"), Ct));

        await admin.AddFacilityAsync(new FacilityChange("HOSP-201", "札幌新病院", FacilityDesignation.GenomicCooperative, "北海道", [OrganSystem.Bone], RareCancerCoreCenter: true), Ct);
        var added = (await FacilitiesAsync(hub))["HOSP-201"];
        Assert.Equal(("札幌新病院", "Hokkaido", false), (added.NameJa, added.Region, added.Retired));
        Assert.Equal([FacilityDesignation.GenomicCooperative, FacilityDesignation.RareCancerCoreCenter], added.Designations);
        await Assert.ThrowsAsync<ConflictException>(() =>
            admin.AddFacilityAsync(new FacilityChange("HOSP-201", "別名", FacilityDesignation.GenomicHub, "北海道"), Ct));

        await admin.UpdateFacilityAsync(new FacilityChange("HOSP-201", Prefecture: "大阪府", RareCancerCoreCenter: false), Ct);
        var moved = (await FacilitiesAsync(hub))["HOSP-201"];
        Assert.Equal(("大阪府", "Kinki", "札幌新病院"), (moved.Prefecture, moved.Region, moved.NameJa));
        Assert.Equal([FacilityDesignation.GenomicCooperative], moved.Designations);
        Assert.Equal([OrganSystem.Bone], moved.OrganSpecialties);

        var runsSpoke = await Assert.ThrowsAsync<PreconditionFailedException>(() => admin.RetireFacilityAsync("CORE-004", Ct));
        Assert.Contains("spoke-test", runsSpoke.Message, StringComparison.Ordinal);
        await admin.RetireFacilityAsync("HOSP-201", Ct);
        Assert.True((await FacilitiesAsync(hub))["HOSP-201"].Retired);
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => admin.RetireFacilityAsync("NOPE-1", Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Trials_LoadWhole_ReloadReplaces_AndRetiredOnesStayReadable(HubStorageProvider provider)
    {
        var (hub, admin) = await CreateAsync(provider);
        await using var _ = hub;
        await admin.RepublishAsync(Ct);
        var trials = await TrialCatalogueFile.ParseAsync(await File.ReadAllTextAsync(TrialMatcherTests.ExampleTrialsPath(), Ct));

        // The examples name sites this small directory lacks: refused whole, each site by its path.
        var refused = await Assert.ThrowsAsync<InvalidFieldsException>(() => admin.LoadTrialsAsync(trials, Ct));
        Assert.Contains(refused.Violations, v => v.Field == "trials[0].sites[0]" && v.Description.Contains("CORE-011", StringComparison.Ordinal));
        await using (var connection = await hub.Database.OpenAsync(Ct))
        {
            Assert.Empty(await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, Ct));
        }

        foreach (var trial in trials)
        {
            trial.SiteFacilityCodes.Clear();
            trial.SiteFacilityCodes.Add("CORE-010");
        }
        var loaded = await admin.LoadTrialsAsync(trials, Ct);
        Assert.Equal(loaded, await admin.LoadTrialsAsync(trials, Ct));
        trials[1].Arms[2].Status = RecruitmentStatus.Closed;
        var reloaded = await admin.LoadTrialsAsync([trials[1]], Ct);
        Assert.Equal(loaded + 1, reloaded);
        await admin.RetireTrialAsync("jRCT2031990103", Ct);

        await using (var connection = await hub.Database.OpenAsync(Ct))
        {
            var published = (await DirectoryPublisher.ReadAsync(connection, DirectoryPublisher.TrialKind, Ct)).Select(e => e.Trial).ToList();
            Assert.Equal(4, published.Count);
            Assert.Equal(RecruitmentStatus.Closed, published[1].Arms[2].Status);
            Assert.Equal([false, false, true, false], published.Select(t => t.Retired));
        }
        await Assert.ThrowsAsync<ResourceNotFoundException>(() => admin.RetireTrialAsync("jRCT-none", Ct));
    }
}
