"""What the host says: a script read line by line, and lines or questions sent while it runs.

Lines sent while it runs (the control endpoint, standard input) go before the script's next line: a
viewer's question is answered within a line or two, and the script resumes after. They wait in a
bounded queue; a full queue refuses a line with a clear reason instead of growing without end. One
utterance is always spoken ahead (on the speaker's thread), so the next line starts on time.
"""
from __future__ import annotations

import collections
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from visage.errors import InputError
from visage.live.broadcast.timeline import Utterance

MAX_QUEUED = 20  # lines waiting: more than a few minutes of speech; beyond it a sender is told to wait
MAX_CHARS = 2000  # one line: about two minutes of speech
KINDS = ("say", "ask")


class QueueFull(InputError):
    """The line queue is full: the sender should try again once the host has spoken some."""


@dataclass(frozen=True)
class LineRequest:
    text: str
    kind: str  # "say": speak the text; "ask": speak the brain's answer to it; "script": a script line


def check_line(text: object, kind: str) -> LineRequest:
    """A line to queue, or an InputError saying what is wrong with it."""
    if kind not in KINDS:
        raise InputError(f"unknown kind of line {kind!r}; use one of {', '.join(KINDS)}")
    if not isinstance(text, str) or not text.strip():
        raise InputError("the line has no text: send {\"text\": \"...\"}")
    if len(text) > MAX_CHARS:
        raise InputError(f"the line is {len(text)} characters long; the most is {MAX_CHARS}")
    if "\0" in text:
        raise InputError("the line holds binary data (NUL bytes), not text")
    return LineRequest(text.strip(), kind)


class Script:
    """A text file's non-empty lines, in order, repeated forever with `loop`."""

    def __init__(self, path: str | Path, loop: bool = False) -> None:
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read the script {path}: {exc}") from None
        self.lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        if not self.lines:
            raise InputError(f"the script {path} has no lines to say (empty lines and # comments are skipped)")
        self.loop = loop
        self.position = 0  # lines read so far, loops included

    def next(self) -> str | None:
        if self.position >= len(self.lines) and not self.loop:
            return None
        line = self.lines[self.position % len(self.lines)]
        self.position += 1
        return line

    @property
    def finished(self) -> bool:
        return not self.loop and self.position >= len(self.lines)


class LineQueue:
    """Lines sent while the host runs: bounded, first in first out, safe between threads."""

    def __init__(self, limit: int = MAX_QUEUED) -> None:
        self.limit = limit
        self._lines: collections.deque[LineRequest] = collections.deque()
        self._lock = threading.Lock()
        self.changed = threading.Event()

    def put(self, request: LineRequest) -> int:
        """Queue `request`; returns its place (1 = next). QueueFull when `limit` are waiting."""
        with self._lock:
            if len(self._lines) >= self.limit:
                raise QueueFull(f"{self.limit} lines are already waiting; try again when the host has said some")
            self._lines.append(request)
            self.changed.set()
            return len(self._lines)

    def get(self) -> LineRequest | None:
        with self._lock:
            return self._lines.popleft() if self._lines else None

    def __len__(self) -> int:
        return len(self._lines)


class Speaker:
    """Turns lines into utterances one ahead of the host, on its own thread: the queue's lines first,
    then the script's. `speak(request)` makes the utterance (the voice, and the brain for "ask");
    a line it fails on is reported to `say` and skipped, and the host goes on."""

    def __init__(self, speak: Callable[[LineRequest], Utterance], queue: LineQueue, script: Script | None = None,
                 say: Callable[[str], None] = print) -> None:
        self.speak, self.queue, self.script, self.say = speak, queue, script, say
        self._ready: Utterance | None = None
        self._taken = threading.Event()
        self._taken.set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.failed = 0
        self._thread = threading.Thread(target=self._run, name="visage-broadcast-speaker", daemon=True)

    def start(self) -> "Speaker":
        self._thread.start()
        return self

    def take(self) -> Utterance | None:
        """The next utterance if one is ready (never waits)."""
        with self._lock:
            utterance, self._ready = self._ready, None
        if utterance is not None:
            self._taken.set()
        return utterance

    @property
    def exhausted(self) -> bool:
        """Nothing more will come unless a line is sent (the script, if any, has ended)."""
        return self._ready is None and not len(self.queue) and (self.script is None or self.script.finished)

    def stop(self) -> None:
        self._stop.set()
        self._taken.set()
        self.queue.changed.set()
        self._thread.join(5.0)

    def _requests(self) -> Iterator[LineRequest | None]:
        while not self._stop.is_set():
            request = self.queue.get()
            if request is None and self.script is not None and (line := self.script.next()) is not None:
                request = LineRequest(line, "script")
            yield request

    def _run(self) -> None:
        for request in self._requests():
            if request is None:  # nothing to say: wait for a line to be sent
                self.queue.changed.wait(0.5)
                self.queue.changed.clear()
                continue
            try:
                utterance = self.speak(request)
            except Exception as exc:  # noqa: BLE001 - one bad line must not stop the broadcast
                self.failed += 1
                self.say(f"could not say {request.text[:60]!r} ({exc}); going on")
                continue
            if not len(utterance.samples):
                continue
            self._taken.wait()
            if self._stop.is_set():
                return
            with self._lock:
                self._ready = utterance
                self._taken.clear()
