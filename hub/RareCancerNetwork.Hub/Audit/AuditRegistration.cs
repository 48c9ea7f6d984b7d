namespace RareCancerNetwork.Hub.Audit;

/// <summary>Spokes' forwarded audit trails and the administrators' access review.</summary>
public static class AuditRegistration
{
    public static WebApplicationBuilder AddHubAudit(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ForwardedAuditStore>();
        return builder;
    }

    public static WebApplication MapHubAudit(this WebApplication app)
    {
        app.MapGrpcService<AuditGrpcService>();
        return app;
    }
}
