using Microsoft.Extensions.DependencyInjection;
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

    /// <summary>
    /// The hub restored from a backup loses what it acknowledged after it. 'hub restored' asks every spoke, with its next status
    /// report, to send that again: afterwards the hub holds every record and consultation exactly once, and the spoke's feed goes on.
    /// </summary>
    [Fact]
    public async Task AHubRestoredFromABackup_GetsBackWhatTheSpokeDeliveredAfterIt_ExactlyOnce()
    {
        using var folder = new TempFolder("rcn-hub-restore");
        var hubFolder = folder.Sub("hub");
        var hub = await HubNode.StartAsync(hubFolder, extra: HubNode.EmbeddedStore);
        await using var link = new TcpRelay(hub.Port);
        var node = await hub.RegisterSpokeAsync("spoke-restore", "CORE-010", folder.Sub("spoke"));
        var localClient = await hub.RegisterLocalClientAsync("spoke-restore", "pathology");
        await hub.Services.GetRequiredService<RareCancerNetwork.Hub.Identity.UserAccounts>().AddAsync("ops-admin", "運用 管理者",
            NetworkClaims.Roles.Administrator, "CORE-004", null, "a long administrator password 1", enableTotp: false, Ct);
        var passphrase = folder.Sub("passphrase.txt");
        await File.WriteAllTextAsync(passphrase, "hub backup passphrase 中央\n", Ct);
        var before = Enumerable.Range(0, 30).Select(_ => RegistrySamples.Record("CORE-010")).ToList();
        var after = Enumerable.Range(0, 30).Select(_ => RegistrySamples.Record("CORE-010")).ToList();
        var all = before.Concat(after).ToList();
        var submission = Samples.Submission();
        try
        {
            await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), link.Url, hub.CaPath, "spoke-restore", "CORE-010", node,
                extra: new Dictionary<string, string?> { ["Spoke:Delivery:StatusReportSeconds"] = "1" });
            var channel = Clients.Channel(spoke.Url, spoke.CaPath, await Clients.TokenAsync(link.Url, hub.CaPath, localClient, NetworkClaims.Scopes.Local));
            var registry = new LocalRegistryService.LocalRegistryServiceClient(channel);
            async Task ImportAsync(List<RegistryRecord> records, string prefix)
            {
                var import = new ImportRegistryRecordsRequest();
                import.Records.AddRange(records.Select((record, i) => new ImportedRecord { LocalPatientId = $"{prefix}-{i:D3}", Record = record }));
                await registry.ImportRegistryRecordsAsync(import, cancellationToken: Ct);
            }
            await ImportAsync(before, "BEFORE");
            await Eventually.UntilAsync(() => HubCountAsync(hub, "registry_records", before), n => n == before.Count, "the first records at the hub");

            // The backup (the hub serving), then more records and a consultation, all acknowledged by the hub.
            var restoredTo = DateTimeOffset.UtcNow;
            await NodeProcess.RunAsync(NodeProcess.HubProgram, "backup", "--data", hubFolder, "--to", folder.Sub("backups"), "--passphrase-file", passphrase);
            await ImportAsync(after, "AFTER");
            await new LocalConsultationService.LocalConsultationServiceClient(channel).SubmitConsultationAsync(submission, cancellationToken: Ct);
            await Eventually.UntilAsync(() => HubCountAsync(hub, "registry_records", all), n => n == all.Count, "every record at the hub");
            await Eventually.UntilAsync(() => hub.CountAsync("consultations", "consultation_id", submission.ConsultationId), n => n == 1, "the consultation at the hub");
            var cursorBefore = await spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Feed.FeedStore>().CursorAsync(Ct);
            Assert.True(cursorBefore > 0, "the spoke read no feed event");

            // The hub is lost and restored from the backup: the later records and the consultation are gone from it.
            await hub.DisposeAsync();
            // As when the hub's process ends: no connection of this process keeps the old files open.
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            var backup = Assert.Single(Directory.GetFiles(folder.Sub("backups")));
            await NodeProcess.RunAsync(NodeProcess.HubProgram, "restore", "--data", hubFolder, "--from", backup, "--passphrase-file", passphrase, "--replace");
            var (refusedExit, refusedOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, "restored", "--data", hubFolder,
                "--restored-to", restoredTo.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "--by", "someone-else");
            Assert.Equal(2, refusedExit);
            Assert.Contains("not an active administrator", refusedOutput, StringComparison.Ordinal);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, "restored", "--data", hubFolder,
                "--restored-to", restoredTo.ToString("O", System.Globalization.CultureInfo.InvariantCulture), "--by", "ops-admin");
            hub = await HubNode.StartAsync(hubFolder, extra: HubNode.EmbeddedStore);
            Assert.Equal(before.Count, await HubCountAsync(hub, "registry_records", all));
            Assert.Equal(0, await hub.CountAsync("consultations", "consultation_id", submission.ConsultationId));
            link.Route(hub.Port);

            // The spoke's next report brings the request: what it delivered since is sent again, and the hub holds everything once.
            await Eventually.UntilAsync(() => HubCountAsync(hub, "registry_records", all), n => n == all.Count, "every record at the restored hub",
                TimeSpan.FromMinutes(2));
            await Eventually.UntilAsync(() => hub.CountAsync("consultations", "consultation_id", submission.ConsultationId), n => n == 1,
                "the consultation at the restored hub");
            await Eventually.UntilAsync(async () => (await registry.ListRegistryRecordsAsync(new() { PageSize = 200 }, cancellationToken: Ct)).Records,
                listed => listed.Count == all.Count && listed.All(r => r.SyncState == RegistrySyncState.Synchronised), "every record synchronised at the spoke");
            Assert.Equal(all.Count, await HubCountAsync(hub, "registry_records", all));
            Assert.Equal(all.Count, await HubCountAsync(hub, "registry_record_versions", all));
            // New events reach the spoke: its feed was moved past what it had read from the lost part.
            var assigned = await Eventually.UntilAsync(
                async () => (await new LocalConsultationService.LocalConsultationServiceClient(channel).GetConsultationAsync(
                    new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct)).Consultation,
                c => c.DeliveryState == DeliveryState.Delivered, "the consultation delivered again");
            Assert.Equal(DeliveryState.Delivered, assigned.DeliveryState);
            await Eventually.UntilAsync(() => spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Feed.FeedStore>().CursorAsync(Ct),
                cursor => cursor > RareCancerNetwork.Hub.Sync.HubRestores.FeedSequenceGap, "a new event from the restored hub applied");
            // Nothing left waiting or parked (the audit entries of the reads above included); the request is acted on once.
            var outbox = spoke.Services.GetRequiredService<RareCancerNetwork.Spoke.Outbox.OutboxStore>();
            await Eventually.UntilAsync(() => outbox.StatusAsync(Ct), s => s.Pending == 0 && s.Parked.Count == 0, "the outbox empty");
            var restores = hub.Services.GetRequiredService<RareCancerNetwork.Hub.Sync.HubRestores>();
            var request = Assert.Single(await restores.ListAsync("spoke-restore", Ct));
            Assert.Null(await outbox.RedeliverAsync(request, Ct));
            // A spoke registered after the restore has nothing to send again for it.
            await hub.RegisterSpokeAsync("spoke-after-restore", "CORE-011", folder.Sub("later"));
            Assert.Empty(await restores.ListAsync("spoke-after-restore", Ct));
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    /// <summary>
    /// A hub on PostgreSQL backed up while it serves (pg_dump inside the same encrypted archive with the keys folder), and restored
    /// with pg_restore in one transaction: the database is as it was at the backup, and the hub starts on it.
    /// </summary>
    [Fact]
    public async Task AHubOnPostgres_IsBackedUpWithPgDump_AndRestoredAsItWas()
    {
        var connectionString = await (await RareCancerNetwork.Tests.Shared.PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        var onPostgres = new Dictionary<string, string?> { ["Hub:Storage:Provider"] = "Postgres", ["Hub:Storage:ConnectionString"] = connectionString };
        using var folder = new TempFolder("rcn-pg-backup");
        var hubFolder = folder.Sub("hub");
        var passphrase = folder.Sub("passphrase.txt");
        await File.WriteAllTextAsync(passphrase, "postgres backup passphrase 希少がん\n", Ct);
        var hub = await HubNode.StartAsync(hubFolder, extra: onPostgres);
        try
        {
            await hub.RegisterSpokeAsync("spoke-before", "CORE-010", folder.Sub("before"));
            var environment = hub.StoreEnvironment();
            var backup = await NodeProcess.RunAsync(NodeProcess.HubProgram, environment, "backup", "--to", folder.Sub("backups"), "--passphrase-file", passphrase);
            Assert.Contains("Backed up", backup, StringComparison.Ordinal);
            Assert.DoesNotContain(connectionString, backup, StringComparison.Ordinal);
            await hub.RegisterSpokeAsync("spoke-after", "CORE-011", folder.Sub("after"));
            await hub.DisposeAsync();
            Npgsql.NpgsqlConnection.ClearAllPools();

            var file = Assert.Single(Directory.GetFiles(folder.Sub("backups"), "rcn-hub-*.tar.pgp"));
            var (refusedExit, refused) = await NodeProcess.RunForExitCodeAsync(NodeProcess.HubProgram, environment, "restore", "--from", file,
                "--passphrase-file", passphrase);
            Assert.Equal(2, refusedExit);
            Assert.Contains("pass --replace", refused, StringComparison.Ordinal);
            await NodeProcess.RunAsync(NodeProcess.HubProgram, environment, "restore", "--from", file, "--passphrase-file", passphrase, "--replace");

            hub = await HubNode.StartAsync(hubFolder, extra: onPostgres);
            Assert.Equal(1, await hub.CountAsync("spoke_nodes", "node_id", "spoke-before"));
            Assert.Equal(0, await hub.CountAsync("spoke_nodes", "node_id", "spoke-after"));
            // The restored hub works on its store again.
            await hub.RegisterSpokeAsync("spoke-again", "CORE-001", folder.Sub("again"));
            Assert.Equal(1, await hub.CountAsync("spoke_nodes", "node_id", "spoke-again"));
        }
        finally
        {
            await hub.DisposeAsync();
        }
    }

    /// <summary>
    /// A backup sealed for two operators' OpenPGP certificates made with gpg (RSA, and Curve25519), no passphrase: our restore opens
    /// it with either's secret key, gpg opens it too, and nothing else does.
    /// </summary>
    [Fact]
    public async Task ABackupSealedForOperatorsCertificates_OpensWithEitherSecretKey_InGpgToo_AndWithNothingElse()
    {
        var gpg = GpgPath();
        using var folder = new TempFolder("rcn-backup-cert");
        var data = folder.Sub("spoke");
        var options = new RareCancerNetwork.Spoke.SpokeOptions { DataFolder = data };
        Directory.CreateDirectory(options.KeysFolder);
        await File.WriteAllTextAsync(Path.Combine(options.KeysFolder, "pseudonymisation.key"), "鍵の内容", Ct);
        await using (var store = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={options.DatabasePath};Pooling=False"))
        {
            await store.OpenAsync(Ct);
            await using var create = store.CreateCommand();
            create.CommandText = "CREATE TABLE notes (text TEXT); INSERT INTO notes VALUES ('平滑筋肉腫の相談');";
            await create.ExecuteNonQueryAsync(Ct);
        }
        var keyPassphrase = folder.Sub("key-passphrase.txt");
        await File.WriteAllTextAsync(keyPassphrase, "operator key passphrase 鍵\n", Ct);
        // gpg starts an agent per home folder: stopped at the end, whatever happens.
        using var agents = new GpgAgents(folder.Sub("gpg-a"), folder.Sub("gpg-b"), folder.Sub("gpg-c"));
        var operatorA = await GpgKeyAsync(gpg, folder.Sub("gpg-a"), "Backup Operator A <backup-a@example.jp>", "rsa3072", keyPassphrase);
        var operatorB = await GpgKeyAsync(gpg, folder.Sub("gpg-b"), "Backup Operator B <backup-b@example.jp>", "future-default", keyPassphrase);
        var stranger = await GpgKeyAsync(gpg, folder.Sub("gpg-c"), "Someone Else <someone@example.jp>", "rsa3072", keyPassphrase);

        var backups = folder.Sub("backups");
        var backup = await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "backup", "--data", data, "--to", backups,
            "--recipient-cert", operatorA.Certificate, "--recipient-cert", operatorB.Certificate);
        Assert.DoesNotContain("the passphrase", backup, StringComparison.Ordinal);
        var file = Assert.Single(Directory.GetFiles(backups, "rcn-spoke-*.tar.pgp"));

        // Restored with B's secret key (Curve25519) by our command; the store and keys come back exactly.
        var restored = folder.Sub("restored");
        await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "restore", "--from", file, "--data", restored,
            "--secret-key", operatorB.SecretKey, "--secret-key-passphrase-file", keyPassphrase);
        var restoredOptions = new RareCancerNetwork.Spoke.SpokeOptions { DataFolder = restored };
        Assert.Equal("鍵の内容", await File.ReadAllTextAsync(Path.Combine(restoredOptions.KeysFolder, "pseudonymisation.key"), Ct));
        await using (var store = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={restoredOptions.DatabasePath};Pooling=False"))
        {
            await store.OpenAsync(Ct);
            await using var read = store.CreateCommand();
            read.CommandText = "SELECT text FROM notes";
            Assert.Equal("平滑筋肉腫の相談", await read.ExecuteScalarAsync(Ct));
        }
        // gpg opens it with A's key (an operator needs nothing of ours to get the data back).
        var clear = folder.Sub("clear.tar");
        var (gpgExit, gpgOutput) = await RunAsync(gpg, "--homedir", operatorA.Home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", keyPassphrase,
            "--output", clear, "--decrypt", file);
        Assert.True(gpgExit == 0, gpgOutput);
        Assert.True(new FileInfo(clear).Length > 0);

        // A stranger's key, a passphrase, a wrong key passphrase: refused, saying why.
        var (strangerExit, strangerOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, "restore", "--from", file, "--data", folder.Sub("r2"),
            "--secret-key", stranger.SecretKey, "--secret-key-passphrase-file", keyPassphrase);
        Assert.Equal(2, strangerExit);
        Assert.Contains("none of this backup's recipients", strangerOutput, StringComparison.Ordinal);
        var passphrase = folder.Sub("passphrase.txt");
        await File.WriteAllTextAsync(passphrase, "a passphrase of some length\n", Ct);
        var (passphraseExit, passphraseOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, "restore", "--from", file, "--data", folder.Sub("r3"),
            "--passphrase-file", passphrase);
        Assert.Equal(2, passphraseExit);
        Assert.Contains("not encrypted with a passphrase", passphraseOutput, StringComparison.Ordinal);
        var (wrongKeyExit, wrongKeyOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, "restore", "--from", file, "--data", folder.Sub("r4"),
            "--secret-key", operatorA.SecretKey, "--secret-key-passphrase-file", passphrase);
        Assert.Equal(2, wrongKeyExit);
        Assert.Contains("could not be decrypted", wrongKeyOutput, StringComparison.Ordinal);
        // Nothing to seal it with: refused before anything is written.
        var (unsealedExit, unsealedOutput) = await NodeProcess.RunForExitCodeAsync(NodeProcess.SpokeProgram, "backup", "--data", data, "--to", folder.Sub("none"));
        Assert.Equal(2, unsealedExit);
        Assert.Contains("never written unencrypted", unsealedOutput, StringComparison.Ordinal);
        Assert.False(Directory.Exists(folder.Sub("none")) && Directory.EnumerateFileSystemEntries(folder.Sub("none")).Any());
    }

    private sealed record GpgKey(string Home, string Certificate, string SecretKey);

    private sealed class GpgAgents(params string[] homes) : IDisposable
    {
        public void Dispose()
        {
            foreach (var home in homes.Where(Directory.Exists))
            {
                using var kill = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("gpgconf", ["--homedir", home, "--kill", "all"])
                {
                    RedirectStandardOutput = true, RedirectStandardError = true,
                });
                kill?.WaitForExit(10_000);
            }
        }
    }

    /// <summary>A key made as an operator would make it, exported as the certificate and the (passphrase-protected) secret key.</summary>
    private static async Task<GpgKey> GpgKeyAsync(string gpg, string home, string userId, string algorithm, string passphraseFile)
    {
        Directory.CreateDirectory(home);
        if (!OperatingSystem.IsWindows())
        {
            // gpg wants its home folder private.
            File.SetUnixFileMode(home, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        string[] batch = ["--homedir", home, "--batch", "--pinentry-mode", "loopback", "--passphrase-file", passphraseFile];
        var (exit, output) = await RunAsync(gpg, [.. batch, "--quick-gen-key", userId, algorithm, "default", "never"]);
        Assert.True(exit == 0, output);
        if (algorithm.StartsWith("rsa", StringComparison.Ordinal))
        {
            // An RSA primary key from --quick-gen-key signs only: add the encryption subkey, as gpg's interactive default does.
            var (listExit, fingerprints) = await RunAsync(gpg, "--homedir", home, "--batch", "--with-colons", "--list-keys", userId);
            Assert.True(listExit == 0, fingerprints);
            var fingerprint = fingerprints.Split('\n').First(line => line.StartsWith("fpr:", StringComparison.Ordinal)).Split(':')[9];
            (exit, output) = await RunAsync(gpg, [.. batch, "--quick-add-key", fingerprint, algorithm, "encr", "never"]);
            Assert.True(exit == 0, output);
        }
        var certificate = Path.Combine(home, "certificate.asc");
        var secretKey = Path.Combine(home, "secret.asc");
        (exit, output) = await RunAsync(gpg, "--homedir", home, "--batch", "--armor", "--output", certificate, "--export", userId);
        Assert.True(exit == 0, output);
        (exit, output) = await RunAsync(gpg, [.. batch, "--armor", "--output", secretKey, "--export-secret-keys", userId]);
        Assert.True(exit == 0, output);
        return new GpgKey(home, certificate, secretKey);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        var info = new System.Diagnostics.ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        using var process = System.Diagnostics.Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromMinutes(2), Ct);
        return (process.ExitCode, await output + await error);
    }

    /// <summary>Debian's gpg (installed by .ci/run); under CI its absence fails the test instead of skipping it.</summary>
    private static string GpgPath()
    {
        var path = new[] { "/usr/bin/gpg", "/bin/gpg" }.FirstOrDefault(File.Exists);
        if (path is null)
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
                "CI must run the backup certificate test: install Debian's gnupg (apt-get install gnupg)");
            Assert.Skip("gpg is not installed (sudo apt-get install gnupg); the backup certificate test needs it to make operators' keys.");
        }
        return path;
    }

    private static Task<long> HubCountAsync(HubNode hub, string table, List<RegistryRecord> records) =>
        hub.CountAsync(table, "record_id", [.. records.Select(r => r.RecordId)]);
}
