using RareCancerNetwork.Hub.Statistics;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// Small-cell protection, checked the way an attacker would work: from every released figure of a table (and its
/// one-filter-fewer twin), every value each hidden cell could take is enumerated; a hidden cell with only one possible
/// value would be recovered.
/// </summary>
public sealed class SmallCellProtectionTests
{
    private const int Threshold = 5;

    [Fact]
    public void SmallCellsAreHidden_AndTheirPartnersToo_SoThatNoTotalGivesThemAway()
    {
        long[,] counts =
        {
            { 20, 3, 15 },
            { 12, 30, 18 },
            { 25, 14, 40 },
        };
        var table = SmallCellProtection.Protect(counts, Threshold);
        Assert.Equal(Suppression.SmallCount, table.SuppressionOf(0, 1));
        Assert.Null(table.Released(0, 1));
        // A second cell in its row and in its column, the smallest available, and so on around a cycle until nothing is
        // pinned down: 3 and 15 in row 0, 14 in its column, 25 beside it, 12 under, 18 closing the cycle; the totals stay.
        Assert.Equal([(0, 2), (1, 0), (1, 2), (2, 0), (2, 1)], Enumerable.Range(0, 4).SelectMany(i => Enumerable.Range(0, 4).Select(j => (i, j)))
            .Where(c => table.SuppressionOf(c.i, c.j) == Suppression.Complementary));
        Assert.Equal(177, table.Released(3, 3));
        AssertNothingRecoverable(table);
        Assert.Equal(3, table.Exact(0, 1));
    }

    [Fact]
    public void ZeroIsReleased_AndATableWithNothingSmallIsReleasedWhole()
    {
        var table = SmallCellProtection.Protect(new long[,] { { 0, 12 }, { 30, 45 } }, Threshold);
        Assert.Equal(0, table.SuppressedCells);
        Assert.Equal(0, table.Released(0, 0));
        Assert.Equal(87, table.Released(2, 2));
    }

    [Fact]
    public void ACellTheTableWithOneFilterFewerWouldGiveAwayByDifference_IsHidden()
    {
        // Kanto's counts beside the whole country's: the first cell differs by 2, which the pair would reveal.
        long[,] kanto = { { 40, 22 }, { 31, 18 } };
        long[,] country = { { 42, 60 }, { 70, 18 } };
        var table = SmallCellProtection.Protect(kanto, Threshold, [country]);
        Assert.Equal(Suppression.Differencing, table.SuppressionOf(0, 0));
        AssertNothingRecoverable(table);
        AssertNoSmallDifference(table, SmallCellProtection.Protect(country, Threshold));
    }

    [Fact]
    public void RandomTables_NeverLetAHiddenCellBeRecovered_AloneOrBesideTheirTwin()
    {
        var random = new Random(20261124);
        var checkedTables = 0;
        for (var round = 0; round < 1500; round++)
        {
            var rows = random.Next(1, 5);
            var columns = random.Next(1, 5);
            // Patients with a row, a column and a region; the table is one region's, its twin the whole country's.
            var patients = Enumerable.Range(0, random.Next(0, 120))
                .Select(_ => (Row: random.Next(rows), Column: Skewed(random, columns), Region: random.Next(3))).ToList();
            var region = new long[rows, columns];
            var country = new long[rows, columns];
            foreach (var p in patients)
            {
                country[p.Row, p.Column]++;
                if (p.Region == 0)
                {
                    region[p.Row, p.Column]++;
                }
            }
            var released = SmallCellProtection.Protect(region, Threshold, [country]);
            var twin = SmallCellProtection.Protect(country, Threshold);
            AssertNothingRecoverable(released);
            AssertNothingRecoverable(twin);
            AssertNoSmallDifference(released, twin);
            checkedTables++;
        }
        Assert.Equal(1500, checkedTables);
    }

    /// <summary>Columns of very different sizes, so that small cells are common.</summary>
    private static int Skewed(Random random, int columns) => Math.Min(columns - 1, (int)Math.Floor(-Math.Log(1 - random.NextDouble()) * 0.8));

    /// <summary>Where both tables show a cell, the two counts are equal or at least the threshold apart.</summary>
    private static void AssertNoSmallDifference(ProtectedTable table, ProtectedTable twin)
    {
        for (var i = 0; i <= table.Rows; i++)
        {
            for (var j = 0; j <= table.Columns; j++)
            {
                if (table.Released(i, j) is { } count && twin.Released(i, j) is { } wider)
                {
                    Assert.False(wider - count is >= 1 and < Threshold, $"Cell ({i}, {j}): {wider} − {count} reveals a small count.");
                }
            }
        }
    }

    /// <summary>Every hidden cell can take at least two values consistent with everything released.</summary>
    private static void AssertNothingRecoverable(ProtectedTable table)
    {
        var hidden = new List<(int Row, int Column)>();
        for (var i = 0; i <= table.Rows; i++)
        {
            for (var j = 0; j <= table.Columns; j++)
            {
                if (table.Released(i, j) is null)
                {
                    hidden.Add((i, j));
                }
            }
        }
        if (hidden.Count == 0)
        {
            return;
        }
        if (table.Withheld)
        {
            // Nothing released, not even which cells are hidden: nothing to work from.
            Assert.All(hidden, h => Assert.Null(table.Released(h.Row, h.Column)));
            Assert.Equal((table.Rows + 1) * (table.Columns + 1), hidden.Count);
            return;
        }
        // Every hidden cell is at most the grand total; when that is hidden too, a bound the search can afford.
        var upper = table.Released(table.Rows, table.Columns) ?? table.Exact(table.Rows, table.Columns) + 2 * Threshold;
        (long Low, long High) Bounds((int Row, int Column) cell) =>
            table.SuppressionOf(cell.Row, cell.Column) == Suppression.SmallCount ? (1L, (long)Threshold - 1) : (0L, upper);
        var lines = Enumerable.Range(0, table.Rows + 1).Select(i => Enumerable.Range(0, table.Columns + 1).Select(j => (i, j)).ToList())
            .Concat(Enumerable.Range(0, table.Columns + 1).Select(j => Enumerable.Range(0, table.Rows + 1).Select(i => (i, j)).ToList())).ToList();
        foreach (var target in hidden)
        {
            // Is there a table, consistent with everything released, in which this cell has another value than its own?
            var (low, high) = Bounds(target);
            var found = false;
            for (var v = low; v <= high && !found; v++)
            {
                if (v != table.Exact(target.Row, target.Column))
                {
                    found = Solve(new Dictionary<(int Row, int Column), long> { [target] = v });
                }
            }
            Assert.True(found, $"Hidden cell ({target.Row}, {target.Column}) can only be {table.Exact(target.Row, target.Column)}: recovered.\n{Render(table)}");
        }

        // Depth-first, forcing every cell that a line leaves with one unknown before branching on the narrowest cell.
        bool Solve(Dictionary<(int Row, int Column), long> assigned)
        {
            long? Known((int Row, int Column) c) => table.Released(c.Row, c.Column) ?? (assigned.TryGetValue(c, out var v) ? v : null);
            bool forced;
            do
            {
                forced = false;
                foreach (var line in lines)
                {
                    // A line: its first cells add up to its last (the total).
                    var unknown = line.Where(c => Known(c) is null).ToList();
                    var parts = line.Take(line.Count - 1).Sum(c => Known(c) ?? 0);
                    var total = Known(line[^1]);
                    if (unknown.Count == 0)
                    {
                        if (parts != total)
                        {
                            return false;
                        }
                        continue;
                    }
                    if (total is { } t && parts > t)
                    {
                        return false;
                    }
                    if (unknown.Count == 1)
                    {
                        var cell = unknown[0];
                        var value = cell == line[^1] ? parts : total!.Value - parts;
                        var (lo, hi) = Bounds(cell);
                        if (value < lo || value > hi)
                        {
                            return false;
                        }
                        assigned[cell] = value;
                        forced = true;
                    }
                }
            }
            while (forced);
            var open = hidden.Where(h => !assigned.ContainsKey(h)).ToList();
            if (open.Count == 0)
            {
                return true;
            }
            var branch = open.MinBy(h => Bounds(h).High - Bounds(h).Low);
            var (from, to) = Bounds(branch);
            for (var v = from; v <= to; v++)
            {
                if (Solve(new Dictionary<(int Row, int Column), long>(assigned) { [branch] = v }))
                {
                    return true;
                }
            }
            return false;
        }
    }

    private static string Render(ProtectedTable table) => string.Join('\n', Enumerable.Range(0, table.Rows + 1).Select(i => string.Join(' ',
        Enumerable.Range(0, table.Columns + 1).Select(j => $"{table.Exact(i, j),4}{(table.SuppressionOf(i, j) switch { Suppression.None => " ", Suppression.SmallCount => "*", Suppression.Differencing => "d", _ => "c" })}"))));
}
