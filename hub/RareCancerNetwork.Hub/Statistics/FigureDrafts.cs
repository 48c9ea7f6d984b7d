using System.Globalization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>Which records a figure counts, as validated from a <see cref="StatisticsFilter"/>.</summary>
public sealed record FigureFilter(string FromMonth, string ToMonth, string Region, string Prefecture, OrganSystem Organ, FacilityDesignation Designation)
{
    public static readonly FigureFilter None = new("", "", "", "", OrganSystem.Unspecified, FacilityDesignation.Unspecified);

    public static FigureFilter From(StatisticsFilter? filter) => filter is null
        ? None
        : new(filter.FromMonth, filter.ToMonth, filter.Region, filter.Prefecture, filter.OrganSystem, filter.Designation);

    public static void Validate(FieldValidator v, string path, StatisticsFilter? filter, IReadOnlyList<Prefecture> prefectures)
    {
        if (filter is null)
        {
            return;
        }
        var from = MonthField(v, $"{path}.from_month", filter.FromMonth);
        var to = MonthField(v, $"{path}.to_month", filter.ToMonth);
        if (from is not null && to is not null && string.CompareOrdinal(from, to) > 0)
        {
            v.Add($"{path}.to_month", $"is before from_month ({from}); give the period oldest month first");
        }
        if (filter.Region.Length > 0 && !prefectures.Any(p => p.Region == filter.Region))
        {
            v.Add($"{path}.region", $"'{filter.Region}' is not a region of the directory; regions are {string.Join(", ", prefectures.Select(p => p.Region).Distinct())}");
        }
        if (filter.Prefecture.Length > 0)
        {
            var prefecture = prefectures.FirstOrDefault(p => p.NameJa == filter.Prefecture);
            if (prefecture is null)
            {
                v.Add($"{path}.prefecture", $"'{filter.Prefecture}' is not a prefecture of the directory (write it as the directory does, e.g. 東京都)");
            }
            else if (filter.Region.Length > 0 && prefecture.Region != filter.Region)
            {
                v.Add($"{path}.prefecture", $"{filter.Prefecture} is in {prefecture.Region}, not in the region filtered on ({filter.Region})");
            }
        }
        v.OptionalEnum($"{path}.organ_system", filter.OrganSystem);
        v.OptionalEnum($"{path}.designation", filter.Designation);
    }

    private static string? MonthField(FieldValidator v, string field, string month)
    {
        if (month.Length == 0)
        {
            return null;
        }
        if (!DateOnly.TryParseExact(month + "-01", "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            v.Add(field, $"must be a month as YYYY-MM, e.g. 2026-04; got '{month}'");
            return null;
        }
        return month;
    }

    /// <summary>
    /// The same filter with one filter fewer, for each filter given on a dimension the table does not show: the releases
    /// the table must not be differenced against. (Removing a filter on a shown dimension only adds rows or columns, whose
    /// own figures are protected where they are released.)
    /// </summary>
    public IEnumerable<FigureFilter> Twins(params Dimension[] shown)
    {
        if ((FromMonth.Length > 0 || ToMonth.Length > 0) && !shown.Contains(Dimension.Month))
        {
            yield return this with { FromMonth = "", ToMonth = "" };
        }
        if (Region.Length > 0 && !shown.Contains(Dimension.Region))
        {
            yield return this with { Region = "" };
        }
        if (Prefecture.Length > 0 && !shown.Contains(Dimension.Prefecture))
        {
            yield return this with { Prefecture = "" };
        }
        if (Organ != OrganSystem.Unspecified && !shown.Contains(Dimension.OrganSystem))
        {
            yield return this with { Organ = OrganSystem.Unspecified };
        }
        if (Designation != FacilityDesignation.Unspecified && !shown.Contains(Dimension.Designation))
        {
            yield return this with { Designation = FacilityDesignation.Unspecified };
        }
    }

    public bool InPeriod(string month) =>
        (FromMonth.Length == 0 || string.CompareOrdinal(month, FromMonth) >= 0) && (ToMonth.Length == 0 || string.CompareOrdinal(month, ToMonth) <= 0);

    /// <summary>Whether a fact (its dimension values as codes) passes the filter.</summary>
    public bool Matches(FactDimensions fact) =>
        InPeriod(fact.Month)
        && (Region.Length == 0 || fact.Region == Region)
        && (Prefecture.Length == 0 || fact.Prefecture == Prefecture)
        && (Organ == OrganSystem.Unspecified || fact.Organ == StatisticsLabels.OrganCode(Organ))
        && (Designation == FacilityDesignation.Unspecified || fact.Designation == StatisticsLabels.DesignationCode(Designation));

    public (string Ja, string En) Describe()
    {
        var ja = new List<string>();
        var en = new List<string>();
        if (FromMonth.Length > 0 || ToMonth.Length > 0)
        {
            ja.Add($"{FromMonth}〜{ToMonth}");
            en.Add($"{(FromMonth.Length > 0 ? FromMonth : "…")} to {(ToMonth.Length > 0 ? ToMonth : "…")}");
        }
        foreach (var place in new[] { Region, Prefecture }.Where(p => p.Length > 0))
        {
            ja.Add(StatisticsLabels.Of(place).LabelJa);
            en.Add(place);
        }
        if (Organ != OrganSystem.Unspecified)
        {
            var label = StatisticsLabels.Of(StatisticsLabels.OrganCode(Organ));
            ja.Add(label.LabelJa);
            en.Add(label.LabelEn);
        }
        if (Designation != FacilityDesignation.Unspecified)
        {
            var label = StatisticsLabels.Of(StatisticsLabels.DesignationCode(Designation));
            ja.Add(label.LabelJa);
            en.Add(label.LabelEn);
        }
        return ja.Count == 0 ? ("全国・全期間", "whole country, all time") : (string.Join("、", ja), string.Join(", ", en));
    }
}

/// <summary>A counted item's values on every dimension it can be filtered or shown by, as category codes.</summary>
public sealed record FactDimensions(string Month, string Region, string Prefecture, string Organ, string Designation, string Kind = "", string Outcome = "",
    string Centre = "")
{
    public string Of(Dimension dimension) => dimension switch
    {
        Dimension.Month => Month,
        Dimension.Region => Region,
        Dimension.Prefecture => Prefecture,
        Dimension.OrganSystem => Organ,
        Dimension.Designation => Designation,
        Dimension.ReferralKind => Kind,
        Dimension.ReferralOutcome => Outcome,
        Dimension.HotlineCentre => Centre,
        _ => throw new ArgumentOutOfRangeException(nameof(dimension), dimension, "not a dimension of facts"),
    };
}

/// <summary>A cell of a table before release: exact, with what protection needs to know.</summary>
public abstract record DraftCell;

public sealed record CountCell(long Count) : DraftCell;

public sealed record RateCell(long Numerator, long Denominator) : DraftCell;

/// <summary>A quantity over <paramref name="Observations"/> cases; released only when they reach the threshold.</summary>
public sealed record MeasureCell(double Value, double? Lower, double? Upper, string Unit, long Observations, bool NotReached = false) : DraftCell;

/// <summary>Nothing to show (e.g. a median of no cases).</summary>
public sealed record EmptyCell : DraftCell
{
    public static readonly EmptyCell Instance = new();
}

/// <summary>
/// A table before release, exact. With <paramref name="TotalRow"/> the last row holds the totals; with
/// <paramref name="TotalColumn"/> too, the table is a two-way count table protected as a whole.
/// </summary>
public sealed record TableDraft(string Key, string TitleJa, string TitleEn, string UnitJa, string UnitEn, Dimension RowDimension, Dimension ColumnDimension,
    IReadOnlyList<Category> Rows, IReadOnlyList<Category> Columns, bool TotalRow, bool TotalColumn, DraftCell[,] Cells);

/// <summary>A survival curve before release, with every observation's time (to say how long patients were followed).</summary>
public sealed record CurveDraft(string Key, string TitleJa, string TitleEn, string TimeUnit, SurvivalCurve Curve, IReadOnlyList<double> ObservedTimes)
{
    public static CurveDraft Of(string key, string titleJa, string titleEn, string timeUnit, IReadOnlyList<SurvivalObservation> observations) =>
        new(key, titleJa, titleEn, timeUnit, KaplanMeier.Estimate(observations), [.. observations.Select(o => o.Time).Order()]);
}

/// <summary>A figure before release: its tables and curves, and how many records it stands on.</summary>
public sealed record FigureDraft(string TitleJa, string TitleEn, IReadOnlyList<TableDraft> Tables, IReadOnlyList<CurveDraft> Curves, long RecordsCounted,
    string ConsentRuleJa, string ConsentRuleEn);
