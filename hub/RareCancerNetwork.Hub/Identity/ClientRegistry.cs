using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using System.Data.Common;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using RareCancerNetwork.Hub.Directory;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Authorization;
using RareCancerNetwork.Node.Errors;
using RareCancerNetwork.Node.Storage;
using RareCancerNetwork.Protos.Contract;
using RareCancerNetwork.Protos.V1;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>A registered OAuth client as the network knows it.</summary>
public sealed record ApiClient(string ClientId, string Kind, string DisplayName, string? FacilityCode, string? NodeId, string? ExpertId, DateTimeOffset? RevokedAt);

/// <summary>Credentials shown once, at registration: a secret, or for nodes the registered certificate's thumbprint.</summary>
public sealed record IssuedCredentials(string ClientId, string? ClientSecret, string Scope, string? CertificateThumbprint = null);

/// <summary>
/// Registers spoke nodes, their local clients and expert pathologists: the network record in
/// the hub store, the OAuth client (hashed secret, permissions) in OpenIddict's store.
/// </summary>
public sealed partial class ClientRegistry(HubDatabase database, IOpenIddictApplicationManager applications, TimeProvider clock)
{
    public async Task<ApiClient?> FindAsync(string clientId, CancellationToken cancellationToken)
    {
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var command = connection.Command(
            "SELECT client_id, kind, display_name, facility_code, node_id, expert_id, revoked_at FROM api_clients WHERE client_id = @id")
            .With("@id", clientId);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken)
            ? new ApiClient(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetNullableString(3),
                reader.GetNullableString(4), reader.GetNullableString(5), reader.GetNullableInstant(6))
            : null;
    }

    /// <summary>Registers a spoke node that authenticates with its self-signed client certificate (no shared secret).</summary>
    public async Task<IssuedCredentials> RegisterSpokeNodeAsync(string nodeId, string facilityCode, X509Certificate2 clientCertificate, CancellationToken cancellationToken)
    {
        RequireClientCertificate(clientCertificate);
        RequireIdentifier("node_id", nodeId);
        var now = clock.GetUtcNow().ToDbText();
        var clientId = $"node-{nodeId}";
        return await database.WriteAsync(async (connection, transaction) =>
        {
            var facilityName = await FacilityNameAsync(connection, transaction, facilityCode, cancellationToken);
            await InsertAsync(connection.Command("INSERT INTO spoke_nodes (node_id, facility_code, registered_at) VALUES (@node, @facility, @now)", transaction)
                .With("@node", nodeId).With("@facility", facilityCode).With("@now", now), $"Spoke node '{nodeId}'", cancellationToken);
            // The facility running a spoke is its region's rare-cancer core center; which spoke serves whom changes with it.
            await using (var core = connection.Command("UPDATE facilities SET rare_cancer_core_center = 1 WHERE facility_code = @facility", transaction).With("@facility", facilityCode))
            {
                await core.ExecuteNonQueryAsync(cancellationToken);
            }
            await DirectoryPublisher.RepublishAsync(connection, transaction, clock.GetUtcNow(), cancellationToken);
            await InsertClientAsync(connection, transaction, clientId, NetworkClaims.Kinds.SpokeNode, $"{facilityName} spoke node", facilityCode, nodeId, null, now,
                cancellationToken, CertificateThumbprints.Of(clientCertificate));
            var credentials = await CreateApplicationAsync(clientId, $"Spoke node {nodeId} ({facilityCode})",
                [NetworkClaims.Scopes.Sync, NetworkClaims.Scopes.Directory], cancellationToken, clientCertificate);
            return credentials;
        }, cancellationToken);
    }

    public async Task<IssuedCredentials> RegisterLocalClientAsync(string nodeId, string clientName, string displayName, CancellationToken cancellationToken)
    {
        RequireIdentifier("client_name", clientName);
        var clientId = $"local-{nodeId}-{clientName}";
        var now = clock.GetUtcNow().ToDbText();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            await using var find = connection.Command("SELECT facility_code FROM spoke_nodes WHERE node_id = @node AND revoked_at IS NULL", transaction).With("@node", nodeId);
            var facilityCode = await find.ExecuteScalarAsync(cancellationToken) as string
                ?? throw new ResourceNotFoundException("Spoke node", nodeId);
            await InsertClientAsync(connection, transaction, clientId, NetworkClaims.Kinds.SpokeUser, displayName, facilityCode, nodeId, null, now, cancellationToken);
            var credentials = await CreateApplicationAsync(clientId, $"{displayName} at {nodeId}", [NetworkClaims.Scopes.Local], cancellationToken);
            return credentials;
        }, cancellationToken);
    }

    public async Task<IssuedCredentials> RegisterExpertAsync(string expertId, string displayName, IReadOnlyCollection<OrganSystem> specialties, int capacity, CancellationToken cancellationToken)
    {
        RequireIdentifier("expert_id", expertId);
        if (specialties.Count == 0 || specialties.Any(s => s == OrganSystem.Unspecified || !Enum.IsDefined(s)))
        {
            throw new InvalidFieldsException([new FieldViolation("specialties", "at least one known organ system is required")]);
        }
        if (capacity is < 1 or > ContractLimits.ExpertCapacity)
        {
            throw new InvalidFieldsException([new FieldViolation("capacity", $"must be between 1 and {ContractLimits.ExpertCapacity}")]);
        }
        var clientId = $"expert-{expertId}";
        var now = clock.GetUtcNow().ToDbText();
        return await database.WriteAsync(async (connection, transaction) =>
        {
            await InsertAsync(connection.Command("INSERT INTO experts (expert_id, display_name, capacity, registered_at) VALUES (@id, @name, @capacity, @now)", transaction)
                .With("@id", expertId).With("@name", displayName).With("@capacity", capacity).With("@now", now), $"Expert '{expertId}'", cancellationToken);
            foreach (var specialty in specialties.Distinct())
            {
                await using var insert = connection.Command("INSERT INTO expert_specialties (expert_id, organ_system) VALUES (@id, @organ)", transaction)
                    .With("@id", expertId).With("@organ", (int)specialty);
                await insert.ExecuteNonQueryAsync(cancellationToken);
            }
            await InsertClientAsync(connection, transaction, clientId, NetworkClaims.Kinds.Expert, displayName, null, null, expertId, now, cancellationToken);
            await DirectoryPublisher.RepublishAsync(connection, transaction, clock.GetUtcNow(), cancellationToken);
            var credentials = await CreateApplicationAsync(clientId, $"Expert pathologist {displayName}",
                [NetworkClaims.Scopes.Expert, NetworkClaims.Scopes.Directory], cancellationToken);
            return credentials;
        }, cancellationToken);
    }

    /// <summary>
    /// Revokes a spoke node and every client registered to it: their OAuth clients are removed (no new
    /// tokens) and the registry marks them revoked, which the hub checks on every call (refused at once).
    /// </summary>
    public async Task<IReadOnlyList<string>> RevokeNodeAsync(string nodeId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow().ToDbText();
        var clientIds = new List<string>();
        await database.WriteAsync(async (connection, transaction) =>
        {
            clientIds.Clear();
            await using (var node = connection.Command("UPDATE spoke_nodes SET revoked_at = @now WHERE node_id = @node AND revoked_at IS NULL", transaction)
                .With("@now", now).With("@node", nodeId))
            {
                if (await node.ExecuteNonQueryAsync(cancellationToken) == 0)
                {
                    throw new ResourceNotFoundException("Active spoke node", nodeId);
                }
            }
            await using (var clients = connection.Command("UPDATE api_clients SET revoked_at = @now WHERE node_id = @node AND revoked_at IS NULL RETURNING client_id", transaction)
                .With("@now", now).With("@node", nodeId))
            await using (var reader = await clients.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    clientIds.Add(reader.GetString(0));
                }
            }
            // The facilities it served pass to another spoke.
            await DirectoryPublisher.RepublishAsync(connection, transaction, clock.GetUtcNow(), cancellationToken);
        }, cancellationToken);
        foreach (var clientId in clientIds)
        {
            if (await applications.FindByClientIdAsync(clientId, cancellationToken) is { } application)
            {
                await applications.DeleteAsync(application, cancellationToken);
            }
        }
        return clientIds;
    }

    /// <summary>Replaces a node's registered certificate; tokens bound to the old one stop working at once.</summary>
    public async Task<IssuedCredentials> RotateNodeCertificateAsync(string nodeId, X509Certificate2 clientCertificate, CancellationToken cancellationToken)
    {
        RequireClientCertificate(clientCertificate);
        var clientId = $"node-{nodeId}";
        var client = await FindAsync(clientId, cancellationToken);
        var application = client is null || client.RevokedAt is not null ? null : await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (application is null)
        {
            throw new ResourceNotFoundException("Active spoke node", nodeId);
        }
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        descriptor.JsonWebKeySet = KeySetOf(clientCertificate);
        await applications.UpdateAsync(application, descriptor, cancellationToken);
        await using var connection = await database.OpenAsync(cancellationToken);
        await using var update = connection.Command("UPDATE api_clients SET certificate_thumbprint = @thumbprint WHERE client_id = @id")
            .With("@thumbprint", CertificateThumbprints.Of(clientCertificate)).With("@id", clientId);
        await update.ExecuteNonQueryAsync(cancellationToken);
        return new IssuedCredentials(clientId, null, NetworkClaims.Scopes.Sync, CertificateThumbprints.Of(clientCertificate));
    }

    /// <summary>Replaces a client's secret; the old one stops working at once for new tokens.</summary>
    public async Task<IssuedCredentials> RotateSecretAsync(string clientId, CancellationToken cancellationToken)
    {
        var client = await FindAsync(clientId, cancellationToken);
        var application = client is null || client.RevokedAt is not null ? null : await applications.FindByClientIdAsync(clientId, cancellationToken);
        if (application is null)
        {
            throw new ResourceNotFoundException("Active client", clientId);
        }
        var descriptor = new OpenIddictApplicationDescriptor();
        await applications.PopulateAsync(descriptor, application, cancellationToken);
        var secret = Base64Url(RandomNumberGenerator.GetBytes(32));
        descriptor.ClientSecret = secret;
        await applications.UpdateAsync(application, descriptor, cancellationToken);
        return new IssuedCredentials(clientId, secret, string.Join(' ', descriptor.Permissions
            .Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal)).Select(p => p[Permissions.Prefixes.Scope.Length..])));
    }

    private async Task<IssuedCredentials> CreateApplicationAsync(string clientId, string displayName, string[] scopes, CancellationToken cancellationToken,
        X509Certificate2? clientCertificate = null)
    {
        // The registry row, inserted first in the same transaction, decides whether the client is new. An
        // OAuth client without one was left by an attempt whose transaction did not commit (the store ran
        // it again after a conflict with another instance): it is replaced, never handed out twice.
        if (await applications.FindByClientIdAsync(clientId, cancellationToken) is { } orphan)
        {
            await applications.DeleteAsync(orphan, cancellationToken);
        }
        var secret = clientCertificate is null ? Base64Url(RandomNumberGenerator.GetBytes(32)) : null;
        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            DisplayName = displayName,
            JsonWebKeySet = clientCertificate is null ? null : KeySetOf(clientCertificate),
            Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials },
        };
        foreach (var scope in scopes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + scope);
        }
        // Note: OpenIddict stores only a slow hash of the secret; it is shown once, here.
        await applications.CreateAsync(descriptor, cancellationToken);
        return new IssuedCredentials(clientId, secret, string.Join(' ', scopes), clientCertificate is null ? null : CertificateThumbprints.Of(clientCertificate));
    }

    private static JsonWebKeySet KeySetOf(X509Certificate2 certificate) =>
        new() { Keys = { JsonWebKeyConverter.ConvertFromX509SecurityKey(new X509SecurityKey(certificate), representAsRsaKey: false) } };

    private static void RequireClientCertificate(X509Certificate2 certificate)
    {
        var usable = certificate.NotAfter > DateTime.UtcNow && certificate.NotBefore <= DateTime.UtcNow.AddMinutes(5)
            && certificate.Extensions.OfType<X509EnhancedKeyUsageExtension>().Any(e => e.EnhancedKeyUsages.Cast<Oid>().Any(o => o.Value == "1.3.6.1.5.5.7.3.2"));
        if (!usable)
        {
            throw new InvalidFieldsException([new FieldViolation("certificate", "must be a currently valid certificate with the client-authentication usage")]);
        }
    }

    private static async Task<string> FacilityNameAsync(DbConnection connection, DbTransaction transaction, string facilityCode, CancellationToken cancellationToken)
    {
        await using var command = connection.Command("SELECT name_ja FROM facilities WHERE facility_code = @code", transaction).With("@code", facilityCode);
        return await command.ExecuteScalarAsync(cancellationToken) as string ?? throw new ResourceNotFoundException("Facility", facilityCode);
    }

    private static async Task InsertClientAsync(DbConnection connection, DbTransaction transaction, string clientId, string kind,
        string displayName, string? facilityCode, string? nodeId, string? expertId, string now, CancellationToken cancellationToken,
        string? certificateThumbprint = null) =>
        await InsertAsync(connection.Command(
            """
            INSERT INTO api_clients (client_id, kind, display_name, facility_code, node_id, expert_id, registered_at, certificate_thumbprint)
            VALUES (@id, @kind, @name, @facility, @node, @expert, @now, @thumbprint)
            """,
            transaction).With("@id", clientId).With("@kind", kind).With("@name", displayName).With("@facility", facilityCode)
            .With("@node", nodeId).With("@expert", expertId).With("@now", now).With("@thumbprint", certificateThumbprint), $"Client '{clientId}'", cancellationToken);

    private static async Task InsertAsync(System.Data.Common.DbCommand command, string what, CancellationToken cancellationToken)
    {
        await using (command)
        {
            try
            {
                await command.ExecuteNonQueryAsync(cancellationToken);
            }
            catch (System.Data.Common.DbException exception) when (StoreErrors.IsUniqueViolation(exception))
            {
                throw new ConflictException($"{what} is already registered.");
            }
        }
    }

    private static void RequireIdentifier(string field, string value)
    {
        if (!Identifier().IsMatch(value))
        {
            throw new InvalidFieldsException([new FieldViolation(field, "must be 3-48 characters of a-z, 0-9 and '-', starting with a letter or digit")]);
        }
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{2,47}$")]
    private static partial Regex Identifier();
}
