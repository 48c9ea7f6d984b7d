namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// Keyset paging as both nodes do it: read one row more than the page size, ordered by (sort key, id)
/// descending; if the extra row came, drop it and hand out the last row's key as the next page token.
/// </summary>
public static class KeysetPage
{
    /// <param name="rows">Up to <paramref name="pageSize"/> + 1 rows in page order, each with its sort key and id.</param>
    /// <param name="pageSize">The page size the caller asked for.</param>
    public static (List<T> Page, string NextPageToken) Split<T>(List<(T Item, string SortKey, string Id)> rows, int pageSize)
    {
        var next = "";
        if (rows.Count > pageSize)
        {
            rows.RemoveRange(pageSize, rows.Count - pageSize);
            next = KeysetPageToken.Encode(rows[^1].SortKey, rows[^1].Id);
        }
        return (rows.Select(r => r.Item).ToList(), next);
    }
}
