using Microsoft.Extensions.Options;
using RareCancerNetwork.Hub.Audit;
using RareCancerNetwork.Hub.Consultations;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Hub.Hotline;
using RareCancerNetwork.Hub.Referrals;
using RareCancerNetwork.Hub.Registry;
using RareCancerNetwork.Hub.Statistics;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Hub.Sync;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Hub;

/// <summary>Builds the hub application; used by the program and by in-process tests alike.</summary>
public static class HubHost
{
    /// <summary>The node id of the hub, carried by its own audit entries.</summary>
    public const string HubNodeId = "hub";

    /// <exception cref="NodeConfigurationException">A setting is invalid; the message names each one.</exception>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? settings = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }
        var options = NodeConfiguration.BindValidated<HubOptions>(builder.Configuration, HubOptions.Section);
        builder.Services.AddSingleton(Options.Create(options));
        var tls = DevelopmentCertificates.Resolve(options.CertificatePath, options.TlsFolder, "Rare Cancer Network hub");
        builder.Services.AddSingleton(tls);

        builder.AddNodeDefaults(new NodeDescription(HubOptions.Section, HubNodeId, RpcPolicies.Hub, options.EffectiveListenUrls,
            DevelopmentCertificates.LoadServerCertificate(tls.ServerPfxPath, options.CertificatePassword)),
            provider => provider.GetRequiredService<HubDatabase>());
        builder.AddHubStorage(options);
        builder.AddHubIdentity(options);
        builder.AddDirectory();
        builder.AddConsultations();
        builder.AddSpokeSync();
        builder.AddRegistry();
        builder.AddReferrals();
        builder.AddHotline();
        builder.AddStatistics();
        builder.AddHubAudit();

        var app = builder.Build();
        app.UseHubIdentityAudit();
        app.MapNodeDefaults();
        app.MapHubIdentity();
        app.MapDirectory();
        app.MapConsultations();
        app.MapSpokeSync();
        app.MapRegistry();
        app.MapReferrals();
        app.MapHotline();
        app.MapStatistics();
        app.MapHubAudit();
        return app;
    }

    /// <summary>
    /// Creates or migrates everything the hub keeps: store schema, identity tables, keys, scopes, directory.
    /// Instances starting together on one database do this one after the other; the later ones find it done.
    /// </summary>
    public static async Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        var database = services.GetRequiredService<HubDatabase>();
        await using var initialization = await database.LockForInitializationAsync(cancellationToken);
        await database.MigrateAsync(cancellationToken);
        await RegistryFacts.BuildOnceAsync(database, services.GetRequiredService<TimeProvider>(), cancellationToken);
        await ReferralStore.FillPatientPseudonymsAsync(database, cancellationToken);
        await IdentityRegistration.InitializeIdentityAsync(services, cancellationToken);
        await DirectoryRegistration.SeedDirectoryAsync(services, cancellationToken);
        await services.GetRequiredService<ReportSigningKeys>().EnsureCreatedAsync(cancellationToken);
    }
}
