using System.Text;
using RareCancerNetwork.Node.Errors;

namespace RareCancerNetwork.Node.Storage;

/// <summary>Opaque keyset page tokens: (sort instant, id) of the last row returned.</summary>
public static class KeysetPageToken
{
    public static string Encode(string instant, string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{instant}|{id}"));

    public static (string? Instant, string? Id) Decode(string token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return (null, null);
        }
        try
        {
            var parts = Encoding.UTF8.GetString(Convert.FromBase64String(token)).Split('|');
            if (parts.Length == 2)
            {
                return (parts[0], parts[1]);
            }
        }
        catch (FormatException)
        {
        }
        throw new InvalidFieldsException([new FieldViolation("page_token", "is not a token returned by a previous call")]);
    }
}
