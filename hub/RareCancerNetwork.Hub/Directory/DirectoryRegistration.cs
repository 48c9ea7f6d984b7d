namespace RareCancerNetwork.Hub.Directory;

/// <summary>The national directory of designated hospitals and prefectures, seeded on first start.</summary>
public static class DirectoryRegistration
{
    public static WebApplicationBuilder AddDirectory(this WebApplicationBuilder builder)
    {
        builder.Services.AddScoped<DirectorySeeder>();
        return builder;
    }

    public static WebApplication MapDirectory(this WebApplication app)
    {
        app.MapGrpcService<DirectoryGrpcService>();
        return app;
    }

    public static async Task SeedDirectoryAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DirectorySeeder>().SeedIfEmptyAsync(cancellationToken);
    }
}
