"""What is being said in each frame of a recording, where its audio allows: per-frame viseme groups.

The recording's audio is transcribed by the recogniser (Whisper base by default) or its known script
is taken as given, and the aligner times the phonemes on the audio. Each frame gets the group of the
viseme heard at its middle. Groups, not the 15 visemes: the video index asks "is this recorded mouth
saying the same kind of sound", and the engine's coarticulated blendshapes do not say reliably whether
a rounded mouth is an O or a U; they do say closed lips, lip and teeth, rounded, open, spread or
neither. A recording without audio (or silent) simply has no labels; selection then uses shape alone.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from visage.core.motion.visemes import VISEME_SHAPES, viseme_of

RATE = 16000
SILENT_PEAK = 1e-3  # audio quieter than this throughout holds no speech
GROUPS = ("sil", "closed", "lip-teeth", "rounded", "open", "spread", "other")
GROUP_OF = {"sil": "sil", "PP": "closed", "FF": "lip-teeth", "CH": "rounded", "RR": "rounded", "O": "rounded",
            "U": "rounded", "aa": "open", "E": "open", "I": "spread", "SS": "spread", "TH": "other", "DD": "other",
            "kk": "other", "nn": "other"}
_MOUTH_DIMS = np.flatnonzero(np.any([v != 0 for v in VISEME_SHAPES.values()], axis=0))
_SHAPES = {name: v[_MOUTH_DIMS] for name, v in VISEME_SHAPES.items() if name != "sil"}
_SILENT_MOUTH = 0.08  # mouth weights with a smaller norm are no articulation: silence


@dataclass(frozen=True)
class HeardPhonemes:
    """Per-frame viseme group ids (-1: nothing known), and where the words came from."""

    groups: np.ndarray
    source: str  # "script", "recognised" or "none"
    text: str = ""
    phonemes: int = 0


def group_id(viseme: str) -> int:
    return GROUPS.index(GROUP_OF.get(viseme, "other"))


def clip_audio(path: str | Path) -> np.ndarray | None:
    """The first audio stream as 16 kHz mono float32, or None when the file has none."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        parts = []
        for frame in container.decode(audio=0):
            for out in resampler.resample(frame):
                parts.append(out.to_ndarray().reshape(-1))
        for out in resampler.resample(None):
            parts.append(out.to_ndarray().reshape(-1))
    return np.concatenate(parts).astype(np.float32) if parts else None


def heard_phonemes(path: str | Path, frames: int, fps: float, script: str | None = None, language: str = "en",
                   recogniser=None, aligner=None) -> HeardPhonemes:
    """The viseme group of each of the first `frames` frames: `script` (what is said) or the recogniser's
    transcript, timed on the clip's audio by the aligner. Nothing known without audio or words."""
    unknown = np.full(frames, -1, np.int8)
    samples = clip_audio(path)
    if samples is None or len(samples) < RATE // 5 or float(np.abs(samples).max()) < SILENT_PEAK:
        return HeardPhonemes(unknown, "none")
    samples = samples[: int(np.ceil(frames / fps * RATE))]
    source = "script" if script else "recognised"
    if not script:
        from visage.backends.asr import create_asr

        recogniser = recogniser or create_asr()
        try:
            script = recogniser.transcribe_recording(samples, language).text.strip()
        finally:
            recogniser.close()
        if not script:
            return HeardPhonemes(unknown, "none")
    if aligner is None:
        from visage.backends.align import default_aligner

        aligner = default_aligner()
    alignment = aligner.align(samples, RATE, script, language)
    groups = unknown.copy()
    middles = (np.arange(frames) + 0.5) / fps
    for p in alignment.phonemes:
        inside = (middles >= p.start) & (middles < p.end)
        groups[inside] = group_id(viseme_of(p.symbol))
    return HeardPhonemes(groups, source, script, len(alignment.phonemes))


def wanted_group(blendshapes: np.ndarray) -> int:
    """The viseme group the engine's mouth weights are closest to (cosine), or silence when the mouth
    does almost nothing."""
    mouth = np.asarray(blendshapes, np.float32)[_MOUTH_DIMS]
    norm = float(np.linalg.norm(mouth))
    if norm < _SILENT_MOUTH:
        return GROUPS.index("sil")
    best = max(_SHAPES, key=lambda v: float(mouth @ _SHAPES[v]) / (norm * float(np.linalg.norm(_SHAPES[v]))))
    return group_id(best)
