using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Hotline;

/// <summary>
/// "Where can this patient be seen?": the facilities that treat a category, nearest to the patient's prefecture first.
/// One implementation for the hub's counsellors, a spoke's (on its copy of the directory, offline) and the public finder.
/// </summary>
public static class FacilityNearness
{
    /// <summary>
    /// Regions that border each other (by land, bridge or the usual ferry routes): the distance between two regions is the
    /// number of borders crossed. Kept here, not in the directory, because it is geography, not something the hub edits.
    /// </summary>
    private static readonly Dictionary<string, string[]> Borders = new(StringComparer.Ordinal)
    {
        ["Hokkaido"] = ["Tohoku"],
        ["Tohoku"] = ["Hokkaido", "Kanto", "Chubu"],
        ["Kanto"] = ["Tohoku", "Chubu"],
        ["Chubu"] = ["Tohoku", "Kanto", "Kinki"],
        ["Kinki"] = ["Chubu", "Chugoku", "Shikoku"],
        ["Chugoku"] = ["Kinki", "Shikoku", "Kyushu-Okinawa"],
        ["Shikoku"] = ["Kinki", "Chugoku", "Kyushu-Okinawa"],
        ["Kyushu-Okinawa"] = ["Chugoku", "Shikoku"],
    };

    /// <summary>
    /// 0 in the patient's prefecture, 1 elsewhere in its region, then one more for each region border crossed; 0 for every
    /// facility when no prefecture is given.
    /// </summary>
    public static int Distance(string patientPrefecture, Facility facility)
    {
        if (patientPrefecture.Length == 0 || facility.Prefecture == patientPrefecture)
        {
            return 0;
        }
        var home = ReferenceLists.RegionOf(patientPrefecture);
        return home is null ? int.MaxValue : 1 + RegionHops(home, facility.Region);
    }

    /// <summary>
    /// The facilities taking patients (not retired) that treat <paramref name="organ"/> (all when unspecified) and hold
    /// <paramref name="designation"/> (all when unspecified), nearest first; within one distance the prefectures nearest in
    /// JIS order (north to south), then by facility code.
    /// </summary>
    public static IReadOnlyList<(Facility Facility, int Distance)> Rank(IEnumerable<Facility> facilities, OrganSystem organ, string patientPrefecture,
        FacilityDesignation designation, string region = "", int limit = int.MaxValue)
    {
        var home = ReferenceLists.JisOrder(patientPrefecture);
        return [.. facilities
            .Where(f => !f.Retired
                && (organ == OrganSystem.Unspecified || f.OrganSpecialties.Contains(organ))
                && (designation == FacilityDesignation.Unspecified || f.Designations.Contains(designation))
                && (region.Length == 0 || f.Region == region))
            .Select(f => (Facility: f, Distance: Distance(patientPrefecture, f)))
            .OrderBy(x => x.Distance)
            .ThenBy(x => home is null ? 0 : Math.Abs((ReferenceLists.JisOrder(x.Facility.Prefecture) ?? 99) - home.Value))
            .ThenBy(x => x.Facility.FacilityCode, StringComparer.Ordinal)
            .Take(limit)];
    }

    private static int RegionHops(string from, string to)
    {
        if (from == to)
        {
            return 0;
        }
        var seen = new HashSet<string>(StringComparer.Ordinal) { from };
        var frontier = new List<string> { from };
        for (var hops = 1; frontier.Count > 0; hops++)
        {
            frontier = [.. frontier.SelectMany(r => Borders.GetValueOrDefault(r, [])).Where(seen.Add)];
            if (frontier.Contains(to))
            {
                return hops;
            }
        }
        // A region the map does not know (renamed in the directory): after every known one.
        return Borders.Count;
    }
}
