using System.Security.Claims;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>Authentication (who is calling) and isolation (what they may touch) at hub and spoke.</summary>
[Collection(NetworkCollection.Name)]
public sealed class SecurityTests(TestNetwork network)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task NoToken_IsUnauthenticated_AtHubAndSpoke()
    {
        var anonymousLocal = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(network.SpokeA.Url, network.SpokeA.CaPath, null));
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => anonymousLocal.SubmitConsultationAsync(Samples.Submission(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => anonymousLocal.ListConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Sync(null).DeliverConsultationAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Expert(null).ListAssignedConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Directory(null).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task WrongAudience_IsUnauthenticated()
    {
        // A local token names spoke A as its audience: useless at the hub and at spoke B.
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Sync(network.LocalTokenA).FetchConsultationAsync(new() { ConsultationId = Guid.CreateVersion7().ToString() }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.LocalB(network.LocalTokenA).ListConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
        // A node token is for the hub, not for a spoke's local API.
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.LocalA(network.NodeTokenA).ListConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task ExpiredToken_IsUnauthenticated_WhileSameTokenUnexpiredIsAccepted()
    {
        var valid = ForgeWithHubKey(DateTime.UtcNow.AddMinutes(5));
        var expired = ForgeWithHubKey(DateTime.UtcNow.AddMinutes(-5));
        // Control: the crafted token is otherwise acceptable, so only expiry can explain the refusal.
        await network.Directory(valid).ListPrefecturesAsync(new(), cancellationToken: Ct);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Directory(expired).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.Unauthenticated, () => network.Directory("not-a-token").ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task WrongIssuer_TamperedSignature_AlgNone_ForeignKey_AreUnauthenticated()
    {
        var valid = ForgeWithHubKey(DateTime.UtcNow.AddMinutes(5));
        await network.Directory(valid).ListPrefecturesAsync(new(), cancellationToken: Ct);

        var wrongIssuer = ForgeWithHubKey(DateTime.UtcNow.AddMinutes(5), issuer: "https://hub.example.invalid/");
        var parts = valid.Split('.');
        var payload = System.Text.Encoding.UTF8.GetString(Base64UrlEncoder.DecodeBytes(parts[1]));
        var widened = Base64UrlEncoder.Encode(payload.Replace(NetworkClaims.Scopes.Directory, NetworkClaims.Scopes.Directory + " " + NetworkClaims.Scopes.Admin, StringComparison.Ordinal));
        var tampered = $"{parts[0]}.{widened}.{parts[2]}";
        var algNone = $"{Base64UrlEncoder.Encode("{\"alg\":\"none\",\"typ\":\"at+jwt\"}")}.{parts[1]}.";
        using var foreign = System.Security.Cryptography.RSA.Create(2048);
        var foreignKey = ForgeWithHubKey(DateTime.UtcNow.AddMinutes(5), signingKey: new RsaSecurityKey(foreign));
        foreach (var (name, token) in new[] { ("wrong issuer", wrongIssuer), ("tampered", tampered), ("alg none", algNone), ("foreign key", foreignKey) })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => network.Directory(token).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
            Assert.True(e.StatusCode == StatusCode.Unauthenticated, $"{name}: {e.StatusCode}");
        }
    }

    [Fact]
    public async Task SpokeNodeA_CannotReadOrActOnSpokeB()
    {
        var submissionB = Samples.Submission();
        await network.LocalB().SubmitConsultationAsync(submissionB, cancellationToken: Ct);
        await Eventually.UntilAsync(
            async () => (await network.LocalB().GetConsultationAsync(new() { ConsultationId = submissionB.ConsultationId }, cancellationToken: Ct)).Consultation,
            c => c.DeliveryState == DeliveryState.Delivered, "B's consultation reaches the hub");

        var syncA = network.Sync(network.NodeTokenA);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => syncA.FetchConsultationAsync(new() { ConsultationId = submissionB.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        var hijack = new DeliverConsultationRequest
        {
            ConsultationId = submissionB.ConsultationId,
            RequestingFacilityCode = TestNetwork.FacilityA,
            PatientPseudonym = new string('c', 64),
            SubmittedBy = "x",
            SubmittedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Details = Samples.Details(),
        };
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => syncA.DeliverConsultationAsync(hijack, cancellationToken: Ct).ResponseAsync);
        var otherFacility = hijack.Clone();
        otherFacility.ConsultationId = Guid.CreateVersion7().ToString();
        otherFacility.RequestingFacilityCode = TestNetwork.FacilityB;
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => syncA.DeliverConsultationAsync(otherFacility, cancellationToken: Ct).ResponseAsync);

        // Spoke A's local API knows nothing of B's case, and A's feed never carries it.
        await RpcAssert.FailsAsync(StatusCode.NotFound, () => network.LocalA().GetConsultationAsync(new() { ConsultationId = submissionB.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        // A marker delivered by A after B's case: A's feed is ordered, so reading up to the marker
        // covers every event committed before it.
        var marker = hijack.Clone();
        marker.ConsultationId = Guid.CreateVersion7().ToString();
        await syncA.DeliverConsultationAsync(marker, cancellationToken: Ct);
        using var feed = syncA.SubscribeEvents(new(), cancellationToken: Ct);
        var seen = new List<string>();
        while (!seen.Contains(marker.ConsultationId) && await feed.ResponseStream.MoveNext(Ct))
        {
            seen.Add(feed.ResponseStream.Current.ConsultationId);
        }
        Assert.DoesNotContain(submissionB.ConsultationId, seen);
    }

    [Fact]
    public async Task WrongClientKind_IsPermissionDenied()
    {
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(network.NodeTokenA).ListAssignedConsultationsAsync(new(), cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Sync(network.ExpertToken1).FetchConsultationAsync(new() { ConsultationId = Guid.CreateVersion7().ToString() }, cancellationToken: Ct).ResponseAsync);
        // The bone expert's token was issued without the directory scope.
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Directory(network.BoneExpertToken).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);
    }

    [Fact]
    public async Task ExpertSeesOnlyAssignedConsultations()
    {
        var submission = Samples.Submission();
        await network.SubmitAndAwaitAssignmentAsync(submission);
        var holder = await network.AssignedExpertTokenAsync(submission.ConsultationId);
        var other = holder == network.ExpertToken1 ? network.ExpertToken2 : network.ExpertToken1;
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(other).GetAssignedConsultationAsync(new() { ConsultationId = submission.ConsultationId }, cancellationToken: Ct).ResponseAsync);
        await RpcAssert.FailsAsync(StatusCode.PermissionDenied, () => network.Expert(other).SubmitReportAsync(Samples.Report(submission.ConsultationId), cancellationToken: Ct).ResponseAsync);
        var list = await network.Expert(other).ListAssignedConsultationsAsync(new() { PageSize = 200 }, cancellationToken: Ct);
        Assert.DoesNotContain(list.Consultations, c => c.ConsultationId == submission.ConsultationId);
    }

    private string ForgeWithHubKey(DateTime expires, string? issuer = null, SecurityKey? signingKey = null)
    {
        var key = network.Hub.Services.GetRequiredService<TokenKeyRing>().Signing[0];
        var descriptor = new SecurityTokenDescriptor
        {
            Issuer = issuer ?? network.Hub.Url,
            Audience = NetworkClaims.Audiences.Hub,
            IssuedAt = expires.AddMinutes(-15),
            NotBefore = expires.AddMinutes(-15),
            Expires = expires,
            TokenType = "at+jwt",
            Subject = new ClaimsIdentity(
            [
                // An expert client: not certificate-bound, so only the token itself decides.
                new Claim("sub", "expert-expert-one"),
                new Claim("scope", NetworkClaims.Scopes.Directory),
                new Claim(NetworkClaims.ClientKind, NetworkClaims.Kinds.Expert),
                new Claim(NetworkClaims.Expert, "expert-one"),
            ]),
            SigningCredentials = signingKey is null
                ? new X509SigningCredentials(key, SecurityAlgorithms.RsaSha256)
                : new SigningCredentials(signingKey, SecurityAlgorithms.RsaSha256),
        };
        return new JsonWebTokenHandler().CreateToken(descriptor);
    }
}
