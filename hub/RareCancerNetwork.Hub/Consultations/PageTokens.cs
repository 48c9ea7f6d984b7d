using System.Text;
using RareCancerNetwork.Protos.Errors;

namespace RareCancerNetwork.Hub.Consultations;

/// <summary>Opaque keyset page tokens: (received_at, consultation_id) of the last row returned.</summary>
internal static class PageTokens
{
    public static string Encode(string receivedAt, string id) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{receivedAt}|{id}"));

    public static (string? ReceivedAt, string? Id) Decode(string token)
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
