using System.Diagnostics;
using Npgsql;
using RareCancerNetwork.Node.Backup;

namespace RareCancerNetwork.Hub.Storage;

/// <summary>
/// A hub on PostgreSQL in a backup: <c>pg_dump</c> (custom format: one consistent snapshot while the hubs serve, taken in a
/// repeatable-read transaction) and <c>pg_restore --clean --single-transaction</c> (all or nothing). The password travels in
/// the tools' environment, never on a command line. For losing at most seconds, PostgreSQL's own continuous archiving remains
/// the production answer (docs/deploy-hub.md); this is the generations an operator keeps beside it, with the keys folder.
/// </summary>
public sealed class PostgresBackupSource(string connectionString, string? binariesFolder) : IBackupSource
{
    private readonly NpgsqlConnectionStringBuilder _connection = new(connectionString);

    public string Name => "hub.pgdump";

    public string Description => $"PostgreSQL database {_connection.Database} on {_connection.Host}:{_connection.Port}";

    public Task CopyAsync(string target, CancellationToken cancellationToken) =>
        RunAsync("pg_dump", ["--format=custom", "--file", target], cancellationToken);

    public async Task<bool> HoldsDataAsync(CancellationToken cancellationToken)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand("SELECT EXISTS (SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema())", connection);
        return (bool)(await command.ExecuteScalarAsync(cancellationToken))!;
    }

    public Task RestoreAsync(string copy, CancellationToken cancellationToken) =>
        RunAsync("pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", copy], cancellationToken);

    private async Task RunAsync(string tool, string[] arguments, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(ToolPath(tool)) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add("--dbname");
        info.ArgumentList.Add(LibpqConnection());
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        if (_connection.Password is { Length: > 0 } password)
        {
            info.Environment["PGPASSWORD"] = password;
        }
        using var process = Process.Start(info) ?? throw new BackupUnreadableException($"{tool} could not be started.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            await output;
            throw new BackupUnreadableException($"{tool} failed ({process.ExitCode}) on {Description}: {(await errors).Trim()}");
        }
    }

    /// <summary>The connection in libpq's terms, without the password (that goes in PGPASSWORD).</summary>
    private string LibpqConnection()
    {
        var parts = new List<string>
        {
            $"host={Quote(_connection.Host ?? "localhost")}", $"port={_connection.Port}", $"dbname={Quote(_connection.Database ?? "")}",
            $"user={Quote(_connection.Username ?? "")}",
        };
        var sslMode = _connection.SslMode switch
        {
            SslMode.Disable => "disable",
            SslMode.Allow => "allow",
            SslMode.Require => "require",
            SslMode.VerifyCA => "verify-ca",
            SslMode.VerifyFull => "verify-full",
            _ => "prefer",
        };
        parts.Add($"sslmode={sslMode}");
        if (_connection.RootCertificate is { Length: > 0 } root)
        {
            parts.Add($"sslrootcert={Quote(root)}");
        }
        return string.Join(' ', parts);
    }

    private static string Quote(string value) => $"'{value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'";

    /// <summary>The tool from the configured folder, else from PATH, else from Debian's newest /usr/lib/postgresql/*/bin.</summary>
    private string ToolPath(string tool)
    {
        if (binariesFolder is { Length: > 0 })
        {
            return Path.Combine(binariesFolder, tool);
        }
        var onPath = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, tool)).FirstOrDefault(File.Exists);
        if (onPath is not null)
        {
            return onPath;
        }
        const string debian = "/usr/lib/postgresql";
        var newest = System.IO.Directory.Exists(debian)
            ? System.IO.Directory.GetDirectories(debian).Select(version => Path.Combine(version, "bin", tool)).Where(File.Exists)
                .OrderByDescending(path => int.TryParse(Path.GetFileName(Path.GetDirectoryName(Path.GetDirectoryName(path))), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
        return newest ?? throw new BackupUnreadableException(
            $"{tool} was not found: install PostgreSQL's client tools (apt-get install postgresql-client) or set Hub:Storage:PostgresBinaries.");
    }
}
