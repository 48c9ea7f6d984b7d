using System.Net;
using System.Text;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Validation;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// Serves the public facility finder from the hub (page, script and style embedded at build time): no sign-in, no data in the
/// files; the page reads <c>GET /api/v1/public/facilities</c> like any other client. Browsers may keep the files an hour.
/// </summary>
internal static class FinderPage
{
    public const string Path = "/finder/";

    private static readonly EmbeddedSite Site = new("Finder/",
        [("index.html", "text/html; charset=utf-8"), ("finder.js", "text/javascript; charset=utf-8"), ("finder.css", "text/css; charset=utf-8")],
        "public, max-age=3600", (name, bytes) => name == "index.html" ? WithPlaces(bytes) : bytes);

    public static void Map(WebApplication app) => Site.Map(app, Path);

    /// <summary>The 47 prefectures and 8 regions as the page's choices, from the reference list every node ships.</summary>
    private static byte[] WithPlaces(byte[] page)
    {
        static string Options(IEnumerable<string> values) =>
            string.Join("\n            ", values.Select(v => $"<option value=\"{WebUtility.HtmlEncode(v)}\">{WebUtility.HtmlEncode(v)}</option>"));
        return Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(page)
            .Replace("<!--prefectures-->", Options(ReferenceLists.Prefectures), StringComparison.Ordinal)
            .Replace("<!--regions-->", Options(ReferenceLists.Regions), StringComparison.Ordinal));
    }
}
