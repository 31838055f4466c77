"""moto's server on loopback, in a thread, safe for concurrent writers of the same S3 key.

moto's in-memory S3 closes an object's buffer when a newer PUT replaces it, and a concurrent PUT
of the same key can then fail with "I/O operation on closed file" (real S3 has no such race). The
pipeline deliberately lets concurrent deliveries overwrite the same file names, so writes are
serialised here; reads and SQS long polls stay concurrent.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import BaseWSGIServer, make_server

from handler.exceptions import LoglakeError


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _check_free(host: str, port: int) -> None:
    """Fail in one line if something listens on ``host:port``. ``SO_REUSEADDR`` as the server
    itself binds: connections of a stack just stopped (TIME_WAIT, up to a minute) do not count."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
            sock.listen()
        except OSError as exc:
            raise LoglakeError(
                f"cannot listen on {host}:{port} ({exc.strerror}): stop what uses that port "
                "(another `loglake local up`?) or pass --port with a free one"
            ) from None


class _SerialWrites:
    """WSGI middleware: one write at a time (S3 PUT/DELETE/POST), everything else in parallel."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        targeted = bool(environ.get("HTTP_X_AMZ_TARGET"))
        if method in {"PUT", "DELETE"} or (method == "POST" and not targeted):
            with self.lock:
                return list(self.app(environ, start_response))
        return self.app(environ, start_response)


class MotoServer:
    """``with MotoServer() as url:`` runs moto's server until the block ends."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self.port = port or free_port(host)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The endpoint to export as ``AWS_ENDPOINT_URL``."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Bind and serve in a background thread; return the endpoint URL."""
        _check_free(self.host, self.port)  # werkzeug would print its own lines and exit 1
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
        app = _SerialWrites(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, name="moto", daemon=True)
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and wait for the thread."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
