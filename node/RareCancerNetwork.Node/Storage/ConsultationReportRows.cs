using System.Data.Common;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// The <c>consultation_reports</c> table both nodes keep (report versions as protobuf, returned byte for byte).
/// </summary>
public static class ConsultationReportRows
{
    /// <summary>All versions of a consultation's report, oldest first.</summary>
    public static async Task<List<ConsultationReport>> ReadAsync(DbConnection connection, DbTransaction? transaction, string consultationId,
        CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT report FROM consultation_reports WHERE consultation_id = @id ORDER BY version", transaction)
            .With("@id", consultationId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var reports = new List<ConsultationReport>();
        while (await reader.ReadAsync(cancellationToken))
        {
            reports.Add(ConsultationReport.Parser.ParseFrom((byte[])reader[0]));
        }
        return reports;
    }
}
