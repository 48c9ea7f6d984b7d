using System.Net;
using System.Net.Http.Headers;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The statistics dashboard in Debian's headless Chromium: a statistician signs in through the hub (authorization code
/// with PKCE, password and one-time code), the page loads with no console error and shows the figures of a seeded
/// registry, the Kaplan–Meier curve of a regimen and the spoke's sync status; a screenshot is saved for people to look at.
/// </summary>
public sealed class DashboardTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Statistician_SignsIn_SeesTheSeededFigures_TheCurve_AndTheSpokes_WithNoConsoleError()
    {
        var chromium = Browser.ChromiumPath();
        using var folder = new TempFolder("rcn-dashboard");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        var node = await hub.RegisterSpokeAsync("spoke-tokyo", "CORE-004", folder.Sub("tokyo"));
        await using var spoke = await SpokeNode.StartAsync(folder.Sub("tokyo"), hub.Url, hub.CaPath, "spoke-tokyo", "CORE-004", node);

        // 24 consented soft-tissue records enrolled in January and February 2025 (12 each), each panel-tested in April
        // and treated with pazopanib from June (progression in September); 3 more without secondary-use consent.
        var registry = hub.Services.GetRequiredService<RegistryStore>();
        var records = Enumerable.Range(0, 27).Select(i =>
        {
            var record = RegistrySamples.Record("CORE-004");
            record.EnrolmentDate = i % 2 == 0 ? "2025-01-10" : "2025-02-10";
            record.Consent.SecondaryUse = i < 24;
            return record;
        }).ToList();
        await registry.DeliverAsync("spoke-tokyo", records, Ct);

        var users = hub.Services.GetRequiredService<UserAccounts>();
        var statistician = await users.AddAsync("stat.tanaka", "田中 統計", NetworkClaims.Roles.Statistician, "CORE-004", null, People.Password, enableTotp: true, Ct);
        var administrator = await users.AddAsync("admin.sato", "佐藤 管理", NetworkClaims.Roles.Administrator, "CORE-004", null, People.Password, enableTotp: true, Ct);
        await Eventually.UntilAsync(async () => await SpokeReportedAsync(hub), reported => reported, "the spoke's first sync report");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        await using var context = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true, Locale = "ja-JP", TimezoneId = "Asia/Tokyo", ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await context.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);

        // An administrator is not let into the dashboard, even with the right password and code.
        await SignInAsync(page, hub, "admin.sato", administrator.TotpSecret!);
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("統計担当者");
        Assert.Contains("/connect/authorize", page.Url, StringComparison.Ordinal);
        // The refusal page itself is a 403, which the browser reports; what follows must load without any error.
        Assert.All(problems, p => Assert.Contains("403", p, StringComparison.Ordinal));
        problems.Clear();

        var screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");
        System.IO.Directory.CreateDirectory(screenshots);
        try
        {
            await SignInAsync(page, hub, "stat.tanaka", statistician.TotpSecret!);
            // The code comes back to the dashboard, which redeems it and drops it from the address.
            await Assertions.Expect(page.Locator("[data-testid=headline-enrolment]")).ToHaveTextAsync("24", new() { Timeout = 60_000 });
            Assert.Equal($"{hub.Url}dashboard/", page.Url);
            await Assertions.Expect(page.Locator("[data-testid=headline-panel-tests]")).ToHaveTextAsync("24");
            await Assertions.Expect(page.Locator("[data-testid=headline-consultations]")).ToHaveTextAsync("0");
            await Assertions.Expect(page.Locator("[data-testid=headline-hotline-calls]")).ToHaveTextAsync("0");
            await Assertions.Expect(page.Locator("[data-testid=hotline-topics-table]")).ToContainTextAsync("セカンドオピニオン");
            await Assertions.Expect(page.Locator("#headline-provenance")).ToContainTextAsync("集計対象 24件");
            await Assertions.Expect(page.Locator("#region-table")).ToContainTextAsync("関東");
            var kanto = page.Locator("#region-table tr", new() { HasText = "関東" });
            await Assertions.Expect(kanto).ToContainTextAsync("24");
            await Assertions.Expect(page.Locator("#spokes-table")).ToContainTextAsync("spoke-tokyo");

            await page.FillAsync("#cohort-regimen", "パゾパニブ");
            await page.ClickAsync("#cohort-form button");
            await Assertions.Expect(page.Locator("[data-testid=km-summary]")).ToContainTextAsync("（24人）");
            // Stable disease in all 24: no objective response (0/24), disease control 24/24; progression after 111 days = 3.6 months.
            await Assertions.Expect(page.Locator("[data-testid=km-summary]")).ToContainTextAsync("奏効率 0.0% (0/24");
            await Assertions.Expect(page.Locator("[data-testid=km-summary]")).ToContainTextAsync("無増悪生存期間 中央値 3.6か月");
            Assert.True(await page.EvaluateAsync<bool>("() => Chart.getChart('km-chart').data.datasets.length === 2"));
            Assert.True(await page.EvaluateAsync<bool>("() => Chart.getChart('trend-chart').data.labels.includes('2025-01')"));
        }
        catch (Exception exception) when (!page.IsClosed)
        {
            // What the page showed, for whoever reads the failure.
            await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "dashboard-failure.png"), FullPage = true });
            var shown = await page.Locator("body").InnerTextAsync();
            throw new InvalidOperationException($"{exception.Message}\nPage {page.Url}; console: {string.Join(" | ", problems)}\n{shown[..Math.Min(shown.Length, 2000)]}", exception);
        }

        await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "dashboard.png"), FullPage = true });
        TestContext.Current.SendDiagnosticMessage($"Dashboard screenshot: {Path.Combine(screenshots, "dashboard.png")}");
        Assert.True(problems.Count == 0, "Console errors: " + string.Join(" | ", problems));

        // Exact figures need the permission this statistician does not hold: the page says so.
        await page.CheckAsync("#exact");
        await page.ClickAsync("#filters button");
        await Assertions.Expect(page.Locator("#error")).ToContainTextAsync("exact-statistics permission");
    }

    [Fact]
    public async Task TheJsonEndpoints_RefuseWithoutAToken_AndAnswerBadQueriesWithTheField()
    {
        using var folder = new TempFolder("rcn-dashboard-json");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        var figure = new Uri($"{hub.Url}api/v1/statistics/figure");
        using (var anonymous = await http.PostAsync(figure, new StringContent("""{"query":{"figure":"FIGURE_REGISTRY_ENROLMENT"}}""", System.Text.Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }
        var token = await People.AddAndSignInAsync(hub, folder.Path, "stat.json", NetworkClaims.Roles.Statistician, "CORE-004");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        using (var bad = await http.PostAsync(figure, new StringContent("""{"query":{"figure":"FIGURE_REGISTRY_ENROLMENT","filter":{"fromMonth":"2025-13"}}}""",
            System.Text.Encoding.UTF8, "application/json"), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("query.filter.from_month", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }
        using var good = await http.PostAsync(figure, new StringContent("""{"query":{"figure":"FIGURE_REGISTRY_ENROLMENT"}}""", System.Text.Encoding.UTF8, "application/json"), Ct);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Contains("\"titleJa\":\"希少がん登録数\"", await good.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        // Only the statistics service is reachable as JSON: the patient-level services are gRPC only.
        using var other = await http.GetAsync(new Uri($"{hub.Url}api/v1/registry/records"), Ct);
        Assert.Equal(HttpStatusCode.NotFound, other.StatusCode);
    }

    private static async Task SignInAsync(IPage page, HubNode hub, string userId, string totpSecret)
    {
        await page.GotoAsync($"{hub.Url}dashboard/");
        await page.ClickAsync("#sign-in");
        // As long as the dashboard's own wait below: with the whole suite running on 2 cores the sign-in page once took
        // longer than Playwright's default 30 s to fire its load event.
        await page.WaitForURLAsync("**/connect/authorize?**", new() { Timeout = 60_000 });
        await page.FillAsync("input[name=user_id]", userId);
        await page.FillAsync("input[name=password]", People.Password);
        await page.FillAsync("input[name=one_time_code]", SignInPage.CurrentCode(totpSecret));
        await page.ClickAsync("form button");
    }

    private static async Task<bool> SpokeReportedAsync(HubNode hub) =>
        (await hub.Services.GetRequiredService<RareCancerNetwork.Hub.Sync.SpokeSyncStatusStore>().ListAsync(Ct)).Any(s => s.NodeId == "spoke-tokyo" && s.LastContact is not null);
}
