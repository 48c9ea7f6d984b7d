using Google.Rpc;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>Revocation takes effect on the next call; secrets rotate; rate limits answer RESOURCE_EXHAUSTED per caller.</summary>
[Collection("processes")]
public sealed class RevocationAndRateLimitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RevokedNode_IsRefusedOnItsNextCall_AndGetsNoNewToken()
    {
        using var folder = new TempFolder("rcn-revoke");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var other = await hub.RegisterSpokeAsync("spoke-b", "CORE-001", folder.Sub("spoke-b"));
        var token = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory);
        var otherToken = await Clients.TokenAsync(hub.Url, hub.CaPath, other, NetworkClaims.Scopes.Directory);
        var directory = new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, token, node.Certificate));
        await directory.ListPrefecturesAsync(new(), cancellationToken: Ct);

        await using (var scope = hub.Services.CreateAsyncScope())
        {
            Assert.Contains("node-spoke-a", await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RevokeNodeAsync("spoke-a", Ct));
        }
        // The same, still unexpired token is refused at once.
        var refused = await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => directory.ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
        Assert.Contains("revoked", refused.Status.Detail, StringComparison.Ordinal);
        await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() =>
            Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Sync));
        // Other nodes are unaffected.
        await new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, otherToken, other.Certificate)).ListPrefecturesAsync(new(), cancellationToken: Ct);
    }

    [Fact]
    public async Task RotatedSecret_OldOneRefused_NewOneWorks()
    {
        using var folder = new TempFolder("rcn-rotate");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var original = await hub.RegisterLocalClientAsync("spoke-a", "automation");
        IssuedCredentials rotated;
        await using (var scope = hub.Services.CreateAsyncScope())
        {
            rotated = await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RotateSecretAsync(original.ClientId, Ct);
        }
        Assert.NotEqual(original.ClientSecret, rotated.ClientSecret);
        await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() => Clients.TokenAsync(hub.Url, hub.CaPath, original, NetworkClaims.Scopes.Local));
        Assert.NotEmpty(await Clients.TokenAsync(hub.Url, hub.CaPath, rotated, NetworkClaims.Scopes.Local));
    }

    [Fact]
    public async Task CallerOverBudget_GetsResourceExhaustedWithRetryInfo_OthersKeepBeingServed()
    {
        using var folder = new TempFolder("rcn-ratelimit");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: new Dictionary<string, string?>
        {
            ["Hub:RateLimit:NodeBurst"] = "5",
            ["Hub:RateLimit:NodeRequestsPerSecond"] = "1",
        });
        var busy = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var calm = await hub.RegisterSpokeAsync("spoke-b", "CORE-001", folder.Sub("spoke-b"));
        var busyDirectory = new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath,
            await Clients.TokenAsync(hub.Url, hub.CaPath, busy, NetworkClaims.Scopes.Directory), busy.Certificate));
        var outcomes = new List<StatusCode>();
        for (var i = 0; i < 12; i++)
        {
            try
            {
                await busyDirectory.ListPrefecturesAsync(new(), cancellationToken: Ct);
                outcomes.Add(StatusCode.OK);
            }
            catch (RpcException e)
            {
                outcomes.Add(e.StatusCode);
                var retry = e.GetRpcStatus()?.GetDetail<RetryInfo>();
                Assert.True(e.StatusCode == StatusCode.ResourceExhausted && retry is not null, $"Unexpected {e.StatusCode}: {e.Status.Detail}");
            }
        }
        Assert.Contains(StatusCode.ResourceExhausted, outcomes);
        Assert.True(outcomes.Count(o => o == StatusCode.OK) >= 5, string.Join(", ", outcomes));
        // Another caller has its own budget.
        await new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath,
            await Clients.TokenAsync(hub.Url, hub.CaPath, calm, NetworkClaims.Scopes.Directory), calm.Certificate)).ListPrefecturesAsync(new(), cancellationToken: Ct);
    }
}

/// <summary>Spoke nodes authenticate with their certificate, and their tokens are bound to it (RFC 8705).</summary>
[Collection("processes")]
public sealed class CertificateBoundTokenTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NodeToken_ReplayedWithAnotherCertificateOrNone_IsUnauthenticated_RotationRefusesTheOldCertificateAtOnce()
    {
        using var folder = new TempFolder("rcn-mtls");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var token = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Directory);
        var cnf = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token).GetPayloadValue<System.Text.Json.JsonElement>("cnf");
        Assert.Equal(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Encode(node.Certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256)),
            cnf.GetProperty("x5t#S256").GetString());

        DirectoryService.DirectoryServiceClient Directory(System.Security.Cryptography.X509Certificates.X509Certificate2? certificate) =>
            new(Clients.Channel(hub.Url, hub.CaPath, token, certificate));
        await Directory(node.Certificate).ListPrefecturesAsync(new(), cancellationToken: Ct);
        using var stranger = Spoke.HubClient.NodeClientCertificate.Create("stranger");
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => Directory(stranger).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => Directory(null).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);

        // A certificate that is not registered cannot get a token for the node at all.
        await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() =>
            Clients.TokenAsync(hub.Url, hub.CaPath, node with { Certificate = stranger }, NetworkClaims.Scopes.Directory));

        // Rotation: the new certificate works; the old one is refused on its next call, even with its unexpired token.
        using var renewed = Spoke.HubClient.NodeClientCertificate.Create("spoke-a");
        await using (var scope = hub.Services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<ClientRegistry>().RotateNodeCertificateAsync("spoke-a", renewed, Ct);
        }
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => Directory(node.Certificate).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
        var renewedToken = await Clients.TokenAsync(hub.Url, hub.CaPath, node with { Certificate = renewed }, NetworkClaims.Scopes.Directory);
        await new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, renewedToken, renewed)).ListPrefecturesAsync(new(), cancellationToken: Ct);
    }
}
