using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace RareCancerNetwork.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL cluster for one test process: <c>initdb</c> into a temp folder, started on a
/// free loopback port (and a socket in that folder) as an unprivileged user, stopped and deleted at the
/// end. No Docker, no fixed port, no system service. Each test takes a database of its own.
/// When PostgreSQL is not installed, tests that need it are skipped with how to install it; under CI
/// (<c>CI=true</c>) they fail instead, so a CI run can never pass without them.
/// </summary>
public sealed partial class PostgresCluster : IAsyncDisposable
{
    public const string InstallHint = "PostgreSQL is not installed, so the hub's PostgreSQL tests were skipped. " +
        "Install it with 'sudo apt-get install postgresql' (Debian/Ubuntu; the tests find /usr/lib/postgresql/*/bin, or set RCN_PG_BIN).";

    private static int _databaseCounter;

    private readonly string _folder;
    private readonly string _binaries;
    private readonly string? _runAs;

    private PostgresCluster(string folder, string binaries, string? runAs, int port)
    {
        _folder = folder;
        _binaries = binaries;
        _runAs = runAs;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The binaries' folder, or null when PostgreSQL is not installed.</summary>
    public static string? FindBinaries()
    {
        if (Environment.GetEnvironmentVariable("RCN_PG_BIN") is { Length: > 0 } configured)
        {
            return File.Exists(Path.Combine(configured, "initdb")) ? configured : null;
        }
        const string debianRoot = "/usr/lib/postgresql";
        return System.IO.Directory.Exists(debianRoot)
            ? System.IO.Directory.GetDirectories(debianRoot)
                .Select(version => Path.Combine(version, "bin"))
                .Where(bin => File.Exists(Path.Combine(bin, "initdb")) && File.Exists(Path.Combine(bin, "pg_ctl")))
                .OrderByDescending(bin => int.TryParse(Path.GetFileName(Path.GetDirectoryName(bin)), out var major) ? major : 0)
                .FirstOrDefault()
            : null;
    }

    /// <summary>A new, empty database (C collation; UTF8 unless a test wants a database the hub must refuse) and its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string encoding = "UTF8")
    {
        var name = $"rcn_test_{Environment.ProcessId}_{Interlocked.Increment(ref _databaseCounter)}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name} TEMPLATE template0 ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C'", connection);
            await create.ExecuteNonQueryAsync();
        }
        return ConnectionString(name);
    }

    public string ConnectionString(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Database = database,
            Username = "postgres",
            // Short idle lifetime: hubs stopped by a test release their connections soon.
            ConnectionIdleLifetime = 10,
            MaxPoolSize = 30,
        }.ToString();

    /// <summary>
    /// Starts a cluster of its own. Tests run it without fsync (a test's data need not survive a power cut); the benchmark
    /// runs it <paramref name="durable"/>, as production does, so that its figures include the commits' flushes.
    /// </summary>
    public static async Task<PostgresCluster> StartAsync(string binaries, bool durable = false)
    {
        // PostgreSQL refuses to run as root; then the cluster belongs to 'nobody', in a folder it can reach.
        var runAs = Environment.IsPrivilegedProcess ? "nobody" : null;
        var folder = Path.Combine(runAs is null ? Path.GetTempPath() : "/tmp", $"rcn-pg-{Guid.CreateVersion7():N}");
        System.IO.Directory.CreateDirectory(folder);
        if (runAs is not null)
        {
            Run("chown", ["-R", $"{runAs}:", folder], null);
        }
        var data = Path.Combine(folder, "data");
        Run(Path.Combine(binaries, "initdb"), ["-D", data, "-U", "postgres", "-A", "trust", "--encoding=UTF8", "--locale=C", "--no-sync"], runAs);
        for (var attempt = 1; ; attempt++)
        {
            var port = FreePort();
            var cluster = new PostgresCluster(folder, binaries, runAs, port);
            try
            {
                Run(Path.Combine(binaries, "pg_ctl"),
                    ["-D", data, "-l", Path.Combine(folder, "server.log"), "-w", "-t", "60",
                     "-o", $"-p {port} -h 127.0.0.1 -k {folder} {(durable ? "" : "-c fsync=off -c full_page_writes=off ")}-c max_connections=400", "start"], runAs);
                await using var connection = new NpgsqlConnection(cluster.ConnectionString("postgres"));
                await connection.OpenAsync();
                return cluster;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                // Another process took the port between our probe and the server's bind.
            }
        }
    }

    public void Stop()
    {
        try
        {
            Run(Path.Combine(_binaries, "pg_ctl"), ["-D", Path.Combine(_folder, "data"), "-m", "immediate", "stop"], _runAs);
        }
        catch (InvalidOperationException)
        {
            // Already stopped.
        }
        try
        {
            System.IO.Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static void Run(string program, string[] arguments, string? runAs)
    {
        var start = runAs is null ? new ProcessStartInfo(program) : new ProcessStartInfo("runuser");
        if (runAs is not null)
        {
            foreach (var argument in new[] { "-u", runAs, "--", program })
            {
                start.ArgumentList.Add(argument);
            }
        }
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.WorkingDirectory = Path.GetTempPath();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} failed ({process.ExitCode}): {error}{output.Result}");
        }
    }
}
