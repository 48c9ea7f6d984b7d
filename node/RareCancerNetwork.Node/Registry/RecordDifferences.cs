using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Registry;

/// <summary>
/// The fields in which two versions of a record differ, as field paths (<c>biomarkers[1].detail</c>),
/// for the person who resolves a conflict at a spoke, and for the hub, which closes the data queries on
/// the fields a new version changed. Who made a version and when are not content.
/// </summary>
public static class RecordDifferences
{
    private static readonly HashSet<int> NotContent =
        [RegistryRecord.VersionFieldNumber, RegistryRecord.UpdatedByFieldNumber, RegistryRecord.UpdatedAtFieldNumber];

    public static IReadOnlyList<string> Between(RegistryRecord mine, RegistryRecord theirs)
    {
        var paths = new List<string>();
        Compare(mine, theirs, "", paths, topLevel: true);
        return paths;
    }

    private static void Compare(IMessage a, IMessage b, string prefix, List<string> paths, bool topLevel)
    {
        foreach (var field in a.Descriptor.Fields.InFieldNumberOrder())
        {
            if (topLevel && NotContent.Contains(field.FieldNumber))
            {
                continue;
            }
            var path = prefix + field.Name;
            if (field.IsRepeated)
            {
                var left = (IList)field.Accessor.GetValue(a);
                var right = (IList)field.Accessor.GetValue(b);
                for (var i = 0; i < Math.Max(left.Count, right.Count); i++)
                {
                    if (i >= left.Count || i >= right.Count)
                    {
                        paths.Add($"{path}[{i}]");
                    }
                    else if (field.FieldType == FieldType.Message)
                    {
                        Compare((IMessage)left[i]!, (IMessage)right[i]!, $"{path}[{i}].", paths, topLevel: false);
                    }
                    else if (!Equals(left[i], right[i]))
                    {
                        paths.Add($"{path}[{i}]");
                    }
                }
            }
            else if (field.FieldType == FieldType.Message)
            {
                var left = (IMessage?)field.Accessor.GetValue(a);
                var right = (IMessage?)field.Accessor.GetValue(b);
                if (left is null || right is null)
                {
                    if (left is not null || right is not null)
                    {
                        paths.Add(path);
                    }
                }
                else
                {
                    Compare(left, right, path + ".", paths, topLevel: false);
                }
            }
            else if (field.HasPresence && field.Accessor.HasValue(a) != field.Accessor.HasValue(b))
            {
                paths.Add(path);
            }
            else if (!Equals(field.Accessor.GetValue(a), field.Accessor.GetValue(b)))
            {
                paths.Add(path);
            }
        }
    }
}
