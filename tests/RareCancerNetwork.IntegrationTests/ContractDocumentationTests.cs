using System.Text.RegularExpressions;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Protos.Contract;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>
/// The limits the services enforce (ContractLimits) are the limits the contract states: in the comment
/// above each field of the .proto files, and in docs/contracts.md.
/// </summary>
public sealed partial class ContractDocumentationTests
{
    private static readonly string ProtoFolder = Path.Combine(NodeProcess.RepositoryRoot, "protos", "rarecancer", "network", "v1");

    public static TheoryData<string> Limits() => [.. ContractLimits.All.Select(limit => limit.Field)];

    [Theory]
    [MemberData(nameof(Limits))]
    public void ProtoComment_StatesTheEnforcedLimit(string field)
    {
        var limit = ContractLimits.All.Single(l => l.Field == field);
        var (message, name) = (field[..field.IndexOf('.', StringComparison.Ordinal)], field[(field.IndexOf('.', StringComparison.Ordinal) + 1)..]);

        var comment = FieldComment(message, name);

        Assert.True(comment.Contains(limit.Statement, StringComparison.Ordinal),
            $"The comment above {field} should state \"{limit.Statement}\"; it reads: \"{comment}\"");
    }

    [Fact]
    public void ContractsDoc_CarriesTheLimitsTable()
    {
        var docs = File.ReadAllText(Path.Combine(NodeProcess.RepositoryRoot, "docs", "contracts.md")).ReplaceLineEndings("\n");
        Assert.True(docs.Contains(ContractLimits.ToMarkdown(), StringComparison.Ordinal),
            "docs/contracts.md is out of date; replace its limits table with:\n" + ContractLimits.ToMarkdown());
    }

    /// <summary>The // comment lines directly above the field's declaration inside its message, joined.</summary>
    private static string FieldComment(string message, string field)
    {
        foreach (var file in Directory.GetFiles(ProtoFolder, "*.proto"))
        {
            var lines = File.ReadAllLines(file);
            var start = Array.FindIndex(lines, l => l.StartsWith($"message {message} {{", StringComparison.Ordinal));
            if (start < 0)
            {
                continue;
            }
            for (var i = start + 1; i < lines.Length && lines[i] != "}"; i++)
            {
                if (FieldDeclaration(field).IsMatch(lines[i]))
                {
                    var comment = new List<string>();
                    for (var j = i - 1; j > start && lines[j].TrimStart().StartsWith("//", StringComparison.Ordinal); j--)
                    {
                        comment.Insert(0, lines[j].Trim().TrimStart('/').Trim());
                    }
                    return string.Join(' ', comment);
                }
            }
            throw new Xunit.Sdk.XunitException($"{message} has no field {field}.");
        }
        throw new Xunit.Sdk.XunitException($"No message {message} in {ProtoFolder}.");
    }

    private static Regex FieldDeclaration(string field) => new($@"^\s+(repeated\s+)?[\w.]+\s+{Regex.Escape(field)}\s*=\s*\d+;");
}
