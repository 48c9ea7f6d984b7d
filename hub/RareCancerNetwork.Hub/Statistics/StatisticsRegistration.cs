namespace RareCancerNetwork.Hub.Statistics;

/// <summary>National statistics for the central institution.</summary>
public static class StatisticsRegistration
{
    public static WebApplicationBuilder AddStatistics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StatisticsStore>();
        builder.Services.AddSingleton<NationalFigures>();
        return builder;
    }

    public static WebApplication MapStatistics(this WebApplication app)
    {
        app.MapGrpcService<StatisticsGrpcService>();
        return app;
    }
}
