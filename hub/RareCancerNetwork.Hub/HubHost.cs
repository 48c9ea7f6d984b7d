using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Validation.AspNetCore;
using RareCancerNetwork.Hub.Audit;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Hub.Sync;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.RateLimiting;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.HubClient;

namespace RareCancerNetwork.Hub;

/// <summary>Builds the hub application; used by the program and by in-process tests alike.</summary>
public static partial class HubHost
{
    /// <summary>The node id the hub's own audit entries carry.</summary>
    public const string HubAuditNodeId = "hub";

    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        var options = builder.Configuration.GetSection(HubOptions.Section).Get<HubOptions>() ?? new HubOptions();
        builder.Services.AddOptions<HubOptions>().BindConfiguration(HubOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var tls = DevelopmentCertificates.Resolve(options.CertificatePath, options.TlsFolder, "Rare Cancer Network hub");
        builder.WebHost.ConfigureKestrel(kestrel => NodeListener.Listen(kestrel, options.EffectiveListenUrls,
            DevelopmentCertificates.LoadServerCertificate(tls.ServerPfxPath, options.CertificatePassword)));
        builder.Services.AddSingleton(tls);

        builder.AddHubServices(options);
        var app = builder.Build();
        app.UseMiddleware<TokenRequestAuditMiddleware>();
        app.UseMiddleware<AuthenticationFailureAuditMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        TokenEndpoint.Map(app);
        DeviceVerificationPage.Map(app);
        app.MapGrpcService<DirectoryGrpcService>();
        app.MapGrpcService<ExpertConsultationGrpcService>();
        app.MapGrpcService<SpokeSyncGrpcService>();
        app.MapGrpcService<AuditGrpcService>();
        // Note: health is anonymous so that load balancers and probes can use it; it reveals nothing.
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService();
        return app;
    }

    private static void AddHubServices(this WebApplicationBuilder builder, HubOptions options)
    {
        var services = builder.Services;
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<HubDatabase>();
        services.AddSingleton<EventFeed>();
        services.AddSingleton<ConsultationStore>();
        services.AddSingleton<ForwardedAuditStore>();
        services.AddSingleton<ICallerStanding, RegistryStanding>();
        services.AddSingleton(provider => new AuditLog(provider.GetRequiredService<HubDatabase>().Database, HubAuditNodeId, provider.GetRequiredService<TimeProvider>()));
        services.AddScoped<ClientRegistry>();
        services.AddSingleton<UserAccounts>();
        services.AddHostedService<TokenPruningWorker>();
        services.AddAntiforgery();
        services.AddScoped<DirectorySeeder>();

        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.KeysFolder, "data-protection")));
        services.AddDbContext<HubIdentityDbContext>(db =>
        {
            db.UseSqlite($"Data Source={options.IdentityDatabasePath}");
            db.UseOpenIddict();
        });
        services.AddOpenIddict()
            .AddCore(core => core.UseEntityFrameworkCore().UseDbContext<HubIdentityDbContext>())
            .AddServer(server =>
            {
                server.SetTokenEndpointUris(TokenEndpoint.Path.TrimStart('/'))
                    .SetDeviceAuthorizationEndpointUris("connect/device")
                    .SetEndUserVerificationEndpointUris(DeviceVerificationPage.Path.TrimStart('/'));
                server.AllowClientCredentialsFlow().AllowDeviceAuthorizationFlow().AllowRefreshTokenFlow();
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
                // Note: every unexpired signing key is published, so a key added for rollover is known to spokes
                // before it signs, and a previous key keeps validating its tokens until it is retired.
                foreach (var signingKey in TokenKeys.LoadSigningKeys(options.KeysFolder))
                {
                    server.AddSigningCertificate(signingKey);
                }
                server.AddEncryptionCertificate(TokenKeys.LoadOrCreate(options.KeysFolder, TokenKeys.EncryptionFileName, System.Security.Cryptography.X509Certificates.X509KeyUsageFlags.KeyEncipherment));
                // Note: access tokens are signed JWTs, not encrypted, so spokes validate them with the published keys.
                server.DisableAccessTokenEncryption();
                server.UseAspNetCore().EnableTokenEndpointPassthrough().EnableEndUserVerificationEndpointPassthrough();
            })
            .AddValidation(validation =>
            {
                validation.UseLocalServer();
                validation.AddAudiences(NetworkClaims.Audiences.Hub);
                validation.UseAspNetCore();
            });
        services.AddAuthentication(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        services.AddNodeGrpc(RpcPolicies.Hub, HubOptions.Section, provider => provider.GetRequiredService<HubDatabase>().Database);
    }

    /// <summary>Creates or migrates everything the hub keeps: store schema, identity tables, scopes, directory.</summary>
    public static async Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await services.GetRequiredService<HubDatabase>().Database.MigrateAsync(cancellationToken);
        await using var scope = services.CreateAsyncScope();
        var identity = scope.ServiceProvider.GetRequiredService<HubIdentityDbContext>();
        await identity.Database.EnsureCreatedAsync(cancellationToken);
        await identity.Database.ExecuteSqlRawAsync("PRAGMA journal_mode = WAL;", cancellationToken);
        var scopes = scope.ServiceProvider.GetRequiredService<IOpenIddictScopeManager>();
        foreach (var name in NetworkScopes)
        {
            if (await scopes.FindByNameAsync(name, cancellationToken) is null)
            {
                await scopes.CreateAsync(new OpenIddictScopeDescriptor { Name = name }, cancellationToken);
            }
        }
        await RegisterCommandLineClientAsync(scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>(), cancellationToken);
        await scope.ServiceProvider.GetRequiredService<DirectorySeeder>().SeedIfEmptyAsync(cancellationToken);
    }

    private static readonly string[] NetworkScopes =
    [
        NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Local, NetworkClaims.Scopes.Directory,
        NetworkClaims.Scopes.Admin, NetworkClaims.Scopes.Statistics,
    ];

    /// <summary>The public client people's command lines use: device authorization grant and refresh tokens only.</summary>
    private static async Task RegisterCommandLineClientAsync(IOpenIddictApplicationManager applications, CancellationToken cancellationToken)
    {
        if (await applications.FindByClientIdAsync(NetworkClaims.CommandLineClientId, cancellationToken) is not null)
        {
            return;
        }
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
        await applications.CreateAsync(descriptor, cancellationToken);
    }
}
