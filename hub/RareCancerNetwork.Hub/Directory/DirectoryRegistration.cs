namespace RareCancerNetwork.Hub.Directory;

/// <summary>
/// The national directory: designated hospitals and prefectures (seeded on first start), experts and the
/// trial catalogue, published to every spoke; and trial matching over the national registry.
/// </summary>
public static class DirectoryRegistration
{
    public static WebApplicationBuilder AddDirectory(this WebApplicationBuilder builder)
    {
        builder.Services.AddScoped<DirectorySeeder>();
        builder.Services.AddScoped<DirectoryAdministration>();
        builder.Services.AddSingleton<PublicDirectoryCopy>();
        return builder;
    }

    public static WebApplication MapDirectory(this WebApplication app)
    {
        app.MapGrpcService<DirectoryGrpcService>();
        app.MapGrpcService<TrialMatchingGrpcService>();
        // The public finder's endpoint (gRPC and GET /api/v1/public/facilities): no sign-in; its policy admits anyone.
        app.MapGrpcService<PublicDirectoryGrpcService>().AllowAnonymous();
        FinderPage.Map(app);
        return app;
    }

    /// <summary>Seeds an empty directory, then publishes whatever the published copy lacks (new fields after an upgrade).</summary>
    public static async Task SeedDirectoryAsync(IServiceProvider services, CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DirectorySeeder>().SeedIfEmptyAsync(cancellationToken);
        await scope.ServiceProvider.GetRequiredService<DirectoryAdministration>().RepublishAsync(cancellationToken);
    }
}
