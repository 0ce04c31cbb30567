"""Before any case: is the target there at all? One clear reason instead of one failure per case."""

from __future__ import annotations

import socket
import ssl

import requests
import urllib3

def _causes(exc: BaseException):
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [current.__cause__, current.__context__, *[a for a in getattr(current, "args", ()) if isinstance(a, BaseException)]]
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)


def describe_connection_error(exc: BaseException) -> str:
    """A short human cause: connection refused, unknown host, TLS failure, timeout."""
    causes = list(_causes(exc))
    # Most specific first: urllib3's NewConnectionError is also a ConnectTimeoutError.
    for cause in causes:
        if isinstance(cause, ConnectionRefusedError) or "Connection refused" in str(cause):
            return "connection refused (nothing listens on that host and port)"
    for cause in causes:
        if isinstance(cause, socket.gaierror) or type(cause).__name__ == "NameResolutionError":
            return "unknown host (the name does not resolve)"
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"TLS certificate not trusted: {cause.verify_message or cause} (a private CA: set REQUESTS_CA_BUNDLE; or --insecure)"
    for cause in causes:
        if isinstance(cause, (ssl.SSLError, requests.exceptions.SSLError)):
            return f"TLS handshake failed: {str(cause)[:200]}"
    for cause in causes:
        if isinstance(cause, (socket.timeout, TimeoutError, urllib3.exceptions.ConnectTimeoutError, requests.Timeout)):
            return "no answer in time (a firewall dropping packets, or a wrong address)"
    return f"{type(exc).__name__}: {str(exc)[:200]}"


def probe(url: str, method: str, timeout: float, verify: bool | str = True) -> str | None:
    """Send the operation once, with no token and no parameter (harmless: the platform answers 5032):
    None when any HTTP answer comes back in time, else why not."""
    try:
        with requests.request(method, url, timeout=timeout, verify=verify, allow_redirects=False, stream=True):
            return None
    except requests.Timeout:
        return f"no answer: timed out after {timeout:g} s (set --request-timeout to wait longer)"
    except requests.RequestException as exc:
        return describe_connection_error(exc)
