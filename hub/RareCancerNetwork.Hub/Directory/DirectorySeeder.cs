using System.Globalization;
using CsvHelper;
using CsvHelper.Configuration.Attributes;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>Seeds the directory on first start from the reference lists shipped inside the hub.</summary>
internal sealed partial class DirectorySeeder(HubDatabase database, ILogger<DirectorySeeder> logger)
{
    public async Task SeedIfEmptyAsync(CancellationToken cancellationToken)
    {
        // The prefectures are the node library's reference list (every node validates against it); the facilities are the hub's.
        var prefectures = Read<PrefectureRow>(ReferenceLists.Open("prefectures.csv"));
        var facilities = Read<FacilityRow>(OpenSeedData("facilities.csv"));
        var seeded = await database.WriteAsync(async (connection, transaction) =>
        {
            await using (var count = connection.Command("SELECT COUNT(*) FROM facilities", transaction))
            {
                if (await count.ScalarInt64Async(cancellationToken) > 0)
                {
                    return false;
                }
            }
            foreach (var row in prefectures)
            {
                await using var insert = connection.Command("INSERT INTO prefectures (name_ja, region, jis_code) VALUES (@name, @region, @jis)", transaction)
                    .With("@name", row.NameJa).With("@region", row.Region).With("@jis", row.JisCode);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            foreach (var row in facilities)
            {
                await using var insert = connection.Command(
                    "INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES (@code, @name, @designation, @prefecture, @region)", transaction)
                    .With("@code", row.FacilityCode).With("@name", row.NameJa).With("@designation", (int)ParseDesignation(row.Designation))
                    .With("@prefecture", row.Prefecture).With("@region", row.Region);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            return true;
        }, cancellationToken);
        if (!seeded)
        {
            return;
        }
        LogSeeded(logger, facilities.Count, prefectures.Count);
    }

    private static FacilityDesignation ParseDesignation(string value) => value switch
    {
        "core" => FacilityDesignation.GenomicCore,
        "hub" => FacilityDesignation.GenomicHub,
        "cooperative" => FacilityDesignation.GenomicCooperative,
        _ => throw new InvalidDataException($"Unknown facility designation '{value}' in the seed data."),
    };

    private static Stream OpenSeedData(string fileName)
    {
        var resource = typeof(DirectorySeeder).Assembly.GetManifestResourceNames().Single(n => n.EndsWith("SeedData." + fileName, StringComparison.Ordinal));
        return typeof(DirectorySeeder).Assembly.GetManifestResourceStream(resource)!;
    }

    private static List<T> Read<T>(Stream stream)
    {
        using (stream)
        using (var reader = new StreamReader(stream, System.Text.Encoding.UTF8))
        using (var csv = new CsvReader(reader, CultureInfo.InvariantCulture))
        {
            return csv.GetRecords<T>().ToList();
        }
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Directory seeded with {FacilityCount} facilities and {PrefectureCount} prefectures")]
    private static partial void LogSeeded(ILogger logger, int facilityCount, int prefectureCount);

    private sealed class FacilityRow
    {
        [Name("facility_code")] public string FacilityCode { get; set; } = "";
        [Name("name_ja")] public string NameJa { get; set; } = "";
        [Name("designation")] public string Designation { get; set; } = "";
        [Name("prefecture")] public string Prefecture { get; set; } = "";
        [Name("region")] public string Region { get; set; } = "";
    }

    private sealed class PrefectureRow
    {
        [Name("prefecture")] public string NameJa { get; set; } = "";
        [Name("region")] public string Region { get; set; } = "";
        [Name("jis_code")] public string JisCode { get; set; } = "";
    }
}
