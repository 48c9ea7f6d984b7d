using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Store;

/// <summary>The spoke's SQLite store of record; opened only through the shared helper (WAL, FULL sync, foreign keys).</summary>
public sealed class SpokeDatabase(IOptions<SpokeOptions> options)
{
    public SqliteDatabase Database { get; } = new(options.Value.DatabasePath, typeof(SpokeDatabase).Assembly);

    public Task<Microsoft.Data.Sqlite.SqliteConnection> OpenAsync(CancellationToken cancellationToken) => Database.OpenAsync(cancellationToken);
}
