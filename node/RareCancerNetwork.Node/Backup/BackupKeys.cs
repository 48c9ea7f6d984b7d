using System.Globalization;
using Org.BouncyCastle.Bcpg.OpenPgp;

namespace RareCancerNetwork.Node.Backup;

/// <summary>
/// Who can open a backup: whoever knows the passphrase, and/or the holder of the secret key of each OpenPGP certificate
/// (public key) the operator gives (e.g. the IT department's and a second person's, kept offline). Any one of them opens it.
/// </summary>
public sealed class BackupSealing
{
    public BackupSealing(string? passphrase, IReadOnlyList<PgpPublicKey> recipients)
    {
        if (string.IsNullOrEmpty(passphrase) && recipients.Count == 0)
        {
            throw new BackupUnreadableException("Give a passphrase file, a recipient certificate, or both: a backup is never written unencrypted.");
        }
        Passphrase = string.IsNullOrEmpty(passphrase) ? null : passphrase;
        Recipients = recipients;
    }

    public string? Passphrase { get; }
    public IReadOnlyList<PgpPublicKey> Recipients { get; }

    /// <summary>
    /// The encryption key of an OpenPGP certificate file (armoured or binary, as <c>gpg --export</c> writes it). Refused when the
    /// certificate has no key for encryption, or it is revoked or expired: a backup nobody can open is worse than none.
    /// </summary>
    public static PgpPublicKey ReadRecipient(string path, DateTimeOffset now)
    {
        try
        {
            using var input = PgpUtilities.GetDecoderStream(File.OpenRead(path));
            var keys = new PgpPublicKeyRingBundle(input).GetKeyRings().SelectMany(ring => ring.GetPublicKeys()).ToList();
            if (keys.Count == 0)
            {
                throw new BackupUnreadableException($"{path} holds no OpenPGP certificate (export one with 'gpg --export --armor <key id>').");
            }
            var master = keys[0];
            if (master.HasRevocation())
            {
                throw new BackupUnreadableException($"The certificate in {path} ({KeyId(master)}) is revoked.");
            }
            // Prefer an encryption subkey (how gpg makes keys); the primary key only when it is itself for encryption.
            var usable = keys.Where(k => k.IsEncryptionKey && !k.HasRevocation() && !Expired(k, now)).OrderBy(k => k.IsMasterKey).FirstOrDefault();
            return usable ?? throw new BackupUnreadableException(
                $"The certificate in {path} ({KeyId(master)}) has no valid key for encryption (expired, revoked, or for signing only).");
        }
        catch (Exception exception) when (exception is PgpException or IOException or ArgumentException)
        {
            throw new BackupUnreadableException($"{path} could not be read as an OpenPGP certificate ({exception.Message}).", exception);
        }
    }

    private static bool Expired(PgpPublicKey key, DateTimeOffset now)
    {
        var seconds = key.GetValidSeconds();
        return seconds > 0 && new DateTimeOffset(key.CreationTime, TimeSpan.Zero).AddSeconds(seconds) <= now;
    }

    internal static string KeyId(PgpPublicKey key) => key.KeyId.ToString("X16", CultureInfo.InvariantCulture);
}

/// <summary>How a backup is opened: its passphrase, or the secret key of one of its recipients (with that key's own passphrase).</summary>
public sealed class BackupOpening
{
    private BackupOpening(string? passphrase, PgpSecretKeyRingBundle? secretKeys, string? secretKeyPassphrase)
    {
        Passphrase = passphrase;
        SecretKeys = secretKeys;
        SecretKeyPassphrase = secretKeyPassphrase;
    }

    public string? Passphrase { get; }
    public PgpSecretKeyRingBundle? SecretKeys { get; }
    public string? SecretKeyPassphrase { get; }

    public static BackupOpening WithPassphrase(string passphrase) => new(passphrase, null, null);

    /// <summary>A secret key file as <c>gpg --export-secret-keys --armor</c> writes it, and the passphrase that protects it ("" for none).</summary>
    public static BackupOpening WithSecretKey(string path, string secretKeyPassphrase)
    {
        try
        {
            using var input = PgpUtilities.GetDecoderStream(File.OpenRead(path));
            return new(null, new PgpSecretKeyRingBundle(input), secretKeyPassphrase);
        }
        catch (Exception exception) when (exception is PgpException or IOException or ArgumentException)
        {
            throw new BackupUnreadableException($"{path} could not be read as an OpenPGP secret key ({exception.Message}).", exception);
        }
    }
}
