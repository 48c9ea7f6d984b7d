using RareCancerNetwork.Hub.Feed;

namespace RareCancerNetwork.Hub.Sync;

/// <summary>Store-and-forward with spoke nodes: deliveries in, the per-spoke event feed out.</summary>
public static class SyncRegistration
{
    public static WebApplicationBuilder AddSpokeSync(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<EventFeed>();
        builder.Services.AddSingleton<SpokeSyncStatusStore>();
        builder.Services.AddSingleton<HubRestores>();
        // Innermost, after authorization: only an authenticated spoke node's version is checked.
        builder.Services.AddGrpc(grpc => grpc.Interceptors.Add<ContractVersionInterceptor>());
        return builder;
    }

    public static WebApplication MapSpokeSync(this WebApplication app)
    {
        app.MapGrpcService<SpokeSyncGrpcService>();
        return app;
    }
}
