using RareCancerNetwork.Hub.Storage;
using Microsoft.AspNetCore.DataProtection;
using OtpNet;
using RareCancerNetwork.Hub.Identity;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Tests;

public sealed class UserAccountTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private const string Password = "correct-horse-battery";

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Password_IsStoredOnlyAsSlowSaltedHash_AndVerifies(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var users = Users(hub);
        await users.AddAsync("yamada", "山田 太郎", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, enableTotp: false, Ct);
        await users.AddAsync("sato", "佐藤", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, enableTotp: false, Ct);
        var hashes = await HashesAsync(hub);
        Assert.DoesNotContain(hashes, h => h.Contains(Password, StringComparison.Ordinal));
        Assert.NotEqual(hashes[0], hashes[1]); // salted: same password, different hashes
        Assert.NotNull(await users.SignInAsync("yamada", Password, null, Ct));
        Assert.Null(await users.SignInAsync("yamada", Password + "x", null, Ct));
        Assert.Null(await users.SignInAsync("nobody", Password, null, Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Administrator_AlwaysGetsTotp_CodeRequired_AndNeverAcceptedTwice(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var users = Users(hub);
        var admin = await users.AddAsync("admin1", "管理者", NetworkClaims.Roles.Administrator, "CORE-004", null, Password, enableTotp: false, Ct);
        Assert.NotNull(admin.TotpSecret);
        var code = new Totp(Base32Encoding.ToBytes(admin.TotpSecret)).ComputeTotp();
        Assert.Null(await users.SignInAsync("admin1", Password, null, Ct));
        Assert.Null(await users.SignInAsync("admin1", Password, "000000" == code ? "111111" : "000000", Ct));
        Assert.NotNull(await users.SignInAsync("admin1", Password, code, Ct));
        // Replay of the same one-time code is refused.
        Assert.Null(await users.SignInAsync("admin1", Password, code, Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task RepeatedFailures_LockTheAccount_EvenForTheRightPassword(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var users = Users(hub);
        await users.AddAsync("yamada", "山田", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, false, Ct);
        for (var i = 0; i < UserAccounts.MaxFailedSignIns; i++)
        {
            Assert.Null(await users.SignInAsync("yamada", "wrong-password-" + i, null, Ct));
        }
        Assert.Null(await users.SignInAsync("yamada", Password, null, Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task BadInput_IsRefusedWithFields_DisabledUserCannotSignIn(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var users = Users(hub);
        var invalid = await Assert.ThrowsAsync<InvalidFieldsException>(() =>
            users.AddAsync("X", "", "surgeon", "CORE-004", null, "short", false, Ct));
        Assert.Equal(["display_name", "password", "role", "user_id"], invalid.Violations.Select(v => v.Field).Order());
        await Assert.ThrowsAsync<InvalidFieldsException>(() =>
            users.AddAsync("expert1", "専門医", NetworkClaims.Roles.ExpertPathologist, "CORE-004", null, Password, false, Ct));

        await users.AddAsync("yamada", "山田", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, false, Ct);
        await Assert.ThrowsAsync<ConflictException>(() => users.AddAsync("yamada", "山田", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, false, Ct));
        Assert.True(await users.DisableAsync("yamada", Ct));
        Assert.Null(await users.SignInAsync("yamada", Password, null, Ct));
        Assert.Null(await users.FindActiveAsync("yamada", Ct));
    }

    [Theory, InlineData(HubStorageProvider.Sqlite), InlineData(HubStorageProvider.Postgres)]
    public async Task Account_KnowsTheSpokeServingItsFacility(HubStorageProvider provider)
    {
        await using var hub = await HubStore.CreateAsync(provider);
        var users = Users(hub);
        await users.AddAsync("yamada", "山田", NetworkClaims.Roles.Pathologist, "CORE-004", null, Password, false, Ct);
        Assert.Equal(HubStore.NodeId, (await users.FindActiveAsync("yamada", Ct))!.SpokeNodeId);
    }

    private static UserAccounts Users(HubStore hub) => new(hub.Database, new EphemeralDataProtectionProvider(), TimeProvider.System);

    private static async Task<List<string>> HashesAsync(HubStore hub)
    {
        await using var connection = await hub.Database.OpenAsync(Ct);
        await using var command = connection.Command("SELECT password_hash FROM users ORDER BY user_id");
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var hashes = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            hashes.Add(reader.GetString(0));
        }
        return hashes;
    }
}
