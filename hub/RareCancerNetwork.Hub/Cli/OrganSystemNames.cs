using System.Reflection;
using Google.Protobuf.Reflection;
using RareCancerNetwork.Protos.Errors;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Cli;

/// <summary>Command-line names of organ systems: the proto names without prefix, lower-case (soft_tissue, bone, ...).</summary>
internal static class OrganSystemNames
{
    public static IEnumerable<string> All =>
        Enum.GetValues<OrganSystem>().Where(o => o != OrganSystem.Unspecified).Select(Name);

    public static string Name(OrganSystem organ) =>
        typeof(OrganSystem).GetField(organ.ToString())!.GetCustomAttribute<OriginalNameAttribute>()!.Name["ORGAN_SYSTEM_".Length..].ToLowerInvariant();

    public static OrganSystem Parse(string name) =>
        Enum.GetValues<OrganSystem>().Where(o => o != OrganSystem.Unspecified).FirstOrDefault(o => Name(o) == name.Trim().ToLowerInvariant()) is var organ && organ != OrganSystem.Unspecified
            ? organ
            : throw new InvalidFieldsException([new FieldViolation("specialty", $"'{name}' is not one of: {string.Join(", ", All)}")]);
}
