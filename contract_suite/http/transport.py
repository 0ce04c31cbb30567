"""The one bounded HTTP transport of a run: every request (preflight, cases, generated layer, repairs) goes
through it. Each request has one deadline for the whole exchange (connect, headers, body), a body cap that
holds after decompression too, no redirect followed, and counts against the run's rate limit and cap.

It knows nothing of the contract or of secrets: it never puts a header or a URL into a message it makes
(a message may quote what the server sent; whoever shows it masks it).
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import zlib
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import requests

from contract_suite.http.network import PROXY_REFUSES, TUNNEL_REFUSED, Proxies, Proxy, Tls, tls_context

MAX_BODY_BYTES = 1 << 20  # an envelope is tiny; past this the answer is wrong anyway
CHUNK_BYTES = 65536
USER_AGENT = "setphone-contract-suite"


class RequestCapReached(Exception):
    """The run has sent as many requests as it may send to this target."""


class TransportClosed(Exception):
    """The run has stopped judging this target: nothing more is sent."""


@dataclass(frozen=True)
class Limits:
    timeout: float  # seconds for the whole request, from connecting to the body's last byte
    rate: float | None = None  # requests a second; None: no limit
    cap: int | None = None  # requests in the run; None: no cap
    max_body_bytes: int = MAX_BODY_BYTES


@dataclass(frozen=True)
class Request:
    method: str
    url: str  # with the query string, already encoded
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    @classmethod
    def build(
        cls, method: str, url: str, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> Request:
        """A request with its query encoded as requests (and so curl and schemathesis) would encode it."""
        prepared = requests.Request(method, url, params=params or {}, headers=headers or {}).prepare()
        return cls(prepared.method or method, prepared.url or url, dict(prepared.headers), prepared.body)


@dataclass(frozen=True)
class NoAnswer:
    """Why no whole answer came back."""

    kind: str  # "timeout", "connect", "tls", "reset", "protocol", "local"
    detail: str  # human words, no header or URL in them
    sent: bool  # the request reached the target (its answer was lost), so it may have acted on it

    @property
    def lost_answer(self) -> bool:
        return self.sent and self.kind in ("timeout", "reset", "protocol")


@dataclass
class Response:
    request: Request
    status: int | None = None
    reason: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    truncated: bool = False  # more body than max_body_bytes (after decompression)
    elapsed: float = 0.0
    failure: NoAnswer | None = None

    def header(self, name: str) -> str | None:
        found = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(found) if found else None

    @property
    def content_type(self) -> str:
        return self.header("Content-Type") or ""


class _Decoder:
    """Content-Encoding gzip/deflate undone with a cap on the output; other encodings kept as they are."""

    def __init__(self, encoding: str | None, limit: int):
        encoding = (encoding or "").strip().lower()
        self.limit = limit
        self.zlib = None
        if encoding in ("gzip", "x-gzip"):
            self.zlib = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self.zlib = zlib.decompressobj()
            self.raw_deflate_tried = False
        self.encoding = encoding

    def feed(self, data: bytes, room: int) -> bytes:
        """At most room + 1 decoded bytes of data (one more than room says "over the cap")."""
        if self.zlib is None:
            return data[: room + 1]
        try:
            out = self.zlib.decompress(data, room + 1)
        except zlib.error:
            if self.encoding == "deflate" and not self.raw_deflate_tried:  # deflate sent without its zlib header
                self.raw_deflate_tried = True
                self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.feed(data, room)
            raise
        return out


class Transport:
    """Sends requests to one target within the run's limits; close() stops all further sending."""

    def __init__(self, limits: Limits, tls: Tls, proxies: Proxies | None = None):
        self.limits = limits
        self.tls = tls
        self.proxies = proxies or Proxies()
        self.sent = 0
        self.rate = limits.rate  # requests a second now: lowered by slow_down() when a gateway refuses the pace
        self.closed_because: str | None = None
        self._last = 0.0
        self._lock = threading.Lock()
        self._context: ssl.SSLContext | None = None  # made by the first HTTPS request (the settings checked it)

    @property
    def context(self) -> ssl.SSLContext:
        with self._lock:
            if self._context is None:
                self._context = tls_context(self.tls)
            return self._context

    def close(self, reason: str) -> None:
        self.closed_because = self.closed_because or reason

    def slow_down(self, start: float, floor: float) -> float:
        """Halve the rate (from `start` when there was no limit), never below floor; the new rate."""
        with self._lock:
            self.rate = max((self.rate or start * 2) / 2, floor)
            return self.rate

    def wait_turn(self, count: int = 1) -> None:
        """Sleep as the rate limit asks; RequestCapReached once the cap is spent; TransportClosed once closed.

        count > 1: the turns of that many requests sent together at one moment (a burst, whose senders then pass
        turn_taken=True). The pace leaves count turns before the burst and after it, so no second holds more
        requests than the rate allows (for a burst no larger than the rate)."""
        with self._lock:
            if self.closed_because:
                raise TransportClosed(self.closed_because)
            if self.limits.cap is not None and self.sent + count > self.limits.cap:
                left = self.limits.cap - self.sent
                burst = f" (a burst of {count} requests, {left} left)" if count > 1 and left else ""
                raise RequestCapReached(
                    f"the run's request cap ({self.limits.cap}) for this target is spent{burst}; "
                    "raise it with --max-requests"
                )
            if self.rate:
                pause = self._last + count / self.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            self._last = time.monotonic() + ((count - 1) / self.rate if self.rate else 0.0)
            self.sent += count

    def send(self, request: Request, turn_taken: bool = False) -> Response:
        """The response, or one with its NoAnswer (why none came whole); raises RequestCapReached,
        TransportClosed before sending.
        turn_taken: its turn was taken already, with others' (wait_turn(count)): it goes at once."""
        if not turn_taken:
            self.wait_turn()
        response = Response(request)
        started = time.monotonic()
        deadline = started + self.limits.timeout
        try:
            self._exchange(request, response, deadline)
        finally:
            response.elapsed = time.monotonic() - started
        return response

    def _connection(self, request: Request) -> tuple[http.client.HTTPConnection, str, Proxy | None]:
        """The connection to open, the request target to send, and the proxy it goes through (None: direct)."""
        parts = urlsplit(request.url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: scheme {parts.scheme!r}")
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        proxy = self.proxies.for_target(parts)
        timeout = self.limits.timeout
        if parts.scheme == "https":
            if proxy is None:
                return (
                    http.client.HTTPSConnection(parts.hostname, parts.port, timeout=timeout, context=self.context),
                    target,
                    None,
                )
            connection = http.client.HTTPSConnection(proxy.host, proxy.port, timeout=timeout, context=self.context)
            auth = {"Proxy-Authorization": proxy.authorization} if proxy.authorization else None
            connection.set_tunnel(parts.hostname, parts.port or 443, headers=auth)
            return connection, target, proxy
        if proxy is None:
            return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), target, None
        # through the proxy: the whole URL as the request target (the Host header still names the target)
        return http.client.HTTPConnection(proxy.host, proxy.port, timeout=timeout), request.url, proxy

    def _exchange(self, request: Request, response: Response, deadline: float) -> None:
        timeout = self.limits.timeout
        stage = "connect"
        expired = threading.Event()
        timer: threading.Timer | None = None
        connection = proxy = None
        try:
            connection, target, proxy = self._connection(request)
            connection.connect()
            sock = connection.sock

            def expire() -> None:  # wakes a read blocked on a stalled or dripping body
                expired.set()
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

            timer = threading.Timer(max(deadline - time.monotonic(), 0.0), expire)
            timer.daemon = True
            timer.start()
            stage = "send"
            headers = {
                "User-Agent": USER_AGENT,
                "Accept": "*/*",
                "Accept-Encoding": "gzip, deflate",
                "Connection": "close",
                **request.headers,
            }
            if proxy is not None and proxy.authorization and target == request.url:  # not tunnelled: say it here
                headers["Proxy-Authorization"] = proxy.authorization
            connection.request(request.method, target, body=request.body, headers=headers)
            stage = "answer"
            received = connection.getresponse()
            if proxy is not None and received.status == 407:
                response.failure = NoAnswer("connect", PROXY_REFUSES, sent=False)
            else:
                response.status, response.reason = received.status, received.reason
                response.headers = list(received.getheaders())
                self._read_body(received, response, deadline, expired)
        except TimeoutError:
            response.failure = NoAnswer("timeout", f"timed out after {timeout:g} s", sent=stage != "connect")
        except ssl.SSLCertVerificationError as exc:
            response.failure = NoAnswer(
                "tls",
                f"TLS certificate not trusted: {exc.verify_message or 'verification failed'} "
                "(a private CA: set REQUESTS_CA_BUNDLE; or --insecure)",
                sent=False,
            )
        except ssl.SSLError as exc:
            response.failure = NoAnswer("tls", f"TLS handshake failed: {exc.reason or type(exc).__name__}", sent=False)
        except ConnectionRefusedError:
            response.failure = NoAnswer("connect", "connection refused (nothing listens on that host and port)", False)
        except socket.gaierror:
            response.failure = NoAnswer("connect", "unknown host (the name does not resolve)", sent=False)
        except (http.client.HTTPException, ConnectionError, OSError) as exc:
            if expired.is_set():
                response.failure = NoAnswer("timeout", f"timed out after {timeout:g} s", sent=stage != "connect")
            elif stage == "connect" and proxy is not None and str(exc).startswith(TUNNEL_REFUSED):
                response.failure = NoAnswer("connect", PROXY_REFUSES, sent=False)
            elif stage == "connect":
                response.failure = NoAnswer("connect", f"cannot connect: {_short(exc)}", sent=False)
            else:
                kind = "reset" if isinstance(exc, (ConnectionError, http.client.RemoteDisconnected)) else "protocol"
                what = "the connection was closed" if kind == "reset" else "a malformed answer"
                response.failure = NoAnswer(kind, f"{what} before the whole answer came: {_short(exc)}", sent=True)
        except ValueError as exc:  # an unsendable request (a header value with a newline, a bad URL)
            # its text may quote a header or the URL: only its type is shown
            response.failure = NoAnswer("local", f"the request cannot be sent ({type(exc).__name__})", sent=False)
        finally:
            if timer is not None:
                timer.cancel()
            if connection is not None:
                connection.close()
        if response.failure is None and expired.is_set():
            response.failure = NoAnswer("timeout", f"timed out after {timeout:g} s", sent=True)
        if proxy is not None and response.failure is not None and not response.failure.sent:
            failure = response.failure
            response.failure = NoAnswer(
                failure.kind, f"{failure.detail} (through the proxy {proxy.where} of {proxy.source})", failure.sent
            )

    def _read_body(
        self, received: http.client.HTTPResponse, response: Response, deadline: float, expired: threading.Event
    ) -> None:
        limit = self.limits.max_body_bytes
        decoder = _Decoder(received.getheader("Content-Encoding"), limit)
        chunks: list[bytes] = []
        size = wire = 0
        while True:
            if time.monotonic() >= deadline or expired.is_set():
                raise TimeoutError
            data = received.read1(CHUNK_BYTES)
            if not data:
                if expired.is_set():
                    raise TimeoutError
                break
            wire += len(data)
            try:
                out = decoder.feed(data, limit - size)
            except zlib.error as exc:
                raise http.client.HTTPException(f"the body does not decode as {decoder.encoding}: {exc}") from None
            chunks.append(out)
            size += len(out)
            if size > limit or wire > limit:
                response.truncated = True
                break
        response.body = b"".join(chunks)[:limit]


def _short(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return f"{type(exc).__name__}: {text}"[:200]
