namespace RareCancerNetwork.Node.Hosting;

/// <summary>
/// HTTP/2 keepalive between the network's nodes, the same on both ends: a ping after 10 seconds without traffic, and the
/// connection given up when it goes unanswered for 5 — a dead connection is noticed within about fifteen seconds.
/// </summary>
public static class KeepAlive
{
    public static readonly TimeSpan PingDelay = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(5);
}
