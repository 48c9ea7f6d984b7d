using System.Formats.Tar;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Org.BouncyCastle.Bcpg;
using Org.BouncyCastle.Bcpg.OpenPgp;
using Org.BouncyCastle.Security;

namespace RareCancerNetwork.Node.Backup;

/// <summary>A backup could not be written or read: no key to seal it with, a wrong passphrase or key, or a damaged or foreign file.</summary>
public sealed class BackupUnreadableException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>One store of a node in a backup: copied while the node serves, put back with the node stopped.</summary>
public interface IBackupSource
{
    /// <summary>Its name in the archive (a file name).</summary>
    string Name { get; }

    /// <summary>What it is, for messages (a path, or a database without its password).</summary>
    string Description { get; }

    /// <summary>A consistent copy of the live store, written to <paramref name="target"/>.</summary>
    Task CopyAsync(string target, CancellationToken cancellationToken);

    /// <summary>Whether the store holds anything (a restore then needs the operator's --replace).</summary>
    Task<bool> HoldsDataAsync(CancellationToken cancellationToken);

    /// <summary>Replaces the store with the copy at <paramref name="copy"/>.</summary>
    Task RestoreAsync(string copy, CancellationToken cancellationToken);
}

/// <summary>A SQLite store: SQLite's online backup API copies a snapshot page by page while writers go on.</summary>
public sealed class SqliteBackupSource(string path) : IBackupSource
{
    public string Name => Path.GetFileName(path);

    public string Description => path;

    public async Task CopyAsync(string target, CancellationToken cancellationToken)
    {
        await using var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        await using var copy = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = target, Pooling = false }.ToString());
        await source.OpenAsync(cancellationToken);
        await copy.OpenAsync(cancellationToken);
        // The copy begins with a read of the live database, which its writer can hold off for a moment (SQLITE_BUSY:
        // a backup taken while a hub served failed so once in a test); it waits as the node's own connections do, and a
        // refusal that still comes is tried again rather than failing the operator's backup.
        foreach (var connection in new[] { source, copy })
        {
            await using var wait = connection.CreateCommand();
            wait.CommandText = "PRAGMA busy_timeout = 30000;";
            await wait.ExecuteNonQueryAsync(cancellationToken);
        }
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                source.BackupDatabase(copy);
                return;
            }
            catch (SqliteException exception) when (exception.SqliteErrorCode is SQLitePCL.raw.SQLITE_BUSY or SQLitePCL.raw.SQLITE_LOCKED && attempt < 5)
            {
                await Task.Delay(TimeSpan.FromSeconds(attempt), cancellationToken);
            }
        }
    }

    public Task<bool> HoldsDataAsync(CancellationToken cancellationToken) => Task.FromResult(File.Exists(path));

    public Task RestoreAsync(string copy, CancellationToken cancellationToken)
    {
        foreach (var suffix in new[] { "-wal", "-shm" })
        {
            File.Delete(path + suffix);
        }
        File.Copy(copy, path, overwrite: true);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Online backups of a node's data while it serves: a consistent copy of each of its stores (<see cref="IBackupSource"/>:
/// SQLite's backup API, or PostgreSQL's pg_dump for a hub on PostgreSQL) and its keys folder, packed as a tar archive and encrypted in the
/// OpenPGP format (RFC 4880: AES-256, integrity protected) to a passphrase (iterated and salted S2K) and/or the operators'
/// OpenPGP certificates (<see cref="BackupSealing"/>), so an operator can also open one with <c>gpg --decrypt</c>. Several
/// generations are kept: the oldest beyond the count are deleted.
/// </summary>
public static class NodeBackup
{
    public const string Extension = ".tar.pgp";
    private const string DatabasesEntry = "databases";
    private const string KeysEntry = "keys";

    /// <param name="sources">The node's stores, open or not (each kept under its name).</param>
    /// <param name="keysFolder">The node's keys (node certificate, pseudonymisation key, token keys …).</param>
    /// <param name="destination">The backup folder (another disk or a mounted share).</param>
    /// <param name="prefix">Names this node's files, e.g. <c>rcn-spoke-spoke-tokyo</c>.</param>
    /// <param name="keep">How many generations to keep (the newest).</param>
    /// <returns>The backup file written.</returns>
    public static async Task<string> CreateAsync(IReadOnlyList<IBackupSource> sources, string keysFolder, string destination, string prefix, BackupSealing sealing, int keep,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(destination);
        var staging = Path.Combine(destination, $".staging-{Guid.CreateVersion7():N}");
        Directory.CreateDirectory(staging);
        var file = Path.Combine(destination, $"{prefix}-{clock.GetUtcNow():yyyyMMdd'T'HHmmss'Z'}{Extension}");
        var partial = file + ".part";
        try
        {
            Directory.CreateDirectory(Path.Combine(staging, DatabasesEntry));
            foreach (var source in sources)
            {
                // A snapshot of the live store: readers and writers of the running node go on meanwhile.
                await source.CopyAsync(Path.Combine(staging, DatabasesEntry, source.Name), cancellationToken);
            }
            if (Directory.Exists(keysFolder))
            {
                CopyFolder(keysFolder, Path.Combine(staging, KeysEntry));
            }
            await using (var output = File.Create(partial))
            {
                var encryption = new PgpEncryptedDataGenerator(SymmetricKeyAlgorithmTag.Aes256, withIntegrityPacket: true, new SecureRandom());
                if (sealing.Passphrase is { } passphrase)
                {
                    // UTF-8, as gpg reads a passphrase (Japanese included).
                    encryption.AddMethodUtf8(passphrase.ToCharArray(), HashAlgorithmTag.Sha256);
                }
                foreach (var recipient in sealing.Recipients)
                {
                    encryption.AddMethod(recipient);
                }
                await using (var encrypted = encryption.Open(output, new byte[1 << 16]))
                await using (var compressed = new PgpCompressedDataGenerator(CompressionAlgorithmTag.Zip).Open(encrypted))
                await using (var literal = new PgpLiteralDataGenerator().Open(compressed, PgpLiteralData.Binary, "backup.tar", clock.GetUtcNow().UtcDateTime, new byte[1 << 16]))
                {
                    await TarFile.CreateFromDirectoryAsync(staging, literal, includeBaseDirectory: false, cancellationToken);
                }
                await output.FlushAsync(cancellationToken);
                output.Flush(flushToDisk: true);
            }
            // Only a whole backup carries the name: a crash leaves a .part file, never a truncated generation.
            File.Move(partial, file);
        }
        finally
        {
            Directory.Delete(staging, recursive: true);
            File.Delete(partial);
        }
        foreach (var old in Generations(destination, prefix).Skip(Math.Max(1, keep)))
        {
            File.Delete(old);
        }
        return file;
    }

    /// <summary>This node's backups in a folder, newest first.</summary>
    public static IReadOnlyList<string> Generations(string destination, string prefix) =>
        Directory.Exists(destination)
            ? [.. Directory.GetFiles(destination, $"{prefix}-*{Extension}").OrderDescending(StringComparer.Ordinal)]
            : [];

    /// <summary>
    /// Restores a backup into a node's data folder (the node stopped): its store and keys folder replaced, anything else
    /// left. The archive is checked whole (integrity packet) before the store is replaced.
    /// </summary>
    /// <exception cref="BackupUnreadableException">Wrong passphrase or key, or a damaged or foreign file.</exception>
    public static async Task RestoreAsync(string backupFile, BackupOpening opening, IReadOnlyList<IBackupSource> sources, string keysFolder, string dataFolder,
        CancellationToken cancellationToken)
    {
        var unpacked = Path.Combine(dataFolder, $".restore-{Guid.CreateVersion7():N}");
        Directory.CreateDirectory(unpacked);
        try
        {
            await DecryptAsync(backupFile, opening, unpacked, cancellationToken);
            var stores = sources.Select(source => (Source: source, Copy: Path.Combine(unpacked, DatabasesEntry, source.Name))).ToList();
            if (stores.FirstOrDefault(s => !File.Exists(s.Copy)) is { Source: not null } missing)
            {
                throw new BackupUnreadableException($"{backupFile} holds no {missing.Source.Name}: it is not a backup of this kind of node, or of this store.");
            }
            foreach (var (source, copy) in stores)
            {
                await source.RestoreAsync(copy, cancellationToken);
            }
            if (Directory.Exists(Path.Combine(unpacked, KeysEntry)))
            {
                if (Directory.Exists(keysFolder))
                {
                    Directory.Delete(keysFolder, recursive: true);
                }
                CopyFolder(Path.Combine(unpacked, KeysEntry), keysFolder);
            }
        }
        finally
        {
            Directory.Delete(unpacked, recursive: true);
        }
    }

    private static async Task DecryptAsync(string backupFile, BackupOpening opening, string target, CancellationToken cancellationToken)
    {
        try
        {
            await using var input = File.OpenRead(backupFile);
            var factory = new PgpObjectFactory(PgpUtilities.GetDecoderStream(input));
            var first = factory.NextPgpObject();
            var list = first as PgpEncryptedDataList ?? factory.NextPgpObject() as PgpEncryptedDataList
                ?? throw new BackupUnreadableException($"{backupFile} is not an encrypted backup.");
            var (encrypted, clearStream) = Open(backupFile, list, opening);
            await using (var clear = clearStream)
            {
                var message = new PgpObjectFactory(clear).NextPgpObject();
                if (message is PgpCompressedData compressed)
                {
                    message = new PgpObjectFactory(compressed.GetDataStream()).NextPgpObject();
                }
                var literal = message as PgpLiteralData ?? throw new BackupUnreadableException($"{backupFile} holds no archive.");
                await using var archive = literal.GetInputStream();
                await TarFile.ExtractToDirectoryAsync(archive, target, overwriteFiles: true, cancellationToken);
                // Read to the end, so that the integrity check covers every byte.
                await archive.CopyToAsync(Stream.Null, cancellationToken);
            }
            if (!encrypted.IsIntegrityProtected() || !encrypted.Verify())
            {
                throw new BackupUnreadableException($"{backupFile} failed its integrity check: it was damaged or altered.");
            }
        }
        catch (PgpException exception)
        {
            throw new BackupUnreadableException($"{backupFile} could not be decrypted: a wrong passphrase, or a damaged file ({exception.Message}).", exception);
        }
        catch (InvalidDataException exception)
        {
            throw new BackupUnreadableException($"{backupFile} could not be unpacked: a damaged file ({exception.Message}).", exception);
        }
    }

    /// <summary>The encrypted data the opening unlocks, and its clear stream.</summary>
    private static (PgpEncryptedData Encrypted, Stream Clear) Open(string backupFile, PgpEncryptedDataList list, BackupOpening opening)
    {
        var methods = list.GetEncryptedDataObjects().ToList();
        if (opening.Passphrase is { } passphrase)
        {
            var sealedWithPassphrase = methods.OfType<PgpPbeEncryptedData>().FirstOrDefault()
                ?? throw new BackupUnreadableException($"{backupFile} is not encrypted with a passphrase: open it with a recipient's secret key.");
            return (sealedWithPassphrase, sealedWithPassphrase.GetDataStreamUtf8(passphrase.ToCharArray()));
        }
        foreach (var toKey in methods.OfType<PgpPublicKeyEncryptedData>())
        {
            if (opening.SecretKeys!.GetSecretKey(toKey.KeyId) is { } secretKey)
            {
                var privateKey = secretKey.ExtractPrivateKeyUtf8((opening.SecretKeyPassphrase ?? "").ToCharArray());
                return (toKey, toKey.GetDataStream(privateKey));
            }
        }
        var recipients = string.Join(", ", methods.OfType<PgpPublicKeyEncryptedData>().Select(m => m.KeyId.ToString("X16", CultureInfo.InvariantCulture)));
        throw new BackupUnreadableException(recipients.Length == 0
            ? $"{backupFile} is encrypted with a passphrase only: open it with --passphrase-file."
            : $"The secret key given is none of this backup's recipients ({recipients}).");
    }

    private static void CopyFolder(string source, string target)
    {
        Directory.CreateDirectory(target);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination, overwrite: true);
        }
    }

    /// <summary>Reads a passphrase from a file (its first line), so it never appears on a command line or in a process list.</summary>
    public static string ReadPassphrase(string path)
    {
        var passphrase = File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
        return passphrase.Length >= 12
            ? passphrase
            : throw new BackupUnreadableException(string.Create(CultureInfo.InvariantCulture, $"The passphrase in {path} is {passphrase.Length} characters; use at least 12."));
    }
}
