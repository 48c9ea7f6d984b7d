namespace RareCancerNetwork.Protos.Contract;

/// <summary>
/// The version of what hub and spoke say to each other, raised by a release that changes what either sends or expects
/// in a way the other must know (a new required field, a changed meaning; not an added optional field). A spoke names
/// its version and its store's schema version on every call; a hub serves spokes of its own version and of the one
/// before, so the hub is upgraded first and spokes follow on their own days. Any other pair refuses to sync with a
/// message that says which side to upgrade, and the spoke keeps everything queued until then.
/// </summary>
public static class ContractVersion
{
    /// <summary>This release's version. Version 0 is a spoke from before versions were exchanged (it sends no header).</summary>
    public const int Current = 1;

    /// <summary>The oldest spoke version a hub of <see cref="Current"/> serves.</summary>
    public const int OldestServedSpoke = Current - 1;

    /// <summary>Request header: the spoke's contract version.</summary>
    public const string Header = "rcn-contract-version";

    /// <summary>Request header: the spoke's store schema version (its latest migration), for the hub's view of its spokes.</summary>
    public const string SchemaHeader = "rcn-schema-version";

    /// <summary>The reasons (google.rpc.ErrorInfo) of the refusal, by which side must be upgraded.</summary>
    public const string UpgradeHub = "UPGRADE_HUB";
    public const string UpgradeSpoke = "UPGRADE_SPOKE";

    /// <summary>Why a hub of version <paramref name="hub"/> cannot serve a spoke of version <paramref name="spoke"/>, or null when it can.</summary>
    public static (string Reason, string Message)? Incompatibility(int spoke, int hub) =>
        spoke > hub
            ? (UpgradeHub, $"This spoke speaks contract version {spoke}; the hub speaks version {hub} and serves no newer spoke. Upgrade the hub first; the spoke keeps everything queued until then.")
            : spoke < hub - 1
                ? (UpgradeSpoke, $"This spoke speaks contract version {spoke}; the hub speaks version {hub} and serves versions {hub - 1} and {hub} only. Upgrade the spoke; it keeps everything queued until then.")
                : null;
}
