using RareCancerNetwork.Hub.Cli;

namespace RareCancerNetwork.Hub;

public static class Program
{
    public static Task<int> Main(string[] args) => HubCommandLine.Create().Parse(args).InvokeAsync();
}
