namespace RareCancerNetwork.Spoke.Attachments;

/// <summary>Attached files: the spoke's store of them and their way to the hub.</summary>
public static class AttachmentsRegistration
{
    public static WebApplicationBuilder AddAttachments(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<AttachmentSignal>();
        builder.Services.AddSingleton<LocalAttachmentStore>();
        builder.Services.AddHostedService<AttachmentDeliveryWorker>();
        return builder;
    }
}
