namespace RareCancerNetwork.Node.Validation;

/// <summary>
/// The reference lists every node validates against, shipped inside the node library
/// (<c>Validation/Reference</c>, sources in its README): HGNC gene symbols with their unambiguous
/// aliases, and the 47 prefectures. Loaded once, on first use.
/// </summary>
public static class ReferenceLists
{
    private static readonly Lazy<HashSet<string>> Symbols = new(() => [.. Lines("gene-symbols.txt")]);

    private static readonly Lazy<Dictionary<string, string>> Aliases = new(() => Lines("gene-aliases.tsv").Skip(1)
        .Select(line => line.Split('\t'))
        .Where(parts => parts.Length == 2)
        .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal));

    private static readonly Lazy<IReadOnlyList<string>> PrefectureNames = new(() => [.. Lines("prefectures.csv").Skip(1).Select(line => line.Split(',')[0])]);

    private static readonly Lazy<IReadOnlyList<string>> RegionNames = new(() => [.. Lines("prefectures.csv").Skip(1).Select(line => line.Split(',')[1]).Distinct()]);

    private static readonly Lazy<Dictionary<string, (string Region, int Jis)>> PrefectureTable = new(() => Lines("prefectures.csv").Skip(1)
        .Select(line => line.Split(','))
        .ToDictionary(parts => parts[0], parts => (parts[1], int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture)), StringComparer.Ordinal));

    /// <summary>The region of a prefecture (e.g. 愛知県 → Chubu), or null for a name that is not one of the 47.</summary>
    public static string? RegionOf(string prefecture) => PrefectureTable.Value.TryGetValue(prefecture, out var found) ? found.Region : null;

    /// <summary>The prefecture's JIS X 0401 code as a number (北海道 1 … 沖縄県 47), or null.</summary>
    public static int? JisOrder(string prefecture) => PrefectureTable.Value.TryGetValue(prefecture, out var found) ? found.Jis : null;

    /// <summary>The eight regions (Hokkaido … Kyushu-Okinawa), from north to south.</summary>
    public static IReadOnlyList<string> Regions => RegionNames.Value;

    /// <summary>The prefectures' Japanese names (北海道 … 沖縄県), in JIS order.</summary>
    public static IReadOnlyList<string> Prefectures => PrefectureNames.Value;

    /// <summary>Null when <paramref name="symbol"/> is an approved symbol; otherwise what is wrong, naming the approved symbol of an alias.</summary>
    public static string? GeneProblem(string symbol) =>
        Symbols.Value.Contains(symbol) ? null
        : Aliases.Value.TryGetValue(symbol, out var approved) ? $"{symbol} is an alias of {approved}; use the approved symbol {approved}"
        : Symbols.Value.Contains(symbol.ToUpperInvariant()) ? $"gene symbols are upper case: {symbol.ToUpperInvariant()}"
        : $"{symbol} is not an HGNC-approved gene symbol";

    /// <summary>The embedded reference file (the prefectures also seed the hub's directory).</summary>
    public static Stream Open(string fileName)
    {
        var assembly = typeof(ReferenceLists).Assembly;
        var resource = assembly.GetManifestResourceNames().Single(name => name.EndsWith(".Reference." + fileName, StringComparison.Ordinal));
        return assembly.GetManifestResourceStream(resource)!;
    }

    private static IEnumerable<string> Lines(string fileName)
    {
        using var reader = new StreamReader(Open(fileName), System.Text.Encoding.UTF8);
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                yield return line;
            }
        }
    }
}
