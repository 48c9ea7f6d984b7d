namespace RareCancerNetwork.Hub.Identity;

/// <summary>The hub's sign-in pages (device verification, dashboard): one small page, no script, never cached or framed.</summary>
internal static class SignInPages
{
    public static IResult Html(HttpContext http, int status, string title, string body)
    {
        // Note: the form posts back to the hub and nowhere else; inline style only, no script.
        http.Response.Headers.CacheControl = "no-store";
        http.Response.Headers["X-Frame-Options"] = "DENY";
        http.Response.Headers["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";
        http.Response.Headers["Referrer-Policy"] = "no-referrer";
        var page = $$"""
            <!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{System.Text.Encodings.Web.HtmlEncoder.Default.Encode(title)}}</title>
            <style>body{font-family:sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}label{display:block;margin:.6rem 0}input{width:100%}.error{color:#a00}</style>
            </head><body>{{body}}</body></html>
            """;
        return Results.Content(page, "text/html; charset=utf-8", System.Text.Encoding.UTF8, status);
    }
}
