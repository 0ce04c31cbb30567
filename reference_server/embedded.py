"""Run a WSGI app in a background thread on a free port, for tests and the contract suite."""

import socket
import threading
import time

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

READY_TIMEOUT_SECONDS = 10.0
# How often serve_forever looks for shutdown(); bounds how long stop() takes.
POLL_INTERVAL_SECONDS = 0.05


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the access log line per request (errors still logged)."""

    def log_request(self, code="-", size="-") -> None:
        pass


class ServerNotReady(RuntimeError):
    pass


def wait_for_port(host: str, port: int, timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Return once a TCP connection to host:port succeeds; ServerNotReady after `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                waited = time.monotonic() - started
                raise ServerNotReady(
                    f"server on {host}:{port} not accepting connections after {waited:.1f} s: {error}"
                ) from error
            time.sleep(0.01)


class EmbeddedServer:
    """A started server; `stop()` (or leaving the `with` block) shuts it down."""

    def __init__(self, server: BaseWSGIServer, thread: threading.Thread):
        self._server = server
        self._thread = thread
        self.host = server.host
        self.port = server.port
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.base_url = f"http://{host}:{self.port}"
        self._stopped = False

    def stop(self) -> None:
        """Shut the server down and wait for its thread; later calls do nothing."""
        if self._stopped:
            return
        self._stopped = True
        try:
            if self._thread.is_alive():  # shutdown() would wait forever on a dead loop
                self._server.shutdown()
        finally:
            self._thread.join()
            self._server.server_close()
            close = getattr(self._server.app, "close", None)  # the service's kept database connections
            if close is not None:
                close()

    def __enter__(self) -> "EmbeddedServer":
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"<EmbeddedServer {self.base_url}>"


def start_embedded(app, host: str = "127.0.0.1", ready_timeout: float = READY_TIMEOUT_SECONDS) -> EmbeddedServer:
    """Serve `app` on host, port 0 (the OS picks it), threaded; return once it answers TCP."""
    server = make_server(host, 0, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": POLL_INTERVAL_SECONDS},
        name=f"embedded-server-{server.port}",
        daemon=True,
    )
    thread.start()
    embedded = EmbeddedServer(server, thread)
    try:
        wait_for_port(host, server.port, ready_timeout)
    except BaseException:
        embedded.stop()
        raise
    return embedded
