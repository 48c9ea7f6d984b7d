using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// The hub's authoritative store: one SQLite database (WAL) in the data folder, opened only through the
/// node library's helper. Its SQL is SQLite's dialect; the capabilities' stores use it directly.
/// </summary>
public sealed class HubDatabase(IOptions<HubOptions> options)
{
    public SqliteDatabase Database { get; } = new(options.Value.DatabasePath, typeof(HubDatabase).Assembly);

    public Task<Microsoft.Data.Sqlite.SqliteConnection> OpenAsync(CancellationToken cancellationToken) => Database.OpenAsync(cancellationToken);
}
