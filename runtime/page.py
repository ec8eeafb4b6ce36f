"""The live page: the standard library's HTTP server, serving what the service sees.

GET /            the page (runtime/static/index.html, with uPlot beside it)
GET /api/sensors per sensor its last records, oldest first, as JSON
GET /events      every new record as a server-sent event (`data: {record}`)"""

from __future__ import annotations

import json
import queue
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from .errors import UserError
from .service import Service

STATIC = Path(__file__).resolve().parent / "static"
TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".css": "text/css"}
KEEP_ALIVE = 15.0  # seconds between comments on a quiet event stream (proxies close idle ones)


def address(text: str) -> tuple[str, int]:
    """`--http [HOST]:PORT` -> (host, port); no host: every interface."""
    host, _, port = text.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise UserError(f"--http {text!r}: give [HOST]:PORT, e.g. :8080 or 127.0.0.1:8080")
    return host.strip("[]") or "0.0.0.0", int(port)


class Page:
    """The server, on its own threads; `stop()` closes it."""

    def __init__(self, service: Service, where: tuple[str, int], about: dict) -> None:
        handler = type("Handler", (_Handler,), {"service": service, "about": about})
        try:
            self.server = ThreadingHTTPServer(where, handler)
        except OSError as e:
            raise UserError(f"--http {where[0]}:{where[1]}: cannot serve there ({e})") from None
        self.server.daemon_threads = True  # open event streams do not hold up the exit
        self.stopping = threading.Event()
        handler.stopping = self.stopping
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{'localhost' if host in ('0.0.0.0', '::') else host}:{port}/"

    def stop(self) -> None:
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()


class _Handler(BaseHTTPRequestHandler):
    service: Service
    about: dict
    stopping: threading.Event

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: a page's requests are not the service's news."""

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/api/sensors":
            body = {"model": self.about, "sensors": self.service.recent()}
            self._send(200, "application/json", json.dumps(body).encode())
        elif path == "/events":
            self._events()
        else:
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
        self.end_headers()
        self.wfile.write(body)

    def _events(self) -> None:
        """Server-sent events until the page closes or the service stops."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        q = self.service.listen()
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while not self.stopping.is_set():
                records = []
                try:
                    records.append(q.get(timeout=KEEP_ALIVE))
                    while len(records) < 1000:  # what else is waiting: one write, not one each
                        records.append(q.get_nowait())
                except queue.Empty:
                    pass
                text = "".join(f"data: {json.dumps(r)}\n\n" for r in records)
                self.wfile.write((text or ": keep-alive\n\n").encode())
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self.service.unlisten(q)
