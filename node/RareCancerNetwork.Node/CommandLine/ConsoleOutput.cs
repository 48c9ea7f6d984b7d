using Google.Protobuf;
using Spectre.Console;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>Console output both programs share: tables that stay readable when piped, and JSON for scripts.</summary>
public static class ConsoleOutput
{
    // Wide enough that no table cell wraps when a script reads the output.
    private const int RedirectedWidth = 4096;

    private static readonly JsonFormatter Json = new(JsonFormatter.Settings.Default.WithPreserveProtoFieldNames(true).WithFormatDefaultValues(true));

    /// <summary>Call once at start-up: when output is piped or redirected, lines are never wrapped to 80 columns.</summary>
    public static void Configure()
    {
        if (Console.IsOutputRedirected)
        {
            AnsiConsole.Profile.Width = RedirectedWidth;
        }
    }

    /// <summary>A message as JSON with the proto field names (the same names the input files use).</summary>
    public static void WriteJson(IMessage message) => Console.Out.WriteLine(ToJson(message));

    /// <summary>The same JSON as text, for files that other commands read back.</summary>
    public static string ToJson(IMessage message) => Json.Format(message);
}
