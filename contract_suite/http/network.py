"""How the target is reached: the TLS trust its HTTPS requests are verified with, and the forward proxies the
environment names (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY, as requests and curl read them). The settings read
them once; the transport uses them. Nothing here sends a request."""

from __future__ import annotations

import base64
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urlsplit
from urllib.request import proxy_bypass_environment


@dataclass(frozen=True)
class Tls:
    verify: bool = True
    ca_bundle: str | None = None  # a private CA's certificates (REQUESTS_CA_BUNDLE, read once by the settings)


def tls_context(tls: Tls) -> ssl.SSLContext:
    """The context HTTPS requests are verified with; OSError or ssl.SSLError when the CA bundle cannot be read.
    A bundle that is a folder is read as requests reads it: a folder of hashed certificate files."""
    bundle = tls.ca_bundle
    if bundle and os.path.isdir(bundle):
        context = ssl.create_default_context(capath=bundle)
    else:
        context = ssl.create_default_context(cafile=bundle)
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True)
class Proxy:
    """A forward proxy: plain HTTP through it, HTTPS through a CONNECT tunnel."""

    host: str
    port: int
    source: str  # the variable it came from, e.g. HTTPS_PROXY
    authorization: str | None = field(default=None, repr=False)  # Proxy-Authorization, from the URL's user:password
    password: str | None = field(default=None, repr=False)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"


# Read as requests and curl read them; the lower-case name first, ALL_PROXY for a scheme that has none of its own.
PROXY_VARIABLES = {"http": ("http_proxy", "HTTP_PROXY"), "https": ("https_proxy", "HTTPS_PROXY")}
ALL_PROXY_VARIABLES = ("all_proxy", "ALL_PROXY")
NO_PROXY_VARIABLES = ("no_proxy", "NO_PROXY")


PROXY_REFUSES = "the proxy refuses without credentials (HTTP 407): put them in its URL, http://USER:PASSWORD@HOST:PORT"
TUNNEL_REFUSED = "Tunnel connection failed: 407"  # how http.client says a proxy answered CONNECT with 407


class ProxyError(ValueError):
    """A proxy variable the suite cannot use; its words quote no user name or password."""


@dataclass(frozen=True)
class Proxies:
    """The proxies the environment names, per target scheme, and the hosts that bypass them (NO_PROXY)."""

    by_scheme: Mapping[str, Proxy] = field(default_factory=dict)
    no_proxy: str = ""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> Proxies:
        """ProxyError for a proxy URL that is not http:// (or has no host, or a bad port)."""
        by_scheme = {}
        for scheme, names in PROXY_VARIABLES.items():
            name = next((n for n in (*names, *ALL_PROXY_VARIABLES) if environ.get(n)), None)
            if name is not None:
                by_scheme[scheme] = _proxy(environ[name], name)
        no_proxy = next((environ[n] for n in NO_PROXY_VARIABLES if environ.get(n)), "")
        return cls(by_scheme, no_proxy)

    def for_target(self, parts: SplitResult) -> Proxy | None:
        proxy = self.by_scheme.get(parts.scheme)
        if proxy is None or not parts.hostname:
            return None
        if self.no_proxy and proxy_bypass_environment(parts.netloc.rpartition("@")[2], {"no": self.no_proxy}):
            return None
        return proxy

    def secrets(self) -> list[str]:
        """The passwords of the proxies (to be masked in whatever the run shows)."""
        return [value for p in self.by_scheme.values() for value in (p.authorization, p.password) if value]


def _proxy(value: str, name: str) -> Proxy:
    parts = urlsplit(value if "://" in value else f"http://{value}")  # as requests: no scheme means http
    if parts.scheme != "http":
        raise ProxyError(f"{name} names a {parts.scheme}:// proxy; the suite speaks to http:// proxies only")
    try:
        port = parts.port or 80
    except ValueError:
        raise ProxyError(f"{name} has a port that is not a number from 0 to 65535") from None
    if not parts.hostname:
        raise ProxyError(f"{name} names no proxy host")
    authorization = password = None
    if parts.username is not None:
        password = unquote(parts.password or "") or None
        credentials = f"{unquote(parts.username)}:{password or ''}".encode()
        authorization = "Basic " + base64.b64encode(credentials).decode("ascii")
    return Proxy(parts.hostname, port, name, authorization, password)
