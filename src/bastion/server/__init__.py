"""The ASGI entry: ``uvicorn --factory bastion.server:create_app`` and ``bastion serve``.

``bastion serve`` (``run``) is one process, or with ``server.workers`` > 1 a supervisor
and that many worker processes, each a full Bastion (event loop, platform, database
pool, audit writer). Either way the listening socket is bound first, so a port in use is
one error line before anything boots.

- the supervisor boots once (discover, validate, migrate, bootstrap admin) and closes
  that platform again, so a bad profile is reported once and migrations run once: SQLite
  never sees concurrent migrators;
- it starts every worker with the ``spawn`` start method, handing it the socket. A
  worker boots without migrating (``migrate="verify"`` refuses a database that is not
  current) and serves on the shared socket, where the kernel hands each new connection
  to one worker;
- only worker 0 runs scheduled jobs; worker ``i`` > 0 spills audit rows to a file of its
  own (``spill.worker<i>.jsonl`` next to ``audit.spill_path``) so that no two writers
  replay one file. Spill files of workers that no longer exist (``workers`` was lowered)
  are appended to worker 0's before the workers start;
- the supervisor announces the URL once every worker accepts connections, restarts a
  worker that dies (same index, with backoff), and on SIGINT or SIGTERM sends each
  worker SIGTERM and waits until all have drained (in-flight requests answered, audit
  queue flushed). A worker whose supervisor disappears stops the same way.
"""

from bastion.server._entry import create_app
from bastion.server._run import run
from bastion.server._spill import adopt_orphan_spills, worker_spill_path
from bastion.server._uvicorn import serve

__all__ = ["adopt_orphan_spills", "create_app", "run", "serve", "worker_spill_path"]
