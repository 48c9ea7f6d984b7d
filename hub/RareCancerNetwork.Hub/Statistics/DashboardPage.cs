using RareCancerNetwork.Hub.Storage;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// Serves the statistics dashboard from the hub itself (page, script, style and the bundled Chart.js, all embedded in the
/// hub at build time): it works on a hospital network that reaches no CDN. The files hold no data; the page signs in and
/// reads the figures through the statistics service like any other client.
/// </summary>
internal static class DashboardPage
{
    public const string Path = "/dashboard/";

    private static readonly EmbeddedSite Site = new("Dashboard/",
    [
        ("index.html", "text/html; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8"),
        ("chart.umd.min.js", "text/javascript; charset=utf-8"), ("chart.js.LICENSE.md", "text/plain; charset=utf-8"),
    ], "no-cache");

    // "/dashboard" matches too: it is sent on to "/dashboard/", the address the sign-in returns to.
    public static void Map(WebApplication app) => Site.Map(app, Path);
}
