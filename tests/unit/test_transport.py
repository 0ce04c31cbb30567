"""Unit tests of contract_suite/http/transport.py and network.py: the bounds and the proxy variables."""

from __future__ import annotations

import gzip
import random
import threading
import time
import zlib
from urllib.parse import urlsplit

import pytest

import contract_suite.http.transport as transport_module
from contract_suite.http.network import Proxies, ProxyError, Tls
from contract_suite.http.transport import (
    Limits,
    NoAnswer,
    Request,
    RequestCapReached,
    Response,
    Transport,
    TransportClosed,
    _Decoder,
)
from tests.support import hostile

pytestmark = pytest.mark.selftest


# -- transport: the bounds and the proxy variables --------------------------------------------------------------


def test_a_closed_transport_sends_nothing_and_keeps_its_first_reason():
    transport = Transport(Limits(timeout=1), Tls())
    transport.close("first")
    transport.close("second")
    with pytest.raises(TransportClosed, match="^first$"):
        transport.wait_turn()
    assert transport.sent == 0


@pytest.mark.parametrize("cap", [0, 2])
def test_the_cap_counts_every_request(cap):
    transport = Transport(Limits(timeout=1, cap=cap), Tls())
    for _ in range(cap):
        transport.wait_turn()
    assert transport.sent == cap
    with pytest.raises(RequestCapReached, match=rf"^the run's request cap \({cap}\) for this target is spent"):
        transport.wait_turn()
    assert transport.sent == cap
    unlimited = Transport(Limits(timeout=1), Tls())
    for _ in range(3):
        unlimited.wait_turn()
    assert unlimited.sent == 3


class FakeClock:
    """time.monotonic and time.sleep for the transport: sleeps are recorded and pass at once (no timed test)."""

    def __init__(self) -> None:
        self.now_seconds = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now_seconds

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, seconds
        self.slept.append(round(seconds, 6))
        self.now_seconds += seconds


def test_the_rate_spaces_the_requests(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(transport_module.time, "monotonic", clock.monotonic)
    monkeypatch.setattr(transport_module.time, "sleep", clock.sleep)
    limited = Transport(Limits(timeout=1, rate=10), Tls())
    for _ in range(3):
        limited.wait_turn()
    assert clock.slept == [0.1, 0.1]  # two gaps of 1/10 s
    clock.now_seconds += 0.15
    limited.wait_turn()  # its turn came 0.05 s ago: no wait (and no negative sleep)
    assert clock.slept == [0.1, 0.1] and limited.sent == 4
    free = Transport(Limits(timeout=1), Tls())
    for _ in range(20):
        free.wait_turn()
    assert clock.slept == [0.1, 0.1] and free.sent == 20


def test_slowing_down_halves_the_rate_down_to_the_floor():
    transport = Transport(Limits(timeout=1), Tls())
    assert transport.slow_down(start=10, floor=2) == 10 and transport.rate == 10
    assert transport.slow_down(start=10, floor=2) == 5
    assert transport.slow_down(start=10, floor=4) == 4
    limited = Transport(Limits(timeout=1, rate=8), Tls())
    assert limited.slow_down(start=100, floor=1) == 4


def test_only_a_lost_answer_to_a_sent_request_is_lost():
    assert [
        kind
        for kind in ("timeout", "reset", "protocol", "connect", "tls", "local")
        if NoAnswer(kind, "", sent=True).lost_answer
    ] == ["timeout", "reset", "protocol"]
    assert not NoAnswer("timeout", "", sent=False).lost_answer


def test_an_unencoded_body_is_cut_one_byte_past_the_room():
    decoder = _Decoder(None, 10)
    assert decoder.zlib is None and decoder.encoding == ""
    assert decoder.feed(b"abcdef", 2) == b"abc"
    assert _Decoder("br", 10).feed(b"abcdef", 9) == b"abcdef"  # an encoding it does not undo: kept as it is


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        pytest.param(" GZIP ", gzip.compress, id="gzip"),
        pytest.param("x-gzip", gzip.compress, id="x-gzip"),
        pytest.param("Deflate", zlib.compress, id="deflate"),
        pytest.param("deflate", lambda data: zlib.compress(data)[2:-4], id="raw-deflate"),
    ],
)
def test_an_encoded_body_is_decoded_no_further_than_the_room(encoding, compress):
    data = bytes(range(256)) * 40
    assert _Decoder(encoding, 100_000).feed(compress(data), 100_000) == data
    assert _Decoder(encoding, 100).feed(compress(data), 99) == data[:100]


def test_gzip_is_decoded_with_its_whole_window():
    """gzip's 32 KiB window: a repeat 20 KB back decodes (a smaller window fails on it)."""
    data = random.Random(5).randbytes(20_000) * 2
    assert _Decoder("gzip", 100_000).feed(gzip.compress(data), 100_000) == data


class _Chunks:
    """A response whose body arrives in the given chunks."""

    def __init__(self, *chunks: bytes):
        self.chunks = list(chunks)

    def getheader(self, name):
        return None

    def read1(self, size):
        return self.chunks.pop(0) if self.chunks else b""


def test_each_chunk_is_decoded_no_further_than_the_room_left(monkeypatch):
    rooms = []
    feed = _Decoder.feed
    monkeypatch.setattr(_Decoder, "feed", lambda self, data, room: rooms.append(room) or feed(self, data, room))
    answer = Response(Request("PUT", "http://target.test/"))
    transport = Transport(Limits(timeout=5, max_body_bytes=100), Tls())
    transport._read_body(_Chunks(b"a" * 60, b"b" * 60), answer, time.monotonic() + 5, threading.Event())
    assert rooms == [100, 40] and answer.truncated and answer.body == b"a" * 60 + b"b" * 40


def test_a_body_that_does_not_decode_is_an_error():
    with pytest.raises(zlib.error):
        _Decoder("gzip", 100).feed(b"not gzip at all", 100)
    decoder = _Decoder("deflate", 100)
    with pytest.raises(zlib.error):
        decoder.feed(b"\xff\xff\xff\xff not deflate", 100)
    assert decoder.raw_deflate_tried


def _serving(body: bytes, *headers: str):
    def behaviour(conn, seen, server) -> None:
        head = ["Content-Type: application/json", f"Content-Length: {len(body)}", "Connection: close", *headers]
        conn.sendall(hostile._head("200 OK", *head) + body)

    return behaviour


@pytest.mark.parametrize(
    ("size", "truncated"), [pytest.param(100, False, id="at-the-cap"), pytest.param(101, True, id="past-the-cap")]
)
def test_the_body_cap_holds_to_the_byte(size, truncated):
    with hostile.HostileServer(_serving(b"x" * size)) as server:
        answer = Transport(Limits(timeout=5, max_body_bytes=100), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure is None and answer.status == 200
    assert answer.truncated is truncated and answer.body == b"x" * min(size, 100)


def test_the_body_cap_counts_the_bytes_on_the_wire_too():
    data = random.Random(23).randbytes(1024)
    body = gzip.compress(data)  # incompressible: more bytes on the wire than it decodes to
    assert len(body) > 1030
    with hostile.HostileServer(_serving(body, "Content-Encoding: gzip")) as server:
        answer = Transport(Limits(timeout=5, max_body_bytes=1030), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.truncated and answer.body == data


def test_a_body_that_does_not_decode_is_a_malformed_answer():
    with hostile.HostileServer(_serving(b"not gzip", "Content-Encoding: gzip")) as server:
        answer = Transport(Limits(timeout=5), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure.kind == "protocol" and "the body does not decode as gzip" in answer.failure.detail


def test_a_dripping_body_times_out_at_the_deadline():
    with hostile.HostileServer(hostile.drip) as server:
        started = time.monotonic()
        answer = Transport(Limits(timeout=0.5), Tls()).send(Request("PUT", f"{server.base_url}/"))
    assert answer.failure == NoAnswer("timeout", "timed out after 0.5 s", sent=True)
    assert time.monotonic() - started < 5  # bounded by the deadline, not by the drip (which would take minutes)


def test_the_proxy_variables_are_read_as_curl_reads_them():
    assert Proxies.from_environment({}) == Proxies()
    proxies = Proxies.from_environment(
        {"http_proxy": "low:1", "HTTP_PROXY": "up:2", "ALL_PROXY": "all:3", "no_proxy": "direct.test", "NO_PROXY": "x"}
    )
    assert proxies.by_scheme["http"].where == "low:1" and proxies.by_scheme["http"].source == "http_proxy"
    assert proxies.by_scheme["https"].where == "all:3" and proxies.by_scheme["https"].source == "ALL_PROXY"
    assert proxies.no_proxy == "direct.test"
    upper = Proxies.from_environment({"HTTP_PROXY": "up:2", "http_proxy": "", "NO_PROXY": "x.test"})
    assert upper.by_scheme["http"].source == "HTTP_PROXY" and "https" not in upper.by_scheme
    assert upper.no_proxy == "x.test"
    assert proxies.for_target(urlsplit("http://target.test/p")).where == "low:1"
    assert proxies.for_target(urlsplit("http://direct.test/p")) is None
    assert proxies.for_target(urlsplit("http://user:pw@direct.test:8080/p")) is None
    assert proxies.for_target(urlsplit("ftp://target.test/p")) is None
    assert proxies.for_target(urlsplit("http:///p")) is None
    assert Proxies.from_environment({"HTTP_PROXY": "up:2"}).for_target(urlsplit("http://direct.test/")).where == "up:2"


def test_a_proxy_url_is_checked_and_its_credentials_kept_apart():
    plain = Proxies.from_environment({"HTTP_PROXY": "http://proxy.test"}).by_scheme["http"]
    assert (plain.host, plain.port, plain.authorization, plain.password) == ("proxy.test", 80, None, None)
    both = Proxies.from_environment({"HTTP_PROXY": "http://us%40er:p%3Ass@proxy.test:3128"})
    proxy = both.by_scheme["http"]
    assert proxy.password == "p:ss" and proxy.authorization == "Basic dXNAZXI6cDpzcw=="  # us@er:p:ss
    assert both.secrets() == ["Basic dXNAZXI6cDpzcw==", "p:ss"]
    user_only = Proxies.from_environment({"HTTP_PROXY": "http://user@proxy.test:3128"}).by_scheme["http"]
    assert user_only.password is None and user_only.authorization == "Basic dXNlcjo="  # user:
    assert Proxies.from_environment({"HTTP_PROXY": "http://proxy.test"}).secrets() == []
    for value, words in [
        ("https://proxy.test", "HTTP_PROXY names a https:// proxy; the suite speaks to http:// proxies only"),
        ("http://proxy.test:99999", "HTTP_PROXY has a port that is not a number from 0 to 65535"),
        ("http://:3128", "HTTP_PROXY names no proxy host"),
    ]:
        with pytest.raises(ProxyError) as raised:
            Proxies.from_environment({"HTTP_PROXY": value})
        assert str(raised.value) == words
