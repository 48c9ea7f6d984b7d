namespace RareCancerNetwork.Spoke.LocalApi;

/// <summary>The API this spoke serves to its own facility's people and local clients.</summary>
public static class LocalApiRegistration
{
    /// <summary>Before authentication: a spoke that never reached the hub answers UNAVAILABLE, not a 500.</summary>
    public static WebApplication UseHubKeysUnavailable(this WebApplication app)
    {
        app.UseMiddleware<HubKeysUnavailableMiddleware>();
        return app;
    }

    public static WebApplication MapLocalApi(this WebApplication app)
    {
        app.MapGrpcService<LocalConsultationGrpcService>();
        return app;
    }
}
