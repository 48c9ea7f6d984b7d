using Grpc.Core;
using RareCancerNetwork.Node.Audit;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Registry;

/// <summary>Spoke nodes deliver their facility's registry records in batches; each record has its own outcome.</summary>
public sealed partial class RegistrySyncGrpcService(RegistryStore store, DataQueryStore queries, TimeProvider clock, ILogger<RegistrySyncGrpcService> logger)
    : RegistrySyncService.RegistrySyncServiceBase
{
    public override async Task<DeliverRegistryRecordsResponse> DeliverRegistryRecords(DeliverRegistryRecordsRequest request, ServerCallContext context)
    {
        if (request.Records.Count is 0 or > ContractLimits.RegistryRecordsPerDelivery)
        {
            throw new InvalidFieldsException([new FieldViolation("records", $"must hold 1-{ContractLimits.RegistryRecordsPerDelivery} records; got {request.Records.Count}")]);
        }
        var caller = NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();
        // A node never sends another facility's records: that is a fault or an attack, refused as a whole.
        var foreign = request.Records.Select((record, index) => (record, index)).FirstOrDefault(r => r.record.EnrollingFacilityCode != caller.FacilityCode);
        if (foreign.record is not null)
        {
            throw new AccessDeniedException(
                $"records[{foreign.index}].enrolling_facility_code is {foreign.record.EnrollingFacilityCode}; this node delivers only its own facility's records ({caller.FacilityCode}).");
        }
        var today = ConsultationValidation.TodayInJapan(clock);
        var results = new RegistryDeliveryResult[request.Records.Count];
        var accepted = new List<(int Index, RegistryRecord Record)>();
        for (var i = 0; i < request.Records.Count; i++)
        {
            var record = request.Records[i];
            var v = new FieldValidator();
            RegistryValidation.Validate(v, record, today, $"records[{i}].");
            if (v.Violations.Count > 0)
            {
                results[i] = Refused(record, string.Join("; ", v.Violations.Select(f => $"{f.Field}: {f.Description}")));
            }
            else if (!record.Consent.RegistryParticipation)
            {
                results[i] = Refused(record, $"records[{i}].consent.registry_participation: without it a record stays at the spoke");
            }
            else
            {
                accepted.Add((i, record));
            }
        }
        if (accepted.Count > 0)
        {
            var outcomes = await store.DeliverAsync(caller.NodeId, accepted.Select(a => a.Record).ToList(), CallAudit.Of(context), context.CancellationToken);
            for (var j = 0; j < accepted.Count; j++)
            {
                results[accepted[j].Index] = outcomes[j];
            }
        }
        var response = new DeliverRegistryRecordsResponse();
        response.Results.AddRange(results);
        var stored = results.Count(r => r.Outcome == RegistryDeliveryOutcome.Stored);
        var stale = results.Count(r => r.Outcome == RegistryDeliveryOutcome.Stale);
        var refused = results.Count(r => r.Outcome == RegistryDeliveryOutcome.Refused);
        LogDelivered(logger, caller.NodeId, request.Records.Count, stored, stale, refused);
        return response;
    }

    public override async Task<DeliverRegistryWithdrawalResponse> DeliverRegistryWithdrawal(DeliverRegistryWithdrawalRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("record_id", request.RecordId);
        v.Date("withdrawn_on", request.WithdrawnOn, ConsultationValidation.TodayInJapan(clock));
        v.Text("recorded_by", request.RecordedBy, ContractLimits.PersonName);
        v.Pseudonym("patient_pseudonym", request.PatientPseudonym);
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();
        var deleted = await store.WithdrawAsync(caller.NodeId, request, context.CancellationToken);
        LogWithdrawn(logger, request.RecordId, caller.NodeId, deleted);
        return new DeliverRegistryWithdrawalResponse { RecordDeleted = deleted };
    }

    public override async Task<AnswerDataQueryResponse> AnswerDataQuery(AnswerDataQueryRequest request, ServerCallContext context)
    {
        var v = new FieldValidator();
        v.Uuid("query_id", request.QueryId);
        v.Text("comment", request.Comment, ContractLimits.DataQueryText);
        v.Text("answered_by", request.AnsweredBy, ContractLimits.PersonName);
        v.ThrowIfInvalid();
        var caller = NetworkCaller.From(context.GetHttpContext().User).RequireSpokeNode();
        var query = await queries.AnswerAsync(caller.NodeId, request, context.CancellationToken);
        LogAnswered(logger, request.QueryId, caller.NodeId, query.Resolution);
        return new AnswerDataQueryResponse { Query = query };
    }

    private static RegistryDeliveryResult Refused(RegistryRecord record, string message) => new()
    {
        RecordId = record.RecordId,
        Version = record.Version,
        Outcome = RegistryDeliveryOutcome.Refused,
        Message = message,
    };

    [LoggerMessage(EventId = 1405, Level = LogLevel.Information, Message = "Data query {QueryId} answered by node {NodeId}; closed as {Resolution}")]
    private static partial void LogAnswered(ILogger logger, string queryId, string nodeId, DataQueryResolution resolution);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Information, Message = "Registry record {RecordId}: consent withdrawn, recorded by node {NodeId} (record deleted: {Deleted})")]
    private static partial void LogWithdrawn(ILogger logger, string recordId, string nodeId, bool deleted);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Information,
        Message = "Node {NodeId} delivered {Count} registry versions: {Stored} stored, {Stale} stale, {Refused} refused")]
    private static partial void LogDelivered(ILogger logger, string nodeId, int count, int stored, int stale, int refused);
}
