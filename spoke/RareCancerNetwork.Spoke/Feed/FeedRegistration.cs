namespace RareCancerNetwork.Spoke.Feed;

/// <summary>The hub's ordered event feed for this node, consumed from the saved cursor.</summary>
public static class FeedRegistration
{
    public static WebApplicationBuilder AddFeed(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<FeedStore>();
        builder.Services.AddHostedService<FeedConsumerWorker>();
        return builder;
    }
}
