namespace RareCancerNetwork.Spoke.Referrals;

/// <summary>The facility's referrals and their API.</summary>
public static class ReferralsRegistration
{
    public static WebApplicationBuilder AddLocalReferrals(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<LocalReferralStore>();
        return builder;
    }

    public static WebApplication MapLocalReferrals(this WebApplication app)
    {
        app.MapGrpcService<LocalReferralGrpcService>();
        return app;
    }
}
