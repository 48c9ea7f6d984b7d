namespace RareCancerNetwork.Hub.Statistics;

/// <summary>National statistics for the central institution.</summary>
public static class StatisticsRegistration
{
    public static WebApplicationBuilder AddStatistics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<StatisticsStore>();
        builder.Services.AddSingleton<NationalFigures>();
        builder.Services.AddSingleton<NationalStatistics>();
        // The dashboard in the browser calls the same service as JSON over HTTP (the routes are in statistics.proto).
        // Errors carry google.rpc details (the fields of a bad request, retry delays): the JSON writer must know their types.
        builder.Services.AddGrpc().AddJsonTranscoding(json => json.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromMessages(
            Google.Rpc.BadRequest.Descriptor, Google.Rpc.ErrorInfo.Descriptor, Google.Rpc.RetryInfo.Descriptor));
        return builder;
    }

    public static WebApplication MapStatistics(this WebApplication app)
    {
        app.MapGrpcService<StatisticsGrpcService>();
        DashboardPage.Map(app);
        return app;
    }
}
