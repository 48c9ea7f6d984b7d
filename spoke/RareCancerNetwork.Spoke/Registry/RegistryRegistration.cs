namespace RareCancerNetwork.Spoke.Registry;

/// <summary>The facility's registry records and their API.</summary>
public static class RegistryRegistration
{
    public static WebApplicationBuilder AddLocalRegistry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LocalRegistryStore>();
        builder.Services.AddSingleton<LocalDataQueryStore>();
        return builder;
    }

    public static WebApplication MapLocalRegistry(this WebApplication app)
    {
        app.MapGrpcService<LocalRegistryGrpcService>();
        return app;
    }
}
