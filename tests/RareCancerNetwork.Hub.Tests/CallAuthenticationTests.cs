using Microsoft.AspNetCore.Http;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.Hub.Tests;

/// <summary>
/// Which requests skip the OAuth server's request handling: gRPC calls only. Token requests (form posts), the device
/// verification and sign-in pages and discovery keep ASP.NET Core's whole authentication.
/// </summary>
public sealed class CallAuthenticationTests
{
    [Theory]
    [InlineData("application/grpc", true)]
    [InlineData("application/grpc+proto", true)]
    [InlineData("application/GRPC", true)]
    [InlineData("application/grpc;charset=utf-8", true)]
    [InlineData("application/grpc-web", false)]
    [InlineData("application/x-www-form-urlencoded", false)]
    [InlineData("text/html", false)]
    [InlineData(null, false)]
    public void OnlyAGrpcCall_IsAuthenticatedWithoutTheOAuthServersHandler(string? contentType, bool isCall)
    {
        var request = new DefaultHttpContext().Request;
        request.ContentType = contentType;
        Assert.Equal(isCall, CallAuthentication.IsGrpcCall(request));
    }
}
