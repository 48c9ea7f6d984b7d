using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Spoke.Pseudonymisation;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>The spoke's store of record: its own consultations (with local patient ids) and the pseudonymiser.</summary>
public static class StoreRegistration
{
    public static WebApplicationBuilder AddSpokeStore(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<SpokeDatabase>();
        builder.Services.AddSingleton<PatientPseudonymizer>();
        builder.Services.AddSingleton<LocalConsultationStore>();
        builder.Services.AddSingleton<ReportSigningKeyStore>();
        // A spoke has no registry of its callers: a token from the hub is as good as its lifetime.
        builder.Services.AddSingleton<ICallerStanding, TokenLifetimeStanding>();
        return builder;
    }
}
