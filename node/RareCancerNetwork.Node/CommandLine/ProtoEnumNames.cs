using System.Reflection;
using Google.Protobuf.Reflection;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>
/// Short names of protobuf enum values as people type and read them: the proto name without its
/// type prefix, lower-case (ORGAN_SYSTEM_SOFT_TISSUE → soft_tissue). One rule for both programs.
/// </summary>
public static class ProtoEnumNames
{
    public static string Name<TEnum>(TEnum value) where TEnum : struct, Enum
    {
        var original = typeof(TEnum).GetField(value.ToString())?.GetCustomAttribute<OriginalNameAttribute>()?.Name;
        if (original is null)
        {
            return value.ToString();
        }
        var prefix = Prefix<TEnum>();
        return (original.StartsWith(prefix, StringComparison.Ordinal) ? original[prefix.Length..] : original).ToLowerInvariant();
    }

    /// <summary>Every value but <c>*_UNSPECIFIED</c>, by its short name.</summary>
    public static IReadOnlyList<string> All<TEnum>() where TEnum : struct, Enum =>
        Enum.GetValues<TEnum>().Where(v => Convert.ToInt32(v, System.Globalization.CultureInfo.InvariantCulture) != 0).Select(Name).ToList();

    /// <summary>The value named <paramref name="name"/> (case-insensitive), or null when no value has that name.</summary>
    public static TEnum? Parse<TEnum>(string? name) where TEnum : struct, Enum
    {
        var wanted = name?.Trim().ToLowerInvariant();
        foreach (var value in Enum.GetValues<TEnum>())
        {
            if (Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) != 0 && Name(value) == wanted)
            {
                return value;
            }
        }
        return null;
    }

    // The common prefix protobuf style gives every value: the enum's name in UPPER_SNAKE_CASE plus '_'.
    private static string Prefix<TEnum>() where TEnum : struct, Enum => UpperSnakeCase(typeof(TEnum).Name) + "_";

    /// <summary>A C# name as protobuf and gRPC spell it on the wire (InvalidArgument → INVALID_ARGUMENT).</summary>
    public static string UpperSnakeCase(string pascalCase) =>
        string.Concat(pascalCase.Select((c, i) => i > 0 && char.IsUpper(c) ? "_" + c : c.ToString())).ToUpperInvariant();
}
