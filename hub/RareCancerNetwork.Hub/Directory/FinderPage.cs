using System.Collections.Frozen;
using System.Net;
using System.Text;
using RareCancerNetwork.Node.Validation;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// Serves the public facility finder from the hub (page, script and style embedded at build time): no sign-in, no data in the
/// files; the page reads <c>GET /api/v1/public/facilities</c> like any other client. Only the hub's own files, only calls back to
/// the hub, never framed; browsers may keep the files an hour.
/// </summary>
internal static class FinderPage
{
    public const string Path = "/finder/";

    private static readonly FrozenDictionary<string, (string MediaType, byte[] Content)> Files = new[]
    {
        ("index.html", "text/html; charset=utf-8"), ("finder.js", "text/javascript; charset=utf-8"), ("finder.css", "text/css; charset=utf-8"),
    }.ToFrozenDictionary(f => f.Item1, f => (f.Item2, f.Item1 == "index.html" ? WithPlaces(Read(f.Item1)) : Read(f.Item1)), StringComparer.Ordinal);

    public static void Map(WebApplication app)
    {
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
        headers["Content-Security-Policy"] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = "public, max-age=3600";
        return Results.Bytes(found.Content, found.MediaType);
    }

    /// <summary>The 47 prefectures and 8 regions as the page's choices, from the reference list every node ships.</summary>
    private static byte[] WithPlaces(byte[] page)
    {
        var html = Encoding.UTF8.GetString(page);
        var prefectures = string.Concat(ReferenceLists.Prefectures.Select(p => $"\n            <option value=\"{WebUtility.HtmlEncode(p)}\">{WebUtility.HtmlEncode(p)}</option>"));
        var regions = string.Concat(ReferenceLists.Regions.Select(r => $"\n            <option value=\"{WebUtility.HtmlEncode(r)}\">{WebUtility.HtmlEncode(r)}</option>"));
        return Encoding.UTF8.GetBytes(html.Replace("<!--prefectures-->", prefectures.TrimStart('\n', ' '), StringComparison.Ordinal)
            .Replace("<!--regions-->", regions.TrimStart('\n', ' '), StringComparison.Ordinal));
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(FinderPage).Assembly.GetManifestResourceStream("Finder/" + name)
            ?? throw new InvalidOperationException($"The finder file {name} is not embedded in the hub.");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
