namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Debian's headless Chromium for the web pages' tests.</summary>
public static class Browser
{
    /// <summary>The browser's path (installed by .ci/run); under CI its absence fails the test instead of skipping it.</summary>
    public static string ChromiumPath()
    {
        var path = new[] { Environment.GetEnvironmentVariable("RCN_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }.FirstOrDefault(File.Exists);
        if (path is null)
        {
            Assert.False(string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase),
                "CI must run the browser tests: install Debian's chromium (apt-get install chromium)");
            Assert.Skip("Headless Chromium is not installed (sudo apt-get install chromium); the web page tests need it.");
        }
        return path;
    }

    /// <summary>Where the tests leave their screenshots for people to look at.</summary>
    public static string ScreenshotFolder()
    {
        var folder = Path.Combine(AppContext.BaseDirectory, "screenshots");
        System.IO.Directory.CreateDirectory(folder);
        return folder;
    }
}
