using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Hotline;

/// <summary>A counsellor's "where can this patient be seen?", at the hub and at a spoke alike.</summary>
public static class FacilitySuggestions
{
    /// <summary>Checks the question; returns how many suggestions to give.</summary>
    public static int Validate(FieldValidator v, string path, SuggestFacilitiesRequest? query)
    {
        var prefix = path.Length == 0 ? "" : path + ".";
        if (query is null)
        {
            v.Add(path, "is required");
            return 0;
        }
        v.Enum($"{prefix}organ_system", query.OrganSystem);
        if (query.PatientPrefecture.Length > 0 && ReferenceLists.RegionOf(query.PatientPrefecture) is null)
        {
            v.Add($"{prefix}patient_prefecture", $"'{query.PatientPrefecture}' is not one of the 47 prefectures (e.g. 愛知県)");
        }
        v.OptionalEnum($"{prefix}designation", query.Designation);
        return v.PageSize($"{prefix}limit", query.Limit, 20, ContractLimits.FacilitySuggestions);
    }

    public static IEnumerable<FacilitySuggestion> Of(IEnumerable<Facility> facilities, SuggestFacilitiesRequest query, int limit) =>
        FacilityNearness.Rank(facilities, query.OrganSystem, query.PatientPrefecture, query.Designation, limit: limit)
            .Select(x => new FacilitySuggestion { Facility = x.Facility, Distance = x.Distance });
}
