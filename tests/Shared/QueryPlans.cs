using System.Data.Common;

namespace RareCancerNetwork.Tests.Shared;

/// <summary>SQLite's plan for a statement, for tests that a statement reads an index and not a whole table.</summary>
public static class QueryPlans
{
    /// <summary>The plan's steps as SQLite describes them ("SEARCH t USING INDEX …", "SCAN t").</summary>
    public static async Task<List<string>> StepsAsync(DbConnection connection, string statement, CancellationToken cancellationToken)
    {
        await using var plan = connection.CreateCommand();
        plan.CommandText = "EXPLAIN QUERY PLAN " + statement;
        var steps = new List<string>();
        await using var reader = await plan.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            steps.Add(reader.GetString(3));
        }
        return steps;
    }
}
