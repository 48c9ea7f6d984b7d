using Hl7.Fhir.Model;
using Hl7.Fhir.Serialization;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;
using FhirCode = Hl7.Fhir.Model.Coding;

namespace RareCancerNetwork.Node.Fhir;

/// <summary>
/// Registry records as a FHIR R4 collection Bundle aligned with mCODE (built with the Firely SDK): per
/// record a cancer patient, the primary cancer condition with its ICD-O-3 histology and site, ECOG,
/// genomic variant and tumour marker observations, medication summaries for treatment lines, procedure
/// summaries for gene-panel tests, and disease status. The patient is identified by pseudonym only.
/// </summary>
public static class RegistryFhirExport
{
    public const string IcdO3 = "http://terminology.hl7.org/CodeSystem/icd-o-3";
    public const string Loinc = "http://loinc.org";
    public const string Snomed = "http://snomed.info/sct";
    public const string Hgnc = "http://www.genenames.org";
    private const string Mcode = "http://hl7.org/fhir/us/mcode/StructureDefinition/";

    /// <summary>The network's own code systems, where no standard one carries the registry's value.</summary>
    public const string NetworkCodes = "urn:rare-cancer-network:";

    public const string PseudonymSystem = NetworkCodes + "patient-pseudonym";

    public static Bundle ToBundle(IEnumerable<RegistryRecord> records, DateTimeOffset generatedAt)
    {
        var bundle = new Bundle { Type = Bundle.BundleType.Collection, Timestamp = generatedAt, Id = Guid.CreateVersion7().ToString() };
        foreach (var record in records)
        {
            foreach (var resource in Resources(record))
            {
                bundle.Entry.Add(new Bundle.EntryComponent { FullUrl = $"urn:uuid:{resource.Id}", Resource = resource });
            }
        }
        return bundle;
    }

    public static string ToJson(Bundle bundle) => new FhirJsonSerializer().SerializeToString(bundle);

    private static IEnumerable<Resource> Resources(RegistryRecord record)
    {
        var patient = new Patient
        {
            Id = Id(record, "patient"),
            Meta = Profile("mcode-cancer-patient"),
            Identifier = [new Identifier(PseudonymSystem, record.PatientPseudonym)],
            Gender = record.Sex switch
            {
                Sex.Female => AdministrativeGender.Female,
                Sex.Male => AdministrativeGender.Male,
                Sex.Other => AdministrativeGender.Other,
                _ => AdministrativeGender.Unknown,
            },
            Address = [new Address { State = record.Prefecture, Country = "JP" }],
            ManagingOrganization = new ResourceReference { Identifier = new Identifier(NetworkCodes + "facility", record.EnrollingFacilityCode) },
        };
        patient.Deceased = record.FollowUp.VitalStatus == VitalStatus.Deceased ? new FhirDateTime(record.FollowUp.DeathDate) : new FhirBoolean(false);
        yield return patient;
        var subject = new ResourceReference($"urn:uuid:{patient.Id}");

        var condition = new Condition
        {
            Id = Id(record, "condition"),
            Meta = Profile("mcode-primary-cancer-condition"),
            ClinicalStatus = Concept("http://terminology.hl7.org/CodeSystem/condition-clinical", "active"),
            VerificationStatus = Concept("http://terminology.hl7.org/CodeSystem/condition-ver-status", "confirmed"),
            Category = [Concept(NetworkCodes + "rare-cancer-category", ProtoEnumNames.Name(record.Diagnosis.Category))],
            Code = Concept(IcdO3, record.Diagnosis.MorphologyCode),
            BodySite = [Concept(IcdO3, record.Diagnosis.TopographyCode)],
            Subject = subject,
            Onset = new FhirDateTime(record.Diagnosis.DiagnosisDate),
            RecordedDate = record.EnrolmentDate,
            Identifier = [new Identifier(NetworkCodes + "registry-record", record.RecordId)],
        };
        condition.Extension.Add(new Extension(Mcode + "mcode-histology-morphology-behavior", Concept(IcdO3, record.Diagnosis.MorphologyCode)));
        condition.Extension.Add(new Extension(NetworkCodes + "advanced", new FhirBoolean(record.Diagnosis.Advanced)));
        yield return condition;
        var focus = new ResourceReference($"urn:uuid:{condition.Id}");

        if (record.HasEcog)
        {
            yield return new Observation
            {
                Id = Id(record, "ecog"),
                Meta = Profile("mcode-ecog-performance-status"),
                Status = ObservationStatus.Final,
                Category = [Concept("http://terminology.hl7.org/CodeSystem/observation-category", "survey")],
                Code = Concept(Loinc, "89247-1", "ECOG Performance Status score"),
                Subject = subject,
                Effective = new FhirDateTime(record.EnrolmentDate),
                Value = new Integer(record.Ecog),
            };
        }

        for (var i = 0; i < record.Biomarkers.Count; i++)
        {
            yield return Biomarker(record, i, subject, focus);
        }

        for (var i = 0; i < record.TreatmentLines.Count; i++)
        {
            var line = record.TreatmentLines[i];
            var statement = new MedicationStatement
            {
                Id = Id(record, $"treatment-{i}"),
                Meta = Profile("mcode-cancer-related-medication-statement"),
                Status = line.EndDate.Length > 0 ? MedicationStatement.MedicationStatusCodes.Completed : MedicationStatement.MedicationStatusCodes.Active,
                Medication = new CodeableConcept { Text = line.Regimen },
                Subject = subject,
                Effective = new Period { Start = line.StartDate, End = line.EndDate.Length > 0 ? line.EndDate : null },
                ReasonReference = [focus],
            };
            statement.Extension.Add(new Extension(NetworkCodes + "treatment-line", new Integer(i + 1)));
            statement.Extension.Add(new Extension(NetworkCodes + "biomarker-matched", new FhirBoolean(line.BiomarkerMatched)));
            if (line.TrialId.Length > 0)
            {
                statement.Extension.Add(new Extension(NetworkCodes + "trial-id", new Identifier(NetworkCodes + "trial", line.TrialId)));
            }
            yield return statement;
            if (line.BestResponse != RecistResponse.Unspecified)
            {
                yield return DiseaseStatus(record, $"response-{i}", subject, focus, line.BestResponseDate, Response(line.BestResponse),
                    new FhirCode(NetworkCodes + "recist", ProtoEnumNames.Name(line.BestResponse)), new ResourceReference($"urn:uuid:{statement.Id}"));
            }
        }

        if (record.FollowUp.ProgressionDate.Length > 0)
        {
            yield return DiseaseStatus(record, "progression", subject, focus, record.FollowUp.ProgressionDate,
                new FhirCode(Snomed, "271299001", "Patient's condition worsened"), null, null);
        }

        for (var i = 0; i < record.PanelTests.Count; i++)
        {
            var test = record.PanelTests[i];
            var procedure = new Procedure
            {
                Id = Id(record, $"panel-{i}"),
                Status = EventStatus.Completed,
                Code = new CodeableConcept { Text = test.PanelName, Coding = [new FhirCode(NetworkCodes + "procedure", "gene-panel-test", "Comprehensive genomic profiling")] },
                Subject = subject,
                Performed = new FhirDateTime(test.OrderedDate),
                Location = new ResourceReference { Identifier = new Identifier(NetworkCodes + "facility", test.PerformingFacilityCode) },
                BodySite = [Concept(NetworkCodes + "panel-specimen", ProtoEnumNames.Name(test.Specimen))],
                ReasonReference = [focus],
            };
            AddDate(procedure, "expert-panel-date", test.ExpertPanelDate);
            AddDate(procedure, "result-explained-date", test.ResultExplainedDate);
            procedure.Extension.Add(new Extension(NetworkCodes + "actionable-alteration-found", new FhirBoolean(test.ActionableAlterationFound)));
            procedure.Extension.Add(new Extension(NetworkCodes + "treatment-recommended", new FhirBoolean(test.TreatmentRecommended)));
            procedure.Extension.Add(new Extension(NetworkCodes + "genomic-database-consent",
                new CodeableConcept(NetworkCodes + "consent-decision", ProtoEnumNames.Name(test.GenomicDatabaseConsent))));
            yield return procedure;
        }
    }

    private static Observation Biomarker(RegistryRecord record, int index, ResourceReference subject, ResourceReference focus)
    {
        var biomarker = record.Biomarkers[index];
        var signature = biomarker.AlterationType is AlterationType.TmbHigh or AlterationType.MsiHigh;
        var observation = new Observation
        {
            Id = Id(record, $"biomarker-{index}"),
            Meta = Profile(signature ? "mcode-tumor-marker-test" : "mcode-genomic-variant"),
            Status = ObservationStatus.Final,
            Category = [Concept("http://terminology.hl7.org/CodeSystem/observation-category", "laboratory")],
            Code = biomarker.AlterationType switch
            {
                AlterationType.TmbHigh => Concept(Loinc, "94076-7", "Mutations/Megabase [# Ratio] in Tumor"),
                AlterationType.MsiHigh => Concept(Loinc, "81695-9", "Microsatellite instability [Interpretation] in Cancer specimen Qualitative"),
                _ => Concept(Loinc, "69548-6", "Genetic variant assessment"),
            },
            Subject = subject,
            Focus = [focus],
            Value = signature ? Concept(NetworkCodes + "alteration-type", ProtoEnumNames.Name(biomarker.AlterationType)) : Concept(Loinc, "LA9633-4", "Present"),
        };
        if (biomarker.Gene.Length > 0)
        {
            observation.Component.Add(Component("48018-6", "Gene studied [ID]", Concept(Hgnc, biomarker.Gene)));
        }
        if (!signature)
        {
            observation.Component.Add(Component("48019-4", "DNA change type", Concept(NetworkCodes + "alteration-type", ProtoEnumNames.Name(biomarker.AlterationType))));
        }
        if (biomarker.FusionPartner.Length > 0)
        {
            observation.Component.Add(Component("48018-6", "Gene studied [ID]", Concept(Hgnc, biomarker.FusionPartner)));
        }
        if (biomarker.Detail.Length > 0)
        {
            observation.Component.Add(Component("48005-3", "Amino acid change (pHGVS)", new CodeableConcept { Text = biomarker.Detail }));
        }
        if (biomarker.HasVariantAlleleFraction)
        {
            observation.Component.Add(new Observation.ComponentComponent
            {
                Code = Concept(Loinc, "81258-6", "Sample variant allelic frequency [NFr]"),
                Value = new Quantity((decimal)biomarker.VariantAlleleFraction, "1", "http://unitsofmeasure.org"),
            });
        }
        return observation;
    }

    private static Observation DiseaseStatus(RegistryRecord record, string key, ResourceReference subject, ResourceReference focus, string date, FhirCode status,
        FhirCode? recist, ResourceReference? treatment)
    {
        var observation = new Observation
        {
            Id = Id(record, key),
            Meta = Profile("mcode-cancer-disease-status"),
            Status = ObservationStatus.Final,
            Code = Concept(Loinc, "97509-4", "Cancer disease progression"),
            Subject = subject,
            Focus = [focus],
            Effective = date.Length > 0 ? new FhirDateTime(date) : null,
            Value = new CodeableConcept { Coding = recist is null ? [status] : [status, recist] },
        };
        if (treatment is not null)
        {
            observation.PartOf = [treatment];
        }
        return observation;
    }

    private static FhirCode Response(RecistResponse response) => response switch
    {
        RecistResponse.CompleteResponse => new FhirCode(Snomed, "260415000", "Not detected"),
        RecistResponse.PartialResponse => new FhirCode(Snomed, "268910001", "Patient's condition improved"),
        RecistResponse.StableDisease => new FhirCode(Snomed, "359746009", "Patient's condition stable"),
        RecistResponse.ProgressiveDisease => new FhirCode(Snomed, "271299001", "Patient's condition worsened"),
        _ => new FhirCode(Snomed, "709137006", "Patient condition undetermined"),
    };

    private static Observation.ComponentComponent Component(string loinc, string display, CodeableConcept value) =>
        new() { Code = Concept(Loinc, loinc, display), Value = value };

    private static void AddDate(DomainResource resource, string name, string date)
    {
        if (date.Length > 0)
        {
            resource.Extension.Add(new Extension(NetworkCodes + name, new Date(date)));
        }
    }

    private static CodeableConcept Concept(string system, string code, string? display = null) => new(system, code, display, null);

    private static Meta Profile(string name) => new() { Profile = [Mcode + name] };

    /// <summary>Stable per record and part, so an export repeated tomorrow names the same resources.</summary>
    private static string Id(RegistryRecord record, string part) =>
        new Guid(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{record.RecordId}/{part}"))[..16]).ToString();
}
