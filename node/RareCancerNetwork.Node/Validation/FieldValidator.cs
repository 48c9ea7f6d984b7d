using System.Globalization;
using System.Text.RegularExpressions;
using RareCancerNetwork.Node.Errors;

namespace RareCancerNetwork.Node.Validation;

/// <summary>
/// Collects every field violation of a request, then throws them together so a person
/// can fix all of them at once. Field names are proto paths (snake_case).
/// </summary>
public sealed partial class FieldValidator
{
    private readonly List<FieldViolation> _violations = [];

    public IReadOnlyList<FieldViolation> Violations => _violations;

    public FieldValidator Add(string field, string description)
    {
        _violations.Add(new FieldViolation(field, description));
        return this;
    }

    /// <summary>Required text, at most <paramref name="maxLength"/> characters.</summary>
    public bool Text(string field, string? value, int maxLength, bool required = true)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            if (required)
            {
                Add(field, "is required");
                return false;
            }
            return true;
        }
        if (value.Length > maxLength)
        {
            Add(field, $"is {value.Length} characters; the limit is {maxLength}");
            return false;
        }
        return true;
    }

    public void Pattern(string field, string? value, Regex pattern, string expectation, int maxLength = 64)
    {
        if (Text(field, value, maxLength) && !pattern.IsMatch(value!))
        {
            Add(field, expectation);
        }
    }

    /// <summary>A SHA-256 digest: 64 lowercase hexadecimal characters.</summary>
    public void Sha256(string field, string? value) => Pattern(field, value, Sha256Hex(), "must be 64 lowercase hexadecimal characters");

    /// <summary>A patient pseudonym: the spoke's keyed hash, 64 lowercase hexadecimal characters.</summary>
    public void Pseudonym(string field, string? value) =>
        Pattern(field, value, Sha256Hex(), "must be 64 lowercase hexadecimal characters (the spoke's keyed hash)");

    /// <summary>A defined, non-zero enum value (zero is <c>*_UNSPECIFIED</c>; unknown numbers are refused).</summary>
    public void Enum<TEnum>(string field, TEnum value) where TEnum : struct, System.Enum
    {
        var number = Convert.ToInt32(value, CultureInfo.InvariantCulture);
        if (number == 0)
        {
            Add(field, "is required (UNSPECIFIED is not allowed)");
        }
        else if (!System.Enum.IsDefined(value))
        {
            Add(field, $"has unknown value {number}");
        }
    }

    /// <summary>An optional enum filter: zero allowed, unknown numbers refused.</summary>
    public void OptionalEnum<TEnum>(string field, TEnum value) where TEnum : struct, System.Enum
    {
        if (Convert.ToInt32(value, CultureInfo.InvariantCulture) != 0 && !System.Enum.IsDefined(value))
        {
            Add(field, $"has unknown value {Convert.ToInt32(value, CultureInfo.InvariantCulture)}");
        }
    }

    public void Range(string field, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            Add(field, $"must be between {min} and {max}; got {value}");
        }
    }

    /// <summary>The facility's own patient id: required, bounded, no control characters (it never leaves the spoke).</summary>
    public void LocalPatientId(string field, string? value)
    {
        if (Text(field, value, Protos.Contract.ContractLimits.LocalPatientId) && value!.Any(char.IsControl))
        {
            Add(field, "must not contain control characters");
        }
    }

    /// <summary>A lowercase hyphenated time-ordered UUID (version 7), as created where a record is born.</summary>
    public void Uuid(string field, string? value)
    {
        if (Text(field, value, 36) && (!Guid.TryParseExact(value, "D", out var id) || id.Version != 7 || value != id.ToString("D")))
        {
            Add(field, "must be a lowercase hyphenated version-7 UUID such as 019aad6e-7b1e-7c3d-9f00-1a2b3c4d5e6f");
        }
    }

    /// <summary>Calendar date YYYY-MM-DD, not after <paramref name="latest"/>.</summary>
    /// <returns>The date, when it is one and not too late.</returns>
    public DateOnly? Date(string field, string? value, DateOnly latest)
    {
        if (!Text(field, value, 10))
        {
            return null;
        }
        if (!TryParseDate(value!, out var date))
        {
            Add(field, "must be a date in the form YYYY-MM-DD");
            return null;
        }
        if (date > latest)
        {
            Add(field, "must not be in the future");
            return null;
        }
        return date;
    }

    /// <summary>
    /// A date written YYYY-MM-DD in ASCII digits, read as <c>DateOnly.TryParseExact(value, "yyyy-MM-dd", InvariantCulture)</c>
    /// reads it, without the general date parser: a registry record holds several dates and is validated at the spoke and
    /// again at the hub, and that parser was a few per cent of a registry sync's CPU (docs/benchmarks.md).
    /// </summary>
    public static bool TryParseDate(string value, out DateOnly date)
    {
        date = default;
        if (value.Length != 10 || value[4] != '-' || value[7] != '-'
            || !TryDigits(value.AsSpan(0, 4), out var year) || !TryDigits(value.AsSpan(5, 2), out var month) || !TryDigits(value.AsSpan(8, 2), out var day)
            || year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month))
        {
            return false;
        }
        date = new DateOnly(year, month, day);
        return true;
    }

    private static bool TryDigits(ReadOnlySpan<char> digits, out int number)
    {
        number = 0;
        foreach (var digit in digits)
        {
            if (!char.IsAsciiDigit(digit))
            {
                return false;
            }
            number = number * 10 + (digit - '0');
        }
        return true;
    }

    /// <summary>Page size: 0 means the default; otherwise 1..max.</summary>
    public int PageSize(string field, int value, int defaultSize, int max)
    {
        Range(field, value, 0, max);
        return value == 0 ? defaultSize : Math.Clamp(value, 1, max);
    }

    /// <summary>The violations as an exception, for a caller that must throw where it stands.</summary>
    public InvalidFieldsException Invalid() => new(_violations);

    public void ThrowIfInvalid()
    {
        if (_violations.Count > 0)
        {
            throw new InvalidFieldsException(_violations);
        }
    }

    [GeneratedRegex(@"^C\d{2}\.\d$")]
    public static partial Regex TopographyCode();

    // Morphology: four digits, slash, behaviour code (0 benign, 1 uncertain, 2 in situ, 3 malignant,
    // 6 metastatic site, 9 uncertain whether primary or metastatic).
    [GeneratedRegex(@"^\d{4}/[012369]$")]
    public static partial Regex MorphologyCode();

    [GeneratedRegex(@"^[0-9a-f]{64}$")]
    public static partial Regex Sha256Hex();

    [GeneratedRegex(@"^[A-Za-z0-9!#$&^_.+-]{1,64}/[A-Za-z0-9!#$&^_.+-]{1,64}$")]
    public static partial Regex MediaType();
}
