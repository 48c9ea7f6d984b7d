using ProtoCurve = RareCancerNetwork.Protos.V1.SurvivalCurve;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// Turns an exact figure into what may leave the hub. Two-way count tables with their totals go through
/// <see cref="SmallCellProtection"/> whole; a column of counts with a totals row likewise as a one-column table; any
/// other count is suppressed when it is 1 to threshold − 1 or that far from the same count with one filter fewer. A rate is
/// suppressed when its denominator, numerator or complement is 1 to threshold − 1 (each would count a handful of
/// patients) or differs that much from its twin's; a measure when it stands on fewer cases than the threshold; and every
/// rate and measure of a row whose count is hidden, since its numerator, denominator or cases would give the count away.
/// A survival curve of fewer patients than the threshold is withheld, and a released one stops where fewer are at risk.
/// An exact answer carries every value, with what would have been hidden marked.
/// </summary>
public static class FigureRelease
{
    public static FigureResult Release(Figure figure, FigureDraft draft, IReadOnlyList<FigureDraft> twins, int threshold, bool exact)
    {
        var result = new FigureResult { Figure = figure, TitleJa = draft.TitleJa, TitleEn = draft.TitleEn };
        foreach (var table in draft.Tables)
        {
            var twinTables = twins.Select(t => t.Tables.FirstOrDefault(x => x.Key == table.Key)).OfType<TableDraft>().ToList();
            result.Tables.Add(ReleaseTable(table, twinTables, threshold, exact));
        }
        foreach (var curve in draft.Curves)
        {
            result.Curves.Add(ReleaseCurve(curve, threshold, exact));
        }
        return result;
    }

    private static StatisticsTable ReleaseTable(TableDraft draft, IReadOnlyList<TableDraft> twins, int threshold, bool exact)
    {
        var rows = draft.Rows.Count;
        var columns = draft.Columns.Count;
        var reasons = new SuppressionReason[rows, columns];
        var withheld = false;
        var allCounts = draft.Cells.Cast<DraftCell>().All(c => c is CountCell);
        if (draft.TotalRow && draft.TotalColumn && allCounts)
        {
            var protectedTable = SmallCellProtection.Protect(Interior(rows - 1, columns - 1, at => CountOf(draft.Cells[at.Row, at.Column])), threshold,
                twins.Select(t => Interior(rows - 1, columns - 1, at => Aligned(draft, t, at))).ToList());
            withheld = protectedTable.Withheld;
            for (var r = 0; r < rows; r++)
            {
                for (var c = 0; c < columns; c++)
                {
                    reasons[r, c] = withheld ? SuppressionReason.Withheld : Reason(protectedTable.SuppressionOf(r, c));
                }
            }
        }
        else
        {
            for (var c = 0; c < columns; c++)
            {
                ProtectColumn(draft, twins, c, threshold, reasons);
            }
            // A hidden count hides its row's rates and measures, which would carry it.
            for (var r = 0; r < rows; r++)
            {
                var countHidden = Enumerable.Range(0, columns).Any(c => draft.Cells[r, c] is CountCell && reasons[r, c] != SuppressionReason.Unspecified);
                for (var c = 0; countHidden && c < columns; c++)
                {
                    if (draft.Cells[r, c] is RateCell or MeasureCell && reasons[r, c] == SuppressionReason.Unspecified)
                    {
                        reasons[r, c] = SuppressionReason.Complementary;
                    }
                }
            }
        }
        var table = new StatisticsTable
        {
            Key = draft.Key, TitleJa = draft.TitleJa, TitleEn = draft.TitleEn, UnitJa = draft.UnitJa, UnitEn = draft.UnitEn,
            RowDimension = draft.RowDimension, ColumnDimension = draft.ColumnDimension, Totals = draft.TotalRow && draft.TotalColumn, Withheld = withheld,
        };
        table.Rows.AddRange(draft.Rows);
        table.Columns.AddRange(draft.Columns);
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                table.Cells.Add(Cell(draft.Cells[r, c], reasons[r, c], exact));
            }
        }
        return table;
    }

    private static void ProtectColumn(TableDraft draft, IReadOnlyList<TableDraft> twins, int column, int threshold, SuppressionReason[,] reasons)
    {
        var rows = draft.Rows.Count;
        var counts = Enumerable.Range(0, rows).All(r => draft.Cells[r, column] is CountCell or EmptyCell);
        if (counts && draft.TotalRow)
        {
            var interior = new long[rows - 1, 1];
            for (var r = 0; r < rows - 1; r++)
            {
                interior[r, 0] = CountOf(draft.Cells[r, column]);
            }
            var twinInteriors = twins.Select(t =>
            {
                var aligned = new long[rows - 1, 1];
                for (var r = 0; r < rows - 1; r++)
                {
                    aligned[r, 0] = Aligned(draft, t, (r, column));
                }
                return aligned;
            }).ToList();
            var protectedColumn = SmallCellProtection.Protect(interior, threshold, twinInteriors);
            for (var r = 0; r < rows; r++)
            {
                reasons[r, column] = protectedColumn.Withheld ? SuppressionReason.Withheld : Reason(protectedColumn.SuppressionOf(r, 0));
            }
            return;
        }
        for (var r = 0; r < rows; r++)
        {
            var twinCells = twins.Select(t => TwinCell(draft, t, r, column)).OfType<DraftCell>().ToList();
            reasons[r, column] = draft.Cells[r, column] switch
            {
                CountCell count when Small(count.Count, threshold) => SuppressionReason.SmallCount,
                CountCell count when twinCells.OfType<CountCell>().Any(t => Small(Math.Abs(t.Count - count.Count), threshold)) => SuppressionReason.Differencing,
                RateCell rate when Small(rate.Denominator, threshold) || Small(rate.Numerator, threshold) || Small(rate.Denominator - rate.Numerator, threshold)
                    || twinCells.OfType<RateCell>().Any(t => Small(Math.Abs(t.Numerator - rate.Numerator), threshold) || Small(Math.Abs(t.Denominator - rate.Denominator), threshold))
                    => SuppressionReason.SmallDenominator,
                MeasureCell measure when measure.Observations < threshold => SuppressionReason.SmallDenominator,
                _ => SuppressionReason.Unspecified,
            };
        }
    }

    private static StatisticsCell Cell(DraftCell draft, SuppressionReason reason, bool exact)
    {
        var cell = new StatisticsCell { Suppressed = reason != SuppressionReason.Unspecified };
        if (exact)
        {
            cell.Reason = reason;
        }
        if (cell.Suppressed && !exact)
        {
            return cell;
        }
        switch (draft)
        {
            case CountCell count:
                cell.Count = count.Count;
                break;
            case RateCell { Denominator: > 0 } rate:
                var proportion = ExactMethods.ClopperPearson(rate.Numerator, rate.Denominator);
                cell.Rate = new RateEstimate
                {
                    Numerator = rate.Numerator, Denominator = rate.Denominator, Estimate = proportion.Estimate, Lower = proportion.Lower, Upper = proportion.Upper,
                };
                break;
            case MeasureCell measure:
                cell.Measure = Measure(measure);
                break;
        }
        return cell;
    }

    private static Measure Measure(MeasureCell measure)
    {
        var released = new Measure { Value = measure.Value, Unit = measure.Unit, Observations = measure.Observations, NotReached = measure.NotReached };
        if (measure.Lower is { } lower)
        {
            released.Lower = lower;
        }
        if (measure.Upper is { } upper)
        {
            released.Upper = upper;
        }
        return released;
    }

    private static ProtoCurve ReleaseCurve(CurveDraft draft, int threshold, bool exact)
    {
        var curve = draft.Curve;
        var released = new ProtoCurve
        {
            Key = draft.Key, TitleJa = draft.TitleJa, TitleEn = draft.TitleEn, TimeUnit = draft.TimeUnit, Suppressed = curve.Patients < threshold,
        };
        if (released.Suppressed && !exact)
        {
            return released;
        }
        released.Patients = curve.Patients;
        released.Events = curve.Events;
        released.Median = Measure(new MeasureCell(curve.Median ?? 0, curve.MedianLower, curve.MedianUpper, draft.TimeUnit, curve.Patients, curve.Median is null));
        // How far the curve is drawn: to the last observation, or (released) to the last time at least threshold were still at risk.
        var times = draft.ObservedTimes;
        if (times.Count > 0)
        {
            released.FollowedUntil = exact ? times[^1] : times[Math.Max(0, times.Count - threshold)];
        }
        var cut = curve.Steps.TakeWhile(s => s.AtRisk >= threshold).Count();
        if (cut < curve.Steps.Count && cut > 0 && exact)
        {
            released.TruncatedAfter = curve.Steps[cut - 1].Time;
        }
        foreach (var step in exact ? curve.Steps : curve.Steps.Take(cut))
        {
            var point = new SurvivalPoint { Time = step.Time, AtRisk = step.AtRisk, Events = step.Events, Censored = step.CensoredBefore, Survival = step.Survival };
            if (step.Lower is { } lower)
            {
                point.Lower = lower;
            }
            if (step.Upper is { } upper)
            {
                point.Upper = upper;
            }
            released.Points.Add(point);
        }
        return released;
    }

    private static bool Small(long count, int threshold) => count >= 1 && count < threshold;

    private static long CountOf(DraftCell cell) => cell is CountCell count ? count.Count : 0;

    private static SuppressionReason Reason(Suppression suppression) => suppression switch
    {
        Suppression.SmallCount => SuppressionReason.SmallCount,
        Suppression.Differencing => SuppressionReason.Differencing,
        Suppression.Complementary => SuppressionReason.Complementary,
        _ => SuppressionReason.Unspecified,
    };

    private static long[,] Interior(int rows, int columns, Func<(int Row, int Column), long> value)
    {
        var interior = new long[rows, columns];
        for (var r = 0; r < rows; r++)
        {
            for (var c = 0; c < columns; c++)
            {
                interior[r, c] = value((r, c));
            }
        }
        return interior;
    }

    /// <summary>The twin's count in the same row and column (by code); where the twin has no such cell, the table's own (no difference).</summary>
    private static long Aligned(TableDraft draft, TableDraft twin, (int Row, int Column) at) =>
        TwinCell(draft, twin, at.Row, at.Column) is CountCell count ? count.Count : CountOf(draft.Cells[at.Row, at.Column]);

    private static DraftCell? TwinCell(TableDraft draft, TableDraft twin, int row, int column)
    {
        var r = IndexOf(twin.Rows, draft.Rows[row].Code);
        var c = IndexOf(twin.Columns, draft.Columns[column].Code);
        return r >= 0 && c >= 0 ? twin.Cells[r, c] : null;
    }

    private static int IndexOf(IReadOnlyList<Category> categories, string code)
    {
        for (var i = 0; i < categories.Count; i++)
        {
            if (categories[i].Code == code)
            {
                return i;
            }
        }
        return -1;
    }
}
