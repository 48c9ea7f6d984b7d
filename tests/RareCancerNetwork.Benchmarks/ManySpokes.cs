using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Client;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Benchmarks;

/// <summary>
/// Many spokes with their event feeds open on the hub: each registered as a spoke node (its own certificate and
/// certificate-bound token), each subscribed on its own TLS connection, from a second process so that the benchmark's
/// process holds the hub (and its one full spoke) and not the subscribers. A directory change is announced to every
/// spoke's feed; each event's latency runs from the start of the change to its arrival at the subscriber.
/// </summary>
public sealed class ManySpokes(BenchmarkNetwork network, Action<string> progress)
{
    public sealed record Result(Figure LatencyP99, Figure MemoryMiB, double MemoryBeforeMiB, bool Verified, int Spokes);

    private string _changedFacility = "";

    public async Task<Result> RunAsync(int spokes, int rounds, string folder)
    {
        Directory.CreateDirectory(folder);
        var manifest = Path.Combine(folder, "spokes.tsv");
        await RegisterAsync(spokes, folder, manifest);
        GC.Collect();
        double before;
        using (var self = Process.GetCurrentProcess())
        {
            before = self.WorkingSet64 / (1024.0 * 1024);
        }
        using var subscribers = Process.Start(new ProcessStartInfo(Environment.ProcessPath!, ["feed-subscribers", manifest, network.HubUrl, network.HubCaPath])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        })!;
        var arrivals = new ConcurrentQueue<(int Spoke, long Sequence, long Ticks)>();
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var errors = new ConcurrentQueue<string>();
        subscribers.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }
            var parts = e.Data.Split(' ');
            if (parts is ["EVT", var spoke, var sequence, var ticks])
            {
                arrivals.Enqueue((int.Parse(spoke, System.Globalization.CultureInfo.InvariantCulture), long.Parse(sequence, System.Globalization.CultureInfo.InvariantCulture),
                    long.Parse(ticks, System.Globalization.CultureInfo.InvariantCulture)));
            }
            else if (parts is ["READY", ..])
            {
                ready.TrySetResult();
            }
        };
        subscribers.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                errors.Enqueue(e.Data);
            }
        };
        subscribers.BeginOutputReadLine();
        subscribers.BeginErrorReadLine();
        try
        {
            await ready.Task.WaitAsync(TimeSpan.FromMinutes(10));
            // Let every stream reach the hub's wait for its next event.
            await Task.Delay(TimeSpan.FromSeconds(3));
            progress($"{spokes:N0} spokes subscribed to their feeds");
            var (p99s, memory) = (new List<double>(), new List<double>());
            var verified = true;
            for (var round = 0; round < rounds; round++)
            {
                GC.Collect();
                using (var self = Process.GetCurrentProcess())
                {
                    memory.Add(self.WorkingSet64 / (1024.0 * 1024));
                }
                arrivals.Clear();
                var started = DateTime.UtcNow.Ticks;
                await using (var scope = network.HubServices.CreateAsyncScope())
                {
                    // A real change (a facility's specialties, back and forth): the directory publishes only what differs.
                    await scope.ServiceProvider.GetRequiredService<DirectoryAdministration>().UpdateFacilityAsync(new FacilityChange(_changedFacility,
                        OrganSpecialties: round % 2 == 0 ? [OrganSystem.SoftTissue, OrganSystem.Bone] : [OrganSystem.SoftTissue]), CancellationToken.None);
                }
                var deadline = Stopwatch.StartNew();
                while (arrivals.Count < spokes && deadline.Elapsed < TimeSpan.FromSeconds(60))
                {
                    await Task.Delay(10);
                }
                var received = arrivals.ToArray();
                // Each spoke got the announcement once.
                verified &= received.Length == spokes && received.Select(a => a.Spoke).Distinct().Count() == spokes;
                var latencies = received.Select(a => (a.Ticks - started) / (double)TimeSpan.TicksPerMillisecond).Order().ToList();
                p99s.Add(latencies.Count == 0 ? double.NaN : latencies[Math.Min(latencies.Count - 1, (int)Math.Ceiling(0.99 * latencies.Count) - 1)]);
                progress($"{spokes:N0} feeds, round {round + 1}/{rounds}: {received.Length:N0} events, p99 {p99s[^1]:F1} ms, process working set {memory[^1]:N0} MiB");
            }
            if (!verified && !errors.IsEmpty)
            {
                progress("subscribers said: " + string.Join(" | ", errors.Take(5)));
            }
            return new Result(new Figure($"event to its spoke, p99, {spokes:N0} feeds open", "ms", p99s),
                new Figure($"hub process working set with {spokes:N0} feeds open", "MiB", memory), before, verified, spokes);
        }
        finally
        {
            subscribers.StandardInput.Close();
            if (!subscribers.WaitForExit(10_000))
            {
                subscribers.Kill(entireProcessTree: true);
            }
        }
    }

    /// <summary>Registers the spokes as an operator would (each its own certificate), at the directory's facilities in turn.</summary>
    private async Task RegisterAsync(int spokes, string folder, string manifest)
    {
        var facilities = new List<string>();
        await using (var connection = await network.HubServices.GetRequiredService<HubDatabase>().OpenAsync(CancellationToken.None))
        await using (var command = connection.Command("SELECT facility_code FROM facilities WHERE retired_at IS NULL ORDER BY facility_code"))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                facilities.Add(reader.GetString(0));
            }
        }
        _changedFacility = facilities[0];
        var certificates = new X509Certificate2[spokes];
        using (var sharedKey = System.Security.Cryptography.RSA.Create(2048))
        {
            for (var i = 0; i < spokes; i++)
            {
                certificates[i] = NodeClientCertificate.Create($"feed-{i:D4}", sharedKey);
            }
        }
        var lines = new List<string>();
        await using var scope = network.HubServices.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<ClientRegistry>();
        for (var i = 0; i < spokes; i++)
        {
            var nodeId = $"feed-{i:D4}";
            var credentials = await registry.RegisterSpokeNodeAsync(nodeId, facilities[i % facilities.Count], certificates[i], CancellationToken.None);
            var pfx = Path.Combine(folder, nodeId + ".pfx");
            await File.WriteAllBytesAsync(pfx, certificates[i].Export(X509ContentType.Pfx));
            lines.Add($"{nodeId}\t{credentials.ClientId}\t{pfx}");
            certificates[i].Dispose();
        }
        await File.WriteAllLinesAsync(manifest, lines);
        progress($"{spokes:N0} spoke nodes registered");
    }

    /// <summary>
    /// The subscribers' process: each spoke takes its token with its certificate, asks its feed head, and subscribes after it
    /// on its own connection; every event is printed with its arrival time. Ends when its input closes.
    /// </summary>
    public static async Task<int> SubscribeAsync(string manifest, string hubUrl, string caPath)
    {
        var spokes = (await File.ReadAllLinesAsync(manifest)).Select(line => line.Split('\t')).ToArray();
        using var stop = new CancellationTokenSource();
        var streams = new Task[spokes.Length];
        var opened = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, spokes.Length), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (index, cancellationToken) =>
        {
            var (clientId, pfx) = (spokes[index][1], spokes[index][2]);
            var certificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, null);
            string token;
            await using (var services = new ServiceCollection().AddLogging().AddHubTokenClient(hubUrl, caPath, clientId, null, certificate).BuildServiceProvider())
            {
                token = await new HubTokenSource(services.GetRequiredService<OpenIddictClientService>(), [NetworkClaims.Scopes.Sync], TimeProvider.System)
                    .GetAsync(CancellationToken.None);
            }
            var channel = HubClientRegistration.CreateChannel(hubUrl, caPath, _ => Task.FromResult(token), certificate,
                [(ContractVersion.Header, ContractVersion.Current.ToString(System.Globalization.CultureInfo.InvariantCulture)), (ContractVersion.SchemaHeader, "0")]);
            var sync = new SpokeSyncService.SpokeSyncServiceClient(channel);
            var head = (await sync.ReportSyncStatusAsync(new ReportSyncStatusRequest(), cancellationToken: cancellationToken)).FeedHead;
            streams[index] = Task.Run(async () =>
            {
                using var call = sync.SubscribeEvents(new SubscribeEventsRequest { AfterSequence = head }, cancellationToken: stop.Token);
                Interlocked.Increment(ref opened);
                try
                {
                    await foreach (var @event in call.ResponseStream.ReadAllAsync(stop.Token))
                    {
                        Console.Out.WriteLine($"EVT {index} {@event.Sequence} {DateTime.UtcNow.Ticks}");
                    }
                }
                catch (Exception exception) when (exception is OperationCanceledException || exception is RpcException { StatusCode: StatusCode.Cancelled })
                {
                    // The run is over.
                }
                catch (RpcException exception)
                {
                    await Console.Error.WriteLineAsync($"spoke {index}: {exception.StatusCode} {exception.Status.Detail}");
                }
            }, CancellationToken.None);
        });
        Console.Out.WriteLine($"READY {opened}");
        // The parent closes our input when it is done.
        await Console.In.ReadToEndAsync();
        await stop.CancelAsync();
        await Task.WhenAll(streams);
        return 0;
    }
}
