using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using RareCancerNetwork.Hub.Storage;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>The hub as the network's OAuth 2.0 / OpenID Connect server, and who may call (registrations, people, standing).</summary>
public static class IdentityRegistration
{
    /// <summary>The scopes the network defines; discovery lists them and a token request must ask for at least one.</summary>
    public static readonly IReadOnlyList<string> NetworkScopes =
    [
        NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Local, NetworkClaims.Scopes.Directory,
        NetworkClaims.Scopes.Admin, NetworkClaims.Scopes.Statistics, NetworkClaims.Scopes.Registry, NetworkClaims.Scopes.Hotline,
    ];

    public static WebApplicationBuilder AddHubIdentity(this WebApplicationBuilder builder, HubOptions options)
    {
        var services = builder.Services;
        services.AddSingleton<ICallerStanding, RegistryStanding>();
        services.AddScoped<ClientRegistry>();
        services.AddSingleton<UserAccounts>();
        services.AddHostedService<TokenPruningWorker>();
        services.AddAntiforgery();
        // Note: one application name and one key ring in the store, so every instance reads what another protected.
        services.AddDataProtection().SetApplicationName("RareCancerNetwork.Hub");
        services.AddSingleton<StoreXmlRepository>();
        services.AddOptions<KeyManagementOptions>().Configure<StoreXmlRepository>((keyManagement, repository) => keyManagement.XmlRepository = repository);
        services.AddDbContext<HubIdentityDbContext>(db =>
        {
            if (options.Storage.Provider == HubStorageProvider.Postgres)
            {
                // Note: OpenIddict's tables live in the hub's own PostgreSQL database, beside the store.
                db.UseNpgsql(options.Storage.ConnectionString);
            }
            else
            {
                db.UseSqlite($"Data Source={options.IdentityDatabasePath}");
            }
            db.UseOpenIddict();
        });
        services.AddSingleton<TokenKeys>();
        services.AddSingleton<TokenKeyRing>();
        // Note: the keys come from the store, loaded when the hub initialises, so they are the same in every instance.
        services.AddOptions<OpenIddictServerOptions>().Configure<TokenKeyRing>((server, keys) =>
        {
            // Note: every unexpired signing key is published, so a key added for rollover is known to spokes
            // before it signs, and a previous key keeps validating its tokens until it is retired.
            foreach (var signingKey in keys.Signing)
            {
                server.SigningCredentials.Add(new SigningCredentials(new X509SecurityKey(signingKey), SecurityAlgorithms.RsaSha256));
            }
            server.EncryptionCredentials.Add(new EncryptingCredentials(new X509SecurityKey(keys.Encryption),
                SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512));
        });
        services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<HubIdentityDbContext>())
            .AddServer(server =>
            {
                server.SetTokenEndpointUris(TokenEndpoint.Path.TrimStart('/'))
                    .SetDeviceAuthorizationEndpointUris("connect/device")
                    .SetEndUserVerificationEndpointUris(DeviceVerificationPage.Path.TrimStart('/'))
                    .SetAuthorizationEndpointUris(DashboardSignIn.Path.TrimStart('/'));
                server.AllowClientCredentialsFlow().AllowDeviceAuthorizationFlow().AllowRefreshTokenFlow();
                // The statistics dashboard in the browser: authorization code with PKCE, nothing else.
                server.AllowAuthorizationCodeFlow().RequireProofKeyForCodeExchange();
                // Note: discovery (scopes_supported) names exactly the network's scopes.
                server.RegisterScopes([.. NetworkScopes, NetworkClaims.Scopes.OfflineAccess]);
                // Note: spoke nodes authenticate with their registered self-signed certificate (RFC 8705) and
                // their access tokens are bound to it (cnf x5t#S256): replayed with another certificate, refused.
                server.EnableSelfSignedTlsClientAuthentication();
                server.UseClientCertificateBoundAccessTokens();
                server.SetAccessTokenLifetime(TimeSpan.FromMinutes(options.AccessTokenLifetimeMinutes))
                    .SetRefreshTokenLifetime(TimeSpan.FromHours(options.RefreshTokenLifetimeHours))
                    .SetDeviceCodeLifetime(TimeSpan.FromSeconds(options.DeviceCodeLifetimeSeconds))
                    .SetUserCodeLifetime(TimeSpan.FromSeconds(options.DeviceCodeLifetimeSeconds));
                // Note: refresh tokens are rotated on every use (OpenIddict's default rolling tokens), and a spent
                // one is refused at once (no reuse leeway), as the OAuth 2.0 Security BCP asks.
                server.SetRefreshTokenReuseLeeway(TimeSpan.Zero);
                if (!string.IsNullOrWhiteSpace(options.Issuer))
                {
                    server.SetIssuer(new Uri(options.Issuer));
                }
                // Note: access tokens are signed JWTs, not encrypted, so spokes validate them with the published keys.
                server.DisableAccessTokenEncryption();
                server.UseAspNetCore().EnableTokenEndpointPassthrough().EnableEndUserVerificationEndpointPassthrough().EnableAuthorizationEndpointPassthrough();
            })
            .AddValidation(validation =>
            {
                validation.UseLocalServer();
                validation.AddAudiences(NetworkClaims.Audiences.Hub);
                validation.UseAspNetCore();
            });
        services.AddCachedBearer(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        // The OAuth server's endpoints are pages and form posts: a gRPC call never needs its request handler.
        services.Configure<CallAuthenticationOptions>(calls => calls.NotForCalls.Add(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme));
        return builder;
    }

    /// <summary>Refused token requests are audited; this runs before authentication, where OpenIddict answers them.</summary>
    public static WebApplication UseHubIdentityAudit(this WebApplication app)
    {
        app.UseMiddleware<TokenRequestAuditMiddleware>();
        return app;
    }

    public static WebApplication MapHubIdentity(this WebApplication app)
    {
        TokenEndpoint.Map(app);
        DeviceVerificationPage.Map(app);
        DashboardSignIn.Map(app);
        DashboardSignIn.RegisterRedirectsWhenListening(app);
        return app;
    }

    /// <summary>Identity tables, the network's scopes and the command line's public client.</summary>
    public static async Task InitializeIdentityAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var identity = scope.ServiceProvider.GetRequiredService<HubIdentityDbContext>();
        var database = services.GetRequiredService<HubDatabase>();
        if (database.Provider == HubStorageProvider.Postgres)
        {
            // Note: EnsureCreated would do nothing in a database that already has tables (the store's).
            if (!await database.TableExistsAsync("OpenIddictApplications", cancellationToken))
            {
                await identity.GetService<IRelationalDatabaseCreator>().CreateTablesAsync(cancellationToken);
            }
        }
        else
        {
            await identity.Database.EnsureCreatedAsync(cancellationToken);
            await identity.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken);
        }
        var options = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<HubOptions>>().Value;
        await services.GetRequiredService<StoreXmlRepository>().ImportFolderOnceAsync(Path.Combine(options.KeysFolder, "data-protection"));
        var keys = services.GetRequiredService<TokenKeys>();
        await keys.EnsureCreatedAsync(cancellationToken);
        await services.GetRequiredService<TokenKeyRing>().LoadAsync(keys, cancellationToken);
        var scopes = scope.ServiceProvider.GetRequiredService<IOpenIddictScopeManager>();
        foreach (var name in NetworkScopes)
        {
            if (await scopes.FindByNameAsync(name, cancellationToken) is null)
            {
                await scopes.CreateAsync(new OpenIddictScopeDescriptor { Name = name }, cancellationToken);
            }
        }
        await RegisterCommandLineClientAsync(scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>(), cancellationToken);
        await DashboardSignIn.RegisterClientAsync(scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>(), cancellationToken);
    }

    /// <summary>
    /// The public client people's command lines use: device authorization grant and refresh tokens only, for every
    /// people's scope. A hub upgraded to a release with a new scope grants it to the existing client.
    /// </summary>
    private static async Task RegisterCommandLineClientAsync(IOpenIddictApplicationManager applications, CancellationToken cancellationToken)
    {
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = NetworkClaims.CommandLineClientId,
            ClientType = OpenIddictConstants.ClientTypes.Public,
            DisplayName = "Rare Cancer Network command line",
            Permissions =
            {
                OpenIddictConstants.Permissions.Endpoints.DeviceAuthorization,
                OpenIddictConstants.Permissions.Endpoints.Token,
                OpenIddictConstants.Permissions.GrantTypes.DeviceCode,
                OpenIddictConstants.Permissions.GrantTypes.RefreshToken,
                OpenIddictConstants.Permissions.Prefixes.Scope + NetworkClaims.Scopes.OfflineAccess,
            },
        };
        foreach (var name in NetworkScopes.Where(s => s != NetworkClaims.Scopes.Sync))
        {
            descriptor.Permissions.Add(OpenIddictConstants.Permissions.Prefixes.Scope + name);
        }
        if (await applications.FindByClientIdAsync(NetworkClaims.CommandLineClientId, cancellationToken) is not { } existing)
        {
            await applications.CreateAsync(descriptor, cancellationToken);
        }
        else if (!(await applications.GetPermissionsAsync(existing, cancellationToken)).ToHashSet().SetEquals(descriptor.Permissions))
        {
            await applications.UpdateAsync(existing, descriptor, cancellationToken);
        }
    }
}
