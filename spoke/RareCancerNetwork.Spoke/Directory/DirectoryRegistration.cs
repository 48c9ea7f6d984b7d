namespace RareCancerNetwork.Spoke.Directory;

/// <summary>The spoke's copy of the hub's directory: kept current from the feed, searched and matched against locally.</summary>
public static class DirectoryRegistration
{
    public static WebApplicationBuilder AddLocalDirectory(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LocalDirectoryStore>();
        builder.Services.AddSingleton<DirectorySync>();
        return builder;
    }

    public static WebApplication MapLocalDirectory(this WebApplication app)
    {
        app.MapGrpcService<LocalDirectoryGrpcService>();
        return app;
    }
}
