namespace RareCancerNetwork.Node.Audit;

/// <summary>The vocabulary of audit entries (event types and outcomes), shared by both nodes.</summary>
public static class AuditVocabulary
{
    public const string EventTypePatientDataAccess = "patient_data_access";
    public const string EventTypeAuthentication = "authentication";
    public const string EventTypeAuthorization = "authorization";
    public const string EventTypeSignIn = "sign_in";
    public const string Success = "success";
    public const string Failure = "failure";
}
