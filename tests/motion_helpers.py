"""Speech → motion for the motion tests: real espeak speech through the real engine."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.backends.tts.narration import narrate, requests_for_text
from visage.core.arkit import INDEX
from visage.core.motion.engine import MotionEngine
from visage.core.types import Emotion, FaceFrame, Phoneme, Sentence, SpeechChunk, Word


@dataclass
class Animated:
    frames: list[FaceFrame]
    samples: np.ndarray
    rate: int
    phonemes: list[Phoneme]
    words: list[Word]
    sentences: list[Sentence]
    fps: int

    @property
    def t(self) -> np.ndarray:
        return np.array([f.t for f in self.frames])

    def channel(self, *names: str) -> np.ndarray:
        b = np.array([f.blendshapes for f in self.frames])
        return np.max([b[:, INDEX[n]] for n in names], axis=0)

    def frame_at(self, t: float) -> FaceFrame:
        return self.frames[min(len(self.frames) - 1, int(round(t * self.fps)))]

    def loudness_at_frames(self) -> np.ndarray:
        """RMS of the audio in a window centred on each frame time (one frame wide)."""
        half = 0.5 / self.fps
        out = []
        for t in self.t:
            a, b = int(max(0.0, t - half) * self.rate), int((t + half) * self.rate)
            seg = self.samples[a:b]
            out.append(float(np.sqrt(np.mean(seg**2))) if len(seg) else 0.0)
        return np.array(out)


def animate_text(tts, text, fps=25, style="friendly", seed=0, emotion=Emotion.NEUTRAL, intensity=0.7,
                 emphasis=(), language="en", engine=None) -> Animated:
    engine = engine or MotionEngine(fps=fps, style=style, seed=seed)
    frames, chunks, sentences = [], [], []
    speech = narrate(tts, requests_for_text(text, language=language, emotion=emotion, intensity=intensity,
                                            emphasis=emphasis))
    for item in engine.run(speech):
        if isinstance(item, FaceFrame):
            frames.append(item)
        elif isinstance(item, SpeechChunk):
            chunks.append(item)
        elif isinstance(item, Sentence) and item.end is not None:
            sentences.append(item)
    samples = np.concatenate([c.samples for c in chunks])
    return Animated(frames, samples, chunks[0].sample_rate, [p for c in chunks for p in c.phonemes],
                    [w for c in chunks for w in c.words], sentences, fps)


def best_lag(a: np.ndarray, b: np.ndarray, max_lag: int = 10) -> tuple[int, float]:
    """Lag (frames) at which b best matches a (positive: b lags a), and the peak-minus-median confidence
    of the normalised cross-correlation (a SyncNet LSE-C analogue, animation-facts.md)."""
    a = (a - a.mean()) / (a.std() + 1e-9)
    b = (b - b.mean()) / (b.std() + 1e-9)
    n = len(a)
    lags = list(range(-max_lag, max_lag + 1))
    cc = [float(np.mean(a[max(0, -k) : n - max(0, k)] * b[max(0, k) : n - max(0, -k)])) for k in lags]
    i = int(np.argmax(cc))
    return lags[i], cc[i] - float(np.median(cc))
