using System.Net;
using System.Net.Sockets;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// A TCP load balancer in miniature, on 127.0.0.1 (port 0): each connection goes to the first backend
/// that accepts it, in the order given, and TLS passes through untouched (so client certificates reach
/// the hub, as they must). A backend that has died refuses, and the next one is taken: failover.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile int[] _backends;
    private volatile bool _stalled;
    private volatile int _cutReplyOfAtLeast;

    public TcpRelay(params int[] backendPorts)
    {
        _backends = backendPorts;
        _listener.Start();
        _accepting = AcceptAsync();
    }

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public string Url => $"https://127.0.0.1:{Port}/";

    /// <summary>Where new connections go from now on, first choice first.</summary>
    public void Route(params int[] backendPorts) => _backends = backendPorts;

    /// <summary>
    /// A black hole: connections stay open and new ones are accepted, but no byte gets through either way until
    /// <see cref="Heal"/> (a stalled firewall, a cable pulled without a reset: only keepalive and deadlines notice).
    /// </summary>
    public void Stall() => _stalled = true;

    /// <summary>Bytes flow again (those held during the stall go on).</summary>
    public void Heal() => _stalled = false;

    /// <summary>
    /// The next reply a backend sends back is not delivered: the connection is cut instead, as a reply lost on the way (the
    /// backend has done its work; the caller never hears of it). Bytes are encrypted here, so a reply is told from HTTP/2's
    /// own small frames (ping and window acknowledgements, ~40 bytes in TLS) by its size.
    /// </summary>
    public void CutNextReply(int ofAtLeastBytes = 64) => _cutReplyOfAtLeast = ofAtLeastBytes;

    /// <summary>Cuts every open connection (with <see cref="Route"/> to nothing: the network is down).</summary>
    public void DropConnections()
    {
        lock (_open)
        {
            foreach (var connection in _open)
            {
                connection.Dispose();
            }
            _open.Clear();
        }
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using (client)
        {
            foreach (var port in _backends)
            {
                var backend = new TcpClient();
                try
                {
                    await backend.ConnectAsync(IPAddress.Loopback, port, _stopping.Token);
                }
                catch (SocketException)
                {
                    backend.Dispose();
                    continue;
                }
                catch (OperationCanceledException)
                {
                    backend.Dispose();
                    return;
                }
                using (backend)
                {
                    lock (_open)
                    {
                        _open.Add(client);
                        _open.Add(backend);
                    }
                    // When either side ends, both do.
                    await Task.WhenAny(PumpAsync(client, backend, reply: false), PumpAsync(backend, client, reply: true));
                }
                return;
            }
        }
    }

    private async Task PumpAsync(TcpClient from, TcpClient to, bool reply)
    {
        try
        {
            var buffer = new byte[81920];
            var source = from.GetStream();
            var target = to.GetStream();
            int read;
            while ((read = await source.ReadAsync(buffer, _stopping.Token)) > 0)
            {
                while (_stalled)
                {
                    await Task.Delay(50, _stopping.Token);
                }
                if (reply && _cutReplyOfAtLeast > 0 && read >= _cutReplyOfAtLeast)
                {
                    _cutReplyOfAtLeast = 0;
                    from.Dispose();
                    to.Dispose();
                    return;
                }
                await target.WriteAsync(buffer.AsMemory(0, read), _stopping.Token);
            }
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        lock (_open)
        {
            foreach (var connection in _open)
            {
                connection.Dispose();
            }
        }
        await _accepting;
        _stopping.Dispose();
    }
}
