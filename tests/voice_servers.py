"""Real local HTTP servers that speak the voice APIs visage talks to, for tests.

Each `LocalVoiceServer` listens on 127.0.0.1 (an ephemeral port, in a thread) and answers one API's
routes the way the real server does, with real speech made by visage's espeak voice: OpenAI's
`/v1/audio/speech` (WAV with streaming-size header, or raw 24 kHz PCM), GPT-SoVITS api_v2's `/tts`
(32 kHz WAV), CosyVoice's `/inference_zero_shot` and `/inference_sft` (headerless 16-bit PCM,
chunked; `announce_rate` adds the sample-rate header some CosyVoice servers send). `mode` switches
it to a failure: "error" (HTTP 500 with a JSON error), "slow" (no reply for `slow_seconds`),
"cutoff" (declares a Content-Length, then closes mid-body), "cutoff_chunked" (closes a chunked reply
without its final chunk) or "not_audio" (a 200 HTML page). Every request is recorded for the tests to read.
"""
from __future__ import annotations

import email.parser
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np

from visage.backends.tts.espeak import EspeakTTS
from visage.core.audio import encode_wav, resample
from visage.core.types import SpeechRequest

ERROR_TEXT = "CUDA out of memory while synthesising (test server)"
_ESPEAK = EspeakTTS()
_ESPEAK_LOCK = threading.Lock()


def speech(text: str, rate: int) -> np.ndarray:
    """Real speech for `text` from the embedded voice, at `rate` Hz."""
    with _ESPEAK_LOCK:
        chunks = list(_ESPEAK.stream(SpeechRequest(text)))
        native = _ESPEAK.sample_rate
    samples = np.concatenate([c.samples for c in chunks])
    return resample(samples, native, rate)


def pcm16(samples: np.ndarray) -> bytes:
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def streaming_wav(samples: np.ndarray, rate: int) -> bytes:
    """A WAV whose RIFF and data sizes are 0xFFFFFFFF, as servers that stream WAV write it."""
    wav = bytearray(encode_wav(samples, rate))
    wav[4:8] = b"\xff\xff\xff\xff"
    wav[40:44] = b"\xff\xff\xff\xff"
    return bytes(wav)


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    json: dict | None = None
    form: dict[str, str] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


class LocalVoiceServer:
    """A running imitation of one voice API ("openai", "gpt-sovits" or "cosyvoice")."""

    def __init__(self, api: str, mode: str = "ok", slow_seconds: float = 5.0, pcm_rate: int = 22050,
                 announce_rate: bool = False) -> None:
        assert api in ("openai", "gpt-sovits", "cosyvoice"), api
        self.api, self.mode, self.slow_seconds = api, mode, slow_seconds
        self.pcm_rate, self.announce_rate = pcm_rate, announce_rate
        self.requests: list[RecordedRequest] = []
        self._release = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.05,), name=f"{api}-server", daemon=True  # quick shutdown
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> "LocalVoiceServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._release.set()  # wake handlers still sleeping in "slow" mode
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    # -- the APIs -----------------------------------------------------------------------------------
    def reply(self, req: RecordedRequest) -> tuple[int, str, bytes, bool]:
        """(status, content type, body, chunked) for a request, as the imitated server would answer."""
        route = (req.method, req.path)
        if self.api == "openai" and route == ("POST", "/v1/audio/speech"):
            body = req.json or {}
            missing = [k for k in ("model", "input", "voice") if not body.get(k)]
            if missing:
                return _json(400, {"error": {"message": f"Missing required parameter: '{missing[0]}'."}})
            if body.get("response_format") == "pcm":
                return 200, "audio/pcm", pcm16(speech(body["input"], 24000)), False
            return 200, "audio/wav", streaming_wav(speech(body["input"], 24000), 24000), False
        if self.api == "gpt-sovits" and route == ("POST", "/tts"):
            body = req.json or {}
            for key in ("ref_audio_path", "text", "text_lang", "prompt_lang"):
                if not body.get(key):
                    return _json(400, {"message": f"{key} is required"})
            return 200, "audio/wav", encode_wav(speech(body["text"], 32000), 32000), False
        if self.api == "cosyvoice" and req.method in ("GET", "POST") and req.path in (
            "/inference_zero_shot", "/inference_sft"
        ):
            needed = ("tts_text", "prompt_text") if req.path == "/inference_zero_shot" else ("tts_text", "spk_id")
            absent = [k for k in needed if k not in req.form]
            if req.path == "/inference_zero_shot" and "prompt_wav" not in req.files:
                absent.append("prompt_wav")
            if absent:
                return _json(422, {"detail": [{"loc": ["body", k], "msg": "Field required"} for k in absent]})
            return 200, "application/octet-stream", pcm16(speech(req.form["tts_text"], self.pcm_rate)), True
        return _json(404, {"detail": "Not Found"})

    def not_audio_reply(self) -> tuple[int, str, bytes, bool]:
        """What a wrong URL often gives: a 200 page that is not audio."""
        return 200, "text/html", b"<html><body>Welcome to nginx!</body></html>", False

    def error_reply(self) -> tuple[int, str, bytes, bool]:
        payload = {
            "openai": {"error": {"message": ERROR_TEXT, "type": "server_error"}},
            "gpt-sovits": {"message": "tts failed", "Exception": ERROR_TEXT},
            "cosyvoice": {"detail": ERROR_TEXT},
        }[self.api]
        return _json(500, payload)


def _json(status: int, payload: dict) -> tuple[int, str, bytes, bool]:
    return status, "application/json", json.dumps(payload).encode(), False


def _make_handler(server: LocalVoiceServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive and chunked replies, like uvicorn

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_GET(self) -> None:
            self._handle()

        def do_POST(self) -> None:
            self._handle()

        def _handle(self) -> None:
            try:
                self._answer()
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True  # the client gave up (a timeout test): nothing to report

        def _answer(self) -> None:
            req = self._read_request()
            server.requests.append(req)
            if server.mode == "slow":
                server._release.wait(server.slow_seconds)
            if server.mode == "error":
                status, ctype, body, chunked = server.error_reply()
            elif server.mode == "not_audio":
                status, ctype, body, chunked = server.not_audio_reply()
            else:
                status, ctype, body, chunked = server.reply(req)
            if server.mode == "cutoff":
                self._send(status, ctype, body, chunked=False, cut=True)
            elif server.mode == "cutoff_chunked":
                self._send(status, ctype, body, chunked=True, cut=True)
            else:
                self._send(status, ctype, body, chunked=chunked)

        def _read_request(self) -> RecordedRequest:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            req = RecordedRequest(self.command, urlsplit(self.path).path, headers)
            ctype = headers.get("content-type", "")
            if ctype.startswith("application/json"):
                req.json = json.loads(raw or b"{}")
            elif ctype.startswith("application/x-www-form-urlencoded"):
                req.form = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            elif ctype.startswith("multipart/form-data"):
                message = email.parser.BytesParser().parsebytes(
                    b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + raw
                )
                for part in message.get_payload():
                    name = part.get_param("name", header="content-disposition")
                    data = part.get_payload(decode=True)
                    if part.get_filename() is not None:
                        req.files[name] = data
                    else:
                        req.form[name] = data.decode()
            return req

        def _send(self, status: int, ctype: str, body: bytes, chunked: bool, cut: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            if chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            if server.announce_rate and status == 200:
                self.send_header("X-Custom-Header-sampleRate", str(server.pcm_rate))
            if cut:
                self.send_header("Connection", "close")
            self.end_headers()
            data = body[: len(body) // 2] if cut else body
            if chunked:
                for i in range(0, len(data), 8192):
                    piece = data[i : i + 8192]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                if not cut:
                    self.wfile.write(b"0\r\n\r\n")
            else:
                self.wfile.write(data)
            self.wfile.flush()
            if cut:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_WR)

    return Handler


def closed_port_url() -> str:
    """The URL of a local port nothing listens on (a server that is down)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"
