"""The one HTTP server on 127.0.0.1 that the tests and the bench scripts serve
feeds, pages and hub endpoints from.

Standard library only, so a bench script (run as `python bench/x.py`) can
import it as well as the tests can.
"""

from __future__ import annotations

import hashlib
import socket
import sys
import threading
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable

# status, headers, body: a whole answer, sent as it is (Content-Length added).
Answer = tuple[int, dict[str, str], bytes]

CONTENT_TYPES = {".atom": "application/atom+xml", ".html": "text/html; charset=utf-8",
                 ".txt": "text/plain", ".json": "application/feed+json"}
FEED_TYPE = "application/rss+xml"  # anything else is served as RSS


class FeedServer:
    """Serves the files under `root` with ETag and Last-Modified, answering a
    matching If-None-Match with 304, over HTTP/1.1 with keep-alive.

    Knobs, all keyed by request path (without the query string for files):
    - overrides: a fixed Answer instead of the file (redirects, errors, bodies
      a test makes up); POSTs are answered from here too, or 404;
    - before: a function called before answering a GET or a POST (to hold an
      answer back, to see the order requests arrive in, or to look at what a
      hub is pinged about);
    - raw: a function given the request handler that writes the whole answer
      itself, status line included (endless, slow or lying bodies).

    It remembers every GET's path and headers (`requests`), every POST's path,
    headers and body (`posted`), counts answers by status, the connections
    clients opened and the most requests it was answering at once."""

    def __init__(self, root: Path | None = None):
        self.root = root
        self.overrides: dict[str, Answer] = {}
        self.before: dict[str, Callable[[], object]] = {}
        self.raw: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.posted: list[tuple[str, dict[str, str], bytes]] = []
        self.statuses: Counter[int] = Counter()
        self.connections = 0
        self.in_flight = self.max_in_flight = 0
        lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in two writes: without this, the
                # client's delayed ACK adds ~40 ms to every kept-alive answer.
                self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with lock:
                    server.connections += 1

            def do_GET(self) -> None:
                with lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    server.requests.append((self.path, dict(self.headers)))
                    self._answer()
                finally:
                    with lock:
                        server.in_flight -= 1

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                server.posted.append((self.path, dict(self.headers), body))
                if self.path in server.before:
                    server.before[self.path]()
                self._send(*server.overrides.get(self.path, (404, {}, b"not found")))

            def _answer(self) -> None:
                if self.path in server.before:
                    server.before[self.path]()
                if self.path in server.raw:
                    return server.raw[self.path](self)
                if self.path in server.overrides:
                    return self._send(*server.overrides[self.path])
                file = server.root / self.path.lstrip("/").split("?")[0] if server.root else None
                if file is None or not file.is_file():
                    return self._send(404, {}, b"not found")
                body = file.read_bytes()
                etag = '"%s"' % hashlib.sha256(body).hexdigest()[:16]
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, {"ETag": etag}, b"")
                modified = formatdate(file.stat().st_mtime, usegmt=True)
                kind = CONTENT_TYPES.get(file.suffix, FEED_TYPE)
                self._send(200, {"ETag": etag, "Last-Modified": modified, "Content-Type": kind}, body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                with lock:
                    server.statuses[status] += 1
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        class Server(ThreadingHTTPServer):
            daemon_threads = True  # kept-alive connections must not hold up close()

            def handle_error(self, request: object, client_address: object) -> None:
                # A client hanging up mid-answer (a size or time cap, a
                # refused redirect) is expected; anything else is a bug here.
                if not isinstance(sys.exc_info()[1], OSError):
                    super().handle_error(request, client_address)  # type: ignore[arg-type]

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def source(self, name: str, file: str, category: str) -> dict:
        """A feeds.yaml source entry for one of the files this server serves."""
        return {"name": name, "url": f"{self.url}/{file}", "category": category}

    def reset(self) -> None:
        """Forget the requests and counts so far (between a bench's cycles)."""
        self.requests.clear()
        self.posted.clear()
        self.statuses.clear()
        self.connections = self.max_in_flight = 0

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
