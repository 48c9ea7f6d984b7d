namespace RareCancerNetwork.Spoke.Tests;

public sealed class PseudonymisationTests
{
    [Fact]
    public async Task Pseudonym_IsStableAcrossRestarts_AndRevealsNothing()
    {
        await using var cache = await SpokeStoreFixture.CreateAsync();
        var first = cache.Pseudonymizer.Pseudonymise("P-000123");
        var restarted = new Pseudonymisation.PatientPseudonymizer(cache.Options);
        Assert.Equal(first, restarted.Pseudonymise("P-000123"));
        Assert.Equal(first, restarted.Pseudonymise(" P-000123 "));
        Assert.Matches("^[0-9a-f]{64}$", first);
        Assert.DoesNotContain("000123", first, StringComparison.Ordinal);
        Assert.NotEqual(first, restarted.Pseudonymise("P-000124"));
    }

    [Fact]
    public async Task Pseudonym_DependsOnTheSpokesSecretKey()
    {
        await using var one = await SpokeStoreFixture.CreateAsync();
        await using var two = await SpokeStoreFixture.CreateAsync();
        Assert.NotEqual(one.Pseudonymizer.Pseudonymise("P-1"), two.Pseudonymizer.Pseudonymise("P-1"));
        var keyFile = Path.Combine(one.Options.Value.KeysFolder, Pseudonymisation.PatientPseudonymizer.KeyFileName);
        Assert.Equal(32, new FileInfo(keyFile).Length);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(keyFile));
        }
    }
}
