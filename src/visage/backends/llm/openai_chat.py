"""A brain on any OpenAI-compatible chat-completions server, streaming: OpenAI, Ollama, vLLM, the
llama.cpp server, LM Studio, DeepSeek, Qwen (DashScope) and others.

Why a reader thread: httpx blocks while the server thinks, and a barge-in must not wait for the model's
next token. A thread reads the server-sent events into a queue; the reply generator waits on that queue
in POLL_SECONDS slices, so `cancel`, the first-token deadline and the stall deadline are honoured at
once, and shutting the socket wakes the reader and tells the server to stop generating.

Why it never raises for model failures: a live conversation must survive a model that is down, slow,
erroring or cut off. The failure is logged with its cause and fix, and the reply ends with a short
apology in the user's language; sentences already yielded stay yielded.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import re
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from visage.backends.http import error_text
from visage.backends.llm import registry
from visage.backends.llm.base import Brain, Conversation, ReplySentence
from visage.backends.llm.delivery import Delivery, session_delivery
from visage.backends.llm.knowledge import KnowledgeBase, load_knowledge
from visage.backends.llm.prompt import DEFAULT_TOKEN_BUDGET, MIN_TOKEN_BUDGET, build_messages, fold_system
from visage.backends.options import positive_seconds
from visage.core.tags import TaggedSentence, TagStreamParser
from visage.core.types import Emotion
from visage.errors import BackendError, InputError, require
from visage.core.text import is_chinese_language, language_of

log = logging.getLogger(__name__)
BRAIN = "the openai brain"  # how options and errors name this backend

# The defaults of every way to reach this brain (CLI, server, pages, visage.config): a local Ollama, since
# visage is offline first; any OpenAI-compatible server (OpenAI itself: https://api.openai.com/v1) by its URL.
DEFAULT_BASE_URL = "http://127.0.0.1:11434/v1"
DEFAULT_MODEL = "qwen2.5:7b"  # used by visage.config; the class itself needs a model named
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_TIMEOUT = 20.0  # the longest silence allowed once the reply has begun
DEFAULT_FIRST_TOKEN_TIMEOUT = 60.0  # a CPU server reads a long prompt before its first token
DEFAULT_MAX_TOKENS = 400  # a spoken reply; also bounds the cost of a runaway model
# A reply is cut at this total time and length whatever the server does (one that streams forever
# would otherwise keep a session, and its CPU, busy without end); far above any spoken answer.
MAX_REPLY_SECONDS = 120.0
MAX_REPLY_CHARS = 6000
POLL_SECONDS = 0.02  # how late a cancel may be noticed while the server is silent
KNOWLEDGE_HITS = 3
KNOWLEDGE_MIN_CONFIDENCE = 0.2  # lower than a FAQ answer needs: the model judges relevance itself
APOLOGIES = {  # (nothing said yet, cut off mid-reply)
    "en": ("Sorry, I can't answer right now. Please try again.", "Sorry, I lost my train of thought."),
    "zh": ("抱歉，我现在无法回答，请稍后再试。", "抱歉，我的思路断了。"),
}
START_HINT = "start the server (e.g. `ollama serve`, `llama-server -m model.gguf`, `vllm serve MODEL`)"
# Models whose chat format drops the system message (Gemma has no system role: llama-cpp-python's
# "gemma" format, checked by tests/test_brain_llama.py): for them the system prompt goes into the
# first user turn.
SYSTEM_DROPPING_MODELS = re.compile(r"gemma", re.IGNORECASE)


@registry.register("openai")
class OpenAIChatBrain(Brain):
    """Streams replies from `{base_url}/chat/completions`. One pooled HTTP client serves all replies."""

    name = "openai"

    def __init__(
        self,
        base_url: str | None = None,
        model: str | None = None,
        api_key: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        first_token_timeout: float = DEFAULT_FIRST_TOKEN_TIMEOUT,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
        temperature: float | None = 0.7,
        token_budget: int = DEFAULT_TOKEN_BUDGET,
        max_tokens: int | None = DEFAULT_MAX_TOKENS,
        language: str | None = None,
        knowledge: KnowledgeBase | str | Path | Sequence[str | Path] | None = None,
        fold_system: bool | None = None,
    ) -> None:
        base_url = base_url or os.environ.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL
        if not str(base_url).startswith(("http://", "https://")):
            raise InputError(f"the openai brain needs a base_url starting with http:// or https://, not {base_url!r}")
        self.model = model or os.environ.get("OPENAI_MODEL")
        if not self.model:
            raise InputError("the openai brain needs a model name: set its `model` option (or OPENAI_MODEL)")
        self.base_url = str(base_url).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self.timeout = positive_seconds(BRAIN, "timeout", timeout)
        self.first_token_timeout = positive_seconds(BRAIN, "first_token_timeout", first_token_timeout)
        self.connect_timeout = positive_seconds(BRAIN, "connect_timeout", connect_timeout)
        self.temperature = None if temperature is None else float(temperature)
        self.token_budget = int(token_budget)
        if self.token_budget < MIN_TOKEN_BUDGET:
            raise InputError(f"the openai brain's token_budget must be at least {MIN_TOKEN_BUDGET}, not {token_budget}")
        self.max_tokens = None if max_tokens is None else int(max_tokens)
        self.language = language
        if knowledge is None or isinstance(knowledge, KnowledgeBase):
            self.knowledge = knowledge
        else:  # knowledge files (Markdown or YAML FAQ), as a config file names them
            self.knowledge = load_knowledge(*([knowledge] if isinstance(knowledge, (str, Path)) else knowledge))
        # None: fold the system prompt into the first user turn for models known to drop system messages
        self.fold_system = bool(SYSTEM_DROPPING_MODELS.search(self.model)) if fold_system is None else fold_system
        self._client = None
        self._client_lock = threading.Lock()

    @property
    def client(self):
        """The pooled httpx client, made on first use so that importing visage never needs httpx."""
        with self._client_lock:
            if self._client is None:
                httpx = require("httpx", "openai brain", "http")
                # The reader's own backstop; the reply enforces the real deadlines itself.
                read = max(self.timeout, self.first_token_timeout) + 5.0
                headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
                self._client = httpx.Client(timeout=httpx.Timeout(read, connect=self.connect_timeout),
                                            headers=headers, follow_redirects=True)
            return self._client

    def close(self) -> None:
        with self._client_lock:
            if self._client is not None:
                self._client.close()
                self._client = None

    def load(self) -> None:
        """Check that the server answers and knows the model (GET /models); a server without that
        route is accepted, since chat completions are all a brain needs."""
        httpx = require("httpx", "openai brain", "http")
        url = f"{self.base_url}/models"
        try:
            response = self.client.get(url, timeout=self.connect_timeout + 5.0)
        except httpx.HTTPError as exc:
            raise BackendError(_transport_message(exc, self.base_url, self.connect_timeout)) from None
        if response.status_code in (401, 403):
            raise BackendError(f"the chat model server at {url} refused the API key (HTTP {response.status_code}: "
                               f"{error_text(response.content)}); set api_key or OPENAI_API_KEY")
        try:
            ids = [m.get("id") for m in response.json().get("data", [])] if response.status_code == 200 else []
        except (ValueError, AttributeError):
            ids = []
        if ids and self.model not in ids:  # Ollama: not pulled yet; others: a typo
            log.warning("the chat model server at %s does not list model %r (it has: %s)",
                        self.base_url, self.model, ", ".join(map(str, ids[:10])))

    def reply(
        self,
        conversation: Conversation,
        message: str,
        user_emotion: Emotion | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[ReplySentence]:
        cancel = cancel or threading.Event()
        if cancel.is_set():
            return
        language = self.language or conversation.language
        apology_language = "zh" if is_chinese_language(language_of(message, language)) else "en"
        parser = TagStreamParser(language)
        pace = session_delivery(conversation, message)  # "slower please", said earlier in the session
        facts = [] if self.knowledge is None else [
            f"{hit.entry.question} {hit.entry.answer}"
            for hit in self.knowledge.search(message, language, KNOWLEDGE_HITS, KNOWLEDGE_MIN_CONFIDENCE)]
        messages = build_messages(conversation, message, user_emotion, self.token_budget, facts, language)
        if self.fold_system:
            messages = fold_system(messages)
        payload = {"model": self.model, "messages": messages, "stream": True}
        for key, value in (("temperature", self.temperature), ("max_tokens", self.max_tokens)):
            if value is not None:  # None leaves it out, for models that refuse it (OpenAI's o-series)
                payload[key] = value
        url = f"{self.base_url}/chat/completions"
        stream = _ChatStream(self.client, url, payload, self.base_url, self.connect_timeout)
        said, failure, heard, cut_at = 0, None, 0, time.monotonic() + MAX_REPLY_SECONDS
        try:
            started, deadline = False, time.monotonic() + self.first_token_timeout
            while True:
                kind, value = self._next_event(stream, cancel, min(deadline, cut_at), started)
                if kind == "token":
                    heard += len(value)
                if heard > MAX_REPLY_CHARS or (kind == "fail" and time.monotonic() >= cut_at):
                    log.warning("brain %s (model %s): reply cut at %d characters / %.0f s", self.name, self.model,
                                heard, MAX_REPLY_SECONDS)
                    for s in parser.flush(complete_only=True):
                        yield _reply(s, pace)
                    return
                if kind == "cancel":
                    return
                if kind == "fail":
                    failure = value
                    break
                if kind == "bug":
                    raise value
                if kind == "end":
                    sentences = parser.flush()
                else:  # "token", or "progress" (reasoning text: the model is working, silently)
                    started, deadline = started or kind == "token", time.monotonic() + self.timeout
                    sentences = parser.feed(value) if kind == "token" else []
                for s in sentences:
                    if cancel.is_set():
                        return
                    yield _reply(s, pace)
                    said += 1
                if kind == "end":
                    stream.wait(0.2)  # let the reader hand the connection back to the pool
                    return
        finally:
            stream.abort()
        log.error("brain %s (model %s, session %s): %s", self.name, self.model, conversation.session_id, failure)
        for s in parser.flush(complete_only=True):
            yield _reply(s, pace)
            said += 1
        yield ReplySentence(APOLOGIES[apology_language][1 if said else 0], language=apology_language,
                            emotion=Emotion.SAD, intensity=0.3)

    def _next_event(self, stream: "_ChatStream", cancel: threading.Event, deadline: float,
                    started: bool) -> tuple[str, object]:
        while not cancel.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                what, option = ("stalled mid-reply", "timeout") if started else ("sent no reply", "first_token_timeout")
                limit = self.timeout if started else self.first_token_timeout
                return "fail", (f"the chat model at {self.base_url} {what}: nothing within {limit:g} s; it may be "
                                f"overloaded or still loading the model; raise `{option}` if it is just slow")
            try:
                return stream.events.get(timeout=min(POLL_SECONDS, left))
            except queue.Empty:
                pass
        return "cancel", None


class _ChatStream:
    """One streaming request, read by a daemon thread into `events`: ("token", text), ("progress", None),
    ("end", None), ("fail", message) or ("bug", exception). `abort()` may be called from any thread, at any time."""

    def __init__(self, client, url: str, payload: dict, base_url: str, connect_timeout: float) -> None:
        self.events: queue.SimpleQueue = queue.SimpleQueue()
        self._url, self._base_url, self._connect_timeout = url, base_url, connect_timeout
        self._lock = threading.Lock()
        self._aborted = False
        self._sock: socket.socket | None = None
        self._finished = False  # a finish_reason arrived: the reply is whole even without [DONE]
        self._thread = threading.Thread(target=self._run, args=(client, payload), name="chat-stream", daemon=True)
        self._thread.start()

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sock, self._sock = self._sock, None
        if sock is not None:  # the plain socket's shutdown: wakes a blocked read and sends FIN (also under TLS)
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)

    def wait(self, seconds: float) -> None:
        self._thread.join(seconds)

    def _put(self, kind: str, value: object = None) -> None:
        if not self._aborted:
            self.events.put((kind, value))

    def _run(self, client, payload: dict) -> None:
        import httpx

        try:
            with client.stream("POST", self._url, json=payload) as response:
                stream = response.extensions.get("network_stream")
                with self._lock:
                    if self._aborted:
                        return  # cancelled while the server was silent: close at once
                    self._sock = stream.get_extra_info("socket") if stream is not None else None
                self._read(response)
        except httpx.HTTPError as exc:
            self._put("fail", _transport_message(exc, self._base_url, self._connect_timeout, self._url))
        except OSError as exc:
            self._put("fail", f"the connection to the chat model at {self._url} failed: {exc}")
        except Exception as exc:  # a bug, not a model failure: the reply re-raises it
            self._put("bug", exc)
        finally:
            with self._lock:
                self._sock = None

    def _read(self, response) -> None:
        status = response.status_code
        if status >= 400:
            text = error_text(response.read()) or "(no error text)"
            self._put("fail", f"the chat model server answered HTTP {status} {response.reason_phrase} to POST "
                              f"{self._url}: {text}; {_status_hint(status)}")
            return
        content_type = response.headers.get("content-type", "")
        if content_type.startswith("application/json"):  # a server that ignores "stream": one whole reply
            if not self._dispatch(response.read().decode("utf-8", "replace"), whole=True):
                self._put("end")
            return
        if not content_type.startswith("text/event-stream"):
            self._put("fail", f"{self._url} answered {content_type or 'no content type'}, not a stream of events; "
                              "is base_url an OpenAI-compatible API (it usually ends in /v1)?")
            return
        data: list[str] = []
        lines = response.iter_lines()
        for line in lines:
            if self._aborted:
                return
            if line.startswith(":"):
                continue  # an SSE comment (keep-alive)
            if line:
                name, _, value = line.partition(":")
                if name == "data":
                    data.append(value[1:] if value.startswith(" ") else value)
                continue
            if data and self._dispatch("\n".join(data)):  # a blank line ends an event
                for _ in lines:  # read to the end, so the connection can be reused
                    if self._aborted:
                        break
                return
            data = []
        if data and self._dispatch("\n".join(data)):
            return
        if self._finished:
            self._put("end")
        else:
            self._put("fail", f"the chat model's stream from {self._url} was cut off: it ended without [DONE]; "
                              "the server may have crashed mid-reply, check its log")

    def _dispatch(self, text: str, whole: bool = False) -> bool:
        """Handle one event; True when the stream is over ([DONE] or an error)."""
        if text.strip() == "[DONE]":
            self._put("end")
            return True
        try:
            event = json.loads(text)
        except ValueError:
            self._put("fail", f"the chat model server sent invalid JSON in its stream: {text[:120]!r}")
            return True
        if not isinstance(event, dict):
            self._put("fail", f"the chat model server sent an unexpected event: {text[:120]!r}")
            return True
        if event.get("error"):
            self._put("fail", f"the chat model server reported an error mid-reply: {error_text(text.encode())}")
            return True
        choices = event.get("choices")
        choice = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
        delta = choice.get("message" if whole else "delta")
        if isinstance(delta, dict):
            content, reasoning = delta.get("content"), delta.get("reasoning_content") or delta.get("reasoning")
            if isinstance(content, str) and content:
                self._put("token", content)
            elif isinstance(reasoning, str) and reasoning:
                self._put("progress")
        if choice.get("finish_reason"):
            self._finished = True
        return False


def _reply(s: TaggedSentence, pace: Delivery) -> ReplySentence:
    return ReplySentence(s.text, tags=replace(s.tags, speech_rate=pace.speech_rate, loudness=pace.loudness))


def _transport_message(exc, base_url: str, connect_timeout: float, url: str | None = None) -> str:
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return (f"the chat model server at {base_url} did not accept a connection within {connect_timeout:g} s; "
                f"is it running and reachable? {START_HINT}")
    if isinstance(exc, httpx.ConnectError):
        return f"cannot reach the chat model server at {base_url} ({exc}); is it running? {START_HINT}"
    if isinstance(exc, httpx.TimeoutException):
        return f"the chat model server at {base_url} timed out ({exc})"
    if isinstance(exc, (httpx.RemoteProtocolError, httpx.ReadError)):
        return (f"the chat model's stream from {url or base_url} was cut off ({exc}); the server may have "
                "crashed mid-reply, check its log")
    return f"the request to the chat model server at {url or base_url} failed: {exc}"


def _status_hint(status: int) -> str:
    return {
        401: "check the API key (api_key or OPENAI_API_KEY)",
        403: "check the API key and its permissions",
        404: "check base_url (it usually ends in /v1) and the model name",
        429: "the server is rate-limiting or out of quota; wait or check the account",
    }.get(status, "see the server's log for details" if status >= 500 else "check the brain's options")
