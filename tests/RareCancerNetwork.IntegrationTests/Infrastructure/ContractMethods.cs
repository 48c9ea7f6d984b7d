using Google.Protobuf.Reflection;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>Every RPC the contract (rarecancer.network.v1) declares, read from the generated descriptors.</summary>
public static class ContractMethods
{
    public static IEnumerable<MethodDescriptor> All =>
        typeof(Protos.V1.CommonReflection).Assembly.GetTypes()
            .Where(t => t.Namespace == "RareCancerNetwork.Protos.V1" && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (FileDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
            .SelectMany(file => file.Services)
            .SelectMany(service => service.Methods);

    /// <summary>The gRPC path of a method, as the policy table keys it.</summary>
    public static string Path(MethodDescriptor method) => $"/{method.Service.FullName}/{method.Name}";
}
