using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// The hub's authoritative store. Services reach SQLite only through this seam (and the
/// repositories built on it), so a national deployment can move to a server database later.
/// </summary>
public sealed class HubDatabase(IOptions<HubOptions> options)
{
    public SqliteDatabase Database { get; } = new(options.Value.DatabasePath, typeof(HubDatabase).Assembly);

    public Task<Microsoft.Data.Sqlite.SqliteConnection> OpenAsync(CancellationToken cancellationToken) => Database.OpenAsync(cancellationToken);
}
