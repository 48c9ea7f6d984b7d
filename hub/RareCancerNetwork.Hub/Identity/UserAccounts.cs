using System.Text.RegularExpressions;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using System.Data.Common;
using OtpNet;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>A person who may sign in, as tokens describe them.</summary>
public sealed record UserAccount(string UserId, string DisplayName, string Role, string FacilityCode, string? ExpertId, string? SpokeNodeId);

/// <summary>Shown once, when a user is added: the TOTP secret to enrol in an authenticator app.</summary>
public sealed record NewUser(string UserId, string? TotpSecret, string? TotpUri);

/// <summary>
/// People's accounts at the hub: slow salted password hashes (PBKDF2 via ASP.NET Core Identity's
/// hasher), TOTP (RFC 6238) with replay protection, and a lockout after repeated failures.
/// </summary>
public sealed partial class UserAccounts(HubDatabase database, IDataProtectionProvider dataProtection, TimeProvider clock)
{
    public const int MinimumPasswordLength = 12;
    public const int MaxFailedSignIns = 5;
    public static readonly TimeSpan LockoutDuration = TimeSpan.FromMinutes(15);

    private static readonly PasswordHasher<UserAccount> Hasher = new();
    private readonly IDataProtector _totpProtector = dataProtection.CreateProtector("rcn.users.totp.v1");

    public async Task<NewUser> AddAsync(string userId, string displayName, string role, string facilityCode, string? expertId,
        string password, bool enableTotp, CancellationToken cancellationToken)
    {
        var violations = new List<FieldViolation>();
        if (!UserIdPattern().IsMatch(userId))
        {
            violations.Add(new("user_id", "must be 3-64 characters of a-z, 0-9, '.', '_' and '-'"));
        }
        if (!NetworkClaims.Roles.All.Contains(role))
        {
            violations.Add(new("role", $"must be one of: {string.Join(", ", NetworkClaims.Roles.All)}"));
        }
        if (password.Length < MinimumPasswordLength)
        {
            violations.Add(new("password", $"must be at least {MinimumPasswordLength} characters"));
        }
        if (role == NetworkClaims.Roles.ExpertPathologist && string.IsNullOrEmpty(expertId))
        {
            violations.Add(new("expert_id", "is required for an expert pathologist (register the expert first)"));
        }
        if (string.IsNullOrWhiteSpace(displayName) || displayName.Length > 200)
        {
            violations.Add(new("display_name", "is required, at most 200 characters"));
        }
        if (violations.Count > 0)
        {
            throw new InvalidFieldsException(violations);
        }
        // Note: a second factor is mandatory for administrators and for national record-level access.
        enableTotp |= NetworkClaims.Roles.RequiresSecondFactor(role);
        var secret = enableTotp ? Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20)) : null;
        var account = new UserAccount(userId, displayName, role, facilityCode, expertId, null);

        await using var connection = await database.OpenAsync(cancellationToken);
        await using var insert = connection.Command(
            """
            INSERT INTO users (user_id, display_name, role, facility_code, expert_id, password_hash, totp_secret_protected, registered_at)
            VALUES (@id, @name, @role, @facility, @expert, @hash, @totp, @now)
            """)
            .With("@id", userId).With("@name", displayName).With("@role", role).With("@facility", facilityCode).With("@expert", expertId)
            .With("@hash", Hasher.HashPassword(account, password)).With("@totp", secret is null ? null : _totpProtector.Protect(secret))
            .With("@now", clock.GetUtcNow().ToDbText());
        try
        {
            await insert.ExecuteNonQueryAsync(cancellationToken);
        }
        catch (System.Data.Common.DbException exception) when (StoreErrors.IsUniqueViolation(exception))
        {
            throw new ConflictException($"User '{userId}' already exists.");
        }
        catch (System.Data.Common.DbException exception) when (StoreErrors.IsForeignKeyViolation(exception))
        {
            throw new ResourceNotFoundException(expertId is null ? "Facility" : "Facility or expert", expertId is null ? facilityCode : $"{facilityCode} / {expertId}");
        }
        return new NewUser(userId, secret, secret is null ? null
            : $"otpauth://totp/RareCancerNetwork:{Uri.EscapeDataString(userId)}?secret={secret}&issuer=RareCancerNetwork&digits=6&period=30");
    }

    /// <summary>
    /// Checks a sign-in. Every failure gives the same answer (no hint which part was wrong) and
    /// counts towards the lockout; a locked or disabled account is refused even with right credentials.
    /// </summary>
    public async Task<UserAccount?> SignInAsync(string userId, string password, string? oneTimeCode, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            string hash;
            string? protectedSecret;
            long lastStep;
            UserAccount account;
            await using (var command = connection.Command(
                $"SELECT password_hash, totp_secret_protected, totp_last_step, locked_until, {AccountColumns} FROM users u WHERE u.user_id = @id AND u.disabled_at IS NULL", transaction)
                .With("@id", userId))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                if (!await reader.ReadAsync(cancellationToken))
                {
                    return null;
                }
                if (reader.GetNullableInstant(3) is { } lockedUntil && lockedUntil > now)
                {
                    return null;
                }
                hash = reader.GetString(0);
                protectedSecret = reader.GetNullableString(1);
                lastStep = reader.GetInt64(2);
                account = ReadAccount(reader, 4);
            }
            var passwordOk = Hasher.VerifyHashedPassword(account, hash, password) != PasswordVerificationResult.Failed;
            long matchedStep = 0;
            var codeOk = protectedSecret is null
                || (oneTimeCode is { Length: 6 }
                    && new Totp(Base32Encoding.ToBytes(_totpProtector.Unprotect(protectedSecret))).VerifyTotp(now.UtcDateTime, oneTimeCode, out matchedStep, VerificationWindow.RfcSpecifiedNetworkDelay)
                    && matchedStep > lastStep);
            if (passwordOk && codeOk)
            {
                await using var success = connection.Command(
                    "UPDATE users SET failed_sign_ins = 0, locked_until = NULL, totp_last_step = CASE WHEN totp_last_step > @step THEN totp_last_step ELSE @step END WHERE user_id = @id", transaction)
                    .With("@step", matchedStep).With("@id", userId);
                await success.ExecuteNonQueryAsync(cancellationToken);
                return account;
            }
            await using var failure = connection.Command(
                """
                UPDATE users SET failed_sign_ins = failed_sign_ins + 1,
                    locked_until = CASE WHEN failed_sign_ins + 1 >= @max THEN @until ELSE locked_until END
                WHERE user_id = @id
                """, transaction).With("@max", MaxFailedSignIns).With("@until", now.Add(LockoutDuration).ToDbText()).With("@id", userId);
            await failure.ExecuteNonQueryAsync(cancellationToken);
            return (UserAccount?)null;
        }, cancellationToken);
    }

    /// <summary>The active account, for re-issuing tokens (refresh): a disabled user gets nothing more.</summary>
    public async Task<UserAccount?> FindActiveAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command($"SELECT {AccountColumns} FROM users u WHERE u.user_id = @id AND u.disabled_at IS NULL").With("@id", userId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? ReadAccount(reader, 0) : null;
    }

    public async Task<bool> DisableAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("UPDATE users SET disabled_at = @now WHERE user_id = @id AND disabled_at IS NULL")
            .With("@now", clock.GetUtcNow().ToDbText()).With("@id", userId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>
    /// Grants a statistician the exact-statistics permission (unsuppressed national figures), naming the administrator
    /// who granted it. Only statisticians hold it: central-institution staff whose role already limits them to aggregates.
    /// </summary>
    /// <exception cref="PreconditionFailedException">No such active statistician, or the granting administrator is not one.</exception>
    public Task GrantExactStatisticsAsync(string userId, string grantedBy, CancellationToken cancellationToken) =>
        database.WriteAsync(async (connection, transaction) =>
        {
            await RequireAdministratorAsync(connection, transaction, grantedBy, "only an administrator grants exact statistics", cancellationToken);
            await using var grant = connection.Command(
                """
                UPDATE users SET exact_statistics_granted_by = @by, exact_statistics_granted_at = @now
                WHERE user_id = @id AND role = @role AND disabled_at IS NULL
                """, transaction)
                .With("@by", grantedBy).With("@now", clock.GetUtcNow().ToDbText()).With("@id", userId).With("@role", NetworkClaims.Roles.Statistician);
            if (await grant.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new PreconditionFailedException("NOT_STATISTICIAN", $"{userId} is not an active statistician; exact statistics are granted to statisticians only.");
            }
        }, cancellationToken);

    /// <summary>FAILED_PRECONDITION unless <paramref name="userId"/> is an active administrator (who is recorded as doing it).</summary>
    public static async Task RequireAdministratorAsync(System.Data.Common.DbConnection connection, System.Data.Common.DbTransaction transaction, string userId,
        string why, CancellationToken cancellationToken)
    {
        await using var administrator = connection.Command("SELECT COUNT(*) FROM users WHERE user_id = @id AND role = @role AND disabled_at IS NULL", transaction)
            .With("@id", userId).With("@role", NetworkClaims.Roles.Administrator);
        if (await administrator.ScalarInt64Async(cancellationToken) == 0)
        {
            throw new PreconditionFailedException("NOT_ADMINISTRATOR", $"{userId} is not an active administrator; {why}.");
        }
    }

    public async Task<bool> RevokeExactStatisticsAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "UPDATE users SET exact_statistics_granted_by = NULL, exact_statistics_granted_at = NULL WHERE user_id = @id AND exact_statistics_granted_at IS NOT NULL")
            .With("@id", userId);
        return await command.ExecuteNonQueryAsync(cancellationToken) == 1;
    }

    /// <summary>Whether the active account signs in with a one-time code as well as its password.</summary>
    public async Task<bool> RequiresOneTimeCodeAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command("SELECT COUNT(*) FROM users WHERE user_id = @id AND disabled_at IS NULL AND totp_secret_protected IS NOT NULL")
            .With("@id", userId);
        return await command.ScalarInt64Async(cancellationToken) == 1;
    }

    /// <summary>Whether the person holds the exact-statistics permission now (checked at each query, so a revocation applies at once).</summary>
    public async Task<bool> HoldsExactStatisticsAsync(string userId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT COUNT(*) FROM users WHERE user_id = @id AND role = @role AND disabled_at IS NULL AND exact_statistics_granted_at IS NOT NULL")
            .With("@id", userId).With("@role", NetworkClaims.Roles.Statistician);
        return await command.ScalarInt64Async(cancellationToken) == 1;
    }

    // The spoke that serves the user's facility (its local API is where pathologists act).
    private const string AccountColumns =
        "u.user_id, u.display_name, u.role, u.facility_code, u.expert_id, " +
        "(SELECT n.node_id FROM spoke_nodes n WHERE n.facility_code = u.facility_code AND n.revoked_at IS NULL ORDER BY n.registered_at LIMIT 1)";

    private static UserAccount ReadAccount(DbDataReader reader, int first) => new(
        reader.GetString(first), reader.GetString(first + 1), reader.GetString(first + 2), reader.GetString(first + 3),
        reader.GetNullableString(first + 4), reader.GetNullableString(first + 5));

    [GeneratedRegex("^[a-z0-9][a-z0-9._-]{2,63}$")]
    private static partial Regex UserIdPattern();
}
