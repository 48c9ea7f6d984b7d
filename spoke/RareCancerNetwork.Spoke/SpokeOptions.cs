using System.ComponentModel.DataAnnotations;
using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Spoke;

/// <summary>Spoke node configuration (section <c>Spoke</c>; environment variables <c>Spoke__NodeId</c> etc.).</summary>
public sealed class SpokeOptions : IValidatableObject
{
    public const string Section = "Spoke";
    public const string DefaultListenUrl = "https://127.0.0.1:5444";

    /// <summary>The id the hub registered this node under.</summary>
    [Required]
    public string NodeId { get; set; } = "";

    /// <summary>Facility code of the core center that runs the node.</summary>
    [Required]
    public string FacilityCode { get; set; } = "";

    /// <summary>Holds everything the node owns: database, pseudonymisation key, certificates.</summary>
    [Required]
    public string DataFolder { get; set; } = ".rcn/spoke";

    /// <summary>
    /// https URLs for the local API, each with an IP address or localhost (<c>Spoke__ListenUrls__0=https://0.0.0.0:5444</c>);
    /// default https://127.0.0.1:5444.
    /// </summary>
    // Empty by default: the configuration binder appends to an initialised array instead of replacing it.
    public string[] ListenUrls { get; set; } = [];

    /// <summary>PKCS#12 certificate for the local API; when absent a development CA and certificate are generated.</summary>
    public string? CertificatePath { get; set; }

    public string? CertificatePassword { get; set; }

    [Required]
    public HubConnectionOptions Hub { get; set; } = new();

    public DeliveryOptions Delivery { get; set; } = new();

    /// <summary>Where attached files are kept until (and after) they reach the hub, and which are accepted.</summary>
    public Node.Attachments.AttachmentOptions Attachments { get; set; } = new();

    public string AttachmentsFolder => Attachments.EffectiveFolder(FullDataFolder);

    public IReadOnlyList<string> EffectiveListenUrls => ListenUrls.Length > 0 ? ListenUrls : [DefaultListenUrl];

    public string FullDataFolder => Path.GetFullPath(DataFolder);

    public string DatabasePath => Path.Combine(FullDataFolder, "spoke.db");

    public string KeysFolder => Path.Combine(FullDataFolder, "keys");

    public string TlsFolder => Path.Combine(FullDataFolder, "tls");

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var problem in NodeConfiguration.ValidateListener(ListenUrls, CertificatePath))
        {
            yield return problem;
        }
    }

    /// <summary>The node's client certificate, created on first start when none is configured.</summary>
    public System.Security.Cryptography.X509Certificates.X509Certificate2 LoadClientCertificate() => string.IsNullOrWhiteSpace(Hub.ClientCertificatePath)
        ? HubClient.NodeClientCertificate.LoadOrCreate(KeysFolder, NodeId)
        : System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadPkcs12FromFile(Hub.ClientCertificatePath, null);
}

/// <summary>How the node reaches the hub (printed by the hub's <c>register-spoke</c>).</summary>
public sealed class HubConnectionOptions : IValidatableObject
{
    /// <summary>The hub's https URL, e.g. https://hub.example.jp:5443.</summary>
    [Required]
    public string Url { get; set; } = "";

    /// <summary>
    /// The hub's token issuer when the node reaches the hub at another address than the one tokens name
    /// (one instance's private address, say, while the issuer is the load balancer's public name); default <see cref="Url"/>.
    /// </summary>
    public string? Issuer { get; set; }

    /// <summary>The issuer tokens are requested from and validated against.</summary>
    public string EffectiveIssuer => string.IsNullOrWhiteSpace(Issuer) ? Url : Issuer;

    /// <summary>
    /// For compatibility drills only (leave unset): the contract version the node names to the hub instead of its own,
    /// to see how a hub answers a newer or older spoke before an upgrade.
    /// </summary>
    [Range(0, 1000)]
    public int? ContractVersionOverride { get; set; }

    /// <summary>PEM CA the hub's certificate chains to; empty to use the system trust store.</summary>
    public string? CaCertificatePath { get; set; }

    [Required]
    public string ClientId { get; set; } = "";

    /// <summary>
    /// PKCS#12 client certificate the node authenticates with (RFC 8705); default
    /// <c>keys/node-client.pfx</c> in the data folder, created on first start.
    /// </summary>
    public string? ClientCertificatePath { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Url.Length > 0 && (!Uri.TryCreate(Url, UriKind.Absolute, out var hub) || hub.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"'{Url}' must be an absolute https URL", [nameof(Url)]);
        }
        if (!string.IsNullOrWhiteSpace(Issuer) && (!Uri.TryCreate(Issuer, UriKind.Absolute, out var issuer) || issuer.Scheme != Uri.UriSchemeHttps))
        {
            yield return new ValidationResult($"'{Issuer}' must be an absolute https URL", [nameof(Issuer)]);
        }
        if (!string.IsNullOrWhiteSpace(CaCertificatePath) && !File.Exists(CaCertificatePath))
        {
            yield return new ValidationResult($"no CA certificate file at '{CaCertificatePath}'", [nameof(CaCertificatePath)]);
        }
        if (!string.IsNullOrWhiteSpace(ClientCertificatePath) && !File.Exists(ClientCertificatePath))
        {
            yield return new ValidationResult($"no client certificate file at '{ClientCertificatePath}'", [nameof(ClientCertificatePath)]);
        }
    }
}

/// <summary>Retry schedule of calls to the hub (exponential with jitter, capped) and when to park an entry.</summary>
public sealed class DeliveryOptions
{
    [Range(0.01, 3600)]
    public double InitialBackoffSeconds { get; set; } = 1;

    [Range(0.01, 86400)]
    public double MaxBackoffSeconds { get; set; } = 300;

    /// <summary>Failed attempts (INTERNAL, UNKNOWN, ...) after which an entry is parked for an operator.</summary>
    [Range(1, 1000)]
    public int ParkAfterAttempts { get; set; } = 5;

    /// <summary>How often the node tells the hub how its synchronisation stands (queue counts only).</summary>
    [Range(1, 3600)]
    public double StatusReportSeconds { get; set; } = 30;

    /// <summary>When an entry that failed <paramref name="attempts"/> times before is tried again: doubling, up to the maximum.</summary>
    public TimeSpan RetryAfter(int attempts) => TimeSpan.FromSeconds(Math.Min(MaxBackoffSeconds, InitialBackoffSeconds * Math.Pow(2, attempts)));
}
