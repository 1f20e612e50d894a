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


class ASRStream(ABC):
    """One utterance being recognised."""

    @abstractmethod
    def feed(self, samples: np.ndarray) -> Transcript | None:
        """Add 16 kHz mono float32 audio; return a partial transcript when the hypothesis changed."""

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

    def close(self) -> None:
        """Free what this recogniser (or conversation) holds."""
