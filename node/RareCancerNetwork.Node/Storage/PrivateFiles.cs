namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// The one way a node writes secrets (keys, secrets, sessions): readable by the node's own account
/// only, and written atomically so a crash or a concurrent start never leaves half a key.
/// </summary>
public static class PrivateFiles
{
    /// <summary>Writes the file, replacing any previous one.</summary>
    public static void Write(string path, byte[] content) => WriteCore(path, content, overwrite: true);

    /// <summary>Writes the file unless it exists; two processes racing both end with the same, complete file.</summary>
    public static void WriteIfAbsent(string path, byte[] content) => WriteCore(path, content, overwrite: false);

    public static void Write(string path, string content) => Write(path, System.Text.Encoding.UTF8.GetBytes(content));

    private static void WriteCore(string path, byte[] content, bool overwrite)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var temporary = $"{path}.{Environment.ProcessId}.tmp";
        using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (!OperatingSystem.IsWindows())
            {
                // Note: owner-only before any byte is written.
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }
            stream.Write(content);
            stream.Flush(flushToDisk: true);
        }
        try
        {
            File.Move(temporary, path, overwrite);
        }
        catch (IOException) when (!overwrite && File.Exists(path))
        {
            File.Delete(temporary);
        }
    }
}
