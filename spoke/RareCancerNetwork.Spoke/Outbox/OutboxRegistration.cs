namespace RareCancerNetwork.Spoke.Outbox;

/// <summary>Store-and-forward to the hub.</summary>
public static class OutboxRegistration
{
    public static WebApplicationBuilder AddOutbox(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<OutboxSignal>();
        builder.Services.AddSingleton<OutboxStore>();
        builder.Services.AddHostedService<OutboxDeliveryWorker>();
        builder.Services.AddSingleton<HubContactStore>();
        builder.Services.AddHostedService<SyncStatusReporter>();
        return builder;
    }
}
