using Google.Rpc;
using Grpc.Core;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Assertions on gRPC failures, including the rich google.rpc details.</summary>
public static class RpcAssert
{
    public static async Task<RpcException> FailsAsync(StatusCode expected, Func<Task> call)
    {
        var exception = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == exception.StatusCode, $"Expected {expected} but got {exception.StatusCode}: {exception.Status.Detail}");
        return exception;
    }

    /// <summary>INVALID_ARGUMENT whose BadRequest details name exactly these fields (and the message names them too).</summary>
    public static async Task InvalidFieldsAsync(Func<Task> call, params string[] fields)
    {
        var exception = await FailsAsync(StatusCode.InvalidArgument, call);
        var status = exception.GetRpcStatus() ?? throw new Xunit.Sdk.XunitException("No google.rpc.Status in the trailers.");
        var badRequest = status.GetDetail<BadRequest>() ?? throw new Xunit.Sdk.XunitException("No BadRequest detail.");
        Assert.Equal(fields.Order(), badRequest.FieldViolations.Select(v => v.Field).Distinct().Order());
        foreach (var field in fields)
        {
            Assert.Contains(field, exception.Status.Detail, StringComparison.Ordinal);
        }
    }
}
