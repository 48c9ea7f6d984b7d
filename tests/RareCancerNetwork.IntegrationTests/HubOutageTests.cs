using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>A spoke serves its users through a hub outage, even one that begins before any of them called it.</summary>
[Collection("processes")]
public sealed class HubOutageTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task OutageBeforeTheFirstLocalCall_SpokeStillValidatesItsUsersTokens_AndQueuesTheirWork()
    {
        using var folder = new TempFolder("rcn-outage");
        string token;
        SpokeNode spoke;
        await using (var hub = await HubNode.StartAsync(folder.Sub("hub")))
        {
            var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
            var local = await hub.RegisterLocalClientAsync("spoke-a", "cli");
            token = await Clients.TokenAsync(hub.Url, hub.CaPath, local, NetworkClaims.Scopes.Local);
            spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-a", "CORE-004", node);
            // The spoke fetches the hub's keys by itself when it starts; nobody has called it yet.
            await Eventually.UntilAsync(() => Task.FromResult(File.Exists(Path.Combine(folder.Sub("spoke"), "keys", "hub-signing-keys.json"))),
                stored => stored, "the hub's signing keys stored at the spoke");
        }
        await using (spoke)
        {
            var registry = new LocalRegistryService.LocalRegistryServiceClient(Clients.Channel(spoke.Url, spoke.CaPath, token));
            var record = RareCancerNetwork.Tests.Shared.RegistrySamples.Record();
            var created = await registry.CreateRegistryRecordAsync(new() { LocalPatientId = "OUTAGE-1", Record = record }, cancellationToken: Ct);
            Assert.Equal(RegistrySyncState.Pending, created.Record.SyncState);
        }
    }
}
