using System.Data.Common;
using Grpc.Core;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Node.Audit;

/// <summary>
/// The success entry of a patient-level call, ready before the call runs. A service whose call writes may commit the entry
/// in its own write's transaction (<see cref="CallAuditWrites.WriteAsync"/>): the change and its entry then land together
/// or not at all, with one durable commit instead of two. When the service does not, the audit interceptor appends the
/// entry after the call as before.
/// </summary>
public sealed class CallAudit(AuditLog log, IReadOnlyList<AuditRecord> records)
{
    /// <summary>The entry was committed with the call's write; the interceptor writes nothing more for this call.</summary>
    public bool Committed { get; private set; }

    /// <summary>The pending entry of the call in progress, or none (a call that is not patient-level).</summary>
    public static CallAudit? Of(ServerCallContext context) =>
        context.UserState.TryGetValue(typeof(CallAudit), out var value) ? value as CallAudit : null;

    internal void AttachTo(ServerCallContext context) => context.UserState[typeof(CallAudit)] = this;

    internal Task<List<AuditEntry>> AppendAsync(CancellationToken cancellationToken) => log.AppendAllAsync(records, cancellationToken);

    internal async Task<T> WriteWithAsync<T>(IRelationalStore store, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        // The entry belongs in the same database as the change, or the two would not commit together.
        if (!ReferenceEquals(store, log.Store))
        {
            throw new InvalidOperationException("A call's audit entry can join only a write of the database that holds the node's audit trail.");
        }
        var result = await store.WriteAsync(async (connection, transaction) =>
        {
            var outcome = await work(connection, transaction);
            await log.AppendAllInAsync(connection, transaction, records, cancellationToken);
            return outcome;
        }, cancellationToken);
        // Only once the transaction has committed: a unit that failed or was undone wrote no entry.
        Committed = true;
        return result;
    }
}

public static class CallAuditWrites
{
    /// <summary>
    /// <paramref name="work"/> in one write transaction, with the call's audit entry when there is one (a store called
    /// outside a call, by a command or a test, has none).
    /// </summary>
    public static Task<T> WriteAsync<T>(this IRelationalStore store, CallAudit? audit, Func<DbConnection, DbTransaction, Task<T>> work,
        CancellationToken cancellationToken) =>
        audit is null ? store.WriteAsync(work, cancellationToken) : audit.WriteWithAsync(store, work, cancellationToken);
}
