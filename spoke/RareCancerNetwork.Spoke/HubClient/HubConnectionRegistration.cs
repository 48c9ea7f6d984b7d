using Microsoft.AspNetCore.DataProtection;
using OpenIddict.Validation.AspNetCore;
using RareCancerNetwork.HubClient;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>The node's identity towards the hub, its channel, and validation of local users' tokens with the hub's keys.</summary>
public static class HubConnectionRegistration
{
    public static WebApplicationBuilder AddHubConnection(this WebApplicationBuilder builder, SpokeOptions options)
    {
        var services = builder.Services;
        services.AddDataProtection().PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(options.KeysFolder, "data-protection")));
        var clientCertificate = options.LoadClientCertificate();
        services.AddSingleton(new NodeIdentity(clientCertificate));
        services.AddSingleton<HubConnection>();
        services.AddHubTokenClient(options.Hub.EffectiveIssuer, options.Hub.CaCertificatePath, options.Hub.ClientId, clientSecret: null, clientCertificate);

        var trust = PinnedCaTrust.FromFile(options.Hub.CaCertificatePath);
        services.AddOpenIddict().AddValidation(validation =>
        {
            // Note: tokens are validated against the hub's published keys; the audience must name this node.
            validation.SetIssuer(HubClientRegistration.IssuerUri(options.Hub.EffectiveIssuer));
            validation.AddAudiences(NetworkClaims.Audiences.Spoke(options.NodeId));
            validation.UseSystemNetHttp().ConfigureHttpClientHandler(trust.Apply);
            validation.UseAspNetCore();
        });
        // Runs after OpenIddict's own post-configuration, which creates the configuration manager being wrapped.
        services.AddOptions<OpenIddict.Validation.OpenIddictValidationOptions>().PostConfigure<ILoggerFactory, TimeProvider>((validation, loggers, clock) =>
            validation.ConfigurationManager = new PersistedHubKeys(validation.ConfigurationManager!, Path.Combine(options.KeysFolder, "hub-signing-keys.json"),
                HubClientRegistration.IssuerUri(options.Hub.EffectiveIssuer), loggers.CreateLogger<PersistedHubKeys>(), clock));
        services.AddHostedService<HubKeysPrefetchWorker>();
        services.AddCachedBearer(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        return builder;
    }
}
