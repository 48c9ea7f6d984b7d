using RareCancerNetwork.Hub.Cli;
using RareCancerNetwork.Node.CommandLine;

namespace RareCancerNetwork.Hub;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        ConsoleOutput.Configure();
        return HubCommandLine.Create().Parse(args).InvokeAsync();
    }
}
