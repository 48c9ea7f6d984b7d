using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace RareCancerNetwork.Node.Storage;

/// <summary>
/// A database's connections kept open between uses, each with its compiled statements (<see cref="StatementReuse"/>).
/// Microsoft.Data.Sqlite's pool keeps the physical connection but hands out a new connection object on every open, and
/// a compiled statement lives only as long as its connection object: every read compiled its SQL afresh (SQLite's parser
/// and planner were about a sixth of an authenticated read's CPU in a <c>perf</c> profile). Code opens and disposes its
/// connections as usual; disposing one of these puts it back here when it is clean — no transaction open, no statement
/// still running, so the next user cannot find itself inside someone else's snapshot — and closes it otherwise, when
/// enough are idle already, or after a while unused.
/// </summary>
internal sealed class KeptConnections : IDisposable
{
    /// <summary>More than the calls that read at once on a node's cores; a burst beyond it opens and closes as before.</summary>
    private const int MostIdle = 16;

    /// <summary>An idle connection holds open files and its page cache; one unused this long is closed.</summary>
    private static readonly TimeSpan IdleLifetime = TimeSpan.FromSeconds(10);

    private readonly Stack<KeptConnection> _idle = new();
    private readonly Timer _closer;
    private bool _closerRunning;
    private bool _disposed;

    public KeptConnections() => _closer = new Timer(static state => ((KeptConnections)state!).CloseUnused(), this, Timeout.Infinite, Timeout.Infinite);

    /// <summary>An idle connection (the most recently used, whose pages are warmest), or null when none is.</summary>
    public SqliteConnection? Take()
    {
        lock (_idle)
        {
            while (_idle.TryPop(out var connection))
            {
                if (connection.Lend())
                {
                    return connection;
                }
            }
        }
        return null;
    }

    /// <summary>A newly opened connection that goes back to this pool when disposed.</summary>
    public static SqliteConnection Create(KeptConnections pool, string connectionString) => new KeptConnection(pool, connectionString);

    /// <summary>Starts keeping a newly opened connection's compiled statements; a connection <see cref="Create"/> made, or none.</summary>
    public static void Attach(SqliteConnection connection)
    {
        if (connection is KeptConnection kept)
        {
            kept.Attach();
        }
    }

    /// <summary>True when <paramref name="connection"/> was taken back (its user must not close it).</summary>
    private bool Keep(KeptConnection connection)
    {
        if (!connection.IsClean())
        {
            return false;
        }
        lock (_idle)
        {
            if (_disposed || _idle.Count >= MostIdle)
            {
                return false;
            }
            connection.IdleSince = Environment.TickCount64;
            _idle.Push(connection);
            if (!_closerRunning)
            {
                _closerRunning = true;
                _closer.Change(IdleLifetime, IdleLifetime);
            }
        }
        return true;
    }

    private void CloseUnused()
    {
        var unused = new List<KeptConnection>();
        lock (_idle)
        {
            var now = Environment.TickCount64;
            // The stack's bottom holds the longest idle; keep the rest in their order.
            var all = _idle.ToArray();
            _idle.Clear();
            for (var index = all.Length - 1; index >= 0; index--)
            {
                if (now - all[index].IdleSince >= (long)IdleLifetime.TotalMilliseconds)
                {
                    unused.Add(all[index]);
                }
                else
                {
                    _idle.Push(all[index]);
                }
            }
            if (_idle.Count == 0 && _closerRunning)
            {
                _closerRunning = false;
                _closer.Change(Timeout.Infinite, Timeout.Infinite);
            }
        }
        CloseAll(unused);
    }

    /// <summary>Closes every idle connection; connections in use close when their users dispose them.</summary>
    public void Dispose()
    {
        List<KeptConnection> idle;
        lock (_idle)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }
        _closer.Dispose();
        CloseAll(idle);
    }

    private static void CloseAll(List<KeptConnection> connections)
    {
        foreach (var connection in connections)
        {
            try
            {
                connection.CloseForGood();
            }
            catch (SqliteException)
            {
                // Ignored on purpose: an idle connection has nothing to lose, and closing the others matters more.
            }
        }
    }

    private sealed class KeptConnection(KeptConnections pool, string connectionString) : SqliteConnection(connectionString)
    {
        private StatementReuse? _statements;

        /// <summary>Whether a user holds it: disposing it twice must not put it back twice.</summary>
        private int _lent = 1;

        public long IdleSince { get; set; }

        public void Attach() => _statements ??= StatementReuse.Attach(this);

        public bool Lend() => State == System.Data.ConnectionState.Open && Interlocked.Exchange(ref _lent, 1) == 0;

        /// <summary>
        /// No transaction open and every command given out disposed (a command still held may have rows still being read,
        /// whose statement holds a read snapshot). The node's code makes its commands through <see cref="SqlCommands.Command"/>.
        /// </summary>
        public bool IsClean() =>
            State == System.Data.ConnectionState.Open && Handle is { } handle && raw.sqlite3_get_autocommit(handle) != 0
            && _statements is { CommandsInUse: 0 };

        public override void Close()
        {
            if (Interlocked.Exchange(ref _lent, 0) == 0)
            {
                // Already back in the pool (or closed): a second dispose by the same user changes nothing.
                return;
            }
            if (pool.Keep(this))
            {
                return;
            }
            CloseForGood();
        }

        public void CloseForGood()
        {
            Volatile.Write(ref _lent, 0);
            _statements?.Dispose();
            _statements = null;
            base.Close();
        }
    }
}
