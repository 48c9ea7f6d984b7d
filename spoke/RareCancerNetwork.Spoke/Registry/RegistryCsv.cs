using System.Globalization;
using System.Text;
using CsvHelper;
using CsvHelper.Configuration;
using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Spoke.Registry;

/// <summary>A problem with one cell of an import file, for the rejection report.</summary>
/// <param name="Row">1-based data row (the header is row 0).</param>
public sealed record CsvProblem(int Row, string Column, string Reason);

/// <summary>One data row of an import file: the record it describes, or what is wrong with it.</summary>
public sealed record CsvRow(int Row, ImportedRecord? Record, IReadOnlyList<CsvProblem> Problems);

/// <summary>
/// The registry import file (docs/registry-import.md): one row per patient and primary cancer, one
/// documented column layout, UTF-8 with or without BOM or Shift_JIS. Lists within a cell are separated
/// by <c>;</c> and their parts by <c>|</c>.
/// </summary>
public static class RegistryCsv
{
    public static readonly IReadOnlyList<string> Columns =
    [
        "local_patient_id", "record_id", "enrolment_date", "age_at_enrolment", "sex", "prefecture",
        "topography_code", "morphology_code", "category", "advanced", "diagnosis_date", "ecog",
        "panel_facility_code", "panel_name", "panel_ordered_date", "expert_panel_date", "result_explained_date", "panel_specimen",
        "actionable_alteration_found", "treatment_recommended", "genomic_database_consent",
        "biomarkers", "treatment_lines",
        "vital_status", "progression_date", "death_date", "last_contact_date",
        "registry_participation", "secondary_use",
    ];

    static RegistryCsv() => Encoding.RegisterProvider(CodePagesEncodingProvider.Instance);

    /// <summary>
    /// The file's text. <paramref name="encoding"/> <c>auto</c>: UTF-8 when it has a BOM or is valid UTF-8,
    /// otherwise Shift_JIS (what Japanese spreadsheet software writes by default).
    /// </summary>
    public static (string Text, string EncodingName) Decode(byte[] bytes, string encoding = "auto")
    {
        var utf8Bom = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF;
        switch (encoding.ToLowerInvariant())
        {
            case "utf-8" or "utf8":
                return (new UTF8Encoding(false, true).GetString(bytes, utf8Bom ? 3 : 0, bytes.Length - (utf8Bom ? 3 : 0)), "UTF-8");
            case "shift_jis" or "sjis" or "cp932":
                return (Encoding.GetEncoding(932, EncoderFallback.ExceptionFallback, DecoderFallback.ExceptionFallback).GetString(bytes), "Shift_JIS");
            case "auto":
                if (utf8Bom)
                {
                    return (Decode(bytes, "utf-8").Text, "UTF-8 (with BOM)");
                }
                try
                {
                    return Decode(bytes, "utf-8");
                }
                catch (DecoderFallbackException)
                {
                    return Decode(bytes, "shift_jis");
                }
            default:
                throw new ArgumentException($"Unknown encoding '{encoding}'; use auto, utf-8 or shift_jis.", nameof(encoding));
        }
    }

    /// <summary>Every data row, parsed; a row whose cells cannot be read carries its problems instead of a record.</summary>
    /// <exception cref="InvalidDataException">The header is not the documented layout.</exception>
    public static IEnumerable<CsvRow> Read(string text)
    {
        using var reader = new StringReader(text);
        using var csv = new CsvReader(reader, new CsvConfiguration(CultureInfo.InvariantCulture) { TrimOptions = TrimOptions.Trim });
        if (!csv.Read() || !csv.ReadHeader())
        {
            throw new InvalidDataException("The file is empty; its first line must be the header (docs/registry-import.md).");
        }
        var missing = Columns.Where(c => !csv.HeaderRecord!.Contains(c, StringComparer.Ordinal)).ToList();
        if (missing.Count > 0)
        {
            throw new InvalidDataException($"The header lacks the columns {string.Join(", ", missing)} (docs/registry-import.md).");
        }
        var row = 0;
        while (csv.Read())
        {
            row++;
            yield return Parse(row, column => csv.GetField(column) ?? "");
        }
    }

    private static CsvRow Parse(int row, Func<string, string> cell)
    {
        var problems = new List<CsvProblem>();
        void Problem(string column, string reason) => problems.Add(new CsvProblem(row, column, reason));

        int? Number(string column, bool required)
        {
            var text = cell(column);
            if (text.Length == 0)
            {
                if (required)
                {
                    Problem(column, "is required");
                }
                return null;
            }
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }
            Problem(column, $"'{text}' is not a whole number");
            return null;
        }

        // One reading of yes/no for whole cells and for parts of list entries; anything else is reported, never taken as "no".
        bool YesNo(string column, string text, string where = "")
        {
            switch (text.ToLowerInvariant())
            {
                case "yes" or "y" or "true" or "1" or "はい":
                    return true;
                case "no" or "n" or "false" or "0" or "いいえ" or "":
                    return false;
                default:
                    Problem(column, $"{where}'{text}' must be yes or no");
                    return false;
            }
        }

        TEnum Named<TEnum>(string column, string text, bool required) where TEnum : struct, Enum
        {
            if (text.Length == 0)
            {
                if (required)
                {
                    Problem(column, $"is required: one of {string.Join(", ", ProtoEnumNames.All<TEnum>())}");
                }
                return default;
            }
            if (ProtoEnumNames.Parse<TEnum>(text) is { } value)
            {
                return value;
            }
            Problem(column, $"'{text}' is not one of {string.Join(", ", ProtoEnumNames.All<TEnum>())}");
            return default;
        }

        var record = new RegistryRecord
        {
            RecordId = cell("record_id"),
            Version = 1,
            EnrolmentDate = cell("enrolment_date"),
            AgeAtEnrolment = Number("age_at_enrolment", required: true) ?? 0,
            Sex = Named<Sex>("sex", cell("sex"), required: true),
            Prefecture = cell("prefecture"),
            Diagnosis = new RegistryDiagnosis
            {
                TopographyCode = cell("topography_code"),
                MorphologyCode = cell("morphology_code"),
                Category = Named<OrganSystem>("category", cell("category"), required: true),
                Advanced = YesNo("advanced", cell("advanced")),
                DiagnosisDate = cell("diagnosis_date"),
            },
            FollowUp = new FollowUp
            {
                VitalStatus = Named<VitalStatus>("vital_status", cell("vital_status"), required: true),
                ProgressionDate = cell("progression_date"),
                DeathDate = cell("death_date"),
                LastContactDate = cell("last_contact_date"),
            },
            Consent = new RegistryConsent { RegistryParticipation = YesNo("registry_participation", cell("registry_participation")), SecondaryUse = YesNo("secondary_use", cell("secondary_use")) },
        };
        if (Number("ecog", required: false) is { } ecog)
        {
            record.Ecog = ecog;
        }
        if (cell("panel_name").Length > 0 || cell("panel_ordered_date").Length > 0)
        {
            record.PanelTests.Add(new PanelTest
            {
                PerformingFacilityCode = cell("panel_facility_code"),
                PanelName = cell("panel_name"),
                OrderedDate = cell("panel_ordered_date"),
                ExpertPanelDate = cell("expert_panel_date"),
                ResultExplainedDate = cell("result_explained_date"),
                Specimen = Named<PanelSpecimen>("panel_specimen", cell("panel_specimen"), required: true),
                ActionableAlterationFound = YesNo("actionable_alteration_found", cell("actionable_alteration_found")),
                TreatmentRecommended = YesNo("treatment_recommended", cell("treatment_recommended")),
                GenomicDatabaseConsent = Named<ConsentDecision>("genomic_database_consent", cell("genomic_database_consent"), required: true),
            });
        }
        foreach (var (entry, index) in Entries(cell("biomarkers")))
        {
            // gene|alteration|fusion partner|detail|variant allele fraction
            var parts = Parts(entry, 5);
            var biomarker = new Biomarker
            {
                Gene = parts[0],
                AlterationType = Named<AlterationType>("biomarkers", parts[1], required: true),
                FusionPartner = parts[2],
                Detail = parts[3],
            };
            if (parts[4].Length > 0)
            {
                if (double.TryParse(parts[4], NumberStyles.Float, CultureInfo.InvariantCulture, out var fraction))
                {
                    biomarker.VariantAlleleFraction = fraction;
                }
                else
                {
                    Problem("biomarkers", $"entry {index + 1}: '{parts[4]}' is not a number");
                }
            }
            record.Biomarkers.Add(biomarker);
        }
        foreach (var (entry, index) in Entries(cell("treatment_lines")))
        {
            // regimen|start|end|biomarker matched|trial id|best response|response date|arm id
            var parts = Parts(entry, 8);
            record.TreatmentLines.Add(new TreatmentLine
            {
                Regimen = parts[0],
                StartDate = parts[1],
                EndDate = parts[2],
                BiomarkerMatched = YesNo("treatment_lines", parts[3], $"entry {index + 1}: "),
                TrialId = parts[4],
                BestResponse = Named<RecistResponse>("treatment_lines", parts[5], required: false),
                BestResponseDate = parts[6],
                ArmId = parts[7],
            });
        }
        var localPatientId = cell("local_patient_id");
        if (localPatientId.Length == 0)
        {
            Problem("local_patient_id", "is required");
        }
        return problems.Count > 0
            ? new CsvRow(row, null, problems)
            : new CsvRow(row, new ImportedRecord { LocalPatientId = localPatientId, Record = record }, []);
    }

    /// <summary>The column a record's field path comes from, and which entry of a list cell.</summary>
    public static (string Column, string Detail) ColumnOf(string fieldPath)
    {
        var path = fieldPath.StartsWith("record.", StringComparison.Ordinal) ? fieldPath["record.".Length..] : fieldPath;
        var listEntry = System.Text.RegularExpressions.Regex.Match(path, @"^(biomarkers|treatment_lines)\[(\d+)\]\.(.+)$");
        if (listEntry.Success)
        {
            return (listEntry.Groups[1].Value, $"entry {int.Parse(listEntry.Groups[2].Value, CultureInfo.InvariantCulture) + 1}, {listEntry.Groups[3].Value}: ");
        }
        var column = path switch
        {
            "diagnosis.topography_code" => "topography_code",
            "diagnosis.morphology_code" => "morphology_code",
            "diagnosis.category" => "category",
            "diagnosis.diagnosis_date" => "diagnosis_date",
            "panel_tests[0].performing_facility_code" => "panel_facility_code",
            "panel_tests[0].panel_name" => "panel_name",
            "panel_tests[0].ordered_date" => "panel_ordered_date",
            "panel_tests[0].expert_panel_date" => "expert_panel_date",
            "panel_tests[0].result_explained_date" => "result_explained_date",
            "panel_tests[0].specimen" => "panel_specimen",
            "panel_tests[0].genomic_database_consent" => "genomic_database_consent",
            "follow_up.vital_status" => "vital_status",
            "follow_up.progression_date" => "progression_date",
            "follow_up.death_date" => "death_date",
            "follow_up.last_contact_date" => "last_contact_date",
            _ when path.StartsWith("consent", StringComparison.Ordinal) => "registry_participation",
            _ => path,
        };
        return (column, "");
    }

    private static IEnumerable<(string Entry, int Index)> Entries(string cell) =>
        cell.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select((entry, index) => (entry, index));

    private static string[] Parts(string entry, int count)
    {
        var parts = entry.Split('|', StringSplitOptions.TrimEntries);
        return [.. parts, .. Enumerable.Repeat("", Math.Max(0, count - parts.Length))];
    }
}
