using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Matching;

/// <summary>
/// What both ends store of a directory entry beside its bytes: its kind and key (the row's identity) and the directory
/// version that last changed it, which travels inside the entry but is kept in a column.
/// </summary>
public static class DirectoryEntries
{
    public const string FacilityKind = "facility";
    public const string ExpertKind = "expert";
    public const string TrialKind = "trial";

    /// <summary>Kind and key; null for an entry of a kind this node does not know (from a newer hub).</summary>
    public static (string Kind, string Key)? Identity(DirectoryEntry entry) => entry.EntryCase switch
    {
        DirectoryEntry.EntryOneofCase.Facility => (FacilityKind, entry.Facility.FacilityCode),
        DirectoryEntry.EntryOneofCase.Expert => (ExpertKind, entry.Expert.ExpertId),
        DirectoryEntry.EntryOneofCase.Trial => (TrialKind, entry.Trial.TrialId),
        _ => null,
    };

    public static long Version(DirectoryEntry entry) => entry.EntryCase switch
    {
        DirectoryEntry.EntryOneofCase.Facility => entry.Facility.DirectoryVersion,
        DirectoryEntry.EntryOneofCase.Expert => entry.Expert.DirectoryVersion,
        DirectoryEntry.EntryOneofCase.Trial => entry.Trial.DirectoryVersion,
        _ => 0,
    };

    public static DirectoryEntry WithVersion(DirectoryEntry entry, long version)
    {
        switch (entry.EntryCase)
        {
            case DirectoryEntry.EntryOneofCase.Facility:
                entry.Facility.DirectoryVersion = version;
                break;
            case DirectoryEntry.EntryOneofCase.Expert:
                entry.Expert.DirectoryVersion = version;
                break;
            case DirectoryEntry.EntryOneofCase.Trial:
                entry.Trial.DirectoryVersion = version;
                break;
        }
        return entry;
    }
}
