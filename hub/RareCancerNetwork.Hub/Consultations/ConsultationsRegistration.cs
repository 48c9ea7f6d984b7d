namespace RareCancerNetwork.Hub.Consultations;

/// <summary>Pathology consultations at the hub: intake, assignment to experts, reports.</summary>
public static class ConsultationsRegistration
{
    public static WebApplicationBuilder AddConsultations(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ConsultationStore>();
        builder.Services.AddSingleton<HubAttachments>();
        builder.Services.AddSingleton<ReportSigningKeys>();
        return builder;
    }

    public static WebApplication MapConsultations(this WebApplication app)
    {
        app.MapGrpcService<ExpertConsultationGrpcService>();
        return app;
    }
}
