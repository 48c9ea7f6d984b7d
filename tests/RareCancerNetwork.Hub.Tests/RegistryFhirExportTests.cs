// The Firely SDK's model is nullable throughout; these assertions fail loudly on any missing part anyway.
#nullable disable
using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using RareCancerNetwork.Node.Fhir;
using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>The registry's FHIR R4 (mCODE-aligned) export parses back strictly, with every coded value intact.</summary>
public sealed class RegistryFhirExportTests
{
    [Fact]
    public void FullRecord_ParsesBackStrictly_WithNoLossOfTheCodedValues()
    {
        var record = RegistrySamples.Record();
        record.Biomarkers.Add(new Biomarker { AlterationType = AlterationType.MsiHigh, Detail = "MSI-H（PCR法）" });
        var json = RegistryFhirExport.ToJson(RegistryFhirExport.ToBundle([record], DateTimeOffset.UtcNow));

        // The SDK's strict deserializer: unknown elements, wrong types or invalid values are errors.
        var bundle = new FhirJsonDeserializer().Deserialize<Bundle>(json);
        Assert.Throws<DeserializationFailedException>(() => new FhirJsonDeserializer().Deserialize<Bundle>(
            json.Replace("\"resourceType\":\"Patient\",", "\"resourceType\":\"Patient\",\"nickname\":\"x\",", StringComparison.Ordinal)));
        var resources = bundle.Entry.Select(e => e.Resource).ToList();

        var patient = Assert.Single(resources.OfType<Patient>());
        Assert.Equal(record.PatientPseudonym, patient.Identifier.Single(i => i.System == RegistryFhirExport.PseudonymSystem).Value);
        Assert.Equal(AdministrativeGender.Female, patient.Gender);
        Assert.Equal("東京都", patient.Address[0].State);

        var condition = Assert.Single(resources.OfType<Condition>());
        Assert.Equal(record.Diagnosis.MorphologyCode, Code(condition.Code, RegistryFhirExport.IcdO3));
        Assert.Equal(record.Diagnosis.TopographyCode, Code(condition.BodySite[0], RegistryFhirExport.IcdO3));
        Assert.Equal(record.Diagnosis.MorphologyCode,
            Code((CodeableConcept)condition.Extension.Single(e => e.Url.EndsWith("mcode-histology-morphology-behavior", StringComparison.Ordinal)).Value, RegistryFhirExport.IcdO3));
        Assert.Equal("soft_tissue", condition.Category[0].Coding[0].Code);
        Assert.Equal(record.Diagnosis.DiagnosisDate, ((FhirDateTime)condition.Onset).Value);

        var observations = resources.OfType<Observation>().ToList();
        Assert.Equal(record.Ecog, ((Integer)observations.Single(o => Code(o.Code, RegistryFhirExport.Loinc) == "89247-1").Value).Value);
        var variants = observations.Where(o => Code(o.Code, RegistryFhirExport.Loinc) is "69548-6" or "81695-9" or "94076-7").ToList();
        Assert.Equal(record.Biomarkers.Count, variants.Count);
        var genes = variants.SelectMany(v => v.Component).Where(c => Code(c.Code, RegistryFhirExport.Loinc) == "48018-6")
            .Select(c => Code((CodeableConcept)c.Value, RegistryFhirExport.Hgnc));
        Assert.Equal(["MDM2", "EWSR1", "FLI1", "KRAS"], genes);
        Assert.Equal(["amplification", "fusion", "mutation", "msi_high"], variants.Select(v =>
            v.Component.FirstOrDefault(c => Code(c.Code, RegistryFhirExport.Loinc) == "48019-4")?.Value is CodeableConcept type ? type.Coding[0].Code
            : ((CodeableConcept)v.Value).Coding[0].Code));
        Assert.Equal(0.31m, ((Quantity)variants[2].Component.Single(c => Code(c.Code, RegistryFhirExport.Loinc) == "81258-6").Value).Value);
        Assert.Equal("MSI-H（PCR法）", variants[3].Component.Single(c => Code(c.Code, RegistryFhirExport.Loinc) == "48005-3").Value is CodeableConcept detail ? detail.Text : null);

        var responses = observations.Where(o => Code(o.Code, RegistryFhirExport.Loinc) == "97509-4" && o.PartOf.Count > 0).ToList();
        Assert.Equal(["stable_disease", "partial_response"],
            responses.Select(r => ((CodeableConcept)r.Value).Coding.Single(c => c.System == RegistryFhirExport.NetworkCodes + "recist").Code));
        Assert.Equal(["359746009", "268910001"], responses.Select(r => Code((CodeableConcept)r.Value, RegistryFhirExport.Snomed)));

        var medications = resources.OfType<MedicationStatement>().ToList();
        Assert.Equal(["パゾパニブ", "MDM2阻害薬（治験）"], medications.Select(m => ((CodeableConcept)m.Medication).Text));
        Assert.Equal("jRCT2031250001", ((Identifier)medications[1].Extension.Single(e => e.Url.EndsWith("trial-id", StringComparison.Ordinal)).Value).Value);

        var panel = Assert.Single(resources.OfType<Procedure>());
        Assert.Equal("FoundationOne CDx がん遺伝子パネル", panel.Code.Text);
        Assert.Equal("yes", ((CodeableConcept)panel.Extension.Single(e => e.Url.EndsWith("genomic-database-consent", StringComparison.Ordinal)).Value).Coding[0].Code);
        Assert.DoesNotContain(record.UpdatedBy, json, StringComparison.Ordinal);
    }

    [Fact]
    public void AnExportRepeated_NamesTheSameResources()
    {
        var record = RegistrySamples.Record();
        static IEnumerable<string> Ids(Bundle bundle) => bundle.Entry.Select(e => e.FullUrl);
        Assert.Equal(Ids(RegistryFhirExport.ToBundle([record], DateTimeOffset.UtcNow)), Ids(RegistryFhirExport.ToBundle([record], DateTimeOffset.UtcNow.AddDays(1))));
    }

    private static string Code(CodeableConcept concept, string system) => concept.Coding.FirstOrDefault(c => c.System == system)?.Code;
}
