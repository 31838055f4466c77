"""Process one big object with several processes: the parent reads, the workers validate and write.

The parent streams the object once (gunzipping it if needed), cuts it into the same numbered
batches as a single process would, and hands each batch to the next idle worker over a pipe. So
line numbers, file names and therefore the files themselves are the same whatever the number of
workers, and a retry with another ``WORKERS`` still overwrites instead of adding. Before a worker
writes, it sends the parent the names it is about to write; the parent adds them to the
in-progress manifest and only then lets it go on, so a crash never leaves files nobody knows of.

Workers are forked per object (Lambda has no ``/dev/shm``, so ``Pool`` and ``Queue`` do not work
there; ``Process`` and ``Pipe`` do) and build their own boto3 session: a client must never share
its connections with another process.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from multiprocessing.connection import Connection, wait
from typing import Any, TypeVar

import boto3
import botocore.session

from .exceptions import WorkerError
from .parse import Batch

T = TypeVar("T")
Claim = Callable[[list[str]], None]

#: Seconds a worker gets to exit after its last batch before it is killed.
JOIN_SECONDS = 30


def fan_out(
    numbered: Iterable[tuple[int, Batch]],
    workers: int,
    handle: Callable[[int, Batch, Claim], T],
    claim: Claim,
    in_child: Callable[[], None],
    label: str,
) -> Iterator[T]:
    """Yield ``handle(number, batch, claim)`` of every batch, run in ``workers`` forked processes.

    ``in_child`` runs first in each worker (to open its own connections); ``claim`` runs in this
    process, asked by a worker before it writes; ``label`` names the object in errors.
    """
    context = multiprocessing.get_context("fork")
    pending = _Ahead(iter(numbered))
    procs: list[tuple[Any, Connection]] = []
    failed = True
    try:
        for _ in range(workers):
            ours, theirs = context.Pipe()
            inherited = [ours] + [conn for _, conn in procs]
            proc = context.Process(
                target=_work, args=(theirs, inherited, handle, in_child), daemon=True
            )
            proc.start()
            theirs.close()
            procs.append((proc, ours))
        busy = {conn for _, conn in procs if _send_next(conn, pending, procs)}
        while busy:
            for conn in wait(list(busy)):
                assert isinstance(conn, Connection)
                kind, payload = _talk(conn, procs, conn.recv)
                if kind == "claim":
                    claim(payload)
                    _talk(conn, procs, partial(conn.send, True))
                elif kind == "done":
                    yield payload
                    if not _send_next(conn, pending, procs):
                        busy.discard(conn)
                else:
                    raise WorkerError(f"a worker failed on {label}:\n{payload}")
        failed = False
    finally:
        _stop(procs, failed)


class _Ahead:
    """The batches, each read while the workers are busy rather than when one asks for it: the
    parent holds one batch more, ready to send."""

    def __init__(self, items: Iterator[tuple[int, Batch]]) -> None:
        self.items = items
        self.ready = next(items, None)

    def advance(self) -> None:
        self.ready = next(self.items, None)


def _send_next(conn: Connection, pending: _Ahead, procs: list[tuple[Any, Connection]]) -> bool:
    """Give the worker the batch read ahead, or tell it to exit; then read the next one.
    ``True`` if it got work."""
    item = pending.ready
    _talk(conn, procs, partial(conn.send, item))
    if item is None:
        return False
    pending.advance()
    return True


def _talk(conn: Connection, procs: list[tuple[Any, Connection]], act: Callable[[], Any]) -> Any:
    """Send or receive; a worker that is gone (killed, out of memory) becomes a ``WorkerError``."""
    try:
        return act()
    except (EOFError, OSError):
        proc = next(p for p, c in procs if c is conn)
        proc.join(1)
        raise WorkerError(
            f"a worker process died (exit code {proc.exitcode}); if it was killed for memory, "
            "lower CHUNK_BYTES or WORKERS, or give the function more memory"
        ) from None


def _stop(procs: list[tuple[Any, Connection]], failed: bool) -> None:
    """Let finished workers exit; after a failure kill them (their files are already claimed)."""
    for proc, conn in procs:
        conn.close()
        if failed and proc.is_alive():
            proc.kill()
    for proc, _ in procs:
        proc.join(JOIN_SECONDS)
        if proc.is_alive():
            proc.kill()
            proc.join()


def _work(
    conn: Connection,
    inherited: list[Connection],
    handle: Callable[[int, Batch, Claim], Any],
    in_child: Callable[[], None],
) -> None:
    """The worker's loop: batches in, ``Part``s out, until it is sent ``None``.

    The parent's ends of the pipes were copied into this process by the fork: closing them here
    is what lets this worker see the parent go away (``EOFError``) instead of waiting forever.
    """
    for parent_end in inherited:
        parent_end.close()
    in_child()

    def claim(paths: list[str]) -> None:
        conn.send(("claim", paths))
        conn.recv()

    try:
        while (item := conn.recv()) is not None:
            number, batch = item
            conn.send(("done", handle(number, batch, claim)))
    except EOFError:  # the parent is gone: nothing left to do
        return
    except BaseException:
        conn.send(("error", traceback.format_exc(limit=8)))


def fresh_session(session: boto3.Session) -> boto3.Session:
    """A session with the parent's credentials and region but no shared connections.

    It shares the parent's loader: the service models already read and parsed, a cache that is
    only ever read (reading them again cost every worker of every object 0.1 s).
    """
    credentials = session.get_credentials()
    frozen = credentials.get_frozen_credentials() if credentials else None
    profile = session.profile_name if session.profile_name in session.available_profiles else None
    core = botocore.session.get_session()
    core.register_component("data_loader", session._session.get_component("data_loader"))
    return boto3.Session(
        aws_access_key_id=frozen.access_key if frozen else None,
        aws_secret_access_key=frozen.secret_key if frozen else None,
        aws_session_token=frozen.token if frozen else None,
        region_name=session.region_name,
        profile_name=profile,
        botocore_session=core,
    )
