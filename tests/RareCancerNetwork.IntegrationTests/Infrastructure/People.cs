using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.HubClient;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Adds people at a hub and signs them in through the real device flow and sign-in page.</summary>
public static class People
{
    public const string Password = "correct-horse-battery";

    public static async Task<string> AddAndSignInAsync(HubNode hub, string folder, string userId, string role, string facility, string? expertId = null)
    {
        LogScan.Sensitive(Password, "password");
        var added = await hub.Services.GetRequiredService<UserAccounts>().AddAsync(userId, userId, role, facility, expertId, Password, enableTotp: false, CancellationToken.None);
        using var page = new SignInPage(hub.Url, hub.CaPath);
        Task? submitted = null;
        var session = await PersonSession.SignInAsync(Path.Combine(folder, userId + ".session.json"), hub.Url, hub.CaPath,
            (code, _, _) => submitted = SubmitAsync(page, code, userId, added.TotpSecret),
            TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        await submitted!;
        var token = await session.AccessTokenAsync(TestContext.Current.CancellationToken);
        LogScan.Sensitive(token, "access token");
        return token;
    }

    private static async Task SubmitAsync(SignInPage page, string code, string userId, string? totpSecret)
    {
        var (status, body) = await page.SubmitAsync(code, userId, Password, totpSecret is null ? null : SignInPage.CurrentCode(totpSecret));
        Assert.True(status == System.Net.HttpStatusCode.Redirect, $"Sign-in of {userId} failed: {body}");
    }
}
