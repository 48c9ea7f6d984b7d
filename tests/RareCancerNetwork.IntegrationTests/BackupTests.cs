using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Backups of a running spoke (the command line against its live store), encrypted, in generations; a restore of an
/// older one than the hub's state, and the restored spoke re-synchronising: nothing lost, nothing doubled.
/// </summary>
public sealed class BackupTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task BackupsWhileWriting_KeepGenerations_AndAnOlderRestoreResyncsWithoutLossOrDuplication()
    {
        using var folder = new TempFolder("rcn-backup");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-backup", "CORE-010", folder.Sub("spoke"));
        var localClient = await hub.RegisterLocalClientAsync("spoke-backup", "pathology");
        var passphrase = folder.Sub("passphrase.txt");
        await File.WriteAllTextAsync(passphrase, "correct horse battery staple 希少がん\n", Ct);
        var wrongPassphrase = folder.Sub("wrong.txt");
        await File.WriteAllTextAsync(wrongPassphrase, "not the passphrase at all\n", Ct);
        var backups = folder.Sub("backups");
        string[] Backup() => ["backup", "--data", folder.Sub("spoke"), "--to", backups, "--passphrase-file", passphrase, "--keep", "2"];

        var records = Enumerable.Range(0, 240).Select(_ => RegistrySamples.Record("CORE-010")).ToList();
        await using (var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-backup", "CORE-010", node))
        {
            var registry = new LocalRegistryService.LocalRegistryServiceClient(Clients.Channel(spoke.Url, spoke.CaPath,
                await Clients.TokenAsync(hub.Url, hub.CaPath, localClient, NetworkClaims.Scopes.Local)));
            // Records are written and delivered while three backups are taken of the live store (ten at a time, within the
            // local API's rate budget).
            var writing = Task.Run(async () =>
            {
                foreach (var chunk in records.Select((record, i) => new ImportedRecord { LocalPatientId = $"BACKUP-{i:D4}", Record = record }).Chunk(10))
                {
                    var import = new ImportRegistryRecordsRequest();
                    import.Records.AddRange(chunk);
                    await registry.ImportRegistryRecordsAsync(import, cancellationToken: Ct);
                    await Task.Delay(50, Ct);
                }
            }, Ct);
            for (var generation = 0; generation < 3; generation++)
            {
                await Eventually.UntilAsync(async () => (await registry.ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records.Count,
                    n => n >= 40 * (generation + 1), "more records written");
                var (exit, output) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, Backup());
                Assert.True(exit == 0, output);
                await Task.Delay(1_100, Ct);
            }
            await writing;
            await Eventually.UntilAsync(() => HubCountAsync(hub, "registry_records", records), n => n == records.Count, "every record at the hub");
        }
        var generations = Directory.GetFiles(backups, "rcn-spoke-*.tar.pgp").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(2, generations.Count);
        Assert.DoesNotContain("BACKUP-0000", await File.ReadAllTextAsync(generations[0], Ct), StringComparison.Ordinal);

        // The older kept generation, restored into a fresh folder: the wrong passphrase is refused, the right one works.
        var restored = folder.Sub("restored");
        var (wrongExit, wrongOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram,
            "restore", "--from", generations[0], "--data", restored, "--passphrase-file", wrongPassphrase);
        Assert.Equal(2, wrongExit);
        Assert.Contains("wrong passphrase", wrongOutput, StringComparison.Ordinal);
        var (restoreExit, restoreOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram,
            "restore", "--from", generations[0], "--data", restored, "--passphrase-file", passphrase);
        Assert.True(restoreExit == 0, restoreOutput);

        // The restored spoke, behind the hub: it sends again what it thinks pending, the hub recognises each version, and the
        // spoke learns they were delivered. The hub keeps every record once, the ones after the backup included.
        await using (var spoke = await SpokeNode.StartAsync(restored, hub.Url, hub.CaPath, "spoke-backup", "CORE-010", node))
        {
            var registry = new LocalRegistryService.LocalRegistryServiceClient(Clients.Channel(spoke.Url, spoke.CaPath,
                await Clients.TokenAsync(hub.Url, hub.CaPath, localClient, NetworkClaims.Scopes.Local)));
            var atSpoke = await Eventually.UntilAsync(async () => (await registry.ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records,
                listed => listed.Count > 0 && listed.All(r => r.SyncState == RegistrySyncState.Synchronised), "the restored records synchronised");
            Assert.True(atSpoke.Count < records.Count, "the backup was not older than the hub's state");
        }
        Assert.Equal(records.Count, await HubCountAsync(hub, "registry_records", records));
        Assert.Equal(records.Count, await HubCountAsync(hub, "registry_record_versions", records));
    }

    private static Task<long> HubCountAsync(HubNode hub, string table, List<RegistryRecord> records) =>
        hub.CountAsync(table, "record_id", [.. records.Select(r => r.RecordId)]);
}
