namespace RareCancerNetwork.Hub.Referrals;

/// <summary>Referrals routed between the spokes.</summary>
public static class ReferralsRegistration
{
    public static WebApplicationBuilder AddReferrals(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ReferralStore>();
        return builder;
    }

    public static WebApplication MapReferrals(this WebApplication app)
    {
        app.MapGrpcService<ReferralSyncGrpcService>();
        return app;
    }
}
