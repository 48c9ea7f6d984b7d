using System.Data.Common;
using Google.Protobuf;
using RareCancerNetwork.Hub.Feed;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Node.Validation;
using RareCancerNetwork.Protos.V1;

namespace RareCancerNetwork.Hub.Directory;

/// <summary>What an administrator sets on a facility; null leaves a value as it is (on update).</summary>
public sealed record FacilityChange(
    string FacilityCode,
    string? NameJa = null,
    FacilityDesignation? Designation = null,
    string? Prefecture = null,
    IReadOnlyCollection<OrganSystem>? OrganSpecialties = null,
    bool? RareCancerCoreCenter = null,
    string? ServedByNodeId = null,
    bool ServedByAutomatic = false,
    string? ContactUrl = null);

/// <summary>
/// The administrator's maintenance of the directory: facilities added, updated and retired, trials
/// loaded and retired, experts retired. Nothing that records point to is ever deleted. Each change and
/// its publication to the spokes commit together.
/// </summary>
public sealed partial class DirectoryAdministration(HubDatabase database, EventFeed feed, TimeProvider clock)
{
    public Task<long> AddFacilityAsync(FacilityChange change, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var v = new FieldValidator();
            v.Pattern("facility_code", change.FacilityCode, FacilityCodePattern(), "must be 1-32 capital letters, digits and hyphens, e.g. HOSP-201", 32);
            v.Text("name_ja", change.NameJa, 200);
            if (change.Designation is null or FacilityDesignation.Unspecified or FacilityDesignation.RareCancerCoreCenter)
            {
                v.Add("designation", "a new facility needs its genomic-medicine designation (genomic_core, genomic_hub or genomic_cooperative)");
            }
            v.Text("prefecture", change.Prefecture, 10);
            v.ThrowIfInvalid();
            var region = await RegionAsync(connection, transaction, change.Prefecture!, cancellationToken);
            await using (var insert = connection.Command(
                "INSERT INTO facilities (facility_code, name_ja, designation, prefecture, region) VALUES (@code, @name, @designation, @prefecture, @region) ON CONFLICT DO NOTHING",
                transaction)
                .With("@code", change.FacilityCode).With("@name", change.NameJa).With("@designation", (int)change.Designation!)
                .With("@prefecture", change.Prefecture).With("@region", region))
            {
                if (await insert.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    throw new ConflictException($"Facility '{change.FacilityCode}' exists already; update it instead.");
                }
            }
            await ApplyAsync(connection, transaction, change, cancellationToken);
        }, cancellationToken);

    public Task<long> UpdateFacilityAsync(FacilityChange change, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            await RequireFacilityAsync(connection, transaction, change.FacilityCode, cancellationToken);
            if (change.Prefecture is { } prefecture)
            {
                var region = await RegionAsync(connection, transaction, prefecture, cancellationToken);
                await Execute(connection.Command("UPDATE facilities SET prefecture = @prefecture, region = @region WHERE facility_code = @code", transaction)
                    .With("@prefecture", prefecture).With("@region", region).With("@code", change.FacilityCode), cancellationToken);
            }
            if (change.NameJa is { } name)
            {
                await Execute(connection.Command("UPDATE facilities SET name_ja = @name WHERE facility_code = @code", transaction)
                    .With("@name", name).With("@code", change.FacilityCode), cancellationToken);
            }
            if (change.Designation is { } designation)
            {
                if (designation is FacilityDesignation.Unspecified or FacilityDesignation.RareCancerCoreCenter || !Enum.IsDefined(designation))
                {
                    throw new InvalidFieldsException([new FieldViolation("designation", "must be a genomic-medicine designation (genomic_core, genomic_hub or genomic_cooperative)")]);
                }
                await Execute(connection.Command("UPDATE facilities SET designation = @designation WHERE facility_code = @code", transaction)
                    .With("@designation", (int)designation).With("@code", change.FacilityCode), cancellationToken);
            }
            await ApplyAsync(connection, transaction, change, cancellationToken);
        }, cancellationToken);

    /// <summary>Retires a facility: it stays in the directory for what points to it, but takes no new referrals.</summary>
    public Task<long> RetireFacilityAsync(string facilityCode, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            await RequireFacilityAsync(connection, transaction, facilityCode, cancellationToken);
            await using (var spoke = connection.Command("SELECT node_id FROM spoke_nodes WHERE facility_code = @code AND revoked_at IS NULL", transaction).With("@code", facilityCode))
            {
                if (await spoke.ExecuteScalarAsync(cancellationToken) is string node)
                {
                    throw new PreconditionFailedException("FACILITY_RUNS_SPOKE", $"Facility '{facilityCode}' runs spoke node '{node}'; revoke the node first.");
                }
            }
            await Execute(connection.Command("UPDATE facilities SET retired_at = COALESCE(retired_at, @now) WHERE facility_code = @code", transaction)
                .With("@now", clock.GetUtcNow().ToDbText()).With("@code", facilityCode), cancellationToken);
        }, cancellationToken);

    /// <summary>
    /// Loads trials: each replaces the catalogue's trial of the same id (a retired one comes back). Every site
    /// must be a facility of the directory that is not retired; any error refuses the whole load.
    /// </summary>
    public Task<long> LoadTrialsAsync(IReadOnlyList<Trial> trials, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            var active = new HashSet<string>(StringComparer.Ordinal);
            await using (var facilities = connection.Command("SELECT facility_code FROM facilities WHERE retired_at IS NULL", transaction))
            await using (var reader = await facilities.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    active.Add(reader.GetString(0));
                }
            }
            var violations = trials.SelectMany((trial, i) => trial.SiteFacilityCodes.Select((site, j) => (site, path: $"trials[{i}].sites[{j}]")))
                .Where(s => !active.Contains(s.site))
                .Select(s => new FieldViolation(s.path, $"'{s.site}' is not an active facility of the directory"))
                .ToList();
            if (violations.Count > 0)
            {
                throw new InvalidFieldsException(violations);
            }
            var now = clock.GetUtcNow().ToDbText();
            foreach (var trial in trials)
            {
                var stored = trial.Clone();
                stored.Retired = false;
                stored.DirectoryVersion = 0;
                await Execute(connection.Command(
                    """
                    INSERT INTO trials (trial_id, status, trial, loaded_at) VALUES (@id, @status, @trial, @now)
                    ON CONFLICT (trial_id) DO UPDATE SET status = excluded.status, trial = excluded.trial, loaded_at = excluded.loaded_at, retired_at = NULL
                    """, transaction)
                    .With("@id", trial.TrialId).With("@status", (int)trial.Status).With("@trial", stored.ToByteArray()).With("@now", now), cancellationToken);
                await Execute(connection.Command("DELETE FROM trial_sites WHERE trial_id = @id", transaction).With("@id", trial.TrialId), cancellationToken);
                foreach (var site in trial.SiteFacilityCodes.Distinct())
                {
                    await Execute(connection.Command("INSERT INTO trial_sites (trial_id, facility_code) VALUES (@id, @site)", transaction)
                        .With("@id", trial.TrialId).With("@site", site), cancellationToken);
                }
            }
        }, cancellationToken);

    public Task<long> RetireTrialAsync(string trialId, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            await using var retire = connection.Command("UPDATE trials SET retired_at = COALESCE(retired_at, @now) WHERE trial_id = @id", transaction)
                .With("@now", clock.GetUtcNow().ToDbText()).With("@id", trialId);
            if (await retire.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new ResourceNotFoundException("Trial", trialId);
            }
        }, cancellationToken);

    /// <summary>Retires an expert: no new consultations are assigned to them; their reports keep their name.</summary>
    public Task<long> RetireExpertAsync(string expertId, CancellationToken cancellationToken) =>
        ChangeAsync(async (connection, transaction) =>
        {
            await using var retire = connection.Command("UPDATE experts SET active = 0 WHERE expert_id = @id", transaction).With("@id", expertId);
            if (await retire.ExecuteNonQueryAsync(cancellationToken) == 0)
            {
                throw new ResourceNotFoundException("Expert", expertId);
            }
        }, cancellationToken);

    /// <summary>Publishes whatever differs from the published directory (at start-up, after an upgrade).</summary>
    public Task<long> RepublishAsync(CancellationToken cancellationToken) => ChangeAsync((_, _) => Task.CompletedTask, cancellationToken);

    private async Task<long> ChangeAsync(Func<DbConnection, DbTransaction, Task> change, CancellationToken cancellationToken)
    {
        var (version, notified) = await database.WriteAsync(async (connection, transaction) =>
        {
            await change(connection, transaction);
            var publication = await DirectoryPublisher.RepublishAsync(connection, transaction, clock.GetUtcNow(), cancellationToken);
            return publication is null
                ? (await DirectoryPublisher.VersionAsync(connection, cancellationToken, transaction), (IReadOnlyList<string>)[])
                : (publication.Version, publication.NotifiedNodes);
        }, cancellationToken);
        feed.Notify(notified);
        return version;
    }

    private static async Task ApplyAsync(DbConnection connection, DbTransaction transaction, FacilityChange change, CancellationToken cancellationToken)
    {
        if (change.OrganSpecialties is { } specialties)
        {
            if (specialties.Any(s => s == OrganSystem.Unspecified || !Enum.IsDefined(s)))
            {
                throw new InvalidFieldsException([new FieldViolation("organ_specialties", "must name known organ systems")]);
            }
            await Execute(connection.Command("DELETE FROM facility_specialties WHERE facility_code = @code", transaction).With("@code", change.FacilityCode), cancellationToken);
            foreach (var organ in specialties.Distinct())
            {
                await Execute(connection.Command("INSERT INTO facility_specialties (facility_code, organ_system) VALUES (@code, @organ)", transaction)
                    .With("@code", change.FacilityCode).With("@organ", (int)organ), cancellationToken);
            }
        }
        if (change.ContactUrl is { } url)
        {
            if (url.Length > 0 && (url.Length > 500 || !Uri.TryCreate(url, UriKind.Absolute, out var parsed) || parsed.Scheme != Uri.UriSchemeHttps))
            {
                throw new InvalidFieldsException([new FieldViolation("contact_url", "must be an https address of at most 500 characters, e.g. https://www.example-hospital.jp/patients/")]);
            }
            await Execute(connection.Command("UPDATE facilities SET contact_url = @url WHERE facility_code = @code", transaction)
                .With("@url", url).With("@code", change.FacilityCode), cancellationToken);
        }
        if (change.RareCancerCoreCenter is { } core)
        {
            await Execute(connection.Command("UPDATE facilities SET rare_cancer_core_center = @core WHERE facility_code = @code", transaction)
                .With("@core", core ? 1 : 0).With("@code", change.FacilityCode), cancellationToken);
        }
        if (change.ServedByAutomatic || change.ServedByNodeId is not null)
        {
            if (change.ServedByNodeId is { } node)
            {
                await using var exists = connection.Command("SELECT 1 FROM spoke_nodes WHERE node_id = @node AND revoked_at IS NULL", transaction).With("@node", node);
                if (await exists.ExecuteScalarAsync(cancellationToken) is null)
                {
                    throw new ResourceNotFoundException("Active spoke node", node);
                }
            }
            await Execute(connection.Command("UPDATE facilities SET served_by_node_override = @node WHERE facility_code = @code", transaction)
                .With("@node", change.ServedByNodeId).With("@code", change.FacilityCode), cancellationToken);
        }
    }

    private static async Task<string> RegionAsync(DbConnection connection, DbTransaction transaction, string prefecture, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT region FROM prefectures WHERE name_ja = @name", transaction).With("@name", prefecture);
        return await command.ExecuteScalarAsync(cancellationToken) as string
            ?? throw new InvalidFieldsException([new FieldViolation("prefecture", $"'{prefecture}' is not one of the 47 prefectures (write it in Japanese, e.g. 東京都)")]);
    }

    private static async Task RequireFacilityAsync(DbConnection connection, DbTransaction transaction, string facilityCode, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT 1 FROM facilities WHERE facility_code = @code", transaction).With("@code", facilityCode);
        if (await command.ExecuteScalarAsync(cancellationToken) is null)
        {
            throw new ResourceNotFoundException("Facility", facilityCode);
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Z0-9][A-Z0-9-]{0,31}$")]
    private static partial System.Text.RegularExpressions.Regex FacilityCodePattern();

    private static async Task Execute(DbCommand command, CancellationToken cancellationToken)
    {
        await using (command)
        {
            await command.ExecuteNonQueryAsync(cancellationToken);
        }
    }
}
