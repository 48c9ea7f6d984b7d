using System.Collections;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Registry;

/// <summary>
/// Field paths within a registry record (<c>follow_up.death_date</c>, <c>biomarkers[2].gene</c>), as
/// validation messages, conflict views and data queries name them: the proto field names, list entries
/// by zero-based index.
/// </summary>
public static partial class RegistryFieldPaths
{
    /// <summary>Who made a version and when, and which record it is, are not content a query can be about.</summary>
    private static readonly HashSet<int> NotContent =
    [
        RegistryRecord.RecordIdFieldNumber, RegistryRecord.VersionFieldNumber, RegistryRecord.UpdatedByFieldNumber, RegistryRecord.UpdatedAtFieldNumber,
    ];

    /// <summary>Why <paramref name="path"/> does not name a content field of <paramref name="record"/> (a list index must be within its list); null when it does.</summary>
    public static string? Problem(RegistryRecord record, string path)
    {
        IMessage? message = record;
        var descriptor = RegistryRecord.Descriptor;
        var segments = path.Split('.');
        for (var i = 0; i < segments.Length; i++)
        {
            var match = Segment().Match(segments[i]);
            if (!match.Success)
            {
                return $"'{segments[i]}' is not a field name (lowercase, with an optional [index])";
            }
            var field = descriptor.FindFieldByName(match.Groups[1].Value);
            if (field is null || (i == 0 && NotContent.Contains(field.FieldNumber)))
            {
                return $"the record has no field '{string.Join('.', segments[..(i + 1)])}'";
            }
            var last = i == segments.Length - 1;
            if (match.Groups[2].Success)
            {
                if (!field.IsRepeated)
                {
                    return $"'{field.Name}' is not a list";
                }
                var count = message is null ? 0 : ((IList)field.Accessor.GetValue(message)).Count;
                if (!int.TryParse(match.Groups[2].Value, out var index) || index >= count)
                {
                    return $"the record's {field.Name} has {count} entries; index {match.Groups[2].Value} is not one of them";
                }
                if (last)
                {
                    return null;
                }
                if (field.FieldType != FieldType.Message)
                {
                    return $"'{field.Name}' entries have no fields";
                }
                message = (IMessage)((IList)field.Accessor.GetValue(message!))[index]!;
                descriptor = field.MessageType;
                continue;
            }
            if (last)
            {
                return null;
            }
            if (field.IsRepeated)
            {
                return $"'{field.Name}' is a list: name an entry ({field.Name}[0].…)";
            }
            if (field.FieldType != FieldType.Message)
            {
                return $"'{field.Name}' has no fields";
            }
            message = message is null ? null : (IMessage?)field.Accessor.GetValue(message);
            descriptor = field.MessageType;
        }
        return null;
    }

    /// <summary>Whether a change at <paramref name="changed"/> touches the field at <paramref name="path"/> (one lies within the other).</summary>
    public static bool Overlap(string path, string changed) =>
        path == changed || Within(changed, path) || Within(path, changed);

    private static bool Within(string inner, string outer) =>
        inner.Length > outer.Length && inner.StartsWith(outer, StringComparison.Ordinal) && inner[outer.Length] is '.' or '[';

    [GeneratedRegex(@"^([a-z][a-z0-9_]*)(?:\[(\d{1,4})\])?$")]
    private static partial Regex Segment();
}
