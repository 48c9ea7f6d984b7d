using Microsoft.Data.Sqlite;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>A folder under the system temp directory, removed (with its SQLite files) on dispose.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string prefix = "rcn-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.CreateVersion7():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        // Pooled connections keep the database files open.
        SqliteConnection.ClearAllPools();
        // The run's log scan must know every local patient id the spokes here held.
        LogScan.HarvestLocalPatientIds(Path);
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still be releasing a file; the OS temp cleaner gets the rest.
        }
    }
}
