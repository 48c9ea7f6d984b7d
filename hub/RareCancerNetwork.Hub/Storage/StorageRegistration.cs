namespace RareCancerNetwork.Hub.Storage;

/// <summary>The hub's store.</summary>
public static class StorageRegistration
{
    public static WebApplicationBuilder AddHubStorage(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<HubDatabase>();
        return builder;
    }
}
