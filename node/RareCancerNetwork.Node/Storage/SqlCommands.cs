using System.Data;
using System.Data.Common;
using System.Globalization;
using Google.Protobuf.WellKnownTypes;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// Small helpers for parameterised commands and UTC instants stored as ISO 8601 text, for any ADO.NET
/// provider (SQLite at spokes and the embedded hub, PostgreSQL at a production hub).
/// </summary>
public static class SqlCommands
{
    public static DbCommand Command(this DbConnection connection, string sql, DbTransaction? transaction = null)
    {
        if (connection is Microsoft.Data.Sqlite.SqliteConnection sqlite)
        {
            return StatementReuse.Command(sqlite, sql, (Microsoft.Data.Sqlite.SqliteTransaction?)transaction);
        }
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        return command;
    }

    /// <summary>
    /// Adds a parameter. Text (and a null, which is text wherever this code passes one) is typed as
    /// such, because PostgreSQL cannot infer the type of an untyped null in <c>@x IS NULL</c>.
    /// </summary>
    public static TCommand With<TCommand>(this TCommand command, string name, object? value) where TCommand : DbCommand
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = name;
        parameter.Value = value ?? DBNull.Value;
        if (value is null or string)
        {
            parameter.DbType = DbType.String;
        }
        command.Parameters.Add(parameter);
        return command;
    }

    /// <summary>A scalar query's value as a 64-bit integer, whatever integer type the provider returns.</summary>
    public static async Task<long> ScalarInt64Async(this DbCommand command, CancellationToken cancellationToken) =>
        Convert.ToInt64(await command.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);

    /// <summary>UTC, fixed width, so text order is time order.</summary>
    public static string ToDbText(this DateTimeOffset instant) =>
        instant.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset ParseDbInstant(string text) =>
        DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    public static DateTimeOffset GetInstant(this DbDataReader reader, int ordinal) => ParseDbInstant(reader.GetString(ordinal));

    public static DateTimeOffset? GetNullableInstant(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : ParseDbInstant(reader.GetString(ordinal));

    public static string? GetNullableString(this DbDataReader reader, int ordinal) =>
        reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    public static Timestamp? ToTimestamp(this DateTimeOffset? instant) => instant is { } value ? Timestamp.FromDateTimeOffset(value) : null;
}

/// <summary>SQLite's typed commands, so spoke code keeps <see cref="Microsoft.Data.Sqlite.SqliteCommand"/>'s own API.</summary>
public static class SqliteCommands
{
    public static Microsoft.Data.Sqlite.SqliteCommand Command(this Microsoft.Data.Sqlite.SqliteConnection connection, string sql,
        Microsoft.Data.Sqlite.SqliteTransaction? transaction = null) =>
        StatementReuse.Command(connection, sql, transaction);
}
