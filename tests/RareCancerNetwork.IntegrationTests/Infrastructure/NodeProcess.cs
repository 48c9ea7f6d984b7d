using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace RareCancerNetwork.IntegrationTests.Infrastructure;

/// <summary>
/// A hub or spoke running as its own OS process (the built program, as an operator runs it),
/// so tests can kill it with SIGKILL and restart it on the same data folder.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();
    private readonly SemaphoreSlim _lineArrived = new(0);
    private readonly bool _isLog;

    private NodeProcess(Process process, bool isLog)
    {
        _process = process;
        _isLog = isLog;
        _process.OutputDataReceived += (_, e) => Receive(e.Data);
        _process.ErrorDataReceived += (_, e) => Receive(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public static string RepositoryRoot { get; } = RareCancerNetwork.Tests.Shared.RepositoryRoot.Path;

    public static string HubProgram => Program("hub", "RareCancerNetwork.Hub");

    public static string SpokeProgram => Program("spoke", "RareCancerNetwork.Spoke");

    public string Output => string.Join(Environment.NewLine, _output);

    /// <summary>Starts a node process; a serving node's output is its log, which the run's log scan reads.</summary>
    public static NodeProcess Start(string program, IEnumerable<string> arguments, IDictionary<string, string>? environment = null) =>
        Start(program, arguments, environment, isLog: true);

    private static NodeProcess Start(string program, IEnumerable<string> arguments, IDictionary<string, string>? environment, bool isLog)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(program);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        info.Environment["Logging__LogLevel__Default"] = "Information";
        info.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }
        return new NodeProcess(Process.Start(info) ?? throw new InvalidOperationException($"Could not start {program}."), isLog);
    }

    /// <summary>Runs a command to completion and returns its output; fails the test on a non-zero exit.</summary>
    public static Task<string> RunAsync(string program, params string[] arguments) => RunAsync(program, null, arguments);

    /// <summary>Runs a command to completion with these environment settings; fails the test on a non-zero exit.</summary>
    public static async Task<string> RunAsync(string program, IDictionary<string, string>? environment, params string[] arguments)
    {
        var (exitCode, output) = await RunForExitCodeAsync(program, environment, arguments);
        Assert.True(exitCode == 0, $"'{string.Join(' ', arguments)}' exited {exitCode}:\n{output}");
        return output;
    }

    /// <summary>Runs a command to completion; returns its exit code and output.</summary>
    public static Task<(int ExitCode, string Output)> RunForExitCodeAsync(string program, params string[] arguments) =>
        RunForExitCodeAsync(program, null, arguments);

    /// <summary>Runs a command to completion with these environment settings (e.g. the hub's store); returns its exit code and output.</summary>
    public static async Task<(int ExitCode, string Output)> RunForExitCodeAsync(string program, IDictionary<string, string>? environment, params string[] arguments)
    {
        // A command's output is what it shows the person who ran it at their own facility (their local ids, a secret issued
        // once), not a log: the scan leaves it out.
        using var node = Start(program, arguments, environment, isLog: false);
        await node._process.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromMinutes(2), TestContext.Current.CancellationToken);
        node._process.WaitForExit();
        return (node._process.ExitCode, node.Output);
    }

    /// <summary>Waits for an output line matching <paramref name="pattern"/> and returns its first group.</summary>
    public async Task<string> WaitForLineAsync(string pattern, TimeSpan? limit = null)
    {
        var regex = new Regex(pattern);
        var deadline = DateTime.UtcNow + (limit ?? TimeSpan.FromSeconds(60));
        while (true)
        {
            foreach (var line in _output)
            {
                var match = regex.Match(line);
                if (match.Success)
                {
                    return match.Groups.Count > 1 ? match.Groups[1].Value : match.Value;
                }
            }
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The process exited ({_process.ExitCode}) before printing /{pattern}/:\n{Output}");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"No line matching /{pattern}/ within the limit:\n{Output}");
            }
            await _lineArrived.WaitAsync(TimeSpan.FromMilliseconds(250), TestContext.Current.CancellationToken);
        }
    }

    /// <summary>The most memory the process has held resident so far (VmHWM on Linux).</summary>
    public long PeakWorkingSetBytes
    {
        get
        {
            _process.Refresh();
            return _process.PeakWorkingSet64;
        }
    }

    /// <summary>SIGKILL: no shutdown hooks, no flushing; what was not durable is gone.</summary>
    public void KillHard()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public void Dispose()
    {
        KillHard();
        _process.Dispose();
    }

    /// <summary>A port that was free a moment ago, for a hub that must come back at the same address.</summary>
    public static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void Receive(string? line)
    {
        if (line is not null)
        {
            if (_isLog)
            {
                LogScan.Capture(line);
            }
            _output.Enqueue(line);
            _lineArrived.Release();
        }
    }

    private static string Program(string folder, string name)
    {
        // Same configuration as this test assembly (bin/<Configuration>/net10.0).
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var path = Path.Combine(RepositoryRoot, folder, name, "bin", configuration, "net10.0", name + ".dll");
        return File.Exists(path) ? path : throw new FileNotFoundException($"Build the solution first: {path} is missing.");
    }
}
