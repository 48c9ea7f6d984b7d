using Microsoft.EntityFrameworkCore;

namespace RareCancerNetwork.Hub.Identity;

/// <summary>OpenIddict's own tables (applications, scopes, tokens), kept by its maintained EF Core stores.</summary>
public sealed class HubIdentityDbContext(DbContextOptions<HubIdentityDbContext> options) : DbContext(options);
