using System.Net;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenIddict.Abstractions;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// People sign in from the command line with the device authorization grant against a running hub;
/// the test plays the person on the hub's sign-in page.
/// </summary>
[Collection("processes")]
public sealed class DeviceFlowTests
{
    private const string Password = "correct-horse-battery";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Login_FromCli_SignInOnPage_SessionActsAtSpokeAsThePerson_RefreshRotates_DisabledUserCutOff()
    {
        using var folder = new TempFolder("rcn-device");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
        await using var spoke = await SpokeNode.StartAsync(folder.Sub("spoke"), hub.Url, hub.CaPath, "spoke-a", "CORE-004", node);
        var users = hub.Services.GetRequiredService<UserAccounts>();
        var yamada = await users.AddAsync("yamada", "山田 太郎", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, enableTotp: true, Ct);
        var sessionPath = folder.Sub("session.json");

        using var login = NodeProcess.Start(NodeProcess.SpokeProgram, ["login", "--hub-url", hub.Url, "--hub-ca", hub.CaPath, "--session", sessionPath, "--timeout", "120"]);
        var userCode = await login.WaitForLineAsync(@"enter the code: (\S+)");
        using var page = new SignInPage(hub.Url, hub.CaPath);

        var (shown, html) = await page.OpenAsync(userCode);
        Assert.Equal(HttpStatusCode.OK, shown);
        Assert.Contains(userCode, html, StringComparison.Ordinal);

        var wrongPassword = await page.SubmitAsync(userCode, "yamada", "not-the-password", SignInPage.CurrentCode(yamada.TotpSecret!));
        Assert.Equal(HttpStatusCode.BadRequest, wrongPassword.Status);
        Assert.Contains("not correct", wrongPassword.Body, StringComparison.Ordinal);
        var noSecondFactor = await page.SubmitAsync(userCode, "yamada", Password, null);
        Assert.Equal(HttpStatusCode.BadRequest, noSecondFactor.Status);

        var accepted = await page.SubmitAsync(userCode, "yamada", Password, SignInPage.CurrentCode(yamada.TotpSecret!));
        Assert.Equal(HttpStatusCode.Redirect, accepted.Status);
        Assert.EndsWith("/connect/verify/done", accepted.Body, StringComparison.Ordinal);
        await login.WaitForLineAsync("Signed in as yamada");
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(sessionPath));
        }

        // The session acts at the person's spoke, and the hub keeps the person as the author.
        var session = PersonSession.Load(sessionPath)!;
        var local = new LocalConsultationService.LocalConsultationServiceClient(Clients.Channel(spoke.Url, spoke.CaPath, await session.AccessTokenAsync(Ct)));
        var submission = Samples.Submission();
        var stored = (await local.SubmitConsultationAsync(submission, cancellationToken: Ct)).Consultation;
        Assert.Equal("yamada", stored.SubmittedBy);
        await Eventually.UntilAsync(async () => await SubmittedByAtHubAsync(hub, submission.ConsultationId), by => by is not null, "delivery to the hub");
        Assert.Equal("yamada", await SubmittedByAtHubAsync(hub, submission.ConsultationId));
        // The person's token is for their spoke only.
        var personsToken = await session.AccessTokenAsync(Ct);
        await RpcAssert.FailsAsync(Grpc.Core.StatusCode.Unauthenticated, () => new DirectoryService.DirectoryServiceClient(
            Clients.Channel(hub.Url, hub.CaPath, personsToken)).ListPrefecturesAsync(new(), cancellationToken: Ct).ResponseAsync);

        // The command line itself works with the session.
        await NodeProcess.RunAsync(NodeProcess.SpokeProgram, "list", "--session", sessionPath, "--spoke-url", spoke.Url, "--spoke-ca", spoke.CaPath);

        // Refresh: a new access token and a new refresh token; the old refresh token is spent.
        var before = File.ReadAllText(sessionPath);
        ExpireAccessToken(sessionPath);
        var refreshed = await PersonSession.Load(sessionPath)!.AccessTokenAsync(Ct);
        Assert.NotEqual(Stored(before).AccessToken, refreshed);
        Assert.NotEqual(Stored(before).RefreshToken, Stored(File.ReadAllText(sessionPath)).RefreshToken);
        var replay = folder.Sub("replayed-session.json");
        File.WriteAllText(replay, before);
        ExpireAccessToken(replay);
        await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() => PersonSession.Load(replay)!.AccessTokenAsync(Ct));

        // A disabled person gets no new tokens.
        await users.DisableAsync("yamada", Ct);
        ExpireAccessToken(sessionPath);
        await Assert.ThrowsAsync<OpenIddictExceptions.ProtocolException>(() => PersonSession.Load(sessionPath)!.AccessTokenAsync(Ct));
    }

    [Fact]
    public async Task WrongAndExpiredCodes_AreRefused_CliReportsFailure()
    {
        using var folder = new TempFolder("rcn-device-expired");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: new Dictionary<string, string?> { ["Hub:DeviceCodeLifetimeSeconds"] = "3" });
        await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
        await hub.Services.GetRequiredService<UserAccounts>().AddAsync("sato", "佐藤", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, false, Ct);
        using var page = new SignInPage(hub.Url, hub.CaPath);

        var (status, html) = await page.OpenAsync("0000-0000-0000");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("not valid or has expired", html, StringComparison.Ordinal);
        var wrong = await page.SubmitAsync("1111-2222-3333", "sato", Password, null);
        Assert.Equal(HttpStatusCode.BadRequest, wrong.Status);

        using var login = NodeProcess.Start(NodeProcess.SpokeProgram, ["login", "--hub-url", hub.Url, "--hub-ca", hub.CaPath, "--session", folder.Sub("session.json"), "--timeout", "60"]);
        var userCode = await login.WaitForLineAsync(@"enter the code: (\S+)");
        await login.WaitForLineAsync("Sign-in failed");
        // The command line may give up a moment before the hub's clock passes the expiry: wait for the hub.
        await Eventually.UntilAsync(() => page.OpenAsync(userCode), shown => shown.Status == HttpStatusCode.BadRequest, "the code expires at the hub");
        var late = await page.SubmitAsync(userCode, "sato", Password, null);
        Assert.Equal(HttpStatusCode.BadRequest, late.Status);
        Assert.Contains("not valid or has expired", late.Body, StringComparison.Ordinal);
        Assert.False(File.Exists(folder.Sub("session.json")));
    }

    [Fact]
    public async Task ExpertPathologist_SignsInWithHubLogin_ListsAndReportsFromTheCommandLine()
    {
        using var folder = new TempFolder("rcn-device-expert");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke"));
        await hub.RegisterExpertAsync("expert-1", "佐藤 花子", 10, OrganSystem.SoftTissue);
        await hub.Services.GetRequiredService<UserAccounts>().AddAsync("sato", "佐藤 花子", NetworkClaims.Roles.ExpertPathologist, "CORE-001", "expert-1", Password, false, Ct);
        var delivery = Samples.Delivery("CORE-004", 'e');
        var nodeToken = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Sync);
        await new SpokeSyncService.SpokeSyncServiceClient(Clients.Channel(hub.Url, hub.CaPath, nodeToken, node.Certificate)).DeliverConsultationAsync(delivery, cancellationToken: Ct);

        var sessionPath = folder.Sub("expert-session.json");
        using var login = NodeProcess.Start(NodeProcess.HubProgram, ["login", "--hub-url", hub.Url, "--hub-ca", hub.CaPath, "--session", sessionPath, "--timeout", "120"]);
        var userCode = await login.WaitForLineAsync(@"enter the code: (\S+)");
        using var page = new SignInPage(hub.Url, hub.CaPath);
        Assert.Equal(HttpStatusCode.Redirect, (await page.SubmitAsync(userCode, "sato", Password, null)).Status);
        await login.WaitForLineAsync("Signed in as sato");

        var list = await NodeProcess.RunAsync(NodeProcess.HubProgram, "expert", "list", "--session", sessionPath);
        Assert.Contains(delivery.ConsultationId, list, StringComparison.Ordinal);
        var reportFile = folder.Sub("report.json");
        await File.WriteAllTextAsync(reportFile, Google.Protobuf.JsonFormatter.Default.Format(Samples.Report(delivery.ConsultationId)), Ct);
        var reported = await NodeProcess.RunAsync(NodeProcess.HubProgram, "expert", "report", delivery.ConsultationId, "--file", reportFile, "--session", sessionPath);
        Assert.Contains("Report v1 signed by 佐藤 花子", reported, StringComparison.Ordinal);
    }

    private static async Task<string?> SubmittedByAtHubAsync(HubNode hub, string consultationId)
    {
        await using var connection = await hub.Services.GetRequiredService<RareCancerNetwork.Hub.Storage.HubDatabase>().OpenAsync(Ct);
        await using var command = connection.Command("SELECT submitted_by FROM consultations WHERE consultation_id = @id").With("@id", consultationId);
        return await command.ExecuteScalarAsync(Ct) as string;
    }

    private static PersonSession.Stored Stored(string json) => JsonSerializer.Deserialize<PersonSession.Stored>(json)!;

    private static void ExpireAccessToken(string path) =>
        File.WriteAllText(path, JsonSerializer.Serialize(Stored(File.ReadAllText(path)) with { AccessTokenExpiresAt = DateTimeOffset.UtcNow.AddMinutes(-1) }));
}
