"""Speech recognition, streaming: 16 kHz audio in as it arrives, partial and final transcripts out."""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

SAMPLE_RATE = 16000


@dataclass(frozen=True)
class Transcript:
    """What was recognised so far in one utterance (`final` once the utterance is complete)."""

    text: str
    final: bool
    language: str = "en"


@dataclass(frozen=True)
class HeardWord:
    """One recognised word of a recording and its times (seconds from the recording's start)."""

    text: str
    start: float
    end: float
    probability: float = 1.0


@dataclass(frozen=True)
class RecordingTranscript:
    """What was said in a whole recording (`visage transcribe`, `say --audio` without `--text`)."""

    text: str
    language: str
    duration: float
    words: tuple[HeardWord, ...] = ()


class ASRStream(ABC):
    """One utterance being recognised."""

    _latest: Transcript | None = None

    @abstractmethod
    def feed(self, samples: np.ndarray) -> Transcript | None:
        """Add 16 kHz mono float32 audio; return a partial transcript when the hypothesis changed."""

    def add(self, samples: np.ndarray) -> None:
        """Add audio and leave the partial transcript for `partial()`: for a caller that asks for partials
        only when it has nothing more urgent to do (the recogniser's process: a final never waits behind
        a partial). Recognisers whose partials cost a decode of their own override this to only store."""
        transcript = self.feed(samples)
        if transcript is not None:
            self._latest = transcript

    @property
    def partial_due(self) -> bool:
        """Whether `partial()` has work to do or a transcript to give."""
        return self._latest is not None

    def partial(self) -> Transcript | None:
        """The partial transcript of the audio added so far, if it changed (see `add`)."""
        latest, self._latest = self._latest, None
        return latest

    @abstractmethod
    def finish(self) -> Transcript:
        """The utterance has ended: return the final transcript."""

    def cancel(self) -> None:
        """The utterance is abandoned (the session closed, or it was superseded): free what it holds."""
        try:
            self.finish()
        except Exception:  # noqa: BLE001 - nobody wants this transcript, nor its failure
            pass


class SpeechRecognizer(ABC):
    """A recogniser. Models load in `load()` (once), never at import."""

    name: str = "asr"
    sample_rate: int = SAMPLE_RATE

    def load(self) -> None:
        """Load models; raise BackendError or MissingExtraError with a fix if impossible."""

    @abstractmethod
    def stream(self, language: str = "en") -> ASRStream:
        """Start recognising one utterance."""

    def conversation(self) -> SpeechRecognizer:
        """A recogniser for one conversation (one speaker, one microphone): recognisers that adapt to
        a voice keep that adaptation per conversation; others are shared as they are."""
        return self

    def transcribe_recording(self, samples: np.ndarray, language: str | None = "en") -> RecordingTranscript:
        """A whole recording (16 kHz mono float32, any length) with word timings where the recogniser
        gives them. This default streams it through one utterance, without word timings."""
        stream = self.stream(language or "en")
        step = self.sample_rate
        for i in range(0, len(samples), step):
            stream.feed(samples[i : i + step])
        final = stream.finish()
        return RecordingTranscript(final.text, final.language, len(samples) / self.sample_rate)

    def close(self) -> None:
        """Free what this recogniser (or conversation) holds."""
