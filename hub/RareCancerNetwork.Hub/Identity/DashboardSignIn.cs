using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// Browser sign-in for the statistics dashboard: the authorization code grant with PKCE (RFC 7636) through the hub's
/// own authorization endpoint, where a statistician gives user id, password and one-time code. The page is the
/// endpoint itself (OpenIddict validates the request — client, redirect URI, code challenge — before it runs), and the
/// dashboard, a public client, redeems the code for a short-lived access token. No cookie session: each sign-in asks
/// for the one-time code.
/// </summary>
internal static class DashboardSignIn
{
    public const string Path = "/connect/authorize";
    public const string ClientId = "rcn-dashboard";
    public const string DashboardPath = "/dashboard/";

    public static void Map(WebApplication app)
    {
        app.MapGet(Path, ShowAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapPost(Path, SubmitAsync).AllowAnonymous().ExcludeFromDescription();
    }

    private static IResult ShowAsync(HttpContext http, IAntiforgery antiforgery)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenIddict server request cannot be retrieved.");
        return Form(http, antiforgery, request, error: null, StatusCodes.Status200OK);
    }

    private static async Task<IResult> SubmitAsync(HttpContext http, IAntiforgery antiforgery, UserAccounts users, AuditLog audit, CancellationToken cancellationToken)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("The OpenIddict server request cannot be retrieved.");
        try
        {
            await antiforgery.ValidateRequestAsync(http);
        }
        catch (AntiforgeryValidationException)
        {
            return Form(http, antiforgery, request, "入力の有効期限が切れました。もう一度お試しください。(The form expired; please try again.)", StatusCodes.Status400BadRequest);
        }
        var form = await http.Request.ReadFormAsync(cancellationToken);
        var userId = form["user_id"].ToString().Trim();
        var oneTimeCode = form["one_time_code"].ToString().Trim();
        // The dashboard always asks for the second factor: an account without one is not let in, whatever its password.
        var account = oneTimeCode.Length == 0 || !await users.RequiresOneTimeCodeAsync(userId, cancellationToken)
            ? null
            : await users.SignInAsync(userId, form["password"].ToString(), oneTimeCode, cancellationToken);
        var refusal = account is null ? "credentials refused"
            : account.Role != NetworkClaims.Roles.Statistician ? "not a statistician"
            : null;
        await audit.AppendAsync(new AuditRecord(AuditVocabulary.EventTypeSignIn, "E", refusal is null ? AuditVocabulary.Success : AuditVocabulary.Failure, Path,
            userId.Length > 64 ? userId[..64] : userId, account?.Role ?? "", http.Connection.RemoteIpAddress?.ToString() ?? "",
            "", "", refusal ?? "dashboard sign-in"), CancellationToken.None);
        if (account is null)
        {
            return Form(http, antiforgery, request,
                "ユーザーID・パスワード・ワンタイムコードのいずれかが正しくないか、アカウントがロックされています。(The user id, password or one-time code is not correct, or the account is locked.)",
                StatusCodes.Status400BadRequest);
        }
        if (refusal is not null)
        {
            return Form(http, antiforgery, request, "この画面は統計担当者のためのものです。(The dashboard is for statisticians.)", StatusCodes.Status403Forbidden);
        }
        ClaimsIdentity identity;
        try
        {
            identity = PersonTokens.Create(account, request.GetScopes());
        }
        catch (PreconditionFailedException exception)
        {
            return Form(http, antiforgery, request, exception.Message, StatusCodes.Status400BadRequest);
        }
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static IResult Form(HttpContext http, IAntiforgery antiforgery, OpenIddictRequest request, string? error, int status)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        var e = HtmlEncoder.Default;
        // The authorization request travels with the form, so that the endpoint validates it again on the way back.
        var carried = string.Concat(request.GetParameters()
            .Where(p => p.Key is not ("user_id" or "password" or "one_time_code") && !p.Key.StartsWith("__", StringComparison.Ordinal))
            .Select(p => $"<input type=\"hidden\" name=\"{e.Encode(p.Key)}\" value=\"{e.Encode((string?)p.Value ?? "")}\">"));
        var body = $"""
            <h1>希少がん診療ネットワーク 統計ダッシュボード</h1>
            <p>統計担当者のサインイン (Sign in to the national statistics)</p>
            {(error is null ? "" : $"<p class=\"error\" role=\"alert\">{e.Encode(error)}</p>")}
            <form method="post" action="{Path}">
              <input type="hidden" name="{e.Encode(tokens.FormFieldName)}" value="{e.Encode(tokens.RequestToken ?? "")}">
              {carried}
              <label>ユーザーID (User id) <input name="user_id" required autocomplete="username"></label>
              <label>パスワード (Password) <input name="password" type="password" required autocomplete="current-password"></label>
              <label>ワンタイムコード (One-time code) <input name="one_time_code" inputmode="numeric" required autocomplete="one-time-code"></label>
              <button>サインイン (Sign in)</button>
            </form>
            """;
        return SignInPages.Html(http, status, "サインイン — 希少がん診療ネットワーク", body);
    }

    /// <summary>The dashboard's public client: code flow with PKCE, statistics scope only; its redirect URIs are added as the hub learns its addresses.</summary>
    public static async Task RegisterClientAsync(IOpenIddictApplicationManager applications, CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(ClientId, cancellationToken) is not null)
        {
            return;
        }
        await applications.CreateAsync(new OpenIddictApplicationDescriptor
        {
            ClientId = ClientId,
            ClientType = ClientTypes.Public,
            DisplayName = "Rare Cancer Network statistics dashboard",
            Permissions =
            {
                Permissions.Endpoints.Authorization, Permissions.Endpoints.Token, Permissions.GrantTypes.AuthorizationCode, Permissions.ResponseTypes.Code,
                Permissions.Prefixes.Scope + NetworkClaims.Scopes.Statistics,
            },
            Requirements = { Requirements.Features.ProofKeyForCodeExchange },
        }, cancellationToken);
    }

    /// <summary>
    /// Once the hub listens: the dashboard's address on each listening address (and on the configured issuer, the public
    /// name behind a load balancer) becomes a redirect URI of the dashboard client, so a code is only ever sent to the
    /// hub's own dashboard. Instances on one database add theirs to the same client.
    /// </summary>
    public static void RegisterRedirectsWhenListening(WebApplication app)
    {
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            var issuer = app.Services.GetRequiredService<IOptions<HubOptions>>().Value.Issuer;
            var redirects = addresses.Append(issuer ?? "").Where(a => a.StartsWith("https://", StringComparison.Ordinal))
                .Select(a => new Uri(a.TrimEnd('/') + DashboardPath)).ToList();
            // Runs once at start-up, before the hub is reported started; the dashboard cannot be used before it.
            AddRedirectsAsync(app.Services, redirects).GetAwaiter().GetResult();
        });
    }

    private static async Task AddRedirectsAsync(IServiceProvider services, IReadOnlyList<Uri> redirects)
    {
        await using var scope = services.CreateAsyncScope();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var client = await applications.FindByClientIdAsync(ClientId) ?? throw new InvalidOperationException("The dashboard client is not registered.");
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, client);
        var before = descriptor.RedirectUris.Count;
        descriptor.RedirectUris.UnionWith(redirects);
        if (descriptor.RedirectUris.Count != before)
        {
            await applications.UpdateAsync(client, descriptor);
        }
    }
}
