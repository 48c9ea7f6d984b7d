using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Authentication;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// The small hub page of the device authorization grant (RFC 8628): the person types the code the
/// command line shows, their user id, password and one-time code; the command line then receives
/// its tokens. No password ever passes through the command line.
/// </summary>
internal static partial class DeviceVerificationPage
{
    public const string Path = "/connect/verify";
    public const string DonePath = "/connect/verify/done";

    public static void Map(WebApplication app)
    {
        app.MapGet(Path, ShowAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(Path, SubmitAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapGet(DonePath, (HttpContext http, string? outcome) => Html(http, StatusCodes.Status200OK, outcome == "denied"
            ? "<h1>Sign-in refused</h1><p>The command line will not be signed in. You can close this page.</p>"
            : "<h1>Signed in</h1><p>Return to the command line; it continues by itself. You can close this page.</p>")).AllowAnonymous().ExcludeFromDescription();
    }

    private static async Task<IResult> ShowAsync(HttpContext http, IAntiforgery antiforgery)
    {
        var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        var userCode = result.Properties?.GetTokenValue(OpenIddictServerAspNetCoreConstants.Tokens.UserCode);
        if (result.Succeeded && !string.IsNullOrEmpty(result.Principal?.GetClaim(Claims.ClientId)))
        {
            return Form(http, antiforgery, userCode, error: null, StatusCodes.Status200OK);
        }
        return string.IsNullOrEmpty(userCode)
            ? Form(http, antiforgery, null, null, StatusCodes.Status200OK)
            : Form(http, antiforgery, null, "That code is not valid or has expired. Start again from the command line.", StatusCodes.Status400BadRequest);
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, IAntiforgery antiforgery, UserAccounts users, AuditLog audit, CancellationToken cancellationToken)
    {
        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Form(http, antiforgery, null, "The form expired. Please try again.", StatusCodes.Status400BadRequest);
        }
        var form = await http.Request.ReadFormAsync(cancellationToken);
        var result = await http.AuthenticateAsync(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
        if (!result.Succeeded || string.IsNullOrEmpty(result.Principal?.GetClaim(Claims.ClientId)))
        {
            return Form(http, antiforgery, null, "That code is not valid or has expired. Start again from the command line.", StatusCodes.Status400BadRequest);
        }
        var userCode = result.Properties?.GetTokenValue(OpenIddictServerAspNetCoreConstants.Tokens.UserCode);
        if (form["action"] == "deny")
        {
            return Results.Forbid(new AuthenticationProperties { RedirectUri = DonePath + "?outcome=denied" }, [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
        }
        var userId = form["user_id"].ToString().Trim();
        var account = await users.SignInAsync(userId, form["password"].ToString(), form["one_time_code"].ToString().Trim(), cancellationToken);
        await audit.AppendAsync(new AuditRecord(AuditVocabulary.EventTypeSignIn, "E", account is null ? AuditVocabulary.Failure : AuditVocabulary.Success, Path,
            userId.Length > 64 ? userId[..64] : userId, account?.Role ?? "", http.Connection.RemoteIpAddress?.ToString() ?? "",
            "", "", account is null ? "credentials refused" : "device code approved"), CancellationToken.None);
        if (account is null)
        {
            return Form(http, antiforgery, userCode, "The user id, password or one-time code is not correct, or the account is locked.", StatusCodes.Status400BadRequest);
        }
        ClaimsIdentity identity;
        try
        {
            identity = PersonTokens.Create(account, result.Principal!.GetScopes());
        }
        catch (PreconditionFailedException exception)
        {
            return Form(http, antiforgery, userCode, exception.Message, StatusCodes.Status400BadRequest);
        }
        return Results.SignIn(new ClaimsPrincipal(identity), new AuthenticationProperties { RedirectUri = DonePath },
            OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static IResult Form(HttpContext http, IAntiforgery antiforgery, string? userCode, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var e = HtmlEncoder.Default;
        var body = $"""
            <h1>Rare Cancer Network — sign in a command line</h1>
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{e.Encode(error)}</p>")}
            <form method="post" action="{Path}">
              <input type="hidden" name="{e.Encode(tokens.FormFieldName)}" value="{e.Encode(tokens.RequestToken ?? "")}">
              <label>Code shown by the command line <input name="user_code" value="{e.Encode(userCode ?? "")}" required autocomplete="off"></label>
              <label>User id <input name="user_id" required autocomplete="username"></label>
              <label>Password <input name="password" type="password" required autocomplete="current-password"></label>
              <label>One-time code (authenticator app) <input name="one_time_code" inputmode="numeric" autocomplete="one-time-code"></label>
              <button name="action" value="accept">Sign in</button>
              <button name="action" value="deny">Refuse</button>
            </form>
            """;
        return Html(http, status, body);
    }

    private static IResult Html(HttpContext http, int status, string body) => SignInPages.Html(http, status, "Rare Cancer Network sign-in", body);
}
