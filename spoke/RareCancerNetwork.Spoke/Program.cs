using RareCancerNetwork.Spoke.Cli;

namespace RareCancerNetwork.Spoke;

public static class Program
{
    public static Task<int> Main(string[] args) => SpokeCommandLine.Create().Parse(args).InvokeAsync();
}
