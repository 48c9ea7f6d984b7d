using System.Collections.Frozen;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// Serves the statistics dashboard from the hub itself (page, script, style and the bundled Chart.js, all embedded in the
/// hub at build time): it works on a hospital network that reaches no CDN. The files hold no data; the page signs in and
/// reads the figures through the statistics service like any other client.
/// </summary>
internal static class DashboardPage
{
    public const string Path = "/dashboard/";

    private static readonly FrozenDictionary<string, (string MediaType, byte[] Content)> Files = new[]
    {
        ("index.html", "text/html; charset=utf-8"), ("dashboard.js", "text/javascript; charset=utf-8"), ("dashboard.css", "text/css; charset=utf-8"),
        ("chart.umd.min.js", "text/javascript; charset=utf-8"), ("chart.js.LICENSE.md", "text/plain; charset=utf-8"),
    }.ToFrozenDictionary(f => f.Item1, f => (f.Item2, Read(f.Item1)), StringComparer.Ordinal);

    public static void Map(WebApplication app)
    {
        // "/dashboard" matches too: it is sent on to "/dashboard/", the address the sign-in returns to.
        app.MapGet(Path, (HttpContext http) => http.Request.Path.Value!.EndsWith('/') ? Serve(http, "index.html") : Results.Redirect(Path))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapGet(Path + "{file}", (HttpContext http, string file) => Serve(http, file)).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult Serve(HttpContext http, string file)
    {
        if (!Files.TryGetValue(file, out var found))
        {
            return Results.NotFound();
        }
        var headers = http.Response.Headers;
        // Only the hub's own scripts and styles, only calls back to the hub, never framed.
        headers["Content-Security-Policy"] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "no-cache";
        return Results.Bytes(found.Content, found.MediaType);
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream("Dashboard/" + name)
            ?? throw new InvalidOperationException($"The dashboard file {name} is not embedded in the hub; was Chart.js fetched at build time?");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
