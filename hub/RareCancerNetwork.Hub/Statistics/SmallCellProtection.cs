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

    internal ProtectedTable(long[,] counts, Suppression[,] suppression, int threshold)
    {
        _counts = counts;
        _suppression = suppression;
        Threshold = threshold;
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
}

/// <summary>
/// Small-cell protection of count tables before release:
/// <list type="number">
/// <item>primary: a cell of 1 to threshold − 1 patients is suppressed (zero is released: it names nobody);</item>
/// <item>differencing: a cell whose count differs from the same cell of the table with one filter fewer (each such
/// "twin" is given) by 1 to threshold − 1 is suppressed, so that the pair does not give the difference away;</item>
/// <item>complementary: further cells, smallest first, until no suppressed cell can be worked out from the row and column
/// totals and the grand total: every row and column (margins included) holds no suppressed cell or at least two, and no
/// suppressed cell is a bridge of the graph the suppressed cells make between rows and columns (a bridge is fixed by the
/// totals, however many cells its lines hold).</item>
/// </list>
/// Rows and columns with their totals make each cell a member of exactly one row line and one column line, so the
/// totals constrain the hidden cells exactly as the edges of a bipartite graph between lines; a cell on a cycle of that
/// graph can move by ±1 around the cycle without changing any released figure, and is therefore not recoverable.
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
        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < columns; j++)
            {
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
                    if (suppression[i, j] == Suppression.None && IsSmall(twin[i, j] - counts[i, j], threshold))
                    {
                        suppression[i, j] = Suppression.Differencing;
                    }
                }
            }
        }
        Complement(counts, suppression);
        return new ProtectedTable(counts, suppression, threshold);
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

    private static void Complement(long[,] counts, Suppression[,] suppression)
    {
        var rows = counts.GetLength(0);
        var columns = counts.GetLength(1);
        var changed = true;
        while (changed)
        {
            changed = false;
            // Every line with a hidden cell hides a second one.
            for (var line = 0; line < rows + columns; line++)
            {
                var cells = Line(line, rows, columns).ToList();
                if (cells.Count(c => suppression[c.Row, c.Column] != Suppression.None) == 1)
                {
                    changed |= HideSmallest(counts, suppression, cells);
                }
            }
            if (changed)
            {
                continue;
            }
            // No hidden cell may be a bridge: join the two sides it separates through the smallest cell between them.
            foreach (var (row, column) in Bridges(suppression))
            {
                var (rowSide, columnSide) = SidesWithout(suppression, row, column);
                var candidates = new List<(int Row, int Column)>();
                for (var i = 0; i < rows; i++)
                {
                    for (var j = 0; j < columns; j++)
                    {
                        if (suppression[i, j] == Suppression.None && rowSide.Contains(i) && columnSide.Contains(j))
                        {
                            candidates.Add((i, j));
                        }
                    }
                }
                if (HideSmallest(counts, suppression, candidates))
                {
                    changed = true;
                    break;
                }
            }
        }
    }

    /// <summary>Hides the smallest non-zero cell among the candidates (a zero, only when nothing else is left).</summary>
    private static bool HideSmallest(long[,] counts, Suppression[,] suppression, IEnumerable<(int Row, int Column)> candidates)
    {
        var open = candidates.Where(c => suppression[c.Row, c.Column] == Suppression.None).ToList();
        if (open.Count == 0)
        {
            return false;
        }
        var chosen = open.OrderBy(c => counts[c.Row, c.Column] == 0 ? 1 : 0).ThenBy(c => counts[c.Row, c.Column]).ThenBy(c => c.Row).ThenBy(c => c.Column).First();
        suppression[chosen.Row, chosen.Column] = Suppression.Complementary;
        return true;
    }

    private static IEnumerable<(int Row, int Column)> Line(int line, int rows, int columns) => line < rows
        ? Enumerable.Range(0, columns).Select(j => (line, j))
        : Enumerable.Range(0, rows).Select(i => (i, line - rows));

    /// <summary>Hidden cells that are bridges of the row–column graph of hidden cells.</summary>
    private static List<(int Row, int Column)> Bridges(Suppression[,] suppression)
    {
        var bridges = new List<(int, int)>();
        foreach (var (row, column) in Hidden(suppression))
        {
            if (!Reachable(suppression, row, column))
            {
                bridges.Add((row, column));
            }
        }
        return bridges;
    }

    private static IEnumerable<(int Row, int Column)> Hidden(Suppression[,] suppression)
    {
        for (var i = 0; i < suppression.GetLength(0); i++)
        {
            for (var j = 0; j < suppression.GetLength(1); j++)
            {
                if (suppression[i, j] != Suppression.None)
                {
                    yield return (i, j);
                }
            }
        }
    }

    /// <summary>Whether the column is reachable from the row through hidden cells other than (row, column).</summary>
    private static bool Reachable(Suppression[,] suppression, int row, int column)
    {
        var (_, columnsReached) = Component(suppression, row, (row, column));
        return columnsReached.Contains(column);
    }

    /// <summary>Without cell (row, column): the rows and columns reachable from its row, and those reachable from its column.</summary>
    private static (HashSet<int> RowSide, HashSet<int> ColumnSide) SidesWithout(Suppression[,] suppression, int row, int column)
    {
        var (rowSideRows, _) = Component(suppression, row, (row, column));
        var (_, columnSideColumns) = ComponentFromColumn(suppression, column, (row, column));
        return (rowSideRows, columnSideColumns);
    }

    private static (HashSet<int> Rows, HashSet<int> Columns) Component(Suppression[,] suppression, int startRow, (int Row, int Column) without) =>
        Walk(suppression, [startRow], [], without);

    private static (HashSet<int> Rows, HashSet<int> Columns) ComponentFromColumn(Suppression[,] suppression, int startColumn, (int Row, int Column) without) =>
        Walk(suppression, [], [startColumn], without);

    private static (HashSet<int> Rows, HashSet<int> Columns) Walk(Suppression[,] suppression, HashSet<int> rows, HashSet<int> columns, (int Row, int Column) without)
    {
        var pendingRows = new Queue<int>(rows);
        var pendingColumns = new Queue<int>(columns);
        while (pendingRows.Count > 0 || pendingColumns.Count > 0)
        {
            while (pendingRows.TryDequeue(out var i))
            {
                for (var j = 0; j < suppression.GetLength(1); j++)
                {
                    if (suppression[i, j] != Suppression.None && (i, j) != without && columns.Add(j))
                    {
                        pendingColumns.Enqueue(j);
                    }
                }
            }
            while (pendingColumns.TryDequeue(out var j))
            {
                for (var i = 0; i < suppression.GetLength(0); i++)
                {
                    if (suppression[i, j] != Suppression.None && (i, j) != without && rows.Add(i))
                    {
                        pendingRows.Enqueue(i);
                    }
                }
            }
        }
        return (rows, columns);
    }
}
