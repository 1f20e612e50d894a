"""Shared plumbing for voices served over HTTP (OpenAI-compatible, GPT-SoVITS, CosyVoice).

Every HTTP voice fails in the same few ways: the server is not running, it answers with an error, it
is too slow, or the audio arrives cut off or is not audio at all. Each of these is turned here, in one
place, into a BackendError that says what happened and what to do, so the three adapters stay small
and a person reading a log never sees a bare httpx traceback.
"""
from __future__ import annotations

import logging
import struct

import numpy as np

from visage.backends.http import error_text
from visage.backends.options import positive_seconds
from visage.core.audio import decode_wav
from visage.errors import BackendError, InputError, require

log = logging.getLogger(__name__)

# Local servers accept a connection within milliseconds; a few seconds means "not there".
DEFAULT_CONNECT_TIMEOUT = 3.0
# Reply time for one sentence: large models on a CPU can take tens of seconds for a long sentence.
DEFAULT_READ_TIMEOUT = 60.0


class VoiceServer:
    """One voice server: its address, its timeouts, and how a person would start it.

    `start_hint` is the command or step shown when the server cannot be reached.
    """

    def __init__(
        self,
        backend: str,
        base_url: str,
        start_hint: str,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        headers: dict[str, str] | None = None,
    ) -> None:
        connect_timeout = positive_seconds(f"the {backend} voice", "connect_timeout", connect_timeout)
        read_timeout = positive_seconds(f"the {backend} voice", "timeout", read_timeout)
        if not base_url or not str(base_url).startswith(("http://", "https://")):
            raise InputError(
                f"the {backend} voice needs a server URL starting with http:// or https://, not {base_url!r}"
            )
        self.backend = backend
        self.base_url = str(base_url).rstrip("/")
        self.start_hint = start_hint
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.headers = dict(headers or {})
        self._client = None

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    @property
    def client(self):
        """The pooled httpx client, made on first use so that importing visage never needs httpx."""
        if self._client is None:
            httpx = require("httpx", self.backend, "http")
            timeout = httpx.Timeout(self.read_timeout, connect=self.connect_timeout)
            self._client = httpx.Client(timeout=timeout, headers=self.headers, follow_redirects=True)
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, path: str, **kwargs) -> tuple[bytes, dict[str, str]]:
        """Send one request; return (body, lower-cased response headers) of a 2xx reply, or raise a
        BackendError that names the cause and the fix. `kwargs` go to httpx (json, data, files)."""
        httpx = require("httpx", self.backend, "http")
        url = self.url(path)
        try:
            with self.client.stream(method, url, **kwargs) as response:
                try:
                    body = response.read()
                except httpx.TimeoutException:
                    raise self._slow(url) from None
                except (httpx.RemoteProtocolError, httpx.ReadError) as exc:
                    raise BackendError(
                        f"the {self.backend} voice server's audio was cut off: the connection to {url} closed "
                        f"before the whole reply arrived ({exc}); the server may have crashed mid-sentence, "
                        "check its log"
                    ) from None
                headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code >= 400:
                    raise self._http_error(response.status_code, response.reason_phrase, method, url, body)
                return body, headers
        except httpx.ConnectTimeout:
            raise BackendError(
                f"the {self.backend} voice server at {self.base_url} did not accept a connection within "
                f"{self.connect_timeout:g} s; is the server running and reachable? start it with: {self.start_hint}"
            ) from None
        except httpx.ConnectError as exc:
            raise BackendError(
                f"cannot reach the {self.backend} voice server at {self.base_url} ({exc}); is the server running? "
                f"start it with: {self.start_hint}"
            ) from None
        except httpx.TimeoutException:
            raise self._slow(url) from None
        except httpx.RemoteProtocolError as exc:
            raise BackendError(
                f"the {self.backend} voice server at {url} closed the connection without a valid reply ({exc}); "
                "check the server's log, and that the URL points at the right server"
            ) from None
        except httpx.HTTPError as exc:
            raise BackendError(f"request to the {self.backend} voice server at {url} failed: {exc}") from None

    def _slow(self, url: str) -> BackendError:
        return BackendError(
            f"the {self.backend} voice server at {url} timed out: no reply within {self.read_timeout:g} s; "
            "the server may be overloaded or still loading its model; raise the voice's `timeout` option "
            "if it is just slow"
        )

    def _http_error(self, status: int, reason: str, method: str, url: str, body: bytes) -> BackendError:
        text = error_text(body)
        hint = {
            401: "check the API key",
            403: "check the API key and its permissions",
            404: f"check the URL: is {self.base_url} a {self.backend} server, and its API version the expected one?",
            405: f"check the URL and that the server's version supports {method} here",
            429: "the server is rate-limiting; wait or lower the request rate",
        }.get(status, "see the server's log for details" if status >= 500 else "check the voice's options")
        return BackendError(
            f"the {self.backend} voice server answered HTTP {status} {reason} to {method} {url}: "
            f"{text or '(no error text)'}; {hint}"
        )


# -- options: they arrive as text from the command line and config files ------------------------------
def as_bool(backend: str, name: str, value) -> bool:
    """A yes/no option from a bool or its text (true/false, yes/no, on/off, 1/0)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"the {backend} voice's {name} must be true or false, not {value!r}")


def reject_unknown(backend: str, unknown: dict, known: list[str]) -> None:
    """Name misspelt options instead of ignoring them (a silently ignored URL is hard to find)."""
    if unknown:
        raise InputError(
            f"unknown option(s) for the {backend} voice: {', '.join(sorted(unknown))}; "
            f"it takes: {', '.join(known)}"
        )


def decode_wav_reply(backend: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[np.ndarray, int]:
    """Decode a WAV reply to (mono float32 samples, rate), refusing cut-off or non-audio bodies."""
    _check_not_empty(backend, body, headers)
    if body[:4] != b"RIFF":
        raise BackendError(f"the {backend} voice server's audio was invalid: {_describe(body, headers)}")
    declared = _declared_data_size(body)
    if declared is not None and declared[0] + declared[1] > len(body):
        start, size = declared
        raise BackendError(
            f"the {backend} voice server's audio was cut off: its WAV header declares {size} bytes of audio "
            f"but only {len(body) - start} arrived; the server may have crashed mid-sentence, check its log"
        )
    try:
        samples, rate = decode_wav(body)
    except InputError as exc:
        raise BackendError(f"the {backend} voice server's audio was invalid: {exc}") from None
    return _non_empty(backend, samples), rate


def decode_pcm16_reply(
    backend: str, body: bytes, sample_rate: int, headers: dict[str, str] | None = None
) -> tuple[np.ndarray, int]:
    """Decode raw little-endian 16-bit mono PCM (OpenAI's `pcm`, CosyVoice's stream) at a known rate."""
    _check_not_empty(backend, body, headers)
    content_type = (headers or {}).get("content-type", "")
    if content_type.startswith(("application/json", "text/")):
        raise BackendError(f"the {backend} voice server's audio was invalid: {_describe(body, headers)}")
    if len(body) % 2:
        raise BackendError(
            f"the {backend} voice server's audio was cut off: {len(body)} bytes is not a whole number of "
            "16-bit samples; check the server's log"
        )
    samples = np.frombuffer(body, "<i2").astype(np.float32) / 32768.0
    return _non_empty(backend, samples), int(sample_rate)


def _check_not_empty(backend: str, body: bytes, headers: dict[str, str] | None) -> None:
    if not body:
        raise BackendError(f"the {backend} voice server sent an empty reply instead of audio; check the server's log")


def _non_empty(backend: str, samples: np.ndarray) -> np.ndarray:
    if len(samples) == 0:
        raise BackendError(f"the {backend} voice server's audio was invalid: it holds no samples")
    return samples


def _describe(body: bytes, headers: dict[str, str] | None) -> str:
    content_type = (headers or {}).get("content-type", "unknown type")
    return f"expected audio, got {content_type}: {error_text(body[:2000])!r}"


def _declared_data_size(body: bytes) -> tuple[int, int] | None:
    """(offset, size) of the WAV data chunk as its header declares it; None when the size is a
    streaming placeholder (0 or 0xFFFFFFFF) or the header cannot be walked (decode_wav reports that)."""
    pos = 12
    while pos + 8 <= len(body):
        chunk_id = body[pos : pos + 4]
        size = struct.unpack("<I", body[pos + 4 : pos + 8])[0]
        if chunk_id == b"data":
            return None if size in (0, 0xFFFFFFFF) else (pos + 8, size)
        pos += 8 + size + (size & 1)
    return None
