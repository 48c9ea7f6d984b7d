using Microsoft.Extensions.Options;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>The hub's store, on the provider the configuration names, and what that provider needs beside it.</summary>
public static class StorageRegistration
{
    public static WebApplicationBuilder AddHubStorage(this WebApplicationBuilder builder, HubOptions options)
    {
        builder.Services.AddSingleton(provider => HubDatabase.Create(provider.GetRequiredService<IOptions<HubOptions>>().Value));
        if (options.Storage.Provider == HubStorageProvider.Postgres)
        {
            builder.Services.AddHostedService<PostgresFeedListener>();
        }
        return builder;
    }
}
