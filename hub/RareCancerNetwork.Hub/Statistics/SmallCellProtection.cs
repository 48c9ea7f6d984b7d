namespace RareCancerNetwork.Hub.Statistics;

/// <summary>Why a cell is not shown.</summary>
public enum Suppression
{
    /// <summary>Shown.</summary>
    None,
    /// <summary>It counts 1 to threshold − 1 patients.</summary>
    SmallCount,
    /// <summary>The same table with one filter fewer would give it away by difference (1 to threshold − 1 patients apart).</summary>
    Differencing,
    /// <summary>Hidden so that a hidden cell cannot be worked out from the totals.</summary>
    Complementary,
}

/// <summary>
/// A two-way table of patient counts with its row and column totals and grand total, after small-cell protection. The
/// margins are cells like the others: index <see cref="Rows"/> is the totals row, <see cref="Columns"/> the totals column.
/// </summary>
public sealed class ProtectedTable
{
    private readonly long[,] _counts;
    private readonly Suppression[,] _suppression;

    internal ProtectedTable(long[,] counts, Suppression[,] suppression, int threshold, bool withheld)
    {
        _counts = counts;
        _suppression = suppression;
        Threshold = threshold;
        Withheld = withheld;
    }

    public int Rows => _counts.GetLength(0) - 1;
    public int Columns => _counts.GetLength(1) - 1;
    public int Threshold { get; }

    /// <summary>The count to release, or null when it is suppressed.</summary>
    public long? Released(int row, int column) => _suppression[row, column] == Suppression.None ? _counts[row, column] : null;

    public Suppression SuppressionOf(int row, int column) => _suppression[row, column];

    /// <summary>The exact count whatever its suppression: for holders of the exact-statistics permission only.</summary>
    public long Exact(int row, int column) => _counts[row, column];

    public int SuppressedCells => _suppression.Cast<Suppression>().Count(s => s != Suppression.None);

    /// <summary>Nothing of the table is released: its grand total is itself too small (or would give a twin away).</summary>
    public bool Withheld { get; }
}

/// <summary>
/// Small-cell protection of count tables before release:
/// <list type="number">
/// <item>primary: a cell of 1 to threshold − 1 patients is suppressed (zero is released: it names nobody);</item>
/// <item>differencing: a cell whose count differs from the same cell of the table with one filter fewer (each such
/// "twin" is given) by 1 to threshold − 1 is suppressed, so that the pair does not give the difference away;</item>
/// <item>a table whose grand total is hidden by these rules is withheld whole, and so is one that cannot be protected
/// even with every cell hidden;</item>
/// <item>complementary: further cells until no suppressed cell can be worked out from the released figures — the row
/// and column totals and the grand total — even by someone who knows that a small count is 1 to threshold − 1, that no
/// count is negative and that none exceeds its twin's.</item>
/// </list>
/// With its totals, every cell belongs to exactly one row and one column, and each row and column adds up to zero once
/// the totals are counted negatively (the grand total positively). So the released figures constrain the hidden cells
/// exactly as a flow is constrained on the bipartite graph whose nodes are the rows and columns and whose edges are the
/// hidden cells: adding 1 and subtracting 1 alternately around a cycle of that graph changes no released figure. A hidden
/// cell is safe when some such cycle through it can be moved one step while every cell on it stays within what is known
/// of it: then it has at least two possible values. Cells are added, smallest first, until every hidden cell is safe.
/// </summary>
public static class SmallCellProtection
{
    public const int DefaultThreshold = 10;

    /// <param name="interior">Counts, rows × columns, without margins.</param>
    /// <param name="twins">The same table with one filter fewer, each with the same rows and columns (margins computed here).</param>
    public static ProtectedTable Protect(long[,] interior, int threshold = DefaultThreshold, IEnumerable<long[,]>? twins = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threshold, 1);
        var counts = WithMargins(interior);
        var rows = counts.GetLength(0);
        var columns = counts.GetLength(1);
        var suppression = new Suppression[rows, columns];
        // What an attacker may know of each cell beyond the released figures: at most its count in every wider table.
        var ceiling = new long[rows, columns];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                ceiling[i, j] = long.MaxValue;
                if (IsSmall(counts[i, j], threshold))
                {
                    suppression[i, j] = Suppression.SmallCount;
                }
            }
        }
        foreach (var twin in (twins ?? []).Select(WithMargins))
        {
            if (twin.GetLength(0) != rows || twin.GetLength(1) != columns)
            {
                throw new ArgumentException("A twin table must have the same rows and columns.", nameof(twins));
            }
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < columns; j++)
                {
                    ceiling[i, j] = Math.Min(ceiling[i, j], twin[i, j]);
                    if (suppression[i, j] == Suppression.None && IsSmall(twin[i, j] - counts[i, j], threshold))
                    {
                        suppression[i, j] = Suppression.Differencing;
                    }
                }
            }
        }
        if (suppression[rows - 1, columns - 1] != Suppression.None)
        {
            // The whole table stands on fewer patients than the threshold (or its total would give a twin away): nothing of it
            // is released, since any figure would narrow down the few it stands on.
            for (var i = 0; i < rows; i++)
            {
                for (var j = 0; j < columns; j++)
                {
                    if (suppression[i, j] == Suppression.None)
                    {
                        suppression[i, j] = Suppression.Complementary;
                    }
                }
            }
            return new ProtectedTable(counts, suppression, threshold, withheld: true);
        }
        if (!new Grid(counts, suppression, ceiling, threshold).Complement())
        {
            // Every cell is hidden and still the known bounds pin one down (a column of ones under a small total, say):
            // withheld whole, even its hidden markers, which would say which cells are small.
            return new ProtectedTable(counts, suppression, threshold, withheld: true);
        }
        return new ProtectedTable(counts, suppression, threshold, withheld: false);
    }

    private static bool IsSmall(long count, int threshold) => count >= 1 && count < threshold;

    private static long[,] WithMargins(long[,] interior)
    {
        var rows = interior.GetLength(0);
        var columns = interior.GetLength(1);
        var counts = new long[rows + 1, columns + 1];
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
                counts[i, j] = interior[i, j];
                counts[i, columns] += interior[i, j];
                counts[rows, j] += interior[i, j];
                counts[rows, columns] += interior[i, j];
            }
        }
        return counts;
    }

    /// <summary>The table with its margins as the graph of rows and columns joined by hidden cells.</summary>
    private sealed class Grid(long[,] counts, Suppression[,] suppression, long[,] ceiling, int threshold)
    {
        private readonly int _rows = counts.GetLength(0);
        private readonly int _columns = counts.GetLength(1);

        /// <returns>False when nothing more can be hidden and a hidden cell is still pinned down.</returns>
        public bool Complement()
        {
            while (true)
            {
                // First the classic rule, cheaply: a row or column with one hidden cell hides a second.
                if (Enumerable.Range(0, _rows + _columns).Any(line => CountHidden(Line(line)) == 1 && HideSmallest(Line(line))))
                {
                    continue;
                }
                var unsafeCells = Hidden().Where(c => !IsSafe(c)).Take(1).ToList();
                if (unsafeCells.Count == 0)
                {
                    return true;
                }
                var cell = unsafeCells[0];
                // The smallest open cell that makes it safe; failing that, widen around it and look again.
                var open = SmallestFirst(Cells());
                var helping = open.FindIndex(candidate =>
                {
                    suppression[candidate.Row, candidate.Column] = Suppression.Complementary;
                    var safe = IsSafe(cell);
                    suppression[candidate.Row, candidate.Column] = Suppression.None;
                    return safe;
                });
                if (helping >= 0)
                {
                    suppression[open[helping].Row, open[helping].Column] = Suppression.Complementary;
                }
                else if (!HideSmallest(Line(cell.Row).Concat(Line(_rows + cell.Column))) && !HideSmallest(open))
                {
                    return false;
                }
            }
        }

        private IEnumerable<(int Row, int Column)> Line(int line) => line < _rows
            ? Enumerable.Range(0, _columns).Select(j => (line, j))
            : Enumerable.Range(0, _rows).Select(i => (i, line - _rows));

        private int CountHidden(IEnumerable<(int Row, int Column)> cells) => cells.Count(c => suppression[c.Row, c.Column] != Suppression.None);

        private IEnumerable<(int Row, int Column)> Hidden() => Cells().Where(c => suppression[c.Row, c.Column] != Suppression.None);

        private IEnumerable<(int Row, int Column)> Cells() =>
            Enumerable.Range(0, _rows).SelectMany(i => Enumerable.Range(0, _columns).Select(j => (i, j)));

        /// <summary>The open cells among these, the smallest non-zero first (zeros last: hiding one narrows its neighbours).</summary>
        private List<(int Row, int Column)> SmallestFirst(IEnumerable<(int Row, int Column)> cells) =>
            cells.Where(c => suppression[c.Row, c.Column] == Suppression.None)
                .OrderBy(c => counts[c.Row, c.Column] == 0 ? 1 : 0).ThenBy(c => counts[c.Row, c.Column]).ThenBy(c => c.Row).ThenBy(c => c.Column).ToList();

        /// <summary>Hides the smallest non-zero open cell among these (a zero only when nothing else is open).</summary>
        private bool HideSmallest(IEnumerable<(int Row, int Column)> cells)
        {
            var open = SmallestFirst(cells);
            if (open.Count == 0)
            {
                return false;
            }
            suppression[open[0].Row, open[0].Column] = Suppression.Complementary;
            return true;
        }

        /// <summary>
        /// Whether a cycle through the cell can move one step: the cell's own step (+1 or −1 on the signed scale), then a
        /// path back from its column to its row along cells each able to take the alternating step.
        /// </summary>
        private bool IsSafe((int Row, int Column) cell) =>
            (CanStep(cell, +1) && Reaches(fromRow: false, cell.Column, toRow: true, cell.Row, cell))
            || (CanStep(cell, -1) && Reaches(fromRow: true, cell.Row, toRow: false, cell.Column, cell));

        /// <summary>
        /// On the signed scale (totals negative, the grand total positive) a step of +1 leaving a row is +1 on the cell; the
        /// count itself moves by the step, or against it for a row or column total.
        /// </summary>
        private bool CanStep((int Row, int Column) cell, int step)
        {
            var margin = (cell.Row == _rows - 1) != (cell.Column == _columns - 1);
            var next = counts[cell.Row, cell.Column] + (margin ? -step : step);
            var (low, high) = suppression[cell.Row, cell.Column] == Suppression.SmallCount ? (1L, (long)threshold - 1) : (0L, long.MaxValue);
            return next >= low && next <= Math.Min(high, ceiling[cell.Row, cell.Column]);
        }

        /// <summary>
        /// A path through hidden cells other than <paramref name="without"/>, alternating: leaving a row a cell takes +1,
        /// leaving a column −1 (so that every row and column it passes keeps its sum).
        /// </summary>
        private bool Reaches(bool fromRow, int from, bool toRow, int to, (int Row, int Column) without)
        {
            var seenRows = new HashSet<int>();
            var seenColumns = new HashSet<int>();
            var pending = new Queue<(bool IsRow, int Index)>([(fromRow, from)]);
            (fromRow ? seenRows : seenColumns).Add(from);
            while (pending.TryDequeue(out var node))
            {
                if (node.IsRow == toRow && node.Index == to)
                {
                    return true;
                }
                if (node.IsRow)
                {
                    for (var j = 0; j < _columns; j++)
                    {
                        if ((node.Index, j) != without && suppression[node.Index, j] != Suppression.None && CanStep((node.Index, j), +1) && seenColumns.Add(j))
                        {
                            pending.Enqueue((false, j));
                        }
                    }
                }
                else
                {
                    for (var i = 0; i < _rows; i++)
                    {
                        if ((i, node.Index) != without && suppression[i, node.Index] != Suppression.None && CanStep((i, node.Index), -1) && seenRows.Add(i))
                        {
                            pending.Enqueue((true, i));
                        }
                    }
                }
            }
            return false;
        }
    }
}
