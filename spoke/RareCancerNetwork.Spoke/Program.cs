using RareCancerNetwork.Node.CommandLine;
using RareCancerNetwork.Spoke.Cli;

namespace RareCancerNetwork.Spoke;

public static class Program
{
    public static Task<int> Main(string[] args)
    {
        ConsoleOutput.Configure();
        return SpokeCommandLine.Create().Parse(args).InvokeAsync();
    }
}
