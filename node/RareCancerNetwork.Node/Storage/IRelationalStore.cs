using System.Data.Common;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// A node's relational database, whichever engine holds it: connections, and writes that behave as if
/// they ran one at a time.
/// </summary>
public interface IRelationalStore
{
    Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Runs <paramref name="work"/> in one serializable transaction and commits it. When the database
    /// reports that a concurrent transaction (another hub instance, say) got in the way, the whole unit is
    /// run again from the start, so <paramref name="work"/> must do nothing outside the database that it
    /// cannot repeat.
    /// </summary>
    Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken);
}
