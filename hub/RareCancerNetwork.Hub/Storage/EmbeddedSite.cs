using System.Collections.Frozen;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// A few web files embedded in the hub at build time and served under one path to anyone (they hold no data; what they
/// show, they read through the hub's services): only the hub's own scripts and styles, only calls back to the hub, never
/// framed. The dashboard and the public finder are two of them.
/// </summary>
internal sealed class EmbeddedSite
{
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

    private readonly FrozenDictionary<string, (string MediaType, byte[] Content)> _files;
    private readonly string _cacheControl;

    /// <param name="resourcePrefix">The files' logical names in the assembly are this prefix and the file name (e.g. "Dashboard/").</param>
    /// <param name="files">File names and media types.</param>
    /// <param name="cacheControl">How long browsers may keep the files.</param>
    /// <param name="prepare">Changes a file's bytes once, at start (the finder writes its place lists into its page).</param>
    public EmbeddedSite(string resourcePrefix, IEnumerable<(string Name, string MediaType)> files, string cacheControl, Func<string, byte[], byte[]>? prepare = null)
    {
        _cacheControl = cacheControl;
        _files = files.ToFrozenDictionary(f => f.Name, f => (f.MediaType, (prepare ?? ((_, bytes) => bytes))(f.Name, Read(resourcePrefix + f.Name))), StringComparer.Ordinal);
    }

    /// <summary>Serves <c>index.html</c> at <paramref name="path"/> (the path without its slash is sent on to it) and the other files under it.</summary>
    public void Map(WebApplication app, string path)
    {
        app.MapGet(path, (HttpContext http) => http.Request.Path.Value!.EndsWith('/') ? Serve(http, "index.html") : Results.Redirect(path))
            .AllowAnonymous().ExcludeFromDescription();
        app.MapGet(path + "{file}", (HttpContext http, string file) => Serve(http, file)).AllowAnonymous().ExcludeFromDescription();
    }

    private IResult Serve(HttpContext http, string file)
    {
        if (!_files.TryGetValue(file, out var found))
        {
            return Results.NotFound();
        }
        var headers = http.Response.Headers;
        headers["Content-Security-Policy"] = ContentSecurityPolicy;
        headers["X-Content-Type-Options"] = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        headers.CacheControl = _cacheControl;
        return Results.Bytes(found.Content, found.MediaType);
    }

    private static byte[] Read(string name)
    {
        using var stream = typeof(EmbeddedSite).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"The web file {name} is not embedded in the hub; was it fetched at build time?");
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }
}
