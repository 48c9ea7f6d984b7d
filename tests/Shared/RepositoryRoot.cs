namespace RareCancerNetwork.Tests.Shared;

/// <summary>The checkout the tests run from, for the documented examples they check.</summary>
public static class RepositoryRoot
{
    public static string Path { get; } = Find();

    public static string File(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    private static string Find()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(directory.FullName, "RareCancerNetwork.sln")))
            {
                return directory.FullName;
            }
        }
        throw new InvalidOperationException("RareCancerNetwork.sln not found above the test assembly.");
    }
}
