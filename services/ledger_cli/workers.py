"""`ledger serve --workers N`: N uvicorn processes, each listening on the same port with its
own socket (`SO_REUSEPORT`), so the kernel spreads new connections evenly across them.

With one shared listening socket (uvicorn's own `--workers`), whichever process happens to
be idle when connections arrive accepts them: the 8 keep-alive connections a BI tool opens
at once can all land on one worker and stay there, leaving the other idle for their whole
life (measured in bench scenario 4: 0.99 of 2 cores used, half the throughput). With a
socket per worker the kernel assigns each new connection to a socket by a hash of its
addresses.

The parent only supervises: it starts the workers, restarts one that dies, and on
SIGTERM/SIGINT asks every worker to stop (each runs uvicorn's graceful shutdown: in-flight
requests finish, the lifespan shutdown runs) and exits 0 once all have stopped.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
import sys
import time
from multiprocessing.process import BaseProcess
from typing import Any

RESTART_DELAY = 1.0  # seconds before a worker that died is started again


def available() -> bool:
    """Linux spreads connections across `SO_REUSEPORT` sockets; elsewhere the option may
    exist without the balancing, so uvicorn's shared socket is used instead."""
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def bind(host: str, port: int, *, listen: bool = True) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listen:
        sock.listen(2048)
    return sock


def _worker(app: str, host: str, port: int, options: dict[str, Any]) -> None:
    import uvicorn

    sock = bind(host, port)
    server = uvicorn.Server(uvicorn.Config(app, factory=True, **options))
    server.run(sockets=[sock])


def serve(app: str, *, host: str, port: int, workers: int, options: dict[str, Any]) -> int:
    """Run `workers` processes of the ASGI app factory `app` until SIGTERM/SIGINT."""
    # Fail fast (and in the parent) when the port is taken by something else; this probe
    # never listens, so no connection is ever queued on it.
    bind(host, port, listen=False).close()
    context = multiprocessing.get_context("spawn")
    procs: dict[int, BaseProcess] = {}
    stopping = False

    def start(slot: int) -> None:
        proc = context.Process(
            target=_worker, args=(app, host, port, options), name=f"ledger-worker-{slot}"
        )
        proc.start()
        procs[slot] = proc

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for proc in procs.values():
            if proc.is_alive() and proc.pid is not None:
                os.kill(proc.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        start(slot)
    while True:
        alive = [p for p in procs.values() if p.is_alive()]
        if stopping and not alive:
            return 0
        if not stopping:
            for slot, proc in list(procs.items()):
                if not proc.is_alive():
                    print(
                        f"ledger serve: worker {proc.pid} exited ({proc.exitcode}); restarting",
                        file=sys.stderr,
                        flush=True,
                    )
                    time.sleep(RESTART_DELAY)
                    if not stopping:
                        start(slot)
        time.sleep(0.2)
