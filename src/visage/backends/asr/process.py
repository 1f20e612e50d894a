"""Speech recognition in a child process, so that decoding never stalls the process that serves media.

pocketsphinx holds Python's global interpreter lock while it decodes: measured on this project's
machine, every 100 ms block of audio stops all other threads for 13 ms (60 ms at worst), and the
final pass at the end of an utterance for 110 ms. In a live server those stalls land on the event loop
that paces the avatar's audio packets, right when a reply starts; the browser's jitter buffer sees
late packets and grows, and every later reply is heard later. A recogniser in its own process has its
own interpreter lock (and its own core), so the server's loop only copies audio into a pipe.

Whisper releases the lock while it decodes, but a decode is long (0.1-0.3 s a turn) and uses every
core it is given; in the child it runs beside the media loop instead of inside it, and the child
decides what to decode next: a final as soon as it is asked for, partials only when nothing waits.

`RecognizerProcess("whisper")` behaves as the recogniser it wraps: `stream()` gives streams whose
`feed` never blocks (audio goes to a writer thread; the newest partial transcript that came back is
returned) and whose `finish` waits for the final transcript. `conversation()` gives the wrapped
recogniser's per-conversation adaptation, kept in the child. If the child dies, streams in flight
fail with a BackendError and the next stream starts a new child.
"""
from __future__ import annotations

import copy
import itertools
import logging
import multiprocessing
import queue
import threading
import uuid

import numpy as np

from visage.backends.asr import as_pcm16, create_asr, mono_float32
from visage.backends.asr.base import ASRStream, SpeechRecognizer, Transcript
from visage.errors import BackendError, InputError, VisageError

log = logging.getLogger(__name__)

START_TIMEOUT = 120.0  # s for the child to import and load its models (pocketsphinx: about 1 s, Whisper
# base 2-4 s, and 5 s more the first time, when its model is assembled from the packages)
FINAL_TIMEOUT = 30.0  # s to wait for a final transcript before giving the utterance up


class RecognizerProcess(SpeechRecognizer):
    """The recogniser `backend` (a registry name, with its `options`) running in a child process."""

    def __init__(self, backend: str = "whisper", final_timeout: float = FINAL_TIMEOUT, **options) -> None:
        self.backend, self.options = backend, options
        self.name = f"{backend} (own process)"
        self.final_timeout = final_timeout
        self._lock = threading.Lock()
        self._child: _Child | None = None
        self._conversation: str | None = None  # None: the wrapped recogniser itself
        self._owner: RecognizerProcess | None = None  # a conversation view's recogniser (it owns the child)

    def load(self) -> None:
        with self._lock:
            if self._child is None or not self._child.alive:
                self._child = _Child(self.backend, self.options)

    @property
    def running(self) -> bool:
        """Whether the child process is up (for /health); a stopped one restarts on the next stream."""
        child = (self._owner or self)._child
        return child is not None and child.alive

    def conversation(self) -> RecognizerProcess:
        """A view for one conversation: same child process, its own adaptation to the speaker there."""
        self.load()
        view = copy.copy(self)
        view._conversation, view._owner = uuid.uuid4().hex, self._owner or self
        return view

    def stream(self, language: str = "en") -> ASRStream:
        owner = self._owner or self
        owner.load()
        return ProcessStream(owner._child, self._conversation, language, self.final_timeout)

    def close(self) -> None:
        """A conversation view forgets its adaptation; the recogniser itself stops its child."""
        owner = self._owner
        child = (owner or self)._child
        if child is None:
            return
        if owner is not None:
            child.send(("forget", self._conversation))
        else:
            child.stop()
            self._child = None


class ProcessStream(ASRStream):
    """One utterance decoded in the child. `feed` returns at once; `finish` waits for the final."""

    def __init__(self, child: _Child, conversation: str | None, language: str, final_timeout: float) -> None:
        self._child = child
        self.final_timeout = final_timeout
        self._lock = threading.Lock()
        self._partial: Transcript | None = None  # newest partial not yet returned by feed
        self._final: Transcript | None = None
        self._error: Exception | None = None
        self._done = threading.Event()
        self._finishing = False
        self.id = child.open(self, conversation, language)  # last: results may come back at once

    # called by the child's reader thread
    def _on_partial(self, transcript: Transcript) -> None:
        with self._lock:
            self._partial = transcript

    def _on_final(self, transcript: Transcript) -> None:
        self._final = transcript
        self._done.set()

    def _on_error(self, error: Exception) -> None:
        self._error = error
        self._done.set()

    def feed(self, samples) -> Transcript | None:
        x = mono_float32(samples)
        if self._error is not None:
            raise self._error
        if self._finishing:
            raise InputError("this utterance has finished; start a new stream for the next one")
        if len(x):
            self._child.send(("feed", self.id, as_pcm16(x)))
        with self._lock:
            partial, self._partial = self._partial, None
        return partial

    def finish(self) -> Transcript:
        if not self._finishing:
            self._finishing = True
            self._child.send(("finish", self.id))
        if not self._done.wait(self.final_timeout):
            self._child.forget(self.id)
            raise BackendError(f"the {self._child.backend} recogniser gave no final transcript within "
                               f"{self.final_timeout:.0f} s; its process may be overloaded")
        if self._error is not None:
            raise self._error
        return self._final

    def cancel(self) -> None:
        if not self._finishing:
            self._finishing = True
            self._child.send(("cancel", self.id))
            self._child.forget(self.id)


class _Child:
    """The child process, the pipe to it, a writer thread (sends never block the caller) and a reader
    thread (results go to their streams)."""

    def __init__(self, backend: str, options: dict) -> None:
        self.backend = backend
        context = multiprocessing.get_context("spawn")  # no fork: the parent runs threads
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=serve, args=(child_conn, backend, options), daemon=True,
                                         name=f"visage-asr-{backend}")
        self._process.start()
        child_conn.close()
        if not self._conn.poll(START_TIMEOUT):
            self._process.kill()
            raise BackendError(f"the {backend} recogniser's process did not start within {START_TIMEOUT:.0f} s")
        try:
            reply = self._conn.recv()
        except EOFError:
            raise BackendError(f"the {backend} recogniser's process exited while starting") from None
        if reply[0] != "ready":
            self._process.join(5)
            raise reply[1]
        self._streams: dict[int, ProcessStream] = {}
        self._ids = itertools.count(1)
        self._outbox: queue.SimpleQueue = queue.SimpleQueue()
        self.alive = True
        threading.Thread(target=self._write, name="visage-asr-writer", daemon=True).start()
        threading.Thread(target=self._read, name="visage-asr-reader", daemon=True).start()

    def open(self, stream: ProcessStream, conversation: str | None, language: str) -> int:
        sid = next(self._ids)
        self._streams[sid] = stream
        if not self.alive:
            stream._on_error(BackendError(f"the {self.backend} recogniser's process has stopped"))
        self.send(("open", sid, conversation, language))
        return sid

    def forget(self, sid: int) -> None:
        self._streams.pop(sid, None)

    def send(self, message: tuple) -> None:
        if self.alive:  # a dead child's streams have failed already
            self._outbox.put(message)

    def stop(self) -> None:
        self.send(("stop", None))
        self._outbox.put(None)
        self._process.join(5)
        if self._process.is_alive():
            self._process.kill()

    def _write(self) -> None:
        while (message := self._outbox.get()) is not None:
            try:
                self._conn.send(message)
            except (OSError, ValueError):
                return  # the reader sees the pipe close and fails the streams

    def _read(self) -> None:
        while True:
            try:
                kind, sid, *rest = self._conn.recv()
            except (EOFError, OSError):
                break
            stream = self._streams.get(sid)
            if stream is None:
                continue
            if kind == "partial":
                stream._on_partial(Transcript(rest[0], final=False, language=rest[1]))
            elif kind == "final":
                self._streams.pop(sid, None)
                stream._on_final(Transcript(rest[0], final=True, language=rest[1]))
            elif kind == "error":
                self._streams.pop(sid, None)
                stream._on_error(rest[0])
        self.alive = False
        self._outbox.put(None)
        error = BackendError(f"the {self.backend} recogniser's process stopped (exit code "
                             f"{self._process.exitcode}); the next utterance starts a new one")
        for stream in list(self._streams.values()):
            stream._on_error(error)
        self._streams.clear()


def _for_parent(exc: Exception, backend: str) -> VisageError:
    """An error to send back: visage's own errors as they are (their messages are written for a
    person, and they pickle), anything else wrapped so that it names the recogniser."""
    return exc if isinstance(exc, VisageError) else BackendError(f"the {backend} recogniser failed: {exc}")


def serve(conn, backend: str, options: dict) -> None:
    """The child: load the recogniser, then decode what the parent sends until the pipe closes."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    try:
        recognizer = create_asr(backend, **options)
        recognizer.load()
    except Exception as exc:  # reported to the parent, which raises it
        conn.send(("failed", _for_parent(exc, backend)))
        return
    conn.send(("ready",))
    conversations: dict[str | None, SpeechRecognizer] = {None: recognizer}
    streams: dict[int, ASRStream] = {}
    while True:
        # Messages first (feeds only store audio; finals decode at once), partials when none wait:
        # a final never queues behind more than the one partial decode already running.
        due = [sid for sid, stream in streams.items() if stream.partial_due]
        try:
            if due and not conn.poll(0):
                _send_partial(conn, streams, min(due), backend)
                continue
            op, sid, *args = conn.recv()
        except (EOFError, OSError):
            return
        try:
            if op == "open":
                conversation, language = args
                if conversation not in conversations:
                    conversations[conversation] = recognizer.conversation()
                streams[sid] = conversations[conversation].stream(language)
            elif op == "feed" and sid in streams:
                streams[sid].add(np.frombuffer(args[0], "<i2").astype(np.float32) / 32767.0)
            elif op == "finish" and sid in streams:
                final = streams.pop(sid).finish()
                conn.send(("final", sid, final.text, final.language))
            elif op == "cancel" and sid in streams:
                streams.pop(sid).cancel()
            elif op == "forget":
                conversations.pop(sid, None)
            elif op == "stop":
                return
        except Exception as exc:  # one utterance failed; the child goes on serving the others
            streams.pop(sid, None)
            conn.send(("error", sid, _for_parent(exc, backend)))


def _send_partial(conn, streams: dict[int, ASRStream], sid: int, backend: str) -> None:
    try:
        partial = streams[sid].partial()
        if partial is not None:
            conn.send(("partial", sid, partial.text, partial.language))
    except Exception as exc:  # as for any other operation: this utterance fails, the others go on
        streams.pop(sid, None)
        conn.send(("error", sid, _for_parent(exc, backend)))
