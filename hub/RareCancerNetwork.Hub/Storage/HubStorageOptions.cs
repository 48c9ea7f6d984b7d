using System.ComponentModel.DataAnnotations;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>Where the hub keeps its store (section <c>Hub:Storage</c>; <c>Hub__Storage__Provider=Postgres</c>).</summary>
public sealed class HubStorageOptions : IValidatableObject
{
    /// <summary><c>Sqlite</c> (default: <c>hub.db</c> in the data folder) or <c>Postgres</c>.</summary>
    public HubStorageProvider Provider { get; set; } = HubStorageProvider.Sqlite;

    /// <summary>
    /// Npgsql connection string for <c>Postgres</c>, e.g. <c>Host=db1;Database=rcn_hub;Username=rcn_hub;SSL Mode=VerifyFull</c>;
    /// keep the password out of files (<c>Hub__Storage__ConnectionString</c>, or a <c>.pgpass</c> file).
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Where <c>pg_dump</c> and <c>pg_restore</c> are for <c>hub backup</c>/<c>restore</c> on PostgreSQL (their version at least the
    /// server's); default: PATH, then Debian's newest <c>/usr/lib/postgresql/*/bin</c>.
    /// </summary>
    public string? PostgresBinaries { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Provider != HubStorageProvider.Postgres)
        {
            yield break;
        }
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            yield return new ValidationResult("is required when Provider is Postgres", [nameof(ConnectionString)]);
            yield break;
        }
        string? problem = null;
        try
        {
            _ = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
        }
        catch (ArgumentException e)
        {
            problem = e.Message;
        }
        if (problem is not null)
        {
            yield return new ValidationResult($"is not a valid Npgsql connection string: {problem}", [nameof(ConnectionString)]);
        }
    }
}
