using RareCancerNetwork.IntegrationTests.Infrastructure;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The run's log scan itself: it finds a planted id or secret (and never prints it), and passes clean lines.</summary>
public sealed class LogScanTests
{
    [Fact]
    public void APlantedPatientIdOrSecret_IsFound_Masked_AndCleanLinesPass()
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["KANJA-000123"] = "local patient id", ["s3cr3t-client-value"] = "client secret" };
        string[] lines =
        [
            "RareCancerNetwork.Spoke.Outbox: Consultation 0193-… delivered (attempt 1)",
            "RareCancerNetwork.Hub.Sync: refused for patient KANJA-000123 PatientId=KANJA-000123",
            "Microsoft.AspNetCore: Authorization header Basic s3cr3t-client-value",
        ];
        var result = LogScan.Scan(lines, values);
        Assert.Equal((3, 2), (result.Lines, result.Values));
        Assert.Equal(["local patient id", "client secret"], result.Findings.Select(f => f.Kind));
        Assert.All(result.Findings, f => Assert.DoesNotContain("KANJA-000123", f.Where + f.Masked, StringComparison.Ordinal));
        Assert.All(result.Findings, f => Assert.DoesNotContain("s3cr3t-client-value", f.Where + f.Masked, StringComparison.Ordinal));
        Assert.Empty(LogScan.Scan(lines[..1], values).Findings);
    }

    [Fact]
    public void LocalPatientIds_AreHarvestedFromEverySpokeTableThatHasThem()
    {
        using var folder = new TempFolder("rcn-log-scan");
        var store = Path.Combine(folder.Sub("spoke"), "spoke.db");
        Directory.CreateDirectory(Path.GetDirectoryName(store)!);
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={store};Pooling=False"))
        {
            connection.Open();
            using var create = connection.CreateCommand();
            create.CommandText = "CREATE TABLE a (local_patient_id TEXT); INSERT INTO a VALUES ('HARVEST-0001'); CREATE TABLE b (x, local_patient_id); INSERT INTO b VALUES (1, 'HARVEST-0002');";
            create.ExecuteNonQuery();
        }
        LogScan.HarvestLocalPatientIds(folder.Path);
        var harvested = LogScan.Scan(["x HARVEST-0001 y", "HARVEST-0002"], LogScan.KnownValues()).Findings;
        Assert.Equal(2, harvested.Count);
    }
}
