namespace RareCancerNetwork.Spoke.Hotline;

/// <summary>The centre's hotline calls and their API.</summary>
public static class HotlineRegistration
{
    public static WebApplicationBuilder AddLocalHotline(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LocalHotlineStore>();
        return builder;
    }

    public static WebApplication MapLocalHotline(this WebApplication app)
    {
        app.MapGrpcService<LocalHotlineGrpcService>();
        return app;
    }
}
