using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Grpc.AspNetCore.Server.Model;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Benchmarks;

/// <summary>
/// The machine's own limits, measured in the same run as the product: a plain gRPC echo over the same
/// TLS (the hub's certificate, the same Kestrel listener and client handler), and plain SQL inserts into
/// a database created by the hub's own migrations (same tables, indexes, triggers and pragmas).
/// </summary>
public static class RawLimits
{
    /// <summary>Unary echo of a small message, <paramref name="inFlight"/> at a time: calls/s and latencies.</summary>
    public static async Task<(double PerSecond, LatencyRecorder Latencies)> EchoAsync(string tlsFolder, int inFlight, TimeSpan duration)
    {
        await using var server = await RawServer.StartAsync(tlsFolder, _ => { });
        var invoker = server.Channel.CreateCallInvoker();
        var request = new byte[256];
        async Task CallAsync() => await invoker.AsyncUnaryCall(RawTransport.Call, null, new CallOptions(), request);
        // Warm-up (connections, JIT tiers), not counted.
        await ClosedLoop.RunAsync(inFlight, duration / 5, _ => CallAsync());
        return await ClosedLoop.RunAsync(inFlight, duration, _ => CallAsync());
    }

    /// <summary>
    /// The transport and the disk alone, for files: <paramref name="bytes"/> in 1 MiB messages over one client stream (TLS,
    /// the same listener), each written to a file as it arrives, with no hashing, no checks and no bookkeeping. MiB/s.
    /// </summary>
    public static async Task<double> StreamToDiskAsync(string tlsFolder, string folder, long bytes)
    {
        Directory.CreateDirectory(folder);
        var target = Path.Combine(folder, $"raw-stream-{Guid.CreateVersion7():N}");
        await using var server = await RawServer.StartAsync(tlsFolder, services => services.AddSingleton(new RawTransport.Disk(target)));
        var message = RandomNumberGenerator.GetBytes(1024 * 1024);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using (var call = server.Channel.CreateCallInvoker().AsyncClientStreamingCall(RawTransport.Store, null, new CallOptions()))
        {
            for (long sent = 0; sent < bytes; sent += message.Length)
            {
                await call.RequestStream.WriteAsync(message);
            }
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        }
        var rate = bytes / (1024.0 * 1024) / clock.Elapsed.TotalSeconds;
        File.Delete(target);
        return rate;
    }

    /// <summary>
    /// Registry rows as the hub stores a delivered version (the current-version row and the version row),
    /// 1,000 records per transaction, with prepared statements, into one database filled in rounds like the
    /// product's: records per second of each round (the last at the highest fill).
    /// </summary>
    public static async Task<IReadOnlyList<double>> BatchedRegistryInsertsAsync(string folder, int records, int rounds)
    {
        var database = (await HubSchemaAsync(folder)).Database;
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var current = Prepare(connection, null, CurrentSql);
        await using var version = Prepare(connection, null, VersionSql);
        var rates = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            var samples = SampleRows(records / rounds);
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var batch in samples.Chunk(1_000))
            {
                await using var transaction = connection.BeginTransaction();
                current.Transaction = transaction;
                version.Transaction = transaction;
                foreach (var row in batch)
                {
                    await InsertAsync(current, version, row);
                }
                await transaction.CommitAsync();
            }
            rates.Add(samples.Count / clock.Elapsed.TotalSeconds);
        }
        return rates;
    }

    /// <summary>One registry record per transaction, with the hub's synchronous=FULL: durable commits per second.</summary>
    public static async Task<double> SingleRowCommitsAsync(string folder, TimeSpan duration)
    {
        var database = (await HubSchemaAsync(folder)).Database;
        await using var connection = await database.OpenAsync(CancellationToken.None);
        var samples = SampleRows(50_000);
        await using var current = Prepare(connection, null, CurrentSql);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var count = 0;
        while (clock.Elapsed < duration && count < samples.Count)
        {
            await using var transaction = connection.BeginTransaction();
            current.Transaction = transaction;
            current.Parameters["$id"].Value = samples[count].Id;
            current.Parameters["$pseudonym"].Value = samples[count].Pseudonym;
            await current.ExecuteNonQueryAsync();
            await transaction.CommitAsync();
            count++;
        }
        return count / clock.Elapsed.TotalSeconds;
    }

    private const string CurrentSql =
        """
        INSERT INTO registry_records (record_id, spoke_node_id, facility_code, patient_pseudonym, version, enrolment_date, category, prefecture, secondary_use, updated_at)
        VALUES ($id, 'spoke-bench', 'CORE-004', $pseudonym, 1, '2025-04-10', 3, '東京都', 1, $now)
        """;

    private const string VersionSql =
        "INSERT INTO registry_record_versions (record_id, version, content_sha256, record, received_at) VALUES ($id, 1, $sha256, $record, $now)";

    internal sealed record Row(string Id, string Pseudonym, byte[] Bytes, string Sha256);

    internal static List<Row> SampleRows(int count) => [.. Enumerable.Range(0, count).Select(_ =>
    {
        var record = RegistrySamples.Record();
        var bytes = record.ToByteArray();
        return new Row(record.RecordId, Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), bytes, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    })];

    private static SqliteCommand Prepare(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var name in new[] { "$id", "$pseudonym", "$record", "$now", "$sha256" }.Where(sql.Contains))
        {
            command.Parameters.Add(new SqliteParameter(name, name == "$now" ? DateTimeOffset.UtcNow.ToDbText() : ""));
        }
        command.Prepare();
        return command;
    }

    private static async Task InsertAsync(SqliteCommand current, SqliteCommand version, Row row)
    {
        current.Parameters["$id"].Value = row.Id;
        current.Parameters["$pseudonym"].Value = row.Pseudonym;
        await current.ExecuteNonQueryAsync();
        version.Parameters["$id"].Value = row.Id;
        version.Parameters["$sha256"].Value = row.Sha256;
        version.Parameters["$record"].Value = row.Bytes;
        await version.ExecuteNonQueryAsync();
    }

    /// <summary>A database made by the hub's migrations, with the facility, prefecture and node the rows name.</summary>
    internal static async Task<SqliteHubDatabase> HubSchemaAsync(string folder)
    {
        Directory.CreateDirectory(folder);
        var hub = new SqliteHubDatabase(Path.Combine(folder, $"raw-{Guid.CreateVersion7():N}.db"));
        await hub.MigrateAsync(CancellationToken.None);
        await using var connection = await hub.Database.OpenAsync(CancellationToken.None);
        await using var seed = connection.CreateCommand();
        seed.CommandText =
            """
            INSERT INTO prefectures VALUES ('東京都', 'Kanto', '13');
            INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES ('CORE-004', '東京大学医学部附属病院', 1, '東京都', 'Kanto');
            INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES ('spoke-bench', 'CORE-004', '2026-01-01T00:00:00.0000000Z');
            """;
        await seed.ExecuteNonQueryAsync();
        return hub;
    }

    /// <summary>The benchmark's own throwaway gRPC server: the hub's listener settings and TLS, and a channel to it.</summary>
    private sealed class RawServer : IAsyncDisposable
    {
        private RawServer(WebApplication app, GrpcChannel channel) => (App, Channel) = (app, channel);

        private WebApplication App { get; }

        public GrpcChannel Channel { get; }

        public static async Task<RawServer> StartAsync(string tlsFolder, Action<IServiceCollection> services)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.Services.AddGrpc(grpc => grpc.MaxReceiveMessageSize = 4 * 1024 * 1024);
            builder.Services.AddSingleton<IServiceMethodProvider<RawTransport>, RawTransport.Methods>();
            services(builder.Services);
            var tls = DevelopmentCertificates.EnsureCreated(tlsFolder, "Rare Cancer Network hub");
            builder.WebHost.ConfigureKestrel(kestrel => NodeListener.Listen(kestrel, ["https://127.0.0.1:0"], DevelopmentCertificates.LoadServerCertificate(tls.ServerPfxPath)));
            var app = builder.Build();
            app.MapGrpcService<RawTransport>();
            await app.StartAsync();
            var channel = GrpcChannel.ForAddress(NodeListener.BoundAddresses(app)[0],
                new GrpcChannelOptions { HttpHandler = RareCancerNetwork.HubClient.PinnedCaTrust.FromFile(tls.CaCertificatePath).CreateHandler() });
            return new RawServer(app, channel);
        }

        public async ValueTask DisposeAsync()
        {
            Channel.Dispose();
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    /// <summary>
    /// The transport alone: one unary method that returns the bytes it received, bound by hand on the benchmark's
    /// own throwaway server. It is no contract of the network (no .proto, no node serves it), so it has no place in
    /// the authorization table.
    /// </summary>
    public sealed class RawTransport
    {
        private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(bytes => bytes, bytes => bytes);

        public static readonly Method<byte[], byte[]> Call = new(MethodType.Unary, "rawlimit.Transport", "Return", Bytes, Bytes);

        public static readonly Method<byte[], byte[]> Store = new(MethodType.ClientStreaming, "rawlimit.Transport", "Store", Bytes, Bytes);

        /// <summary>Where the raw stream writes.</summary>
        public sealed record Disk(string Path);

        public sealed class Methods(IServiceProvider services) : IServiceMethodProvider<RawTransport>
        {
            public void OnServiceMethodDiscovery(ServiceMethodProviderContext<RawTransport> context)
            {
                context.AddUnaryMethod(Call, [], (_, request, _) => Task.FromResult(request));
                context.AddClientStreamingMethod(Store, [], async (_, requests, call) =>
                {
                    // The same lift of the per-call body limit the product's uploads make.
                    if (call.GetHttpContext().Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit)
                    {
                        limit.MaxRequestBodySize = null;
                    }
                    await using var file = new FileStream(services.GetRequiredService<Disk>().Path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 0);
                    while (await requests.MoveNext(call.CancellationToken))
                    {
                        await file.WriteAsync(requests.Current, call.CancellationToken);
                    }
                    return [];
                });
            }
        }
    }

    /// <summary>
    /// The plain SQL behind the registry figures of the statistics query set, on the hub's own rows (its database file, read
    /// while the hub idles): each GROUP BY once per round, with nothing around it — no dimensions joined that the figure
    /// does not show, no protection, no twins. Milliseconds per query set.
    /// </summary>
    public static async Task<double[]> StatisticsGroupByAsync(string hubDatabasePath, int rounds)
    {
        string[] queries =
        [
            "SELECT enrolment_month, category, COUNT(*) FROM registry_record_facts GROUP BY 1, 2",
            "SELECT t.ordered_month, COALESCE(f.designation, 0), COUNT(*) FROM registry_panel_test_facts t LEFT JOIN facilities f ON f.facility_code = t.performing_facility_code GROUP BY 1, 2",
            "SELECT COALESCE(f.designation, 0), SUM(CASE WHEN t.genomic_consent IN (1, 2) THEN 1 ELSE 0 END), SUM(CASE WHEN t.genomic_consent = 1 THEN 1 ELSE 0 END) FROM registry_panel_test_facts t LEFT JOIN facilities f ON f.facility_code = t.performing_facility_code GROUP BY 1",
            "SELECT SUM(panel_tested), SUM(actionable), SUM(recommended), SUM(reached) FROM registry_record_facts",
            "SELECT b.gene, b.alteration_type, COUNT(*) FROM registry_biomarker_facts b JOIN registry_record_facts rf ON rf.record_id = b.record_id WHERE rf.panel_tested = 1 GROUP BY 1, 2",
        ];
        await using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = hubDatabasePath, Mode = SqliteOpenMode.ReadOnly }.ToString());
        await connection.OpenAsync();
        var times = new double[rounds];
        for (var round = 0; round < rounds; round++)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            foreach (var sql in queries)
            {
                await using var command = connection.CreateCommand();
                command.CommandText = sql;
                await using var reader = await command.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                }
            }
            times[round] = clock.Elapsed.TotalMilliseconds;
        }
        return times;
    }
}

/// <summary>Diagnostics: the hub's registry store alone, without RPC, to locate where a delivery's time goes.</summary>
public static class StoreDiagnostics
{
    public static async Task<double> HubStoreAloneAsync(string folder, int records)
    {
        var hub = await RawLimits.HubSchemaAsync(folder);
        var store = new RareCancerNetwork.Hub.Registry.RegistryStore(hub, new RareCancerNetwork.Hub.Feed.EventFeed(hub), TimeProvider.System);
        var batches = Enumerable.Range(0, records / 500).Select(_ => Enumerable.Range(0, 500).Select(_ => RegistrySamples.Record()).ToList()).ToList();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        foreach (var batch in batches)
        {
            await store.DeliverAsync("spoke-bench", batch, CancellationToken.None);
        }
        return records / clock.Elapsed.TotalSeconds;
    }

}
