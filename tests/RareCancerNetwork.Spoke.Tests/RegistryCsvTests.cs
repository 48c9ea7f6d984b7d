using RareCancerNetwork.Protos.V1;
using RareCancerNetwork.Spoke.Registry;
using RareCancerNetwork.Tests.Shared;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>The registry import file: its encodings, its layout, and problems named by row and column.</summary>
public sealed class RegistryCsvTests
{
    private static readonly string Sample = RegistryCsvSamples.File([RegistryCsvSamples.Row("P-0001"), RegistryCsvSamples.Row("P-0002", regimen: "イマチニブ")]);

    [Theory]
    [InlineData("utf-8-bom", "UTF-8 (with BOM)")]
    [InlineData("utf-8", "UTF-8")]
    [InlineData("shift_jis", "Shift_JIS")]
    public void Encodings_AreRecognised_AndJapaneseTextRoundTrips(string written, string recognised)
    {
        var bytes = written switch
        {
            "utf-8-bom" => RegistryCsvSamples.Utf8WithBom(Sample),
            "utf-8" => System.Text.Encoding.UTF8.GetBytes(Sample),
            _ => RegistryCsvSamples.ShiftJis(Sample),
        };
        var (text, name) = RegistryCsv.Decode(bytes);
        Assert.Equal(recognised, name);
        var rows = RegistryCsv.Read(text).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, row => Assert.Empty(row.Problems));
        var record = rows[1].Record!.Record;
        Assert.Equal("イマチニブ", record.TreatmentLines[0].Regimen);
        Assert.Equal("MDM2阻害薬（治験）", record.TreatmentLines[1].Regimen);
        Assert.Equal("東京都", record.Prefecture);
        Assert.Equal("FoundationOne CDx がん遺伝子パネル", record.PanelTests[0].PanelName);
        Assert.Equal(("EWSR1", AlterationType.Fusion, "FLI1"), (record.Biomarkers[1].Gene, record.Biomarkers[1].AlterationType, record.Biomarkers[1].FusionPartner));
        Assert.Equal(0.31, record.Biomarkers[2].VariantAlleleFraction);
        Assert.Equal(RecistResponse.PartialResponse, record.TreatmentLines[1].BestResponse);
        Assert.Equal(1, record.Ecog);
        Assert.Equal("P-0002", rows[1].Record!.LocalPatientId);
    }

    [Fact]
    public void UnreadableCells_AreNamedByRowAndColumn()
    {
        var text = RegistryCsvSamples.File([RegistryCsvSamples.Row("P-0001"), RegistryCsvSamples.Row("P-0002", age: "forty"),
            RegistryCsvSamples.Row("P-0003").Replace(",female,", ",woman,", StringComparison.Ordinal),
            RegistryCsvSamples.Row("P-0004").Replace("|2025-09-30|no|", "|2025-09-30|perhaps|", StringComparison.Ordinal)]);
        var rows = RegistryCsv.Read(text).ToList();
        Assert.Empty(rows[0].Problems);
        Assert.Equal(new CsvProblem(2, "age_at_enrolment", "'forty' is not a whole number"), Assert.Single(rows[1].Problems));
        var sex = Assert.Single(rows[2].Problems);
        Assert.Equal((3, "sex"), (sex.Row, sex.Column));
        Assert.Contains("female, male, other, unknown", sex.Reason, StringComparison.Ordinal);
        // A part of a list entry is read as strictly as a cell: never taken as "no".
        Assert.Equal(new CsvProblem(4, "treatment_lines", "entry 1: 'perhaps' must be yes or no"), Assert.Single(rows[3].Problems));
    }

    [Fact]
    public void AHeaderWithoutTheLayoutsColumns_IsRefusedWhole()
    {
        var refusal = Assert.Throws<InvalidDataException>(() => RegistryCsv.Read("local_patient_id,age\nP-1,40\n").ToList());
        Assert.Contains("enrolment_date", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("record.biomarkers[1].gene", "biomarkers", "entry 2, gene: ")]
    [InlineData("record.diagnosis.topography_code", "topography_code", "")]
    [InlineData("record.follow_up.death_date", "death_date", "")]
    [InlineData("record.panel_tests[0].ordered_date", "panel_ordered_date", "")]
    [InlineData("local_patient_id", "local_patient_id", "")]
    public void FieldPaths_MapToTheirColumns(string path, string column, string detail) =>
        Assert.Equal((column, detail), RegistryCsv.ColumnOf(path));

    /// <summary>The documented example imports as it stands.</summary>
    [Fact]
    public void TheDocumentedExample_IsValid()
    {
        var (text, _) = RegistryCsv.Decode(File.ReadAllBytes(RareCancerNetwork.Tests.Shared.RepositoryRoot.File("docs", "examples", "registry-import.csv")));
        var rows = RegistryCsv.Read(text).ToList();
        Assert.Equal(3, rows.Count);
        foreach (var row in rows)
        {
            Assert.Empty(row.Problems);
            var record = row.Record!.Record;
            record.RecordId = Guid.CreateVersion7().ToString();
            record.PatientPseudonym = new string('a', 64);
            record.EnrollingFacilityCode = "CORE-004";
            record.UpdatedBy = "example";
            var v = new RareCancerNetwork.Node.Validation.FieldValidator();
            RareCancerNetwork.Node.Validation.RegistryValidation.Validate(v, record, new DateOnly(2026, 3, 1));
            Assert.Empty(v.Violations);
        }
    }
}
