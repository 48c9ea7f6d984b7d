using System.Globalization;
using System.Text;
using CsvHelper;
using RareCancerNetwork.Protos.V1;
using ProtoCurve = RareCancerNetwork.Protos.V1.SurvivalCurve;

namespace RareCancerNetwork.Hub.Statistics;

/// <summary>
/// One released table (or survival curve) of a figure as CSV for spreadsheets: UTF-8 with a byte-order mark (so that
/// spreadsheet software reads the Japanese correctly), each header "日本語 (English)", a hidden cell written X (as the
/// e-Stat tables do), every number unrounded with an invariant decimal point, and the figure's provenance after a blank row.
/// </summary>
public static class StatisticsCsv
{
    public const string MediaType = "text/csv; charset=utf-8";
    public const string Hidden = "X";

    /// <summary>The file, or null when the figure has no table or curve of that key.</summary>
    public static byte[]? Write(FigureResult figure, string key)
    {
        var table = key.Length == 0 ? figure.Tables.FirstOrDefault() : figure.Tables.FirstOrDefault(t => t.Key == key);
        var curve = table is null ? figure.Curves.FirstOrDefault(c => c.Key == key) : null;
        if (table is null && curve is null)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        using (var writer = new StreamWriter(buffer, new UTF8Encoding(encoderShouldEmitUTF8Identifier: true)))
        using (var csv = new CsvWriter(writer, CultureInfo.InvariantCulture))
        {
            if (table is not null)
            {
                WriteTable(csv, table);
            }
            else
            {
                WriteCurve(csv, curve!);
            }
            WriteProvenance(csv, figure);
        }
        return buffer.ToArray();
    }

    public static string FileName(FigureResult figure, string key, DateTimeOffset asOf) =>
        $"rcn-{figure.Figure.ToString().ToLowerInvariant()}{(key.Length > 0 ? "-" + key.Replace('_', '-') : "")}-{asOf.ToOffset(TimeSpan.FromHours(9)):yyyyMMdd}.csv";

    private static string Header(string ja, string en) => ja == en ? ja : $"{ja} ({en})";

    private static void WriteTable(CsvWriter csv, StatisticsTable table)
    {
        csv.WriteField(Header(DimensionJa(table.RowDimension), DimensionEn(table.RowDimension)));
        csv.WriteField(Header("英語表記", "English"));
        // A column of rates or measures spreads over the parts a spreadsheet needs.
        var kinds = Enumerable.Range(0, table.Columns.Count).Select(c => ColumnKind(table, c)).ToList();
        for (var c = 0; c < table.Columns.Count; c++)
        {
            var column = table.Columns[c];
            foreach (var (partJa, partEn) in Parts(kinds[c]))
            {
                csv.WriteField(Header(column.LabelJa + partJa, column.LabelEn + partEn));
            }
        }
        csv.NextRecord();
        for (var r = 0; r < table.Rows.Count; r++)
        {
            csv.WriteField(table.Rows[r].LabelJa);
            csv.WriteField(table.Rows[r].LabelEn);
            for (var c = 0; c < table.Columns.Count; c++)
            {
                var cell = table.Cells[r * table.Columns.Count + c];
                foreach (var value in Values(cell, kinds[c]))
                {
                    csv.WriteField(value);
                }
            }
            csv.NextRecord();
        }
    }

    private static void WriteCurve(CsvWriter csv, ProtoCurve curve)
    {
        foreach (var (ja, en) in new[]
        {
            ($"時間（{curve.TimeUnit}）", $"Time ({curve.TimeUnit})"), ("リスク集合", "At risk"), ("イベント", "Events"), ("打ち切り", "Censored"),
            ("生存割合", "Survival"), ("95%信頼区間下限", "95% lower"), ("95%信頼区間上限", "95% upper"),
        })
        {
            csv.WriteField(Header(ja, en));
        }
        csv.NextRecord();
        foreach (var point in curve.Points)
        {
            csv.WriteField(Number(point.Time));
            csv.WriteField(point.AtRisk);
            csv.WriteField(point.Events);
            csv.WriteField(point.Censored);
            csv.WriteField(Number(point.Survival));
            csv.WriteField(point.HasLower ? Number(point.Lower) : "");
            csv.WriteField(point.HasUpper ? Number(point.Upper) : "");
            csv.NextRecord();
        }
    }

    private static void WriteProvenance(CsvWriter csv, FigureResult figure)
    {
        var provenance = figure.Provenance;
        csv.NextRecord();
        void Line(string ja, string en, string value)
        {
            csv.WriteField(Header(ja, en));
            csv.WriteField(value);
            csv.NextRecord();
        }
        Line("集計", "Figure", $"{figure.TitleJa} ({figure.TitleEn})");
        Line("条件", "Filters", $"{provenance.FiltersJa} ({provenance.FiltersEn})");
        Line("集計対象の記録数", "Records counted", provenance.RecordsCounted.ToString(CultureInfo.InvariantCulture));
        Line("時点（日本時間）", "As of (Japan time)", provenance.AsOf.ToDateTimeOffset().ToOffset(TimeSpan.FromHours(9)).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture));
        Line("同意", "Consent", $"{provenance.ConsentRuleJa} ({provenance.ConsentRuleEn})");
        Line(Hidden, Hidden, provenance.Exact
            ? "秘匿なし（正確な集計の権限による・監査記録あり）(exact figures under the exact-statistics permission; audited)"
            : $"秘匿（1〜{provenance.Threshold - 1}件の区分と、それを推計できる区分）(suppressed: cells of 1 to {provenance.Threshold - 1} and those that would reveal them)");
    }

    private enum Kind
    {
        Count,
        Rate,
        Measure,
    }

    private static Kind ColumnKind(StatisticsTable table, int column)
    {
        for (var r = 0; r < table.Rows.Count; r++)
        {
            switch (table.Cells[r * table.Columns.Count + column].ValueCase)
            {
                case StatisticsCell.ValueOneofCase.Rate:
                    return Kind.Rate;
                case StatisticsCell.ValueOneofCase.Measure:
                    return Kind.Measure;
                case StatisticsCell.ValueOneofCase.Count:
                    return Kind.Count;
            }
        }
        return Kind.Count;
    }

    private static (string Ja, string En)[] Parts(Kind kind) => kind switch
    {
        Kind.Rate => [("：分子", ": numerator"), ("：分母", ": denominator"), ("：割合", ": proportion"), ("：95%信頼区間下限", ": 95% lower"), ("：95%信頼区間上限", ": 95% upper")],
        Kind.Measure => [("", ""), ("：95%信頼区間下限", ": 95% lower"), ("：95%信頼区間上限", ": 95% upper"), ("：件数", ": cases")],
        _ => [("", "")],
    };

    private static IEnumerable<string> Values(StatisticsCell cell, Kind kind)
    {
        var width = Parts(kind).Length;
        if (cell.ValueCase == StatisticsCell.ValueOneofCase.None)
        {
            return Enumerable.Repeat(cell.Suppressed ? Hidden : "", width);
        }
        return cell.ValueCase switch
        {
            StatisticsCell.ValueOneofCase.Count => [cell.Count.ToString(CultureInfo.InvariantCulture)],
            StatisticsCell.ValueOneofCase.Rate =>
            [
                cell.Rate.Numerator.ToString(CultureInfo.InvariantCulture), cell.Rate.Denominator.ToString(CultureInfo.InvariantCulture),
                Number(cell.Rate.Estimate), Number(cell.Rate.Lower), Number(cell.Rate.Upper),
            ],
            _ =>
            [
                cell.Measure.NotReached ? "未到達 (not reached)" : Number(cell.Measure.Value), cell.Measure.HasLower ? Number(cell.Measure.Lower) : "",
                cell.Measure.HasUpper ? Number(cell.Measure.Upper) : "", cell.Measure.Observations.ToString(CultureInfo.InvariantCulture),
            ],
        };
    }

    private static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    public static string DimensionJa(Dimension dimension) => dimension switch
    {
        Dimension.Month => "月",
        Dimension.Region => "地域",
        Dimension.Prefecture => "都道府県",
        Dimension.OrganSystem => "臓器・がん種",
        Dimension.Designation => "施設区分",
        Dimension.ReferralKind => "紹介の種類",
        Dimension.ReferralOutcome => "紹介の結果",
        _ => "項目",
    };

    public static string DimensionEn(Dimension dimension) => dimension switch
    {
        Dimension.Month => "Month",
        Dimension.Region => "Region",
        Dimension.Prefecture => "Prefecture",
        Dimension.OrganSystem => "Organ system",
        Dimension.Designation => "Facility type",
        Dimension.ReferralKind => "Referral kind",
        Dimension.ReferralOutcome => "Referral outcome",
        _ => "Item",
    };
}
