using System.Text.Json;
using Google.Protobuf;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The administrator's directory commands against a hub's store, and a spoke's directory and referral commands.</summary>
[Collection(NetworkCollection.Name)]
public sealed class DirectoryCommandLineTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Administrator_LoadsTrials_AddsUpdatesAndRetiresFacilities_AndAnInvalidFileChangesNothing()
    {
        using var folder = new TempFolder("rcn-directory-cli");
        string[] data = ["--data", folder.Sub("hub")];
        var loaded = await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "trials", "load", RepositoryRoot.File("docs", "examples", "trials.json"), .. data]);
        Assert.Contains("Loaded 4 trial(s)", loaded, StringComparison.Ordinal);

        var invalid = folder.Sub("invalid.json");
        await File.WriteAllTextAsync(invalid, """
            {"format": "rcn-trial-catalogue/1", "trials": [{"trial_id": "jRCT2031990199", "title": "t", "phase": "2", "status": "recruiting", "sites": ["CORE-011"],
              "arms": [{"arm_id": "A", "title": "a", "status": "recruiting", "eligibility": {"biomarkers": {"gene": "HER2", "alteration": "amplification"}}}]}]}
            """, Ct);
        var (exit, refused) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, ["directory", "trials", "load", invalid, .. data]);
        Assert.Equal(2, exit);
        Assert.Contains("Refused, nothing changed (1 error(s))", refused, StringComparison.Ordinal);
        Assert.Contains("trials[0].arms[0].eligibility.biomarkers.gene: HER2 is an alias of ERBB2", refused, StringComparison.Ordinal);
        Assert.DoesNotContain("jRCT2031990199", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "trials", "list", "--all", .. data]), StringComparison.Ordinal);

        await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "add", "--code", "HOSP-901", "--name", "旭川希少がんセンター", "--designation", "genomic_cooperative",
            "--prefecture", "北海道", "--specialty", "soft_tissue", "bone", .. data]);
        await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "update", "--code", "CORE-011", "--specialty", "soft_tissue", .. data]);
        var soft = await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "list", "--organ", "soft_tissue", .. data]);
        Assert.Contains("旭川希少がんセンター", soft, StringComparison.Ordinal);
        Assert.Contains("CORE-011", soft, StringComparison.Ordinal);
        Assert.Contains("2 facilities", soft, StringComparison.Ordinal);
        var (badExit, badPrefecture) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram,
            ["directory", "facility", "update", "--code", "HOSP-901", "--prefecture", "Hokkaido", .. data]);
        Assert.Equal(2, badExit);
        Assert.Contains("prefecture: 'Hokkaido' is not one of the 47 prefectures", badPrefecture, StringComparison.Ordinal);

        await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "retire", "--code", "HOSP-901", .. data]);
        Assert.DoesNotContain("HOSP-901", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "list", "--prefecture", "北海道", .. data]), StringComparison.Ordinal);
        Assert.Contains("(retired)", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "facility", "list", "--prefecture", "北海道", "--include-retired", .. data]),
            StringComparison.Ordinal);
        await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "trials", "retire", "--trial-id", "jRCT2031990103", .. data]);
        Assert.DoesNotContain("jRCT2031990103", await NodeProcess.RunAsync(NodeProcess.HubProgram, ["directory", "trials", "list", .. data]), StringComparison.Ordinal);
    }

    [Fact]
    public async Task HubStatus_ShowsWhatWaitsForAnExpert_AndFailsForMonitoringPastTheLimit()
    {
        // No expert of pediatric tumours is registered on this network: the case waits.
        var submission = Samples.Submission(organ: OrganSystem.Pediatric);
        await network.LocalA().SubmitConsultationAsync(submission, cancellationToken: Ct);
        await Eventually.UntilAsync(async () => (await network.LocalA().GetConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct))
            .Consultation.Timeline, steps => steps.Any(s => s.Kind == ConsultationStepKind.WaitingForExpert), "the wait at the spoke");

        // The command works on the hub's store, whichever it is (the suite runs once more with every hub on PostgreSQL).
        var store = network.Hub.StoreEnvironment();
        var (exit, status) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, store, "status", "--fail-after-days", "0");
        Assert.True(exit == 3, status);
        Assert.Contains("wait for an expert", status, StringComparison.Ordinal);
        Assert.Contains("pediatric:", status, StringComparison.Ordinal);
        // Each spoke as it last reported its synchronisation.
        await Eventually.UntilAsync(async () => (await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, store, "status")).Output,
            output => output.Contains("spoke-a", StringComparison.Ordinal), "spoke A in hub status");
        // The same for scripts: the exit code for monitoring, and each spoke with its versions and lags.
        var (jsonExit, jsonOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, store, "status", "--json", "--fail-after-days", "0");
        Assert.Equal(3, jsonExit);
        using var json = System.Text.Json.JsonDocument.Parse(jsonOutput[jsonOutput.IndexOf('{', StringComparison.Ordinal)..]);
        Assert.True(json.RootElement.GetProperty("waitingForAnExpert").GetProperty("count").GetInt32() >= 1);
        var spokeA = json.RootElement.GetProperty("spokes").EnumerateArray().Single(s => s.GetProperty("nodeId").GetString() == "spoke-a");
        Assert.Equal(RareCancerNetwork.Protos.Contract.ContractVersion.Current, spokeA.GetProperty("contractVersion").GetInt32());
        Assert.True(spokeA.GetProperty("auditForwardingLag").GetInt64() >= 0);
        var (_, waiting) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, store, "consultations", "waiting");
        Assert.Contains(submission.ConsultationId, waiting, StringComparison.Ordinal);
        Assert.Equal(0, (await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, store, "status", "--fail-after-days", "30")).ExitCode);
    }

    [Fact]
    public async Task Spoke_SearchesItsCopy_Matches_AndSendsAndFollowsAReferral()
    {
        await network.Hub.LoadExampleTrialsAsync();
        using var folder = new TempFolder("rcn-referral-cli");
        var client = await network.Hub.RegisterLocalClientAsync("spoke-a", $"cli-{Guid.CreateVersion7().ToString("N")[^8..]}");
        var profile = folder.Sub("profile.json");
        await File.WriteAllTextAsync(profile, JsonSerializer.Serialize(new { HubUrl = network.Hub.Url, HubCaCertificatePath = network.Hub.CaPath, client.ClientId, client.ClientSecret }), Ct);
        string[] local = ["--profile", profile, "--session", folder.Sub("no-session.json"), "--spoke-url", network.SpokeA.Url, "--spoke-ca", network.SpokeA.CaPath];

        var kanto = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["directory", "facilities", "--region", "Kanto", "--designation", "genomic_core", .. local]);
        Assert.Contains("国立がん研究センター中央病院", kanto, StringComparison.Ordinal);
        Assert.Contains("Directory version", kanto, StringComparison.Ordinal);
        await Eventually.UntilAsync(() => NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["directory", "trials", .. local]),
            output => output.Contains("jRCT2031990104", StringComparison.Ordinal), "the catalogue at the spoke");

        var record = RegistrySamples.Record(TestNetwork.FacilityA);
        await network.RegistryA().CreateRegistryRecordAsync(new() { LocalPatientId = "CLI-REF-1", Record = record }, cancellationToken: Ct);
        var matched = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["registry", "match", record.RecordId, .. local]);
        Assert.Contains("Eligible: 1", matched, StringComparison.Ordinal);
        Assert.Contains("NOT MET tumour_types", matched, StringComparison.Ordinal);

        var sent = await NodeProcess.RunAsync(NodeProcess.SpokeProgram,
            ["referral", "from-match", record.RecordId, "--trial", "jRCT2031990104", "--arm", "A", "--note", "外来日程を調整中", .. local]);
        var referralId = System.Text.RegularExpressions.Regex.Match(sent, "[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}").Value;
        Assert.NotEqual("", referralId);
        Assert.Contains(referralId, await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["referral", "list", "--outgoing", .. local]), StringComparison.Ordinal);
        var shown = JsonParser.Default.Parse<LocalReferral>(await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["referral", "show", referralId, "--json", .. local]));
        Assert.Equal(("CLI-REF-1", "jRCT2031990104", "外来日程を調整中"), (shown.LocalPatientId, shown.Referral.TrialMatch.TrialId, shown.Referral.Note));

        var cancelled = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, ["referral", "cancel", referralId, "--reason", "患者の希望", .. local]);
        Assert.Contains("CANCELLED", cancelled, StringComparison.Ordinal);
        var (exit, again) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, ["referral", "cancel", referralId, "--reason", "再度", .. local]);
        Assert.Equal(1, exit);
        Assert.Contains("FailedPrecondition", again, StringComparison.Ordinal);
        Assert.Contains("CANCELLED is final", again, StringComparison.Ordinal);
    }
}
