"""Fetching a URL a stranger gave us without being turned against ourselves.

A feed URL (or a redirect it sends) can point at anything: the metadata
service at 169.254.169.254, an admin page on localhost, a database on the
office network, or a server that sends an endless body.  So:

- only http and https, on every redirect hop;
- every connection, including each redirect hop, goes to an address checked
  *after* DNS resolution: private, loopback, link-local, multicast, reserved
  and other non-public addresses are refused unless a network in
  ``fetch_allow_networks`` contains them.  The check sits in the socket
  connect itself, so a name that resolves to a public address when checked
  and a private one when connected (DNS rebinding) cannot slip through;
- an IPv6 address that carries an IPv4 one (6to4, NAT64, Teredo,
  IPv4-compatible or -translated) is refused whatever it carries: no feed
  is served from a transition address, and the IPv4 inside may be this
  machine; allowing one takes its network *and* the IPv4 network inside it.
  An IPv4-mapped address (::ffff:a.b.c.d) is the IPv4 address itself;
- a host written as an IPv4 address in any form but four decimal numbers
  (0177.0.0.1, 0x7f.1, 2130706433, 127.1) is refused, on every hop, before
  anything resolves it: C's inet_aton reads those as addresses, and a check
  that does not read them the same way can be walked around;
- the body is read in chunks and abandoned past ``fetch_max_bytes`` (counted
  after gzip/deflate decoding, so a compression bomb stops there too) or
  once ``fetch_max_time`` has passed since the request started.
"""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import re
import socket
import ssl
import time
from dataclasses import dataclass, field
from typing import Iterable
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class Refused(Exception):
    """A fetch stopped for safety; str() says which rule and why."""


@dataclass(frozen=True)
class Policy:
    allow_networks: tuple[IPNetwork, ...] = ()
    max_bytes: int = 10 * 1024**2
    max_seconds: float = 60
    max_redirects: int = 5


# IPv6 ranges whose addresses carry an IPv4 address, and where in the 128 bits.
NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: bits 48-63 and 72-87 (a /48 prefix, RFC 6052 2.2)
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 (SIIT): the last 32 bits
COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated: the last 32 bits (:: and ::1 aside)


def carried_ipv4(address: ipaddress.IPv6Address) -> tuple[str, ipaddress.IPv4Address] | None:
    """The IPv4 address an IPv6 transition form carries, and the form's name."""
    if address.sixtofour:
        return "6to4", address.sixtofour
    if address.teredo:
        return "Teredo", address.teredo[1]  # the client; [0] is its Teredo server
    last32 = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address in NAT64:
        return "NAT64", last32
    if address in NAT64_LOCAL:
        packed = address.packed
        return "NAT64", ipaddress.IPv4Address(packed[6:8] + packed[9:11])
    if address in TRANSLATED:
        return "IPv4-translated", last32
    if address in COMPATIBLE and int(address) > 1:
        return "IPv4-compatible", last32
    return None


def refusal(address: IPAddress, policy: Policy) -> str | None:
    """Why connecting to `address` is not allowed, or None if it is."""
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = address.ipv4_mapped
    allowed = any(address in network for network in policy.allow_networks)
    carried = carried_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if carried:
        form, inner = carried
        if not allowed:
            return f"{address} is a {form} address (it carries {inner})"
        inner_refusal = refusal(inner, policy)
        return f"{address} is a {form} address of {inner_refusal}" if inner_refusal else None
    if allowed:
        return None
    # Most specific first: Python counts link-local and reserved as private too.
    for kind in ("loopback", "link_local", "multicast", "unspecified", "reserved", "private"):
        if getattr(address, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not address.is_global:  # e.g. 100.64.0.0/10, carrier-grade NAT
        return f"{address} is not a public address"
    return None


class _CheckedBackend(httpcore.SyncBackend):
    """Resolves the host itself and connects only to an allowed address."""

    def __init__(self, policy: Policy):
        self.policy = policy

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None) -> httpcore.NetworkStream:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror}") from None
        # An IPv4 or IPv6 socket address starts with the address as a string.
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
        reasons = [refusal(address, self.policy) for address in addresses]
        allowed = [address for address, reason in zip(addresses, reasons) if reason is None]
        if not allowed:
            shown = f"[{host}]" if ":" in host else host  # an IPv6 address as URLs write it
            raise Refused(
                f"refused to connect to {shown}: {'; '.join(dict.fromkeys(r for r in reasons if r))} "
                "(add its network to fetch_allow_networks in feeds.yaml to allow it)"
            )
        # Each allowed address in turn; the last one's error is the one raised.
        for address in allowed[:-1]:
            with contextlib.suppress(httpcore.ConnectError):
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
        return super().connect_tcp(str(allowed[-1]), port, timeout, local_address, socket_options)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: making one loads the
    CA bundle, ~20 ms of CPU, which a worker's job fetching one source paid
    on every run.  A context is safe to share between threads."""
    return httpx.create_ssl_context()


def _checked_transport(policy: Policy, connections: int) -> httpx.HTTPTransport:
    ssl_context = _ssl_context()
    transport = httpx.HTTPTransport(verify=ssl_context)
    # httpx has no public way to pass a network backend; its pool takes one.
    transport._pool = httpcore.ConnectionPool(
        ssl_context=ssl_context,
        max_connections=connections,
        max_keepalive_connections=connections,
        network_backend=_CheckedBackend(policy),
    )
    return transport


# A host of numbers alone, decimal, octal (a leading 0) or hex (0x), and
# maybe a final dot: what C's inet_aton may read as an IPv4 address (one to
# four of them), and never a host name (no top-level domain is a number).
NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?", re.IGNORECASE)


def check_url(url: str) -> None:
    """Refuse a URL that is not http(s), or whose host is a number spelt
    other than as four decimal numbers (see the module's docstring)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https"):
        raise Refused(f"refused {url}: only http and https are fetched")
    host = parts.hostname or ""
    if not NUMERIC_HOST.fullmatch(host):
        return
    with contextlib.suppress(ValueError):
        ipaddress.IPv4Address(host)  # four decimal numbers, no leading zeros: one meaning everywhere
        return
    meant = legacy_ipv4(host)
    shown = f"is {meant} written the legacy way" if meant else "is not an IPv4 address"
    raise Refused(f"refused to connect to {host}: {host} {shown} (write an IPv4 address as four decimal numbers)")


def legacy_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """The address inet_aton reads in a numeric host ('0177.1' -> 127.0.0.1),
    or None if it reads none: each part is decimal, octal or hex, and the
    last one fills the bytes the missing parts leave."""
    parts = host.removesuffix(".").split(".")
    if len(parts) > 4:
        return None
    try:
        numbers = [int(part[2:] or "0", 16) if part[:2].lower() == "0x" else int(part, 8 if part[0] == "0" else 10)
                   for part in parts]
    except ValueError:  # 08, 09: not octal
        return None
    *leading, last = numbers
    if any(number > 255 for number in leading) or last >= 256 ** (5 - len(numbers)):
        return None
    value = last
    for position, number in enumerate(leading):
        value += number << (24 - 8 * position)
    return ipaddress.IPv4Address(value)


def _check_request(request: httpx.Request) -> None:
    check_url(str(request.url))


def _check_redirect(response: httpx.Response) -> None:
    # Before httpx reads the Location itself: it cannot parse every spelling
    # (an octal host is "InvalidURL"), and must not resolve the ones it can.
    if response.has_redirect_location:
        check_url(urljoin(str(response.request.url), response.headers["Location"]))


@dataclass
class Response:
    """What the fetch got: status line, headers, final URL, and the body."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    url: str
    body: bytes
    history: list[httpx.Response] = field(default_factory=list)


def client(policy: Policy, timeout: float, connections: int = 1) -> httpx.Client:
    """An HTTP client that fetches only under `policy`, to share between many
    fetches and threads: building one (its TLS context loads the CA bundle)
    costs more than a whole 304 answer, and it keeps connections alive for
    the next fetch from the same host.  Close it when done."""
    return httpx.Client(
        transport=_checked_transport(policy, connections),
        timeout=min(timeout, policy.max_seconds),
        follow_redirects=True,
        max_redirects=policy.max_redirects,
        event_hooks={"request": [_check_request], "response": [_check_redirect]},
        trust_env=False,  # a proxy would connect for us, past the address check
    )


def get(url: str, headers: dict[str, str], policy: Policy, timeout: float, shared: httpx.Client | None = None) -> Response:
    """GET `url` under `policy`, on `shared` (made by client() with the same
    policy) or a client of its own; Refused, or httpx errors for network trouble."""
    started = time.monotonic()
    check_url(url)
    with contextlib.nullcontext(shared) if shared else client(policy, timeout) as http:
        with http.stream("GET", url, headers=headers, timeout=min(timeout, policy.max_seconds)) as response:
            body = _read_capped(response, policy, started)
    return Response(response.status_code, response.reason_phrase, response.headers, str(response.url), body, response.history)


def _read_capped(response: httpx.Response, policy: Policy, started: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise Refused(f"body of {int(declared):,} bytes is over fetch_max_bytes ({policy.max_bytes:,})")
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > policy.max_bytes:
            raise Refused(f"body is over fetch_max_bytes ({policy.max_bytes:,} bytes); stopped reading")
        if time.monotonic() - started > policy.max_seconds:
            raise Refused(f"fetch took over fetch_max_time ({policy.max_seconds:g}s); stopped reading")
        chunks.append(chunk)
    return b"".join(chunks)
