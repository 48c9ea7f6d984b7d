using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Hosting;
using RareCancerNetwork.Spoke.Attachments;
using RareCancerNetwork.Spoke.Directory;
using RareCancerNetwork.Spoke.Feed;
using RareCancerNetwork.Spoke.HubClient;
using RareCancerNetwork.Spoke.LocalApi;
using RareCancerNetwork.Spoke.Outbox;
using RareCancerNetwork.Spoke.Hotline;
using RareCancerNetwork.Spoke.Referrals;
using RareCancerNetwork.Spoke.Registry;
using RareCancerNetwork.Spoke.Store;

namespace RareCancerNetwork.Spoke;

/// <summary>Builds the spoke node: local gRPC API, SQLite store of record, outbox delivery and feed consumption.</summary>
public static class SpokeHost
{
    /// <exception cref="NodeConfigurationException">
    /// A setting is missing or invalid; the message names each one. Thrown before anything is created on disk.
    /// </exception>
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
        var options = NodeConfiguration.BindValidated<SpokeOptions>(builder.Configuration, SpokeOptions.Section);
        builder.Services.AddSingleton(Options.Create(options));
        var tls = DevelopmentCertificates.Resolve(options.CertificatePath, options.TlsFolder, $"Rare Cancer Network spoke {options.NodeId}");
        builder.Services.AddSingleton(tls);

        // Note: no anonymous access, not even on loopback (health excepted); only people and clients of this node and facility.
        builder.AddNodeDefaults(new NodeDescription(SpokeOptions.Section, options.NodeId, RpcPolicies.Spoke, options.EffectiveListenUrls,
            DevelopmentCertificates.LoadServerCertificate(tls.ServerPfxPath, options.CertificatePassword), options.FacilityCode),
            provider => provider.GetRequiredService<SpokeDatabase>().Database,
            // Every audit entry is queued for the hub in the transaction that appends it.
            OutboxStore.EnqueueAuditEntryAsync);
        builder.AddSpokeStore();
        builder.AddLocalRegistry();
        builder.AddLocalDirectory();
        builder.AddLocalReferrals();
        builder.AddLocalHotline();
        builder.AddHubConnection(options);
        builder.AddOutbox();
        builder.AddAttachments();
        builder.AddFeed();

        var app = builder.Build();
        app.UseHubKeysUnavailable();
        app.MapNodeDefaults();
        app.MapLocalApi();
        app.MapLocalRegistry();
        app.MapLocalDirectory();
        app.MapLocalReferrals();
        app.MapLocalHotline();
        return app;
    }

    public static Task InitializeAsync(IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<SpokeDatabase>().Database.MigrateAsync(cancellationToken);
}
