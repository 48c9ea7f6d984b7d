using System.CommandLine;
using RareCancerNetwork.Spoke.HubClient;

namespace RareCancerNetwork.Spoke.Cli;

/// <summary>
/// Creates (once) the node's client certificate in its data folder and prints where the public part is,
/// for the hub administrator's <c>register-spoke --certificate</c>. The private key stays here.
/// </summary>
internal static class NodeCertificateCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Spoke data folder", DefaultValueFactory = _ => ".rcn/spoke" };
        var nodeId = new Option<string>("--node-id") { Description = "The node id it will be registered under", Required = true };
        var command = new Command("node-certificate", "Create the node's client certificate if needed and print the certificate file to register at the hub.") { data, nodeId };
        command.SetAction(result =>
        {
            var keys = Path.Combine(Path.GetFullPath(result.GetValue(data)!), "keys");
            using var certificate = NodeClientCertificate.LoadOrCreate(keys, result.GetValue(nodeId)!);
            Console.WriteLine($"Certificate: {Path.Combine(keys, NodeClientCertificate.CertificateFileName)}");
            Console.WriteLine($"SHA-256: {Convert.ToHexStringLower(certificate.GetCertHash(System.Security.Cryptography.HashAlgorithmName.SHA256))}");
            return 0;
        });
        return command;
    }
}
