using Spectre.Console;

namespace RareCancerNetwork.Node.CommandLine;

/// <summary>Progress bars for files crossing the network (uploads at the spoke, an expert's downloads), one bar per file.</summary>
public static class TransferProgress
{
    /// <summary>Runs <paramref name="transfer"/> for each file in turn; it reports the bytes done through the callback it is given.</summary>
    public static Task RunAsync(IReadOnlyList<(string Name, long SizeBytes)> files, Func<int, Action<long>, Task> transfer) =>
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
            .StartAsync(async context =>
            {
                var bars = files.Select(file => context.AddTask(Markup.Escape(file.Name), autoStart: false, maxValue: Math.Max(1, file.SizeBytes))).ToList();
                for (var i = 0; i < files.Count; i++)
                {
                    var bar = bars[i];
                    bar.StartTask();
                    await transfer(i, bytes => bar.Value = bytes);
                    bar.Value = bar.MaxValue;
                    bar.StopTask();
                }
            });
}
