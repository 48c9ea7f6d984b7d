using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// Two in-process hub instances, A and B, on one fresh PostgreSQL database, as production runs them:
/// one issuer (a relay in front of both, <see cref="Issuer"/>), one certificate authority, and a relay to
/// each instance alone (<see cref="ToA"/>, <see cref="ToB"/>) for whoever must reach that one.
/// </summary>
public sealed class TwoHubInstances : IAsyncDisposable
{
    private TwoHubInstances(TempFolder folder, string connectionString, TcpRelay issuer, HubNode a, HubNode b)
    {
        Folder = folder;
        ConnectionString = connectionString;
        Issuer = issuer;
        A = a;
        B = b;
        ToA = new TcpRelay(a.Port);
        ToB = new TcpRelay(b.Port);
        issuer.Route(a.Port, b.Port);
    }

    public TempFolder Folder { get; }
    public string ConnectionString { get; }
    public TcpRelay Issuer { get; }
    public TcpRelay ToA { get; }
    public TcpRelay ToB { get; }
    public HubNode A { get; }
    public HubNode B { get; }

    /// <summary>Both instances use one data folder for their TLS certificate and CA, as two machines would share a certificate.</summary>
    public string CaPath => A.CaPath;

    public string HubDataFolder => Folder.Sub("hub");

    public static async Task<TwoHubInstances> StartAsync()
    {
        var connectionString = await (await PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        var folder = new TempFolder("rcn-two-hubs");
        var issuer = new TcpRelay();
        var settings = Settings(connectionString, issuer.Url);
        var a = await HubNode.StartAsync(folder.Sub("hub"), extra: settings);
        var b = await HubNode.StartAsync(folder.Sub("hub"), extra: settings);
        return new TwoHubInstances(folder, connectionString, issuer, a, b);
    }

    public static Dictionary<string, string?> Settings(string connectionString, string issuer) => new()
    {
        ["Hub:Storage:Provider"] = nameof(HubStorageProvider.Postgres),
        ["Hub:Storage:ConnectionString"] = connectionString,
        ["Hub:Issuer"] = issuer,
    };

    public async Task<long> CountAsync(string sql)
    {
        await using var connection = await A.Services.GetRequiredService<HubDatabase>().OpenAsync(CancellationToken.None);
        await using var command = connection.Command(sql);
        return await command.ScalarInt64Async(CancellationToken.None);
    }

    public async ValueTask DisposeAsync()
    {
        await ToA.DisposeAsync();
        await ToB.DisposeAsync();
        await Issuer.DisposeAsync();
        await A.DisposeAsync();
        await B.DisposeAsync();
        Folder.Dispose();
    }
}
