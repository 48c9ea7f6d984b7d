using System.CommandLine;

namespace RareCancerNetwork.Node.CommandLine;

public static class CommandOptions
{
    /// <summary>Adds a group of options shared between commands (and between the hub's and the spoke's programs).</summary>
    public static Command WithOptions(this Command command, IEnumerable<Option> options)
    {
        foreach (var option in options)
        {
            command.Options.Add(option);
        }
        return command;
    }
}
