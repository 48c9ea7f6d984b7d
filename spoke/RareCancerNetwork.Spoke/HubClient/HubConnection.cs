using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using OpenIddict.Client;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>The node's authenticated channel to the hub.</summary>
public sealed class HubConnection : IDisposable
{
    private readonly GrpcChannel _channel;

    public HubConnection(IOptions<SpokeOptions> options, NodeIdentity identity, OpenIddictClientService client, TimeProvider clock)
    {
        var hub = options.Value.Hub;
        Tokens = new HubTokenSource(client, [NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory], clock);
        _channel = HubClientRegistration.CreateChannel(hub.Url, hub.CaCertificatePath, Tokens.GetAsync, identity.ClientCertificate);
        Sync = new SpokeSyncService.SpokeSyncServiceClient(_channel);
        Registry = new RegistrySyncService.RegistrySyncServiceClient(_channel);
        Referrals = new ReferralSyncService.ReferralSyncServiceClient(_channel);
    }

    public HubTokenSource Tokens { get; }

    public SpokeSyncService.SpokeSyncServiceClient Sync { get; }

    public RegistrySyncService.RegistrySyncServiceClient Registry { get; }

    public ReferralSyncService.ReferralSyncServiceClient Referrals { get; }

    public void Dispose() => _channel.Dispose();
}
