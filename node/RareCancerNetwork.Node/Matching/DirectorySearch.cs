using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Matching;

/// <summary>
/// How the directory is searched, at the hub and at every spoke alike: the same filter over the same
/// published entries gives the same answer offline.
/// </summary>
public static class DirectorySearch
{
    public static void Validate(FieldValidator v, string path, FacilityFilter? filter)
    {
        if (filter is null)
        {
            return;
        }
        if (filter.Prefecture.Length > 0 && !ReferenceLists.Prefectures.Contains(filter.Prefecture))
        {
            v.Add($"{path}prefecture", $"'{filter.Prefecture}' is not one of the 47 prefectures (write it in Japanese, e.g. 東京都)");
        }
        if (filter.Region.Length > 0 && !ReferenceLists.Regions.Contains(filter.Region))
        {
            v.Add($"{path}region", $"'{filter.Region}' is not one of the regions: {string.Join(", ", ReferenceLists.Regions)}");
        }
        v.OptionalEnum($"{path}organ_specialty", filter.OrganSpecialty);
        v.OptionalEnum($"{path}designation", filter.Designation);
    }

    public static bool Matches(Facility facility, FacilityFilter filter) =>
        (filter.IncludeRetired || !facility.Retired)
        && (filter.Prefecture.Length == 0 || facility.Prefecture == filter.Prefecture)
        && (filter.Region.Length == 0 || facility.Region == filter.Region)
        && (filter.OrganSpecialty == OrganSystem.Unspecified || facility.OrganSpecialties.Contains(filter.OrganSpecialty))
        && (filter.Designation == FacilityDesignation.Unspecified || facility.Designations.Contains(filter.Designation));

    public static bool Listed(Trial trial, bool includeClosed, bool includeRetired) =>
        (includeRetired || !trial.Retired) && (includeClosed || trial.Status == RecruitmentStatus.Recruiting);
}
