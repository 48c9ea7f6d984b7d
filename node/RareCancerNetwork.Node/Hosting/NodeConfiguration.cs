using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Reflection;
using Microsoft.Extensions.Configuration;

namespace RareCancerNetwork.Node.Hosting;

/// <summary>A node's settings are wrong: every problem, each named by its full setting path.</summary>
public sealed class NodeConfigurationException(string section, IReadOnlyList<string> problems)
    : Exception($"The {section} settings are not valid:\n  " + string.Join("\n  ", problems) +
        $"\nSet them in appsettings.json, with environment variables ({section}__Setting__Nested) or on the command line.")
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

/// <summary>
/// Binds a node's options and validates the whole tree before anything is built from it: data
/// annotations on nested objects and collections included (the framework's ValidateDataAnnotations
/// stops at the top level), then <see cref="IValidatableObject"/> rules. Kestrel, OpenIddict and the
/// workers are then configured only from values that passed.
/// </summary>
public static class NodeConfiguration
{
    public static T BindValidated<T>(IConfiguration configuration, string section) where T : class, new()
    {
        var options = configuration.GetSection(section).Get<T>() ?? new T();
        var problems = new List<string>();
        Validate(options, section, problems);
        return problems.Count == 0 ? options : throw new NodeConfigurationException(section, problems);
    }

    private static void Validate(object value, string path, List<string> problems)
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true);
        foreach (var result in results)
        {
            var members = result.MemberNames.Any() ? result.MemberNames : [""];
            foreach (var member in members)
            {
                problems.Add($"{(member.Length == 0 ? path : $"{path}:{member}")}: {result.ErrorMessage}");
            }
        }
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || !property.CanWrite || property.GetValue(value) is not { } nested)
            {
                continue;
            }
            if (IsSettingsObject(nested.GetType()))
            {
                Validate(nested, $"{path}:{property.Name}", problems);
            }
            else if (nested is IEnumerable items and not string)
            {
                var index = 0;
                foreach (var item in items)
                {
                    if (item is not null && IsSettingsObject(item.GetType()))
                    {
                        Validate(item, $"{path}:{property.Name}:{index}", problems);
                    }
                    index++;
                }
            }
        }
    }

    // Our own option classes, not strings, numbers or framework types.
    private static bool IsSettingsObject(Type type) =>
        type.IsClass && type != typeof(string) && type.Namespace?.StartsWith("RareCancerNetwork", StringComparison.Ordinal) == true;

    /// <summary>The listener settings every node has: its https URLs and an optional certificate file.</summary>
    public static IEnumerable<ValidationResult> ValidateListener(IReadOnlyList<string> listenUrls, string? certificatePath)
    {
        for (var i = 0; i < listenUrls.Count; i++)
        {
            if (ListenUrlProblem(listenUrls[i]) is { } problem)
            {
                yield return new ValidationResult(problem, [$"ListenUrls:{i}"]);
            }
        }
        if (!string.IsNullOrWhiteSpace(certificatePath) && !File.Exists(certificatePath))
        {
            yield return new ValidationResult($"no certificate file at '{certificatePath}'", ["CertificatePath"]);
        }
    }

    /// <summary>A listen URL every node accepts: https, an IP literal or localhost, a port.</summary>
    public static string? ListenUrlProblem(string url) =>
        !Uri.TryCreate(url, UriKind.Absolute, out var uri) ? $"'{url}' is not an absolute URL"
        : uri.Scheme != Uri.UriSchemeHttps ? $"'{url}' must use https: the network never serves plain HTTP"
        : uri.Host != "localhost" && !System.Net.IPAddress.TryParse(uri.Host.Trim('[', ']'), out _)
            ? $"'{url}' must name an IP address (e.g. https://0.0.0.0:5443) or localhost, not a host name"
        : null;
}
