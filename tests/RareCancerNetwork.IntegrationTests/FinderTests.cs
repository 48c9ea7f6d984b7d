using System.Net;
using System.Text.Json;
using Microsoft.Playwright;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The public facility finder: the page in Debian's headless Chromium (no sign-in, by keyboard, Japanese and English, desktop
/// and phone width, screenshots saved), and its one endpoint (public fields only, cached, its own rate budget).
/// </summary>
public sealed class FinderTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Endocrine rare cancers at four hospitals; nearest to 愛知県 in this order (prefecture, region, one border, three).</summary>
    private static readonly string[] Endocrine = ["CORE-005", "HUB-018", "CORE-004", "CORE-001"];
    private const string NagoyaContact = "https://www.med.nagoya-u.ac.jp/hospital/";

    private static async Task DeclareSpecialtiesAsync(HubNode hub)
    {
        foreach (var facility in Endocrine)
        {
            await hub.ChangeDirectoryAsync(a => a.UpdateFacilityAsync(new FacilityChange(facility, OrganSpecialties: [OrganSystem.Endocrine],
                ContactUrl: facility == "CORE-005" ? NagoyaContact : null), Ct));
        }
    }

    [Fact]
    public async Task TheFinder_WithoutSignIn_ListsAnOrganSystemsFacilitiesNearestFirst_ByKeyboard_InJapaneseAndEnglish_OnDesktopAndPhone()
    {
        var chromium = Browser.ChromiumPath();
        using var folder = new TempFolder("rcn-finder");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"));
        await DeclareSpecialtiesAsync(hub);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new() { ExecutablePath = chromium, Headless = true, Args = ["--no-sandbox"] });
        await using var desktop = await browser.NewContextAsync(new() { IgnoreHTTPSErrors = true, Locale = "ja-JP", ViewportSize = new() { Width = 1280, Height = 900 } });
        var page = await desktop.NewPageAsync();
        var problems = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                problems.Add(message.Text);
            }
        };
        page.PageError += (_, error) => problems.Add(error);
        var screenshots = Browser.ScreenshotFolder();

        try
        {
            await page.GotoAsync($"{hub.Url}finder/");
            await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("希少がんの専門施設をさがす");
            Assert.Equal("ja", await page.EvaluateAsync<string>("() => document.documentElement.lang"));

            // By keyboard alone: Tab reaches every control in order, a choice is made with the arrow keys, Enter searches.
            var reached = new List<string>();
            for (var i = 0; i < 6; i++)
            {
                await page.Keyboard.PressAsync("Tab");
                reached.Add(await page.EvaluateAsync<string>("() => document.activeElement.id || document.activeElement.tagName"));
            }
            Assert.Equal(["A", "language", "organ", "prefecture", "region", "BUTTON"], reached);
            await page.FocusAsync("#organ");
            await page.SelectOptionAsync("#organ", "ORGAN_SYSTEM_ENDOCRINE");
            await page.FocusAsync("#prefecture");
            await page.SelectOptionAsync("#prefecture", "愛知県");
            await page.FocusAsync("#search button");
            await page.Keyboard.PressAsync("Enter");

            await Assertions.Expect(page.Locator("[data-testid=summary]")).ToHaveTextAsync("4件の病院が見つかりました。");
            Assert.Equal(Endocrine, await page.Locator("#results > li").EvaluateAllAsync<string[]>("items => items.map(i => i.dataset.facilityCode)"));
            await Assertions.Expect(page.Locator("#results > li").First).ToContainTextAsync("名古屋大学医学部附属病院");
            await Assertions.Expect(page.Locator("#results > li").First).ToContainTextAsync("お住まいの都道府県");
            Assert.Equal(NagoyaContact, await page.Locator("#results > li").First.Locator("a").GetAttributeAsync("href"));
            await Assertions.Expect(page.Locator("#results > li").Nth(1)).ToContainTextAsync("窓口のページは未登録です");
            // Every control has a label a screen reader reads.
            foreach (var control in new[] { "organ", "prefecture", "region" })
            {
                Assert.False(string.IsNullOrWhiteSpace(await page.Locator($"label[for={control}]").InnerTextAsync()));
            }
            await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "finder-desktop.png"), FullPage = true });

            // English on request, the answer kept.
            await page.ClickAsync("#language");
            await Assertions.Expect(page.Locator("[data-testid=summary]")).ToHaveTextAsync("4 hospitals found.");
            await Assertions.Expect(page.Locator("h1")).ToHaveTextAsync("Find a rare-cancer hospital");
            Assert.Equal("en", await page.EvaluateAsync<string>("() => document.documentElement.lang"));
            await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "finder-desktop-en.png"), FullPage = true });

            // From the page, nothing that is not public answers: the statistics, the hotline, the directory's own service, a spoke's state.
            var statuses = await page.EvaluateAsync<int[]>("""
                async () => Promise.all([
                  fetch('/api/v1/statistics/spokes').then(r => r.status),
                  fetch('/api/v1/statistics/figure', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"query":{"figure":"FIGURE_HOTLINE_CALLS"}}' }).then(r => r.status),
                  fetch('/rarecancer.network.v1.HotlineService/SearchHotlineCalls', { method: 'POST', headers: { 'Content-Type': 'application/grpc-web' }, body: new Uint8Array(5) }).then(r => r.status),
                  fetch('/rarecancer.network.v1.DirectoryService/ListFacilities', { method: 'POST', headers: { 'Content-Type': 'application/grpc-web' }, body: new Uint8Array(5) }).then(r => r.status),
                ])
                """);
            Assert.All(statuses, status => Assert.True(status is 401 or 403 or 415, $"a non-public address answered {status}"));
            Assert.Equal(401, statuses[0]);
            Assert.Equal(401, statuses[1]);
        }
        catch (Exception exception) when (!page.IsClosed)
        {
            await page.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "finder-failure.png"), FullPage = true });
            var shown = await page.Locator("body").InnerTextAsync();
            throw new InvalidOperationException($"{exception.Message}\nPage {page.Url}; console: {string.Join(" | ", problems)}\n{shown[..Math.Min(shown.Length, 2000)]}", exception);
        }
        // The refused fetches above are the only errors the browser may report.
        Assert.All(problems, p => Assert.True(p.Contains("401", StringComparison.Ordinal) || p.Contains("415", StringComparison.Ordinal) || p.Contains("403", StringComparison.Ordinal), p));

        // A phone-sized screen: a shared search address opens with its answer, and nothing is wider than the screen.
        await using var phone = await browser.NewContextAsync(new()
        {
            IgnoreHTTPSErrors = true, Locale = "ja-JP", ViewportSize = new() { Width = 375, Height = 812 }, IsMobile = true, HasTouch = true, DeviceScaleFactor = 2,
        });
        var small = await phone.NewPageAsync();
        await small.GotoAsync($"{hub.Url}finder/?organSystem=ORGAN_SYSTEM_ENDOCRINE&prefecture={Uri.EscapeDataString("北海道")}");
        await Assertions.Expect(small.Locator("[data-testid=summary]")).ToHaveTextAsync("4件の病院が見つかりました。");
        Assert.Equal("CORE-001", await small.Locator("#results > li").First.GetAttributeAsync("data-facility-code"));
        Assert.True(await small.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth"), "the page is wider than a phone's screen");
        await small.ScreenshotAsync(new() { Path = Path.Combine(screenshots, "finder-phone.png"), FullPage = true });
        TestContext.Current.SendDiagnosticMessage($"Finder screenshots: {screenshots}");
    }

    [Fact]
    public async Task ThePublicEndpoint_AnswersAnyoneWithPublicFieldsOnly_IsCacheable_AndHasABudgetPerAddress()
    {
        using var folder = new TempFolder("rcn-finder-json");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: new Dictionary<string, string?>
        {
            ["Hub:RateLimit:PublicBurst"] = "5", ["Hub:RateLimit:PublicRequestsPerSecond"] = "1",
        });
        await DeclareSpecialtiesAsync(hub);
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        var address = new Uri($"{hub.Url}api/v1/public/facilities?organSystem=ORGAN_SYSTEM_ENDOCRINE&prefecture={Uri.EscapeDataString("愛知県")}");

        using (var answer = await http.GetAsync(address, Ct))
        {
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
            Assert.Equal("public, max-age=60", answer.Headers.CacheControl?.ToString());
            var body = await answer.Content.ReadAsStringAsync(Ct);
            using var json = JsonDocument.Parse(body);
            var facilities = json.RootElement.GetProperty("facilities").EnumerateArray().ToList();
            Assert.Equal(Endocrine, facilities.Select(f => f.GetProperty("facilityCode").GetString()));
            Assert.Equal(NagoyaContact, facilities[0].GetProperty("contactUrl").GetString());
            // Public fields only: which spoke serves a facility is the network's business.
            Assert.DoesNotContain("servingNodeId", body, StringComparison.Ordinal);
            Assert.DoesNotContain("spoke", body, StringComparison.OrdinalIgnoreCase);
        }
        using (var bad = await http.GetAsync(new Uri($"{hub.Url}api/v1/public/facilities?prefecture=Aichi"), Ct))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Contains("prefecture", await bad.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        }

        // One address over its budget is told to wait; a signed-in caller of the network is not affected.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 12; i++)
        {
            using var response = await http.GetAsync(address, Ct);
            statuses.Add(response.StatusCode);
        }
        Assert.Contains(HttpStatusCode.TooManyRequests, statuses);
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var token = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Directory);
        var directory = new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, token, node.Certificate));
        Assert.NotEmpty((await directory.ListFacilitiesAsync(new() { PageSize = 5 }, cancellationToken: Ct)).Facilities);
        // The page itself is served to anyone.
        using var page = await http.GetAsync(new Uri($"{hub.Url}finder/"), Ct);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("<option value=\"愛知県\">愛知県</option>", await page.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    /// <summary>
    /// The finder answers from its copy while the hub's store cannot answer at all: the published directory is locked (a
    /// PostgreSQL hub, where a lock blocks readers), and the network's own directory call waits for it until its deadline.
    /// </summary>
    [Fact]
    [Trait("HubStore", "own")]
    public async Task TheFinder_KeepsAnswering_WhileTheHubsStoreIsLocked()
    {
        var connectionString = await (await Tests.Shared.PostgresCluster.SharedAsync()).CreateDatabaseAsync();
        using var folder = new TempFolder("rcn-finder-locked");
        await using var hub = await HubNode.StartAsync(folder.Sub("hub"), extra: new Dictionary<string, string?>
        {
            ["Hub:Storage:Provider"] = "Postgres", ["Hub:Storage:ConnectionString"] = connectionString,
        });
        await DeclareSpecialtiesAsync(hub);
        var node = await hub.RegisterSpokeAsync("spoke-a", "CORE-004", folder.Sub("spoke-a"));
        var token = await Clients.TokenAsync(hub.Url, hub.CaPath, node, NetworkClaims.Scopes.Directory);
        var directory = new DirectoryService.DirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, token, node.Certificate));
        var finder = new PublicDirectoryService.PublicDirectoryServiceClient(Clients.Channel(hub.Url, hub.CaPath, null));
        var query = new FindFacilitiesRequest { OrganSystem = OrganSystem.Endocrine, Prefecture = "愛知県" };
        Assert.Equal(Endocrine, (await finder.FindFacilitiesAsync(query, cancellationToken: Ct)).Facilities.Select(f => f.FacilityCode));

        await using var blocker = new Npgsql.NpgsqlConnection(connectionString);
        await blocker.OpenAsync(Ct);
        await using (var transaction = await blocker.BeginTransactionAsync(Ct))
        {
            await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE directory_entries, directory_head IN ACCESS EXCLUSIVE MODE", blocker, transaction))
            {
                await command.ExecuteNonQueryAsync(Ct);
            }
            await RareCancerNetwork.IntegrationTests.Infrastructure.RpcAssert.FailsAsync(Grpc.Core.StatusCode.DeadlineExceeded, () =>
                directory.ListFacilitiesAsync(new() { PageSize = 5 }, deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: Ct).ResponseAsync);
            var answer = await finder.FindFacilitiesAsync(query, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: Ct);
            Assert.Equal(Endocrine, answer.Facilities.Select(f => f.FacilityCode));
            await transaction.RollbackAsync(Ct);
        }
        Assert.NotEmpty((await directory.ListFacilitiesAsync(new() { PageSize = 5 }, cancellationToken: Ct)).Facilities);
    }
}
