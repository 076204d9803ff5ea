"""A TCP proxy on 127.0.0.1 that puts a network between a client and a
server (PostgreSQL): it delays every byte by a fixed time in each direction,
counts round trips, and can be cut and restored like a server that stops.

A round trip is a client message answered: bytes from the client, then bytes
from the server.  However many statements a client sends before it waits
(a pipeline), their answers cost it one round trip; a statement sent alone,
waited for, costs one each.  Bytes the server sends unasked (a NOTIFY) are no
answer.  Connecting counts too (the start-up and authentication exchange).

Cut: the proxy stops listening (a new connection is refused, as by a stopped
server) and closes every connection it carries (the client reads EOF, as
after a server restart).  Restore: it listens again on the same port.

Standard library only: the tests use it in-process, and bench/scale.py runs
it as a process of its own, so that its threads never compete for the GIL
with the process being measured:

    python tests/latency_proxy.py UPSTREAM_PORT ONE_WAY_MS

prints the port it listens on, then answers lines on stdin: ``reset`` (the
round trips and connections since the last reset), ``cut``, ``restore``, ``quit``.
"""

from __future__ import annotations

import queue
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 65536


class LatencyProxy:
    def __init__(self, upstream_port: int, one_way: float = 0.0, upstream_host: str = "127.0.0.1"):
        self.upstream = (upstream_host, upstream_port)
        self.one_way = one_way  # seconds added to each direction
        self.lock = threading.Lock()
        self.round_trips = 0
        self.connections = 0
        self.links: set[_Link] = set()
        self.port = 0
        self.listener: socket.socket | None = None
        self.restore()

    def route(self, url: str) -> str:
        """`url` (a postgresql:// URL of the upstream server) through this proxy."""
        return through(url, self.port)

    def restore(self) -> None:
        """Listen (again, on the same port after a cut)."""
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True, name="proxy-accept").start()

    def cut(self) -> None:
        """Refuse new connections and close every open one."""
        listener, self.listener = self.listener, None
        if listener is not None:
            _shut(listener)
        with self.lock:
            links, self.links = list(self.links), set()
        for link in links:
            link.close()

    def reset(self) -> tuple[int, int]:
        """The round trips and connections so far, then zero."""
        with self.lock:
            counts = (self.round_trips, self.connections)
            self.round_trips = self.connections = 0
        return counts

    def close(self) -> None:
        self.cut()

    def __enter__(self) -> LatencyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # cut
                return
            try:
                server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            link = _Link(self, client, server)
            with self.lock:
                if self.listener is not listener:  # cut meanwhile
                    link.close()
                    return
                self.links.add(link)
                self.connections += 1
            link.start()

    def _answered(self, link: _Link, from_client: bool) -> None:
        """Bytes arrived from one side: a round trip ends when the server
        answers bytes the client sent."""
        with self.lock:
            if from_client:
                link.asked = True
            elif link.asked:
                link.asked = False
                self.round_trips += 1


class _Link:
    """One client connection and its connection to the server: in each
    direction a reader stamps what arrives and a writer sends it on once its
    delay is up, so bytes keep their order and each is delayed alike."""

    def __init__(self, proxy: LatencyProxy, client: socket.socket, server: socket.socket):
        self.proxy, self.client, self.server = proxy, client, server
        self.asked = False
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def start(self) -> None:
        for source, target, from_client in ((self.client, self.server, True), (self.server, self.client, False)):
            pending: queue.SimpleQueue[tuple[float, bytes] | None] = queue.SimpleQueue()
            threading.Thread(target=self._read, args=(source, pending, from_client), daemon=True).start()
            threading.Thread(target=self._write, args=(target, pending), daemon=True).start()

    def _read(self, source: socket.socket, pending: queue.SimpleQueue[tuple[float, bytes] | None],
              from_client: bool) -> None:
        while True:
            try:
                data = source.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                pending.put(None)
                return
            self.proxy._answered(self, from_client)
            pending.put((time.monotonic() + self.proxy.one_way, data))

    def _write(self, target: socket.socket, pending: queue.SimpleQueue[tuple[float, bytes] | None]) -> None:
        while True:
            item = pending.get()
            if item is None:
                break
            due, data = item
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                target.sendall(data)
            except OSError:
                break
        self.close()

    def close(self) -> None:
        for sock in (self.client, self.server):
            _shut(sock)
        with self.proxy.lock:
            self.proxy.links.discard(self)


def through(url: str, port: int) -> str:
    """`url` with its host and port replaced by 127.0.0.1:`port` (login and database kept)."""
    parts = urlsplit(url)
    login = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{login}@127.0.0.1:{port}" if login else f"127.0.0.1:{port}").geturl()


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked on it
    except OSError:
        pass
    sock.close()


class ProxyProcess:
    """A LatencyProxy in a child process, driven through its stdin."""

    def __init__(self, upstream_port: int, one_way: float = 0.0):
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(upstream_port), str(one_way * 1000)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert self.process.stdout is not None
        self.port = int(self.process.stdout.readline())

    def route(self, url: str) -> str:
        return through(url, self.port)

    def _ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def reset(self) -> tuple[int, int]:
        trips, connections = self._ask("reset").split()
        return int(trips), int(connections)

    def cut(self) -> None:
        self._ask("cut")

    def restore(self) -> None:
        self._ask("restore")

    def close(self) -> None:
        if self.process.poll() is None:
            self._ask("quit")
            self.process.wait(timeout=10)

    def __enter__(self) -> ProxyProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main() -> None:
    proxy = LatencyProxy(int(sys.argv[1]), float(sys.argv[2]) / 1000)
    print(proxy.port, flush=True)
    for line in sys.stdin:
        command = line.strip()
        if command == "reset":
            print(*proxy.reset(), flush=True)
        elif command == "cut":
            proxy.cut()
            print("ok", flush=True)
        elif command == "restore":
            proxy.restore()
            print("ok", flush=True)
        elif command == "quit":
            proxy.close()
            print("ok", flush=True)
            return
        else:
            print(f"unknown command {command!r}", flush=True)


if __name__ == "__main__":
    main()
