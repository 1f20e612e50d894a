"""The user's side of turn-taking: microphone audio in, the user's finished turns out, as early as is safe.

A reply cannot start before the user's turn has ended, and the only sign of that is silence: the voice
activity detector reports an end once `silence` seconds have passed without speech, the largest
single part of the reply latency. Two things keep the rest of the wait from adding to it:

- Speculative recognition. A recogniser's final transcript costs a last pass over the utterance
  (pocketsphinx: about 0.1 s; Whisper base 0.3-0.7 s under load). It starts `lead` seconds before the
  silence is long enough, on the audio so far; should the user speak again first, a fresh stream gets
  the whole utterance and the guess is dropped. At the end of the turn the transcript is then ready or
  nearly (Whisper: the end waits for the decode minus `lead`; started earlier, it loses words).
- A guess ready before the end is told (GUESS), so that the reply can be prepared in the rest of the
  silence and said at once if the turn ends with the same words; RESUMED says a told guess is void.
- Holding on unfinished words. A transcript that ends in a word no sentence ends with ("and", "because",
  "um"; in Chinese 然后, 因为, 嗯) waits `hold` seconds more for the rest of the sentence instead of
  answering half of it; if the user goes on, the pause becomes part of one turn.

Plain, synchronous code: `hear` may block (a recogniser in this process decodes in it, and the end of
a turn may wait for its transcript), so the live session calls it from a worker thread.
"""
from __future__ import annotations

import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from enum import Enum

import numpy as np

from visage.backends.asr.base import SAMPLE_RATE, ASRStream, SpeechRecognizer, Transcript
from visage.backends.vad.base import VoiceActivityDetector
from visage.errors import VisageError

PRE_ROLL = 0.3  # s of audio before the detected speech start, so the first word is not clipped
SPECULATE_LEAD = 0.25  # s before the end of a turn at which its final transcript is started: 0.15 s into
# a 0.4 s silence. Whisper's word error rate through this listener (bench_ear.py, 40 / 20 held-out
# utterances, with whisper_decode's END_SILENCE): 0.098 / 0.022 at 0.2 s, 0.090 / 0.027 at 0.15 s,
# 0.103 / 0.033 at 0.12 s; before END_SILENCE, 0.15 s lost words ("Where Where" for "Where is...").
MIN_SPECULATE_AT = 0.12  # s of silence before any speculation (shorter pauses are inside words)
HOLD = 0.5  # s more to wait when a turn seems to stop mid-sentence

# Words a sentence does not end with: conjunctions and fillers. Articles and prepositions ("the", "to")
# are left out although no sentence ends with them either: pocketsphinx ends garbled transcripts with
# them too often (measured on 80 complete espeak sentences, 4 voices: 12 would have waited with them,
# 0 without).
UNFINISHED_EN = frozenset("and or but because um uh er erm hmm".split())
UNFINISHED_ZH = ("然后", "还有", "因为", "所以", "但是", "可是", "而且", "如果", "就是", "那个", "这个", "和", "跟",
                 "的话", "嗯", "呃", "啊那")


def sounds_unfinished(text: str) -> bool:
    """Whether a transcript stops where no sentence ends (a conjunction, an article, a filler)."""
    text = re.sub(r"(\.\.\.|…|[，,、\-—\s])+$", "", text)  # Whisper writes a trailing-off turn as "because..."
    if not text:
        return False
    if re.search(r"[.!?。！？]$", text):
        return False
    if text.endswith(UNFINISHED_ZH):
        return True
    words = re.findall(r"[a-z']+", text.lower())
    return bool(words) and words[-1] in UNFINISHED_EN


class HeardKind(str, Enum):
    START = "start"  # the user began speaking
    PARTIAL = "partial"  # the words so far
    TURN = "turn"  # a finished turn, perhaps without words
    GUESS = "guess"  # the words the open turn ends with unless the user goes on (a reply may be prepared)
    RESUMED = "resumed"  # the user went on after a GUESS: it is void
    ERROR = "error"  # the utterance was lost; `text` says why


@dataclass(frozen=True)
class Heard:
    """What the microphone's audio amounted to (see HeardKind). Times: `speech_end` and `decided` on
    the audio clock (seconds of audio heard), `final_ready` on the wall clock (time.time())."""

    kind: HeardKind
    text: str = ""
    speech_end: float | None = None  # when the user fell silent
    decided: float | None = None  # when the turn was taken as finished
    final_ready: float | None = None  # when its transcript was ready


class TurnListener:
    """One microphone's turns. Audio in (16 kHz mono float, any chunk size) with `hear`."""

    def __init__(self, vad: VoiceActivityDetector, asr: SpeechRecognizer, language: str = "en",
                 silence: float = 0.5, lead: float = SPECULATE_LEAD, hold: float = HOLD) -> None:
        self.vad, self.asr, self.language = vad, asr, language
        self.speculate_at = max(MIN_SPECULATE_AT, silence - lead)
        self.hold = hold
        self.heard = 0.0  # seconds of audio so far: the clock of every event
        self.speculations = self.resumptions = 0  # counted for tests and benchmarks
        self._pre: deque[np.ndarray] = deque()
        self._pre_samples = 0
        self._stream: ASRStream | None = None
        self._utterance: list[np.ndarray] = []  # all audio of the open turn, pre-roll included
        self._guess: Future | None = None  # the speculative final of `_stream`
        self._told = False  # whether `_guess` was told (a GUESS event)
        self._voided = False  # a told guess became void: RESUMED is due
        self._held: tuple[Transcript, float, float, float] | None = None  # (final, ready, end, until)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="visage-final")

    def hear(self, audio: np.ndarray) -> list[Heard]:
        audio = np.asarray(audio, np.float32)
        self.heard += len(audio) / SAMPLE_RATE
        out: list[Heard] = []
        try:
            for event in self.vad.process(audio):
                if event.kind == "start":
                    if self._held is not None:
                        self._resume()  # the user went on after a pause on an unfinished word
                    else:
                        self._open()
                    out.append(Heard(HeardKind.START))
                elif event.kind == "end" and self._stream is not None:
                    final, ready = self._final()
                    if self.hold > 0 and sounds_unfinished(final.text):
                        self._held = (final, ready, event.time, self.heard + self.hold)
                        self._stream = self._guess = None
                    else:
                        out.append(self._take(final, ready, event.time))
            if self._stream is not None or self._held is not None:
                self._utterance.append(audio)
            if self._held is not None and self.heard >= self._held[3]:
                final, ready, end, _ = self._held
                out.append(self._take(final, ready, end))
            elif self._stream is not None and self._guess is None and self._held is None:
                partial = self._stream.feed(audio)
                if partial is not None and partial.text:
                    out.append(Heard(HeardKind.PARTIAL, partial.text))
                if self.vad.quiet >= self.speculate_at:
                    self._guess = self._pool.submit(_timed_finish, self._stream)
                    self.speculations += 1
            elif self._guess is not None and self.vad.speaking and self.vad.quiet < self.speculate_at:
                self._resume()  # spoke again before the end: the guess is moot
            if self._guess is not None and not self._told and self._guess.done():
                text = self._guess.result()[0].text
                if text.strip() and not sounds_unfinished(text):  # (an unfinished one would be held)
                    self._told = True
                    out.append(Heard(HeardKind.GUESS, text))
        except VisageError as exc:  # this utterance is lost; listening goes on
            self._drop()
            out.append(Heard(HeardKind.ERROR, str(exc)))
        if self._voided:
            self._voided = False
            out.insert(0, Heard(HeardKind.RESUMED))
        self._remember(audio)
        return out

    @property
    def idle(self) -> bool:
        """No turn open, held or finishing and nobody speaking: audio now can only start a turn."""
        return self._stream is None and self._held is None and self._guess is None and not self.vad.speaking

    def wait_for_guess(self) -> None:
        """Block until the speculative final in flight, if any, is done. Audio fed faster than real time
        (a benchmark, a test) can otherwise end a turn before its early final could have finished, which
        a live microphone, 20 ms a chunk, does not: waiting here hears it as a recogniser that keeps up."""
        guess = self._guess
        if guess is not None:
            wait([guess])  # (its error, if any, is the next `hear`'s ERROR, as it would be live)

    def close(self) -> None:
        self._drop()
        self._pool.shutdown(wait=False, cancel_futures=True)

    # -- the open turn ---------------------------------------------------------------------------------
    def _open(self) -> None:
        self._drop()
        self._stream = self.asr.stream(self.language)
        self._utterance = list(self._pre)
        for chunk in self._utterance:
            self._stream.feed(chunk)

    def _resume(self) -> None:
        """A new stream for the whole turn so far (the last one is finishing or finished)."""
        audio, guess, stream = self._utterance, self._guess, self._stream
        if guess is None and stream is not None:
            stream.cancel()  # (a held turn's stream has finished already)
        self._forget_guess()
        self._stream, self._guess, self._held = self.asr.stream(self.language), None, None
        self._utterance = audio
        self._stream.feed(np.concatenate(audio) if audio else np.zeros(0, np.float32))
        self.resumptions += 1

    def _final(self) -> tuple[Transcript, float]:
        if self._guess is not None:
            return self._guess.result()
        return _timed_finish(self._stream)

    def _take(self, final: Transcript, ready: float, speech_end: float) -> Heard:
        self._told = False  # the TURN itself says whether the guess held
        self._stream, self._guess, self._held, self._utterance = None, None, None, []
        return Heard(HeardKind.TURN, final.text, speech_end=speech_end, decided=self.heard, final_ready=ready)

    def _forget_guess(self) -> None:
        self._voided = self._voided or self._told
        self._told = False

    def _drop(self) -> None:
        self._forget_guess()
        stream, guess = self._stream, self._guess
        self._stream, self._guess, self._held, self._utterance = None, None, None, []
        if stream is not None and guess is None:
            stream.cancel()

    def _remember(self, audio: np.ndarray) -> None:
        self._pre.append(audio)
        self._pre_samples += len(audio)
        while self._pre and self._pre_samples - len(self._pre[0]) >= PRE_ROLL * SAMPLE_RATE:
            self._pre_samples -= len(self._pre.popleft())


def _timed_finish(stream: ASRStream) -> tuple[Transcript, float]:
    return stream.finish(), time.time()
