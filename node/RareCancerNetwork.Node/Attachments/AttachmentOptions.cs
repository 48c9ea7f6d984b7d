using System.Globalization;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Attachments;

/// <summary>
/// Where a node keeps attached files, and which it accepts (section <c>Hub:Attachments</c> or <c>Spoke:Attachments</c>).
/// A spoke's limits should not exceed its hub's: a file the spoke accepts and the hub refuses is refused only once
/// the consultation reaches the hub.
/// </summary>
public sealed class AttachmentOptions
{
    /// <summary>Default media types: whole-slide images, photos and documents.</summary>
    public static readonly IReadOnlyList<string> DefaultMediaTypes =
    [
        "image/tiff", "image/x-aperio-svs", "image/x-hamamatsu-ndpi", "application/x-mirax", "application/dicom",
        "image/jpeg", "image/png", "application/pdf", "application/zip",
    ];

    /// <summary>Folder of the content-addressed store; default <c>attachments</c> in the node's data folder. Several hub
    /// instances share one folder (a shared file system), as they share one database.</summary>
    public string? Folder { get; set; }

    /// <summary>Largest file accepted, in bytes (the contract allows up to 64 GiB).</summary>
    public long MaxFileBytes { get; set; } = ContractLimits.AttachmentBytes;

    /// <summary>Media types accepted; empty for <see cref="DefaultMediaTypes"/>.</summary>
    // Empty by default: the configuration binder appends to an initialised array instead of replacing it.
    public string[] AllowedMediaTypes { get; set; } = [];

    /// <summary>Disk space left free after a file is accepted, in bytes: the database and logs share the disk.</summary>
    public long ReservedFreeBytes { get; set; } = 1L * 1024 * 1024 * 1024;

    public IReadOnlyList<string> EffectiveMediaTypes => AllowedMediaTypes.Length > 0 ? AllowedMediaTypes : DefaultMediaTypes;

    public string EffectiveFolder(string dataFolder) => string.IsNullOrWhiteSpace(Folder) ? Path.Combine(dataFolder, "attachments") : Path.GetFullPath(Folder);

    /// <summary>Refuses, before any byte travels, a file whose media type or size this node does not accept.</summary>
    public void Check(FieldValidator v, string path, IReadOnlyList<AttachmentDescriptor> attachments)
    {
        for (var i = 0; i < attachments.Count; i++)
        {
            var attachment = attachments[i];
            if (attachment.MediaType.Length > 0 && !EffectiveMediaTypes.Contains(attachment.MediaType, StringComparer.OrdinalIgnoreCase))
            {
                v.Add($"{path}[{i}].media_type", $"'{attachment.MediaType}' is not accepted here; accepted: {string.Join(", ", EffectiveMediaTypes)}");
            }
            if (attachment.SizeBytes > MaxFileBytes)
            {
                v.Add($"{path}[{i}].size_bytes", $"is {Bytes(attachment.SizeBytes)}; the largest file accepted here is {Bytes(MaxFileBytes)}");
            }
        }
    }

    /// <summary>A size for a person: "4.0 GiB (4,294,967,297 bytes)".</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }
        var exact = bytes.ToString("N0", CultureInfo.InvariantCulture);
        return unit == 0 ? $"{exact} bytes" : $"{value.ToString("0.0", CultureInfo.InvariantCulture)} {units[unit]} ({exact} bytes)";
    }

    /// <summary>The media type a file's extension stands for, as the command line declares it.</summary>
    public static string MediaTypeOf(string fileName) => Path.GetExtension(fileName).ToLowerInvariant() switch
    {
        ".svs" => "image/x-aperio-svs",
        ".ndpi" => "image/x-hamamatsu-ndpi",
        ".mrxs" => "application/x-mirax",
        ".dcm" or ".dicom" => "application/dicom",
        ".tif" or ".tiff" => "image/tiff",
        ".jpg" or ".jpeg" => "image/jpeg",
        ".png" => "image/png",
        ".pdf" => "application/pdf",
        ".zip" => "application/zip",
        _ => "application/octet-stream",
    };
}
