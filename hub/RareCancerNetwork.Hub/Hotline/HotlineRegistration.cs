namespace RareCancerNetwork.Hub.Hotline;

/// <summary>The hotline: calls the spokes deliver, and the central institution's own.</summary>
public static class HotlineRegistration
{
    public static WebApplicationBuilder AddHotline(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<HotlineStore>();
        return builder;
    }

    public static WebApplication MapHotline(this WebApplication app)
    {
        app.MapGrpcService<HotlineSyncGrpcService>();
        app.MapGrpcService<HotlineGrpcService>();
        return app;
    }
}
