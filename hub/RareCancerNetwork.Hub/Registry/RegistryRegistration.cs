namespace RareCancerNetwork.Hub.Registry;

/// <summary>The national registry.</summary>
public static class RegistryRegistration
{
    public static WebApplicationBuilder AddRegistry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<RegistryStore>();
        builder.Services.AddSingleton<DataQueryStore>();
        return builder;
    }

    public static WebApplication MapRegistry(this WebApplication app)
    {
        app.MapGrpcService<RegistrySyncGrpcService>();
        app.MapGrpcService<RegistryAdministrationGrpcService>();
        app.MapGrpcService<RegistryDataManagementGrpcService>();
        return app;
    }
}
