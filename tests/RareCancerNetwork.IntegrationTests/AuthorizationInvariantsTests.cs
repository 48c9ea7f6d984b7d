using Google.Protobuf.Reflection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// Expectations written independently of the declared table: which RPCs carry patient data is read
/// from the contract itself (their messages carry a consultation, a pseudonym or a local patient id),
/// and the rules are the security model's, stated here by hand. A wrong declaration in the table fails
/// these even though the matrix test (which enforces the table as declared) would pass.
/// </summary>
public sealed class AuthorizationInvariantsTests
{
    private static readonly string[] PatientFields = ["consultation_id", "patient_pseudonym", "local_patient_id"];
    private static readonly string[] PeoplesServices = [LocalConsultationService.Descriptor.FullName, ExpertConsultationService.Descriptor.FullName];
    private static readonly string[] LocalCallers =
        [CallerRoles.LocalClient, NetworkClaims.Roles.Pathologist, NetworkClaims.Roles.ReferralCoordinator];

    private static IEnumerable<(string Node, RpcPolicy Policy)> Declared =>
        RpcPolicies.Hub.Values.Select(p => ("hub", p)).Concat(RpcPolicies.Spoke.Values.Select(p => ("spoke", p)));

    /// <summary>From the contract alone: the RPCs whose request or response carries patient-level data.</summary>
    private static HashSet<string> PatientDataRpcs =>
        [.. ContractMethods.All.Where(m => CarriesPatientData(m.InputType, []) || CarriesPatientData(m.OutputType, []))
            .Select(ContractMethods.Path)];

    private static bool CarriesPatientData(MessageDescriptor message, HashSet<string> seen) =>
        seen.Add(message.FullName) && message.Fields.InDeclarationOrder().Any(field =>
            PatientFields.Contains(field.Name) || field.FieldType == FieldType.Message && CarriesPatientData(field.MessageType, seen));

    [Fact]
    public void ContractHasPatientDataRpcs_SoTheseChecksSeeSomething() =>
        Assert.True(PatientDataRpcs.Count >= 6, string.Join(", ", PatientDataRpcs));

    [Fact]
    public void EveryRpcCarryingPatientData_IsDeclaredPatientLevel_AndSoAudited()
    {
        var undeclared = Declared.Where(d => PatientDataRpcs.Contains(d.Policy.Method) && !d.Policy.PatientLevel).Select(d => d.Policy.Method).ToList();
        Assert.True(undeclared.Count == 0, "Patient data without audit: " + string.Join(", ", undeclared));
    }

    /// <summary>
    /// Statisticians get aggregates only. Administrators reach record-level data in one place alone: the
    /// national registry's secondary-use export (pseudonymised, consented, audited).
    /// </summary>
    [Fact]
    public void Statisticians_NeverReachPatientData_AdministratorsOnlyThroughTheNationalExport()
    {
        var leaks = Declared.Where(d => (PatientDataRpcs.Contains(d.Policy.Method) || d.Policy.PatientLevel)
                && (d.Policy.Callers.Contains(NetworkClaims.Roles.Statistician)
                    || (d.Policy.Callers.Contains(NetworkClaims.Roles.Administrator) && d.Policy.Institution != InstitutionRule.National)))
            .Select(d => d.Policy.Method).ToList();
        Assert.True(leaks.Count == 0, "Aggregate-only roles reach patient data: " + string.Join(", ", leaks));
        Assert.All(Declared.Where(d => d.Policy.Institution == InstitutionRule.National), d =>
        {
            Assert.True(d.Policy.PatientLevel, $"{d.Policy.Method} must be audited as patient-level");
            Assert.Equal([NetworkClaims.Roles.Administrator], d.Policy.Callers);
        });
        Assert.All(Declared.Where(d => d.Policy.Institution == InstitutionRule.NationalAggregates), d =>
        {
            Assert.False(d.Policy.PatientLevel, $"{d.Policy.Method} answers aggregates, never a patient-level row");
            Assert.Equal([NetworkClaims.Roles.Statistician], d.Policy.Callers);
        });
    }

    [Fact]
    public void LocalClientsAndPeople_NeverReachTheHubsPatientData()
    {
        var leaks = Declared.Where(d => d.Node == "hub" && PatientDataRpcs.Contains(d.Policy.Method) && d.Policy.Callers.Any(LocalCallers.Contains))
            .Select(d => d.Policy.Method).ToList();
        Assert.True(leaks.Count == 0, "Local callers reach the hub's patient data: " + string.Join(", ", leaks));
    }

    [Fact]
    public void PatientDataAtTheHub_IsLimitedToOwnNode_AssignedExpert_OrTheRegistrysDataManagers()
    {
        var open = Declared.Where(d => d.Node == "hub" && PatientDataRpcs.Contains(d.Policy.Method)
                && d.Policy.Institution is not (InstitutionRule.OwnNode or InstitutionRule.AssignedExpert or InstitutionRule.RegistryDataQuality))
            .Select(d => d.Policy.Method).ToList();
        Assert.True(open.Count == 0, "Hub patient data without an institution rule: " + string.Join(", ", open));
        Assert.All(Declared.Where(d => d.Policy.Institution == InstitutionRule.RegistryDataQuality), d =>
        {
            Assert.True(d.Policy.PatientLevel, $"{d.Policy.Method} must be audited as patient-level");
            Assert.Equal([NetworkClaims.Roles.RegistryDataManager], d.Policy.Callers);
        });
    }

    /// <summary>Data managers read the national registry, which never holds a facility's own patient ids: no answer they get can carry one.</summary>
    [Fact]
    public void DataManagers_NeverReachALocalPatientId()
    {
        var theirs = Declared.Where(d => d.Policy.Callers.Contains(NetworkClaims.Roles.RegistryDataManager)).ToList();
        Assert.True(theirs.Count >= 5, string.Join(", ", theirs.Select(d => d.Policy.Method)));
        Assert.All(theirs, d => Assert.Equal("hub", d.Node));
        var leaks = ContractMethods.All.Where(m => theirs.Any(d => d.Policy.Method == ContractMethods.Path(m)) && CarriesField(m.OutputType, "local_patient_id", []))
            .Select(ContractMethods.Path).ToList();
        Assert.True(leaks.Count == 0, "Data managers' answers that can carry a local patient id: " + string.Join(", ", leaks));
    }

    private static bool CarriesField(MessageDescriptor message, string name, HashSet<string> seen) =>
        seen.Add(message.FullName) && message.Fields.InDeclarationOrder().Any(field =>
            field.Name == name || field.FieldType == FieldType.Message && CarriesField(field.MessageType, name, seen));
}
