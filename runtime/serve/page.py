"""The live page: the standard library's HTTP server, serving what the service sees.

GET /            the page (runtime/serve/static/index.html, with uPlot beside it)
GET /api/sensors the model, and per sensor its last records, oldest first, as JSON
GET /events      new records as server-sent events, a JSON list of records per event

Not open by default: it binds loopback unless a host is named, and then answers only requests
for a loopback host name (a page elsewhere cannot reach it through DNS rebinding). With a token,
every request must carry it: `Authorization: Bearer TOKEN`, the cookie that `/?token=TOKEN` sets,
or `?token=TOKEN`. Bounded: connections time out, at most MAX_CONNECTIONS are served at once and
MAX_PAGES event streams, each reading the service's Feed at its own pace."""

from __future__ import annotations

import contextlib
import hmac
import ipaddress
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .. import checks
from ..errors import UserError
from .service import Service

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
LOOPBACK = "127.0.0.1"
KEEP_ALIVE = 15.0  # seconds between comments on a quiet event stream (proxies close idle ones)
EVENT_PERIOD = 0.25  # seconds between an event stream's writes: a page's frame rate, not more
TIMEOUT = 10.0  # seconds a connection may stay silent, or a write wait for a page to read
MAX_CONNECTIONS = 512  # served at once (a thread each), event streams included; more: 503
MAX_PAGES = 64  # open event streams
BACKLOG = 512  # connections the kernel queues before the server takes them
COOKIE = "edge_forecast_token"


def address(text: str) -> tuple[str, int]:
    """`--http [HOST:]PORT` -> (host, port); no host: loopback. `0.0.0.0:PORT` is every IPv4
    interface, `[::]:PORT` every interface, IPv6 and IPv4."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535 or (host and not host.strip("[]")):
        raise UserError(
            f"--http {text!r}: give [HOST:]PORT, e.g. 8080 (this machine only), "
            "0.0.0.0:8080 (every IPv4 interface) or [::]:8080 (every interface)"
        )
    return host.strip("[]") or LOOPBACK, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Server(ThreadingHTTPServer):
    """A thread per connection, at most MAX_CONNECTIONS of them; IPv6 when the host is."""

    daemon_threads = True  # open event streams do not hold up the exit
    request_queue_size = BACKLOG

    def __init__(self, where: tuple[str, int], handler: type) -> None:
        self.address_family = socket.AF_INET6 if ":" in where[0] else socket.AF_INET
        self.active, self.pages, self.count_lock = 0, 0, threading.Lock()
        super().__init__(where, handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6:  # [::] takes IPv4 too
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        socketserver.TCPServer.server_bind(self)  # not HTTPServer's: no reverse DNS lookup
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request: socket.socket, client_address: tuple) -> None:
        with self.count_lock:
            full = self.active >= MAX_CONNECTIONS
            self.active += not full
        if full:
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def process_request_thread(self, request: socket.socket, client_address: tuple) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self.count_lock:
                self.active -= 1


class Page:
    """The server, on its own threads; `stop()` closes it."""

    def __init__(
        self, service: Service, where: tuple[str, int], about: dict, token: str | None = None
    ) -> None:
        attributes = {"service": service, "about": checks.to_json(about), "token": token}
        attributes["loopback_only"] = is_loopback(where[0])
        handler = type("Handler", (_Handler,), attributes)
        try:
            self.server = _Server(where, handler)
        except OSError as e:
            raise UserError(f"--http {where[0]}:{where[1]}: cannot serve there ({e})") from None
        self.stopping = threading.Event()
        handler.stopping = self.stopping
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        host = "localhost" if host in ("0.0.0.0", "::") else f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    service: Service
    about: bytes
    token: str | None
    loopback_only: bool
    stopping: threading.Event
    timeout = TIMEOUT  # a connection that sends nothing, or a page that stops reading, ends

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a page's requests are not the service's news."""

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if self.loopback_only and not is_loopback(_host_name(self.headers.get("Host", ""))):
            self._send(403, "text/plain", b"this page answers only on this machine's loopback\n")
            return
        given = parse_qs(url.query).get("token", [None])[0]
        if self.token is not None and not self._authorized(given):
            self._send(401, "text/plain", b"a token is needed: open /?token=TOKEN once\n")
            return
        if self.token is not None and given is not None and url.path == "/":
            # kept in a cookie (the page's requests and event stream carry it), out of the URL
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Set-Cookie", f"{COOKIE}={given}; HttpOnly; SameSite=Strict; Path=/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif url.path == "/api/sensors":
            body = b'{"model":' + self.about + b',"sensors":' + self.service.recent() + b"}"
            self._send(200, "application/json", body)
        elif url.path == "/events":
            self._events()
        else:
            self._static(url.path)

    def _authorized(self, given: str | None) -> bool:
        """Whether the request carries the token (compared in constant time)."""
        offered = [given or ""]
        bearer = self.headers.get("Authorization", "")
        if bearer.startswith("Bearer "):
            offered.append(bearer.removeprefix("Bearer "))
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                offered.append(value)
        want = self.token.encode()
        return any(hmac.compare_digest(o.encode(), want) for o in offered)

    def _static(self, path: str) -> None:
        name = "index.html" if path == "/" else path.lstrip("/")
        file = STATIC / name
        if "/" in name or file.suffix not in TYPES or not file.is_file():
            self._send(404, "text/plain", b"not found\n")
            return
        self._send(200, TYPES[file.suffix], file.read_bytes())

    def _send(self, status: int, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events until the page closes or the service stops: every EVENT_PERIOD,
        what the feed gained, as one event holding a JSON list of records."""
        server: _Server = self.server  # type: ignore[assignment]
        with server.count_lock:
            full = server.pages >= MAX_PAGES
            server.pages += not full
        if full:
            self._send(503, "text/plain", f"{MAX_PAGES} pages are open already\n".encode())
            return
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-cache")
            self.end_headers()
            self._follow()
        except OSError:  # the page went away, or stopped reading for TIMEOUT seconds
            pass
        finally:
            with server.count_lock:
                server.pages -= 1

    def _follow(self) -> None:
        feed = self.service.feed
        cursor, quiet = feed.head, 0.0
        self.wfile.write(b": connected\n\n")
        self.wfile.flush()
        while not self.stopping.wait(EVENT_PERIOD):
            records, cursor = feed.since(cursor)
            quiet = 0.0 if records else quiet + EVENT_PERIOD
            if records:
                self.wfile.write(b"data: [" + b",".join(records) + b"]\n\n")
            elif quiet >= KEEP_ALIVE:
                self.wfile.write(b": keep-alive\n\n")
                quiet = 0.0
            else:
                continue
            self.wfile.flush()


def _host_name(header: str) -> str:
    """The host of a Host header: 'localhost:8080' -> 'localhost', '[::1]:8080' -> '::1'."""
    if header.startswith("["):
        return header[1:].partition("]")[0]
    return header.rpartition(":")[0] if header.count(":") == 1 else header
