"""Lines sent to a running broadcast: a small HTTP endpoint on loopback, and standard input.

HTTP (stdlib, one thread per request): POST /say or POST /ask with {"text": "..."} (or the text as a
plain body) queues a line and answers 202 with its place; GET /status tells how the stream is doing.
Errors are plain JSON with a reason: 400 bad body, 404/405 wrong path or method, 413 too big, 429 queue
full. The endpoint has no authentication, so it listens on loopback only.
Standard input: each line is said; "/ask QUESTION" asks the brain; "/say TEXT" says TEXT.
"""
from __future__ import annotations

import ipaddress
import json
import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from visage.errors import InputError
from visage.live.broadcast.lines import MAX_CHARS, LineQueue, QueueFull, check_line

MAX_BODY = 4 * MAX_CHARS + 256  # UTF-8 of the longest line, in JSON


def parse_address(value: str) -> tuple[str, int]:
    """HOST:PORT for the control endpoint, loopback only (127.0.0.1:8765, [::1]:8765, localhost:8765)."""
    host, sep, port = (value or "").rpartition(":")
    host = host.strip("[]")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"--control expects HOST:PORT such as 127.0.0.1:8765, got {value!r}")
    if host == "localhost":
        host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise InputError(f"the control endpoint has no authentication, so it listens on loopback only "
                         f"(127.0.0.1 or ::1), not {host!r}; put a proxy with authentication in front to reach it "
                         "from elsewhere")
    return host, int(port)


class ControlServer:
    """The HTTP endpoint: queues lines into `queue`, reports `status()`."""

    def __init__(self, address: tuple[str, int], queue: LineQueue, status: Callable[[], dict]) -> None:
        handler = type("Handler", (_Handler,), {"queue": queue, "status": staticmethod(status)})
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": _family(address[0]),
                                                                "daemon_threads": True})
        try:
            self._server = server_class(address, handler)
        except OSError as exc:
            raise InputError(f"cannot listen on {address[0]}:{address[1]} for --control: {exc.strerror}") from None
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="visage-broadcast-control",
                                        daemon=True)

    def start(self) -> "ControlServer":
        self._thread.start()
        return self

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


def _family(host: str):
    import socket

    return socket.AF_INET6 if ":" in host else socket.AF_INET


class _Handler(BaseHTTPRequestHandler):
    queue: LineQueue
    status: Callable[[], dict]
    server_version = "visage-broadcast"

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - no access log on stderr
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        if self.path.rstrip("/") == "/status":
            self._reply(200, self.status())
        else:
            self._reply(404, {"error": f"no such endpoint {self.path}; use POST /say, POST /ask or GET /status"})

    def do_POST(self) -> None:  # noqa: N802
        kind = self.path.strip("/")
        if kind not in ("say", "ask"):
            self._reply(404, {"error": f"no such endpoint {self.path}; use POST /say or POST /ask"})
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, {"error": f"the body is {length} bytes; the most is {MAX_BODY}"})
            return
        body = self.rfile.read(length)
        try:
            request = check_line(_text_of(body, self.headers.get("Content-Type", "")), kind)
            place = self.queue.put(request)
        except QueueFull as exc:
            self._reply(429, {"error": str(exc)})
            return
        except InputError as exc:
            self._reply(400, {"error": str(exc)})
            return
        self._reply(202, {"queued": place, "kind": kind, "text": request.text})

    def do_PUT(self) -> None:  # noqa: N802
        self._reply(405, {"error": "use POST /say or POST /ask"})

    do_DELETE = do_PATCH = do_PUT

    def _reply(self, code: int, payload: dict) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _text_of(body: bytes, content_type: str) -> str:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("the body is not UTF-8 text") from None
    if "json" not in content_type and not text.lstrip().startswith("{"):
        return text  # a plain-text body is the line itself
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the body is not valid JSON ({exc.msg} at character {exc.pos}); send {{\"text\": \"...\"}}")\
            from None
    if not isinstance(data, dict) or "text" not in data:
        raise InputError("the JSON body needs a \"text\" field: {\"text\": \"...\"}")
    return data["text"]


def read_stdin_lines(queue: LineQueue, say: Callable[[str], None], stream=None) -> threading.Thread:
    """A thread queueing standard input's lines ("/ask ..." asks, "/say ..." or anything else says)."""
    stream = stream or sys.stdin

    def run() -> None:
        for raw in stream:
            line = raw.strip()
            if not line:
                continue
            kind, text = "say", line
            command, _, rest = line.partition(" ")
            if command in ("/ask", "/say"):
                kind, text = command[1:], rest
            try:
                place = queue.put(check_line(text, kind))
                say(f"queued ({kind}, place {place}): {text[:60]}")
            except InputError as exc:
                say(f"not queued: {exc}")

    thread = threading.Thread(target=run, name="visage-broadcast-stdin", daemon=True)
    thread.start()
    return thread
