using RareCancerNetwork.Node.Hosting;

namespace RareCancerNetwork.Spoke.Tests;

/// <summary>Every setting, nested ones included, is validated before the node builds anything from it.</summary>
public sealed class ConfigurationTests
{
    private static Dictionary<string, string?> Valid(string folder) => new()
    {
        ["Spoke:NodeId"] = "spoke-a",
        ["Spoke:FacilityCode"] = "CORE-004",
        ["Spoke:DataFolder"] = folder,
        ["Spoke:Hub:Url"] = "https://127.0.0.1:5443",
        ["Spoke:Hub:ClientId"] = "spoke-a",
    };

    private static NodeConfigurationException Refused(string setting, string value)
    {
        var folder = Path.Combine(Path.GetTempPath(), $"rcn-config-{Guid.CreateVersion7():N}");
        var settings = Valid(folder);
        settings[setting] = value;
        var refusal = Assert.Throws<NodeConfigurationException>(() => SpokeHost.Build([], settings));
        Assert.False(System.IO.Directory.Exists(folder), "nothing may be created before the settings are valid");
        return refusal;
    }

    [Theory]
    [InlineData("Spoke:Hub:Url", "http://127.0.0.1:5443")]
    [InlineData("Spoke:Delivery:ParkAfterAttempts", "0")]
    [InlineData("Spoke:Delivery:MaxBackoffSeconds", "-1")]
    [InlineData("Spoke:ListenUrls:0", "https://spoke.example.jp:5444")]
    [InlineData("Spoke:NodeId", "")]
    public void InvalidSetting_IsNamedByItsFullPath(string setting, string value) =>
        Assert.Contains(setting + ":", Refused(setting, value).Message, StringComparison.Ordinal);
}
