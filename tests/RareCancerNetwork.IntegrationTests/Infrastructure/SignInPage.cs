using System.Net;
using System.Text.RegularExpressions;
using OtpNet;
using RareCancerNetwork.HubClient;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Drives the hub's device-flow sign-in page as a browser would (cookies, antiforgery field).</summary>
public sealed partial class SignInPage(string hubUrl, string hubCaPath) : IDisposable
{
    private readonly HttpClient _http = Create(hubCaPath);

    public async Task<(HttpStatusCode Status, string Html)> OpenAsync(string? userCode)
    {
        using var response = await _http.GetAsync($"{hubUrl}connect/verify{(userCode is null ? "" : "?user_code=" + Uri.EscapeDataString(userCode))}", TestContext.Current.CancellationToken);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    /// <summary>Opens the page, then submits it. Returns the status and where it redirects (or the page).</summary>
    public async Task<(HttpStatusCode Status, string Body)> SubmitAsync(string userCode, string userId, string password, string? oneTimeCode, string action = "accept")
    {
        var (_, html) = await OpenAsync(null);
        var field = AntiforgeryField().Match(html);
        Assert.True(field.Success, "The page has no antiforgery field.");
        var form = new Dictionary<string, string>
        {
            [field.Groups[1].Value] = WebUtility.HtmlDecode(field.Groups[2].Value),
            ["user_code"] = userCode,
            ["user_id"] = userId,
            ["password"] = password,
            ["one_time_code"] = oneTimeCode ?? "",
            ["action"] = action,
        };
        using var response = await _http.PostAsync($"{hubUrl}connect/verify", new FormUrlEncodedContent(form), TestContext.Current.CancellationToken);
        return (response.StatusCode, response.Headers.Location?.ToString() ?? await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
    }

    public static string CurrentCode(string totpSecret) => new Totp(Base32Encoding.ToBytes(totpSecret)).ComputeTotp();

    public void Dispose() => _http.Dispose();

    private static HttpClient Create(string caPath)
    {
        var handler = PinnedCaTrust.FromFile(caPath).CreateHandler();
        handler.AllowAutoRedirect = false;
        handler.UseCookies = true;
        handler.CookieContainer = new CookieContainer();
        return new HttpClient(handler);
    }

    [GeneratedRegex("""<input type="hidden" name="([^"]+)" value="([^"]*)">""")]
    private static partial Regex AntiforgeryField();
}
