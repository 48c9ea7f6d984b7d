using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenIddict.Client;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>The node's authenticated channel to the hub.</summary>
public sealed class HubConnection : IDisposable
{
    /// <summary>The deadline of a unary call to the hub that names none.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;

    public HubConnection(IOptions<SpokeOptions> options, NodeIdentity identity, OpenIddictClientService client, SpokeDatabase database, TimeProvider clock)
    {
        var hub = options.Value.Hub;
        Tokens = new HubTokenSource(client, [NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory], clock);
        // Every call names the node's contract version and store schema, so the hub can refuse a pair it does not serve.
        var contractVersion = hub.ContractVersionOverride ?? Protos.Contract.ContractVersion.Current;
        _channel = HubClientRegistration.CreateChannel(hub.Url, hub.CaCertificatePath, Tokens.GetAsync, identity.ClientCertificate,
        [
            (Protos.Contract.ContractVersion.Header, contractVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            (Protos.Contract.ContractVersion.SchemaHeader, database.Database.LatestVersion.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ]);
        var calls = _channel.Intercept(new DefaultDeadlineInterceptor(DefaultDeadline));
        Sync = new SpokeSyncService.SpokeSyncServiceClient(calls);
        Registry = new RegistrySyncService.RegistrySyncServiceClient(calls);
        Referrals = new ReferralSyncService.ReferralSyncServiceClient(calls);
        Hotline = new HotlineSyncService.HotlineSyncServiceClient(calls);
    }

    public HubTokenSource Tokens { get; }

    public SpokeSyncService.SpokeSyncServiceClient Sync { get; }

    public RegistrySyncService.RegistrySyncServiceClient Registry { get; }

    public ReferralSyncService.ReferralSyncServiceClient Referrals { get; }

    public HotlineSyncService.HotlineSyncServiceClient Hotline { get; }

    public void Dispose() => _channel.Dispose();
}
