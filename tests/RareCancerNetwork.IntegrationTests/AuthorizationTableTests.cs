using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using RareCancerNetwork.IntegrationTests.Infrastructure;
using RareCancerNetwork.Node.Authorization;

namespace RareCancerNetwork.IntegrationTests;

/// <summary>The declared table covers every RPC the nodes serve, and the docs show exactly that table.</summary>
[Collection(NetworkCollection.Name)]
public sealed class AuthorizationTableTests(TestNetwork network)
{
    [Fact]
    public void EveryRpcServedByTheHub_HasADeclaredPolicy() =>
        AssertCovered(ServedMethods(network.Hub.Services), RpcPolicies.Hub);

    [Fact]
    public void EveryRpcServedByASpoke_HasADeclaredPolicy() =>
        AssertCovered(ServedMethods(network.SpokeA.Services), RpcPolicies.Spoke);

    [Fact]
    public void EveryRpcInTheContracts_IsDeclaredExactlyOnce()
    {
        var contractMethods = ContractMethods.All.Select(ContractMethods.Path).Order().ToList();
        var declared = RpcPolicies.Hub.Keys.Concat(RpcPolicies.Spoke.Keys).Order().ToList();
        Assert.Equal(contractMethods, declared);
    }

    [Fact]
    public void DocsAuthorizationTable_MatchesTheDeclaredPolicies()
    {
        var docs = File.ReadAllText(Path.Combine(NodeProcess.RepositoryRoot, "docs", "authorization.md")).ReplaceLineEndings("\n");
        Assert.True(docs.Contains(RpcPolicies.ToMarkdown(), StringComparison.Ordinal),
            "docs/authorization.md is out of date; replace its table with:\n" + RpcPolicies.ToMarkdown());
    }

    private static List<string> ServedMethods(IServiceProvider services) =>
        services.GetServices<EndpointDataSource>().SelectMany(source => source.Endpoints)
            .Select(endpoint => endpoint.Metadata.GetMetadata<GrpcMethodMetadata>())
            .Where(metadata => metadata is not null)
            .Select(metadata => metadata!.Method.FullName)
            .Where(method => !RpcPolicies.IsInfrastructure(method))
            .Distinct().Order().ToList();

    private static void AssertCovered(List<string> served, IReadOnlyDictionary<string, RpcPolicy> policies)
    {
        Assert.NotEmpty(served);
        var missing = served.Where(method => !policies.ContainsKey(method)).ToList();
        Assert.True(missing.Count == 0, "RPCs without a declared policy: " + string.Join(", ", missing));
    }
}
