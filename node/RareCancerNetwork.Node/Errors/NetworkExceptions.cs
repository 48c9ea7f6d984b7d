namespace RareCancerNetwork.Node.Errors;

/// <summary>
/// Domain failures thrown by services and mapped to gRPC statuses in one place
/// (<see cref="ErrorMappingInterceptor"/>). Messages must be safe to show: no patient data.
/// </summary>
public abstract class NetworkException(string message) : Exception(message);

/// <summary>One invalid field: its proto path (e.g. <c>details.specimen.topography_code</c>) and what is wrong.</summary>
public sealed record FieldViolation(string Field, string Description);

/// <summary>Fields failed validation → INVALID_ARGUMENT with BadRequest details.</summary>
public sealed class InvalidFieldsException(IReadOnlyList<FieldViolation> violations)
    : NetworkException("Invalid request: " + string.Join("; ", violations.Select(v => $"{v.Field}: {v.Description}")))
{
    public IReadOnlyList<FieldViolation> Violations { get; } = violations;
}

/// <summary>The resource does not exist (or the caller may not know it exists) → NOT_FOUND.</summary>
public sealed class ResourceNotFoundException(string resourceType, string id, string? reason = null)
    : NetworkException(reason is null ? $"{resourceType} '{id}' was not found." : $"{resourceType} '{id}' was not found: {reason}.")
{
    public string ResourceType { get; } = resourceType;
}

/// <summary>The caller is authenticated but may not do this → PERMISSION_DENIED.</summary>
public sealed class AccessDeniedException(string message) : NetworkException(message);

/// <summary>The id exists with different content → ALREADY_EXISTS.</summary>
public sealed class ConflictException(string message) : NetworkException(message);

/// <summary>The system is not in the state the request assumes (stale version, wrong status) → FAILED_PRECONDITION.</summary>
public sealed class PreconditionFailedException(string reason, string message) : NetworkException(message)
{
    /// <summary>Machine-readable reason, e.g. <c>STALE_VERSION</c>.</summary>
    public string Reason { get; } = reason;
}

/// <summary>
/// A quota or size limit was hit → RESOURCE_EXHAUSTED. Not retried automatically by clients, unless
/// <see cref="RetryAfter"/> says when the condition may have passed (a full disk an operator frees).
/// </summary>
public sealed class LimitExceededException(string message, TimeSpan? retryAfter = null) : NetworkException(message)
{
    public TimeSpan? RetryAfter { get; } = retryAfter;
}

/// <summary>Bytes arrived that do not match their SHA-256 (a chunk, or a whole file) → DATA_LOSS: send them again.</summary>
public sealed class TransferCorruptedException(string message) : NetworkException(message);

/// <summary>Another upload of the same file is under way (one writer per file) → ABORTED: try again shortly.</summary>
public sealed class TransferBusyException(string message) : NetworkException(message);
