using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using OpenIddict.Validation.AspNetCore;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.RateLimiting;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Spoke.Store;
using RareCancerNetwork.Spoke.Feed;
using RareCancerNetwork.Spoke.LocalApi;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Pseudonymisation;

namespace RareCancerNetwork.Spoke;

/// <summary>Builds the spoke node: local gRPC API, SQLite cache, outbox delivery and feed consumption.</summary>
/// <summary>The node's client certificate, shared by the token client and the gRPC channel to the hub.</summary>
public sealed record NodeIdentity(System.Security.Cryptography.X509Certificates.X509Certificate2 ClientCertificate);

public static class SpokeHost
{
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null, string? configFile = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (configFile is not null)
        {
            builder.Configuration.AddJsonFile(Path.GetFullPath(configFile), optional: false);
        }
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        var options = builder.Configuration.GetSection(SpokeOptions.Section).Get<SpokeOptions>() ?? new SpokeOptions();
        RequireConfigured(options);
        builder.Services.AddOptions<SpokeOptions>().BindConfiguration(SpokeOptions.Section).ValidateDataAnnotations().ValidateOnStart();

        var tls = DevelopmentCertificates.Resolve(options.CertificatePath, options.TlsFolder, $"Rare Cancer Network spoke {options.NodeId}");
        builder.Services.AddSingleton(tls);
        builder.WebHost.ConfigureKestrel(kestrel => NodeListener.Listen(kestrel, options.EffectiveListenUrls,
            DevelopmentCertificates.LoadServerCertificate(tls.ServerPfxPath, options.CertificatePassword)));

        AddSpokeServices(builder.Services, options);
        var app = builder.Build();
        app.UseMiddleware<HubKeysUnavailableMiddleware>();
        app.UseMiddleware<AuthenticationFailureAuditMiddleware>();
        app.UseAuthentication();
        app.UseAuthorization();
        app.MapGrpcService<LocalConsultationGrpcService>();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService();
        return app;
    }

    private static void AddSpokeServices(IServiceCollection services, SpokeOptions options)
    {
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<SpokeDatabase>();
        services.AddSingleton<PatientPseudonymizer>();
        services.AddSingleton<OutboxSignal>();
        services.AddSingleton<OutboxStore>();
        services.AddSingleton<LocalConsultationStore>();
        services.AddSingleton<FeedStore>();
        services.AddSingleton<ICallerStanding, TokenLifetimeStanding>();
        // Every audit entry is queued for the hub in the transaction that appends it.
        services.AddSingleton(provider => new AuditLog(provider.GetRequiredService<SpokeDatabase>().Database, options.NodeId,
            provider.GetRequiredService<TimeProvider>(), OutboxStore.EnqueueAuditEntryAsync));
        services.AddSingleton<HubConnection>();
        services.AddHostedService<OutboxDeliveryWorker>();
        services.AddHostedService<FeedConsumerWorker>();
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.KeysFolder, "data-protection")));

        var trust = PinnedCaTrust.FromFile(options.Hub.CaCertificatePath);
        var clientCertificate = options.LoadClientCertificate();
        services.AddSingleton(new NodeIdentity(clientCertificate));
        services.AddHubTokenClient(options.Hub.Url, options.Hub.CaCertificatePath, options.Hub.ClientId, clientSecret: null, clientCertificate);
        services.AddOpenIddict().AddValidation(validation =>
        {
            // Note: tokens are validated against the hub's published keys; the audience must name this node.
            validation.SetIssuer(HubClientRegistration.IssuerUri(options.Hub.Url));
            validation.AddAudiences(NetworkClaims.Audiences.Spoke(options.NodeId));
            validation.UseSystemNetHttp().ConfigureHttpClientHandler(trust.Apply);
            validation.UseAspNetCore();
        });
        // Runs after OpenIddict's own post-configuration, which creates the configuration manager being wrapped.
        services.AddOptions<OpenIddict.Validation.OpenIddictValidationOptions>().PostConfigure<ILoggerFactory, TimeProvider>((validation, loggers, clock) =>
            validation.ConfigurationManager = new PersistedHubKeys(validation.ConfigurationManager!, Path.Combine(options.KeysFolder, "hub-signing-keys.json"),
                HubClientRegistration.IssuerUri(options.Hub.Url), loggers.CreateLogger<PersistedHubKeys>(), clock));
        services.AddAuthentication(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        // Note: no anonymous access, not even on loopback (health excepted); only people and clients of this node and facility.
        services.AddNodeGrpc(RpcPolicies.Spoke, SpokeOptions.Section, provider => provider.GetRequiredService<SpokeDatabase>().Database, options.NodeId, options.FacilityCode);
    }

    /// <summary>Thrown before anything is created on disk when the node lacks its registration settings.</summary>
    public sealed class NotConfiguredException(string message) : Exception(message);

    private static void RequireConfigured(SpokeOptions options)
    {
        var missing = new (string Name, string? Value)[]
        {
            ("Spoke:NodeId", options.NodeId), ("Spoke:FacilityCode", options.FacilityCode),
            ("Spoke:Hub:Url", options.Hub.Url), ("Spoke:Hub:ClientId", options.Hub.ClientId),
        }.Where(setting => string.IsNullOrWhiteSpace(setting.Value)).Select(setting => setting.Name).ToList();
        if (missing.Count > 0)
        {
            throw new NotConfiguredException($"The spoke is not configured ({string.Join(", ", missing)} missing). " +
                "Run it with --config <file written by 'hub register-spoke --write-config'>, or set Spoke__NodeId etc.");
        }
        if (!Uri.TryCreate(options.Hub.Url, UriKind.Absolute, out var hub) || hub.Scheme != Uri.UriSchemeHttps)
        {
            throw new NotConfiguredException($"Spoke:Hub:Url must be an absolute https URL; got '{options.Hub.Url}'.");
        }
    }

    public static Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<SpokeDatabase>().Database.MigrateAsync(cancellationToken);
}
