"""Plain-dict forms of visage's data, as they appear in the JSON files it writes (timings, motion).
One place, so every file spells a phoneme, a word or a sentence the same way."""
from __future__ import annotations

from visage.core.types import FaceFrame, Phoneme, Sentence, Word


def phoneme_record(p: Phoneme, viseme: str | None = None) -> dict:
    record = {"symbol": p.symbol, "start": round(p.start, 4), "end": round(p.end, 4), "stressed": p.stressed}
    if viseme is not None:
        record["viseme"] = viseme
    return record


def frame_record(f: FaceFrame) -> dict:
    h, g = f.head, f.gaze
    return {
        "t": round(f.t, 4),
        "blendshapes": [round(float(v), 4) for v in f.blendshapes],
        "head": {"pitch": round(h.pitch, 3), "yaw": round(h.yaw, 3), "roll": round(h.roll, 3),
                 "x": round(h.x, 5), "y": round(h.y, 5), "z": round(h.z, 5)},
        "gaze": {"yaw": round(g.yaw, 3), "pitch": round(g.pitch, 3)},
    }


def word_record(w: Word) -> dict:
    return {"text": w.text, "sentence": w.sentence, "char_start": w.char_start, "char_end": w.char_end,
            "start": round(w.start, 4), "end": round(w.end, 4), "emphasised": w.emphasised}


def sentence_record(s: Sentence) -> dict:
    return {"index": s.index, "text": s.text, "start": round(s.start, 4),
            "end": None if s.end is None else round(s.end, 4), "language": s.language,
            "emotion": s.emotion.value, "intensity": s.intensity, "type": s.sentence_type.value,
            "emphasis": list(s.emphasis)}
