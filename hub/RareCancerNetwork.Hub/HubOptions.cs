using System.ComponentModel.DataAnnotations;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Hub;

/// <summary>Hub configuration (section <c>Hub</c>; environment variables <c>Hub__DataFolder</c> etc.).</summary>
public sealed class HubOptions : IValidatableObject
{
    public const string Section = "Hub";

    /// <summary>Holds everything the hub owns: databases, signing keys, certificates.</summary>
    [Required]
    public string DataFolder { get; set; } = ".rcn/hub";

    public const string DefaultListenUrl = "https://127.0.0.1:5443";

    /// <summary>
    /// https URLs to listen on, each with an IP address or localhost (<c>Hub__ListenUrls__0=https://0.0.0.0:5443</c>).
    /// Loopback unless an operator configures otherwise.
    /// </summary>
    // Empty by default: the configuration binder appends to an initialised array instead of replacing it.
    public string[] ListenUrls { get; set; } = [];

    public IReadOnlyList<string> EffectiveListenUrls => ListenUrls.Length > 0 ? ListenUrls : [DefaultListenUrl];

    /// <summary>PKCS#12 server certificate; when absent a development CA and certificate are generated.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    /// <summary>The issuer URL tokens carry; when absent it is the URL the client used.</summary>
    public string? Issuer { get; set; }

    [Range(1, 60)]
    public int AccessTokenLifetimeMinutes { get; set; } = 15;

    /// <summary>People's sessions: refresh tokens are rotated on use and end after this long.</summary>
    [Range(1, 24 * 14)]
    public int RefreshTokenLifetimeHours { get; set; } = 8;

    /// <summary>How long a device-flow code shown by a command line stays usable.</summary>
    [Range(1, 3600)]
    public int DeviceCodeLifetimeSeconds { get; set; } = 600;

    /// <summary>Where the authoritative store lives: SQLite in the data folder (default) or PostgreSQL.</summary>
    public Storage.HubStorageOptions Storage { get; set; } = new();

    /// <summary>Where attached files (slide images, photos, documents) are kept, and which are accepted.</summary>
    public Node.Attachments.AttachmentOptions Attachments { get; set; } = new();

    public string AttachmentsFolder => Attachments.EffectiveFolder(FullDataFolder);

    /// <summary>
    /// National statistics: a released cell counting 1 to this − 1 patients is suppressed (with what protects it). The
    /// national cancer registry's practice is 10; lowering it needs the data protection officer's agreement.
    /// </summary>
    [Range(2, 100)]
    public int StatisticsSuppressionThreshold { get; set; } = Statistics.SmallCellProtection.DefaultThreshold;

    public string FullDataFolder => Path.GetFullPath(DataFolder);

    public string DatabasePath => Path.Combine(FullDataFolder, "hub.db");

    public string IdentityDatabasePath => Path.Combine(FullDataFolder, "identity.db");

    public string KeysFolder => Path.Combine(FullDataFolder, "keys");

    public string TlsFolder => Path.Combine(FullDataFolder, "tls");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in NodeConfiguration.ValidateListener(ListenUrls, CertificatePath))
        {
            yield return problem;
        }
        if (!string.IsNullOrWhiteSpace(Issuer) && (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"'{Issuer}' must be an absolute https URL", [nameof(Issuer)]);
        }
    }
}
