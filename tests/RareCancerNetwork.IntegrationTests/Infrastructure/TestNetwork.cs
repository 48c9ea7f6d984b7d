using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// A hub, two spokes (A: 東京大学医学部附属病院, B: 北海道大学病院) and two soft-tissue experts,
/// all in-process on real TLS with real tokens. Shared by the tests of one collection.
/// </summary>
public class TestNetwork : IAsyncLifetime
{
    public const string FacilityA = "CORE-004";
    public const string FacilityB = "CORE-001";

    private readonly TempFolder _folder = new("rcn-network");

    public HubNode Hub { get; private set; } = null!;
    public SpokeNode SpokeA { get; private set; } = null!;
    public SpokeNode SpokeB { get; private set; } = null!;
    public RegisteredNode NodeA { get; private set; } = null!;
    public RegisteredNode NodeB { get; private set; } = null!;
    public string LocalTokenA { get; private set; } = "";
    public string LocalTokenB { get; private set; } = "";
    public string NodeTokenA { get; private set; } = "";
    public string NodeTokenB { get; private set; } = "";
    public string ExpertToken1 { get; private set; } = "";
    public string ExpertToken2 { get; private set; } = "";
    public string BoneExpertToken { get; private set; } = "";

    /// <summary>Settings the hub starts with beyond the defaults (its store, say).</summary>
    protected virtual Task<IDictionary<string, string?>?> HubSettingsAsync() => Task.FromResult<IDictionary<string, string?>?>(null);

    /// <summary>False when what this network needs is not installed here (its tests are then skipped).</summary>
    public virtual bool Available => true;

    public async ValueTask InitializeAsync()
    {
        if (!Available)
        {
            return;
        }
        Hub = await HubNode.StartAsync(_folder.Sub("hub"), extra: await HubSettingsAsync());
        NodeA = await Hub.RegisterSpokeAsync("spoke-a", FacilityA, _folder.Sub("spoke-a"));
        NodeB = await Hub.RegisterSpokeAsync("spoke-b", FacilityB, _folder.Sub("spoke-b"));
        var localA = await Hub.RegisterLocalClientAsync("spoke-a", "pathology");
        var localB = await Hub.RegisterLocalClientAsync("spoke-b", "pathology");
        var expert1 = await Hub.RegisterExpertAsync("expert-one", "佐藤 花子", 1000, OrganSystem.SoftTissue);
        var expert2 = await Hub.RegisterExpertAsync("expert-two", "鈴木 一郎", 1000, OrganSystem.SoftTissue);
        var boneExpert = await Hub.RegisterExpertAsync("bone-expert", "高橋 健", 1000, OrganSystem.Bone);
        SpokeA = await SpokeNode.StartAsync(_folder.Sub("spoke-a"), Hub.Url, Hub.CaPath, "spoke-a", FacilityA, NodeA);
        SpokeB = await SpokeNode.StartAsync(_folder.Sub("spoke-b"), Hub.Url, Hub.CaPath, "spoke-b", FacilityB, NodeB);

        LocalTokenA = await Clients.TokenAsync(Hub.Url, Hub.CaPath, localA, NetworkClaims.Scopes.Local);
        LocalTokenB = await Clients.TokenAsync(Hub.Url, Hub.CaPath, localB, NetworkClaims.Scopes.Local);
        NodeTokenA = await Clients.TokenAsync(Hub.Url, Hub.CaPath, NodeA, NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory);
        NodeTokenB = await Clients.TokenAsync(Hub.Url, Hub.CaPath, NodeB, NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory);
        ExpertToken1 = await Clients.TokenAsync(Hub.Url, Hub.CaPath, expert1, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory);
        ExpertToken2 = await Clients.TokenAsync(Hub.Url, Hub.CaPath, expert2, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory);
        BoneExpertToken = await Clients.TokenAsync(Hub.Url, Hub.CaPath, boneExpert, NetworkClaims.Scopes.Expert);
    }

    // One channel per (address, token): tests reuse connections instead of a TLS handshake per call.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<(string Url, string? Token), Grpc.Net.Client.GrpcChannel> _channels = new();

    public LocalConsultationService.LocalConsultationServiceClient LocalA(string? token = null) =>
        new(_channels.GetOrAdd((SpokeA.Url, token ?? LocalTokenA), key => Clients.Channel(SpokeA.Url, SpokeA.CaPath, key.Token)));

    public LocalConsultationService.LocalConsultationServiceClient LocalB(string? token = null) =>
        new(_channels.GetOrAdd((SpokeB.Url, token ?? LocalTokenB), key => Clients.Channel(SpokeB.Url, SpokeB.CaPath, key.Token)));

    public LocalRegistryService.LocalRegistryServiceClient RegistryA(string? token = null) =>
        new(_channels.GetOrAdd((SpokeA.Url, token ?? LocalTokenA), key => Clients.Channel(SpokeA.Url, SpokeA.CaPath, key.Token)));

    public LocalDirectoryService.LocalDirectoryServiceClient DirectoryA(string? token = null) =>
        new(_channels.GetOrAdd((SpokeA.Url, token ?? LocalTokenA), key => Clients.Channel(SpokeA.Url, SpokeA.CaPath, key.Token)));

    public LocalReferralService.LocalReferralServiceClient ReferralsA(string? token = null) =>
        new(_channels.GetOrAdd((SpokeA.Url, token ?? LocalTokenA), key => Clients.Channel(SpokeA.Url, SpokeA.CaPath, key.Token)));

    public SpokeSyncService.SpokeSyncServiceClient Sync(string? token) => new(HubChannel(token));

    public ExpertConsultationService.ExpertConsultationServiceClient Expert(string? token) => new(HubChannel(token));

    public DirectoryService.DirectoryServiceClient Directory(string? token) => new(HubChannel(token));

    /// <summary>A channel to the hub; a node's token travels with the node's certificate it is bound to.</summary>
    public Grpc.Net.Client.GrpcChannel HubChannel(string? token) =>
        _channels.GetOrAdd((Hub.Url, token), key =>
            Clients.Channel(Hub.Url, Hub.CaPath, key.Token, key.Token == NodeTokenA ? NodeA.Certificate : key.Token == NodeTokenB ? NodeB.Certificate : null));

    /// <summary>Submits at spoke A and waits until the hub has assigned it.</summary>
    public async Task<LocalConsultation> SubmitAndAwaitAssignmentAsync(SubmitConsultationRequest request)
    {
        await LocalA().SubmitConsultationAsync(request, cancellationToken: TestContext.Current.CancellationToken);
        return await Eventually.UntilAsync(
            async () => (await LocalA().GetConsultationAsync(new() { ConsultationId = request.ConsultationId })).Consultation,
            c => c.Status == ConsultationStatus.Assigned, $"consultation {request.ConsultationId} assigned");
    }

    /// <summary>The expert token whose expert holds the consultation.</summary>
    public async Task<string> AssignedExpertTokenAsync(string consultationId)
    {
        foreach (var token in new[] { ExpertToken1, ExpertToken2 })
        {
            try
            {
                await Expert(token).GetAssignedConsultationAsync(new() { ConsultationId = consultationId });
                return token;
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.PermissionDenied)
            {
            }
        }
        throw new InvalidOperationException($"No expert holds {consultationId}.");
    }

    public async ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        if (!Available)
        {
            _folder.Dispose();
            return;
        }
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
        await SpokeA.DisposeAsync();
        await SpokeB.DisposeAsync();
        await Hub.DisposeAsync();
        _folder.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class NetworkCollection : ICollectionFixture<TestNetwork>
{
    public const string Name = "network";
}

/// <summary>The same network with the hub on a fresh PostgreSQL database of the throwaway cluster.</summary>
public sealed class PostgresTestNetwork : TestNetwork
{
    /// <summary>Under CI the cluster's own check fails the tests instead.</summary>
    public override bool Available => RareCancerNetwork.Tests.Shared.PostgresCluster.FindBinaries() is not null
        || string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    protected override async Task<IDictionary<string, string?>?> HubSettingsAsync() => new Dictionary<string, string?>
    {
        ["Hub:Storage:Provider"] = "Postgres",
        ["Hub:Storage:ConnectionString"] = await (await RareCancerNetwork.Tests.Shared.PostgresCluster.SharedAsync()).CreateDatabaseAsync(),
    };
}

[CollectionDefinition(Name)]
public sealed class PostgresNetworkCollection : ICollectionFixture<PostgresTestNetwork>
{
    public const string Name = "network on PostgreSQL";
}
