using System.Security.Cryptography.X509Certificates;

namespace RareCancerNetwork.Spoke.HubClient;

/// <summary>The node's client certificate, shared by the token client and the gRPC channel to the hub.</summary>
public sealed record NodeIdentity(X509Certificate2 ClientCertificate);
