namespace RareCancerNetwork.Node.Validation;

/// <summary>Instants are stored in UTC and shown in Japan time (JST, UTC+9, no daylight saving).</summary>
public static class JapanTime
{
    public static readonly TimeZoneInfo Zone = FindZone();

    public static string Format(DateTimeOffset instant) =>
        TimeZoneInfo.ConvertTime(instant, Zone).ToString("yyyy-MM-dd HH:mm 'JST'", System.Globalization.CultureInfo.InvariantCulture);

    private static TimeZoneInfo FindZone()
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo");
        }
        catch (TimeZoneNotFoundException)
        {
            // Minimal containers may lack tzdata; Japan has had no DST since 1951.
            return TimeZoneInfo.CreateCustomTimeZone("JST", TimeSpan.FromHours(9), "Japan Standard Time", "JST");
        }
    }
}
