using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;

namespace RareCancerNetwork.Node.Authorization;

/// <summary>
/// A bearer token validated once is not validated again on every call until it expires: the signature check and claim
/// parsing were a quarter of a node's CPU under load. What the validation decided cannot change before the token expires
/// (access tokens are self-contained; revocation and disabling are the per-call standing check's, which still runs on
/// every call). The cache key is the token together with the TLS client certificate it came with, so a certificate-bound
/// token replayed with another certificate is validated afresh (and refused). Refusals are never cached.
/// </summary>
public static class ValidatedTokenCache
{
    public const string Scheme = "rcn-bearer";

    /// <summary>Bounded, so that a flood of distinct tokens cannot grow the node's memory.</summary>
    private const int MostTokens = 50_000;

    /// <summary>Registers the caching scheme as the default, in front of <paramref name="validationScheme"/> (which also challenges and forbids).</summary>
    public static AuthenticationBuilder AddCachedBearer(this IServiceCollection services, string validationScheme)
    {
        services.AddSingleton(new ValidatedTokens(new MemoryCache(new MemoryCacheOptions { SizeLimit = MostTokens })));
        return services.AddAuthentication(Scheme).AddScheme<AuthenticationSchemeOptions, CachedBearerHandler>(Scheme, options =>
        {
            options.ForwardChallenge = validationScheme;
            options.ForwardForbid = validationScheme;
            options.ForwardSignIn = validationScheme;
            options.ForwardSignOut = validationScheme;
            options.ClaimsIssuer = validationScheme;
        });
    }

    internal static string ValidationSchemeOf(AuthenticationSchemeOptions options) => options.ForwardChallenge!;
}

/// <summary>The tickets of tokens validated so far, each until its token expires.</summary>
public sealed class ValidatedTokens(MemoryCache cache)
{
    internal MemoryCache Cache { get; } = cache;
}

internal sealed class CachedBearerHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ValidatedTokens tokens, TimeProvider clock) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var validationScheme = ValidatedTokenCache.ValidationSchemeOf(Options);
        var header = Request.Headers.Authorization.ToString();
        if (!header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return await Context.AuthenticateAsync(validationScheme);
        }
        var key = Key(header.AsSpan(7).Trim(), Context.Connection.ClientCertificate);
        if (tokens.Cache.TryGetValue(key, out AuthenticationTicket? cached) && cached is not null)
        {
            // A copy per call: the principal is the call's own to read.
            return AuthenticateResult.Success(new AuthenticationTicket(cached.Principal.Clone(), cached.Properties.Clone(), Scheme.Name));
        }
        var result = await Context.AuthenticateAsync(validationScheme);
        if (result.Succeeded && result.Principal.GetExpirationDate() is { } expires && expires > clock.GetUtcNow())
        {
            tokens.Cache.Set(key, new AuthenticationTicket(result.Principal.Clone(), result.Properties.Clone(), Scheme.Name),
                new MemoryCacheEntryOptions { AbsoluteExpiration = expires, Size = 1 });
        }
        return result;
    }

    /// <summary>SHA-256 of the token, a separator and the certificate's thumbprint, in one pass over a pooled buffer.</summary>
    private static string Key(ReadOnlySpan<char> token, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate)
    {
        var thumbprint = certificate is null ? "" : CertificateThumbprints.Of(certificate);
        var length = Encoding.UTF8.GetByteCount(token) + 1 + thumbprint.Length;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var written = Encoding.UTF8.GetBytes(token, buffer);
            buffer[written++] = (byte)'|';
            written += Encoding.ASCII.GetBytes(thumbprint, buffer.AsSpan(written));
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, written), hash);
            return Convert.ToBase64String(hash);
        }
        finally
        {
            // The buffer held a bearer token: cleared before another renter sees it.
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer, clearArray: true);
        }
    }
}
