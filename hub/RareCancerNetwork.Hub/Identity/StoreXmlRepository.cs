using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.Repositories;
using RareCancerNetwork.Hub.Storage;
using RareCancerNetwork.Node.Storage;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>
/// ASP.NET Core data protection's key ring in the hub's store, so every instance protects and unprotects
/// with the same keys (a TOTP secret enrolled through one instance is read by another). The framework
/// calls this synchronously and rarely (at start and when the ring rotates).
/// </summary>
internal sealed class StoreXmlRepository(HubDatabase database) : IXmlRepository
{
    public IReadOnlyCollection<XElement> GetAllElements() => Task.Run(ReadAllAsync).GetAwaiter().GetResult();

    public void StoreElement(XElement element, string friendlyName) =>
        Task.Run(() => database.WriteAsync(async (connection, transaction) =>
        {
            await using var insert = connection.Command(
                "INSERT INTO data_protection_keys (friendly_name, xml, stored_at) VALUES (@name, @xml, @now) ON CONFLICT (friendly_name) DO NOTHING", transaction)
                .With("@name", friendlyName).With("@xml", element.ToString(SaveOptions.DisableFormatting)).With("@now", DateTimeOffset.UtcNow.ToDbText());
            await insert.ExecuteNonQueryAsync();
        }, CancellationToken.None)).GetAwaiter().GetResult();

    /// <summary>Imports the key files a hub kept in its data folder before keys moved into the store.</summary>
    public async Task ImportFolderOnceAsync(string folder)
    {
        if (!System.IO.Directory.Exists(folder) || (await ReadAllAsync()).Count > 0)
        {
            return;
        }
        foreach (var path in System.IO.Directory.GetFiles(folder, "*.xml"))
        {
            StoreElement(XElement.Load(path), Path.GetFileNameWithoutExtension(path));
        }
    }

    private async Task<IReadOnlyCollection<XElement>> ReadAllAsync()
    {
        await using var connection = await database.OpenAsync(CancellationToken.None);
        await using var command = connection.Command("SELECT xml FROM data_protection_keys ORDER BY friendly_name");
        await using var reader = await command.ExecuteReaderAsync();
        var elements = new List<XElement>();
        while (await reader.ReadAsync())
        {
            elements.Add(XElement.Parse(reader.GetString(0)));
        }
        return elements;
    }
}
