using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using RareCancerNetwork.Hub;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>Signing keys roll over without downtime: the next key is published beside the current one.</summary>
[Collection("processes")]
public sealed class SigningKeyRotationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NewKeySigns_OldTokensStayValidUntilRetired_SpokesAcceptTheNewKey()
    {
        using var folder = new TempFolder("rcn-keys");
        var port = NodeProcess.FreeLoopbackPort();
        var keys = new TokenKeys(HubDatabase.Create(new HubOptions { DataFolder = folder.Sub("hub") }),
            Microsoft.Extensions.Options.Options.Create(new HubOptions { DataFolder = folder.Sub("hub") }), TimeProvider.System);
        string oldToken;
        string oldKid;
        IssuedCredentials expert;
        IssuedCredentials local;
        RegisteredNode node;
        await using (var hub = await HubNode.StartAsync(folder.Sub("hub"), port, extra: HubNode.EmbeddedStore))
        {
            node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
            local = await hub.RegisterLocalClientAsync("spoke-a", "cli");
            expert = await hub.RegisterExpertAsync("expert-1", "専門医", 10, OrganSystem.SoftTissue);
            oldToken = await Clients.TokenAsync(hub.Url, hub.CaPath, expert, NetworkClaims.Scopes.Directory);
            oldKid = new JsonWebToken(oldToken).Kid;
        }
        var hubUrl = $"https://127.0.0.1:{port}/";
        var caPath = Path.Combine(folder.Sub("hub"), "tls", "dev-ca.crt");

        // The next key, already valid and expiring later: after a restart it signs, and both are published.
        var oldThumbprint = TokenKeys.Describe(Assert.Single(await keys.LoadSigningKeysAsync(Ct))).Sha256;
        await keys.AddSigningKeyAsync(DateTimeOffset.UtcNow.AddMinutes(-1), Ct);
        await using (var hub = await HubNode.StartAsync(folder.Sub("hub"), port, extra: HubNode.EmbeddedStore))
        await using (var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hubUrl, caPath, "spoke-a", "CORE-004", node))
        {
            await Directory(hubUrl, caPath, oldToken).ListPrefecturesAsync(new(), cancellationToken: Ct);
            var newToken = await Clients.TokenAsync(hubUrl, caPath, expert, NetworkClaims.Scopes.Directory);
            Assert.NotEqual(oldKid, new JsonWebToken(newToken).Kid);
            await Directory(hubUrl, caPath, newToken).ListPrefecturesAsync(new(), cancellationToken: Ct);
            var localToken = await Clients.TokenAsync(hubUrl, caPath, local, NetworkClaims.Scopes.Local);
            await new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath, localToken))
                .ListConsultationsAsync(new(), cancellationToken: Ct);
        }

        // Retire the old key once its tokens have expired: it is no longer published, its tokens are refused.
        Assert.True(await keys.RetireSigningKeyAsync(oldThumbprint, Ct));
        Assert.False(await keys.RetireSigningKeyAsync(oldThumbprint, Ct));
        await using (var hub = await HubNode.StartAsync(folder.Sub("hub"), port, extra: HubNode.EmbeddedStore))
        {
            await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => Directory(hubUrl, caPath, oldToken).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
            var token = await Clients.TokenAsync(hubUrl, caPath, expert, NetworkClaims.Scopes.Directory);
            await Directory(hubUrl, caPath, token).ListPrefecturesAsync(new(), cancellationToken: Ct);
        }
    }

    private static DirectoryService.DirectoryServiceClient Directory(string hubUrl, string caPath, string token) => new(Clients.Channel(hubUrl, caPath, token));
}
