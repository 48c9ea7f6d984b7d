using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Spoke.Pseudonymisation;

/// <summary>
/// Derives the stable patient pseudonym the hub sees: HMAC-SHA256 over the facility code and the
/// local patient id, keyed with a secret that is created here and never leaves the spoke.
/// Losing the key breaks linkage of future records to past ones: back it up with the database.
/// </summary>
public sealed class PatientPseudonymizer
{
    public const string KeyFileName = "pseudonymisation.key";
    private const string Domain = "rcn-patient-v1";

    private readonly byte[] _key;
    private readonly string _facilityCode;

    public PatientPseudonymizer(IOptions<SpokeOptions> options)
    {
        _facilityCode = options.Value.FacilityCode;
        _key = LoadOrCreateKey(options.Value.KeysFolder);
    }

    public string Pseudonymise(string localPatientId)
    {
        var input = Encoding.UTF8.GetBytes($"{Domain}|{_facilityCode}|{localPatientId.Trim()}");
        return Convert.ToHexStringLower(HMACSHA256.HashData(_key, input));
    }

    private static byte[] LoadOrCreateKey(string folder)
    {
        System.IO.Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, KeyFileName);
        if (!File.Exists(path))
        {
            PrivateFiles.WriteIfAbsent(path, RandomNumberGenerator.GetBytes(32));
        }
        var key = File.ReadAllBytes(path);
        return key.Length == 32 ? key : throw new InvalidDataException($"The pseudonymisation key at {path} is not 32 bytes; restore it from backup.");
    }
}
