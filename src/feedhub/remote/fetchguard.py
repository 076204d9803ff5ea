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
- the body is read in chunks and abandoned past ``fetch_max_bytes`` (counted
  after gzip/deflate decoding, so a compression bomb stops there too) or
  once ``fetch_max_time`` has passed since the request started.
"""

from __future__ import annotations

import contextlib
import functools
import ssl
import ipaddress
import socket
import time
from dataclasses import dataclass, field
from typing import Iterable

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


def refusal(address: IPAddress, policy: Policy) -> str | None:
    """Why connecting to `address` is not allowed, or None if it is."""
    if address.version == 6 and address.ipv4_mapped:  # ::ffff:127.0.0.1 is 127.0.0.1
        address = address.ipv4_mapped
    if any(address in network for network in policy.allow_networks):
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
            raise Refused(
                f"refused to connect to {host}: {'; '.join(dict.fromkeys(r for r in reasons if r))} "
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


def _check_scheme(request: httpx.Request) -> None:
    if request.url.scheme not in ("http", "https"):
        raise Refused(f"refused {request.url}: only http and https are fetched")


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
        event_hooks={"request": [_check_scheme]},
        trust_env=False,  # a proxy would connect for us, past the address check
    )


def get(url: str, headers: dict[str, str], policy: Policy, timeout: float, shared: httpx.Client | None = None) -> Response:
    """GET `url` under `policy`, on `shared` (made by client() with the same
    policy) or a client of its own; Refused, or httpx errors for network trouble."""
    started = time.monotonic()
    _check_scheme(httpx.Request("GET", url))
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
