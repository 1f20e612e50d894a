"""A real local chat-completions server that streams server-sent events, for tests.

`LocalChatServer` listens on 127.0.0.1 (an ephemeral port, in a thread) and answers
`POST /v1/chat/completions` (and `GET /v1/models`) with `stream: true` the way OpenAI, vLLM and llama.cpp do: HTTP/1.1,
chunked, one `data: {chunk}` event per token (a role chunk first, a finish_reason chunk last), then
`data: [DONE]`. `mode` scripts a failure:
  "ok"       every token at once;
  "slow"     `delay` seconds between tokens (within the brain's timeouts);
  "error"    HTTP 500 with an OpenAI-style JSON error;
  "cutoff"   half the tokens, then the connection closes without [DONE] or the final chunk;
  "silent"   reads the request and never answers (a first-token timeout);
  "stall"    half the tokens, then silence (a mid-reply timeout);
  "bad_json" a few tokens, then an event that is not JSON;
  "whole"    ignores `stream` and answers one JSON completion, as some proxies do.
Every request is recorded; `client_gone` is set when the client closes the connection mid-reply,
`finished` when a whole stream has been sent, and `sent` counts the tokens written.
"""
from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ERROR_TEXT = "model 'visage-test' ran out of memory (test server)"
MODES = ("ok", "slow", "error", "cutoff", "silent", "stall", "bad_json", "whole")


@dataclass
class ChatRequest:
    path: str
    headers: dict[str, str]
    json: dict
    client_port: int


class LocalChatServer:
    """A running imitation of an OpenAI-compatible streaming chat server."""

    def __init__(self, tokens: list[str] | None = None, mode: str = "ok", delay: float = 0.05,
                 api_key: str | None = None) -> None:
        assert mode in MODES, mode
        self.tokens = list(tokens or ["[happy 0.7] Hello", " there", "!"])
        self.mode, self.delay, self.api_key = mode, delay, api_key
        self.requests: list[ChatRequest] = []
        self.sent = 0
        self.sent_times: list[float] = []
        self.client_gone = threading.Event()
        self.finished = threading.Event()
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name="chat-server",
                                        daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "LocalChatServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()  # wake handlers waiting in "silent" and "stall" modes
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


def chunk(content: str | None = None, finish: str | None = None, role: bool = False) -> dict:
    delta: dict = {"role": "assistant", "content": ""} if role else {}
    if content is not None:
        delta["content"] = content
    return {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": "visage-test",
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def _make_handler(server: LocalChatServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:
            pass

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                return self._json(200, {"object": "list", "data": [{"id": "visage-test", "object": "model"}]})
            self._json(404, {"error": {"message": f"Unknown path {self.path}"}})

        def do_POST(self) -> None:
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                server.client_gone.set()
                self.close_connection = True

        def _answer(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k.lower(): v for k, v in self.headers.items()}
            body = json.loads(raw or b"{}")
            server.requests.append(ChatRequest(self.path, headers, body, self.client_address[1]))
            if self.path != "/v1/chat/completions":
                return self._json(404, {"error": {"message": f"Unknown path {self.path}"}})
            if server.api_key and headers.get("authorization") != f"Bearer {server.api_key}":
                return self._json(401, {"error": {"message": "Incorrect API key provided."}})
            if server.mode == "error":
                return self._json(500, {"error": {"message": ERROR_TEXT, "type": "server_error"}})
            if server.mode == "whole":
                message = {"role": "assistant", "content": "".join(server.tokens)}
                return self._json(200, {"object": "chat.completion", "choices": [
                    {"index": 0, "message": message, "finish_reason": "stop"}]})
            if server.mode == "silent":
                self._wait(None)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            self._event(chunk(role=True))
            tokens = server.tokens
            half = max(1, len(tokens) // 2)
            for i, token in enumerate(tokens):
                if server.mode in ("cutoff", "stall", "bad_json") and i == half:
                    return self._fail()
                if server.mode == "slow" and i and not self._wait(server.delay):
                    return
                self._event(chunk(token))
                server.sent += 1
                server.sent_times.append(time.monotonic())
            self._event(chunk(finish="stop"))
            self._write(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            server.finished.set()

        def _fail(self) -> None:
            if server.mode == "stall":
                self._wait(None)
            elif server.mode == "bad_json":
                self._write(b'data: {"choices": [{"delta": {"content": "oops"\n\n')
                self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_WR)
            except OSError:
                server.client_gone.set()

        def _wait(self, seconds: float | None) -> bool:
            """Sleep, noticing at once when the client hangs up; False when it did."""
            end = None if seconds is None else time.monotonic() + seconds
            while not server._release.is_set():
                left = 0.05 if end is None else min(0.05, end - time.monotonic())
                if left <= 0:
                    return True
                readable, _, _ = select.select([self.connection], [], [], left)
                if readable:
                    try:
                        gone = not self.connection.recv(1, socket.MSG_PEEK)
                    except OSError:
                        gone = True
                    if gone:
                        server.client_gone.set()
                        return False
            return True

        def _event(self, payload: dict) -> None:
            self._write(b"data: " + json.dumps(payload, ensure_ascii=False).encode() + b"\n\n")

        def _write(self, data: bytes) -> None:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        def _json(self, status: int, payload: dict) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


def closed_port_url() -> str:
    """The URL of a local port nothing listens on (a server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"
