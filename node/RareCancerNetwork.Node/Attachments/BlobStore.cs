using System.Security.Cryptography;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Attachments;

/// <summary>
/// Attached files stored by their SHA-256, so a file attached twice is stored once: whole, verified files under
/// <c>blobs/ab/abcd…</c>, files still arriving under <c>partial/abcd….part</c>. A file moves from partial to blobs only
/// once its size and SHA-256 are those declared, in one rename: nothing partial is ever served as complete. The bytes a
/// partial file holds are where an upload resumes, after a broken connection or a restart of either side.
/// </summary>
public sealed class BlobStore
{
    public BlobStore(string folder)
    {
        Folder = Path.GetFullPath(folder);
        Directory.CreateDirectory(Path.Combine(Folder, "blobs"));
        Directory.CreateDirectory(Path.Combine(Folder, "partial"));
    }

    public string Folder { get; }

    public string CompletePath(string sha256Hex) => Path.Combine(Folder, "blobs", sha256Hex[..2], sha256Hex);

    private string PartialPath(string sha256Hex) => Path.Combine(Folder, "partial", sha256Hex + ".part");

    public bool IsComplete(string sha256Hex) => File.Exists(CompletePath(sha256Hex));

    /// <summary>The bytes held of a file: all of them once complete, else those of its partial file.</summary>
    public long ReceivedBytes(AttachmentDescriptor descriptor)
    {
        if (IsComplete(descriptor.Sha256Hex))
        {
            return descriptor.SizeBytes;
        }
        var partial = new FileInfo(PartialPath(descriptor.Sha256Hex));
        return partial.Exists ? Math.Min(partial.Length, descriptor.SizeBytes) : 0;
    }

    /// <summary>
    /// Refuses (RESOURCE_EXHAUSTED, retry later) a file whose remaining bytes would leave less than
    /// <paramref name="reservedFreeBytes"/> free, saying how much space is needed.
    /// </summary>
    public void EnsureSpaceFor(long remainingBytes, long reservedFreeBytes, string node)
    {
        var available = new DriveInfo(Folder).AvailableFreeSpace;
        var needed = remainingBytes + reservedFreeBytes;
        if (available < needed)
        {
            throw new LimitExceededException(
                $"The {node} lacks the disk space for this file: it needs {AttachmentOptions.Bytes(needed)} free " +
                $"({AttachmentOptions.Bytes(remainingBytes)} still to come and {AttachmentOptions.Bytes(reservedFreeBytes)} kept in reserve) " +
                $"and has {AttachmentOptions.Bytes(available)}. Its operator must free space; the upload then resumes.",
                TimeSpan.FromMinutes(5));
        }
    }

    /// <summary>
    /// Opens the file's partial copy for appending; one writer per file at a time, across processes (ABORTED for a
    /// second). Bytes held from an earlier upload are hashed again, so the whole file's SHA-256 can be checked at the end.
    /// </summary>
    public async Task<BlobWriter> OpenWriterAsync(AttachmentDescriptor descriptor, CancellationToken cancellationToken)
    {
        FileStream stream;
        try
        {
            // FileShare.None is an exclusive lock on the file (flock on Linux), held until the writer is disposed.
            stream = new FileStream(PartialPath(descriptor.Sha256Hex), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, bufferSize: 0,
                FileOptions.SequentialScan);
        }
        catch (IOException)
        {
            throw new TransferBusyException("Another upload of this file is under way; try again when it has stopped.");
        }
        try
        {
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(stream.SafeFileHandle, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            if (stream.Length > descriptor.SizeBytes)
            {
                // Only a damaged partial file is longer than declared: start it again.
                stream.SetLength(0);
            }
            var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = new byte[1024 * 1024];
            int read;
            while ((read = await stream.ReadAsync(buffer, cancellationToken)) > 0)
            {
                hash.AppendData(buffer, 0, read);
            }
            return new BlobWriter(this, descriptor, stream, hash);
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads a whole, verified file; NOT_FOUND for one that is not complete here.</summary>
    public FileStream OpenRead(string sha256Hex)
    {
        try
        {
            return new FileStream(CompletePath(sha256Hex), FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 0, FileOptions.SequentialScan);
        }
        catch (Exception exception) when (exception is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ResourceNotFoundException("Attachment", sha256Hex, "the whole file is not held here");
        }
    }

    internal void Promote(string sha256Hex)
    {
        var complete = CompletePath(sha256Hex);
        Directory.CreateDirectory(Path.GetDirectoryName(complete)!);
        // One rename: a reader sees no file or the whole, verified file.
        File.Move(PartialPath(sha256Hex), complete, overwrite: true);
    }

    internal void Discard(string sha256Hex) => File.Delete(PartialPath(sha256Hex));
}

/// <summary>Appends verified chunks to one file's partial copy; completes it when the declared size is reached.</summary>
public sealed class BlobWriter : IAsyncDisposable
{
    private readonly BlobStore _store;
    private readonly FileStream _stream;
    private readonly IncrementalHash _hash;
    private bool _closed;

    internal BlobWriter(BlobStore store, AttachmentDescriptor descriptor, FileStream stream, IncrementalHash hash)
    {
        _store = store;
        _stream = stream;
        _hash = hash;
        Descriptor = descriptor;
        Position = stream.Length;
    }

    public AttachmentDescriptor Descriptor { get; }

    /// <summary>Bytes held: where the next chunk must start.</summary>
    public long Position { get; private set; }

    public bool Complete { get; private set; }

    /// <summary>
    /// Checks one chunk (offset, size, SHA-256) and stores it. A chunk that fails its hash is refused (DATA_LOSS) with
    /// nothing written, so the sender sends it again from the same offset. Reaching the declared size checks the whole
    /// file: its SHA-256 must be the declared one, or the partial copy is discarded.
    /// </summary>
    public async Task AppendAsync(AttachmentChunk chunk, string path, CancellationToken cancellationToken)
    {
        if (Complete)
        {
            throw new Validation.FieldValidator().Add(path, "follows the last byte of the file; the upload is complete").Invalid();
        }
        var v = new Validation.FieldValidator();
        if (chunk.Offset != Position)
        {
            v.Add($"{path}.offset", $"is {chunk.Offset}; the next byte expected is {Position}");
        }
        v.Range($"{path}.data", chunk.Data.Length, 1, Protos.Contract.ContractLimits.AttachmentChunkBytes);
        if (Position + chunk.Data.Length > Descriptor.SizeBytes)
        {
            v.Add($"{path}.data", $"runs past the declared size of {Descriptor.SizeBytes:N0} bytes");
        }
        v.ThrowIfInvalid();
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(chunk.Data.Span, digest);
        if (!string.Equals(Convert.ToHexStringLower(digest), chunk.Sha256Hex, StringComparison.Ordinal))
        {
            throw new TransferCorruptedException(
                $"The chunk at offset {chunk.Offset:N0} does not match its SHA-256: it was refused and nothing of it stored. Send it again from offset {Position}.");
        }
        await _stream.WriteAsync(chunk.Data.Memory, cancellationToken);
        _hash.AppendData(chunk.Data.Span);
        Position += chunk.Data.Length;
        if (Position == Descriptor.SizeBytes)
        {
            await CompleteAsync();
        }
    }

    private async Task CompleteAsync()
    {
        _stream.Flush(flushToDisk: true);
        var actual = Convert.ToHexStringLower(_hash.GetHashAndReset());
        await CloseAsync();
        if (!string.Equals(actual, Descriptor.Sha256Hex, StringComparison.Ordinal))
        {
            _store.Discard(Descriptor.Sha256Hex);
            Position = 0;
            throw new TransferCorruptedException(
                $"The file's {Descriptor.SizeBytes:N0} bytes have SHA-256 {actual}, not the declared {Descriptor.Sha256Hex}: they were discarded. " +
                "Upload the file that was declared, from offset 0.");
        }
        _store.Promote(Descriptor.Sha256Hex);
        Complete = true;
    }

    private async Task CloseAsync()
    {
        if (!_closed)
        {
            _closed = true;
            await _stream.DisposeAsync();
            _hash.Dispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_closed)
        {
            // What arrived stays, for the upload to resume from.
            _stream.Flush(flushToDisk: true);
            await CloseAsync();
        }
    }
}
