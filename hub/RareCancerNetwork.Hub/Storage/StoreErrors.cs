using Microsoft.Data.Sqlite;
using Npgsql;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>Which constraint a store refused a write on, in either provider's words.</summary>
internal static class StoreErrors
{
    public static bool IsUniqueViolation(Exception exception) =>
        exception is SqliteException { SqliteExtendedErrorCode: 1555 or 2067 } or PostgresException { SqlState: PostgresErrorCodes.UniqueViolation };

    public static bool IsForeignKeyViolation(Exception exception) =>
        exception is SqliteException { SqliteExtendedErrorCode: 787 } or PostgresException { SqlState: PostgresErrorCodes.ForeignKeyViolation };
}
