"""A long, varied, deterministic script for the motion engine, and the frames it gives.

It lets `tests/test_motion_reference.py` prove that a faster engine moves the face exactly as the
engine it replaced: the frames below were recorded from the engine at the commit before the speed
work (tests/data/motion_reference.npz) and must come out the same, to 1e-9.

The speech is synthetic so the fixture never depends on a voice backend: phones of every viseme
class (bilabials, rounding, pauses short, medium and long), stressed and emphasised words, sentences
of every type and emotion, and audio made with arithmetic only (a triangle wave on a pitch contour,
seeded noise for fricatives), so every machine builds the same samples. The drive covers the
offline loop (`run`), the live loop (`push` + `frames_until` at the clock), interruptions (`clear`),
the conversation states between turns, three frame rates and several styles and seeds.

Regenerate (only when behaviour is meant to change) with the engine to record from on PYTHONPATH:
    PYTHONPATH=src python tests/motion_script.py tests/data/motion_reference.npz
"""
from __future__ import annotations

import sys

import numpy as np

from visage.core.motion.engine import MotionEngine
from visage.core.motion.style import MotionStyle
from visage.core.types import (ConversationState, Emotion, FaceFrame, Phoneme, Sentence, SentenceType,
                               SpeechChunk, Word)

RATE = 22050
_CONSONANTS = ("p", "b", "m", "f", "v", "T", "D", "t", "d", "n", "s", "z", "S", "tS", "k", "g", "N", "l",
               "r", "w", "j", "h", "ts.h", "x")
_VOWELS = ("a", "E", "I", "i:", "0", "O:", "u:", "V", "@", "3:", "aI", "eI", "oU", "aU", "A:", "y")
_FRICATIVES = {"f", "v", "T", "D", "s", "z", "S", "tS", "h", "ts.h", "x"}
_PLAN = [  # (type, emotion, intensity, words)
    (SentenceType.STATEMENT, Emotion.HAPPY, 0.7, 7),
    (SentenceType.QUESTION, Emotion.NEUTRAL, 0.5, 6),
    (SentenceType.EXCLAMATION, Emotion.SURPRISED, 0.9, 4),
    (SentenceType.STATEMENT, Emotion.SAD, 0.6, 9),
    (SentenceType.QUESTION, Emotion.ANGRY, 0.8, 5),
    (SentenceType.STATEMENT, Emotion.FEARFUL, 0.4, 6),
    (SentenceType.EXCLAMATION, Emotion.DISGUSTED, 0.7, 5),
    (SentenceType.STATEMENT, Emotion.NEUTRAL, 0.3, 8),
]


def speech(seed: int = 0, start: float = 0.0, sentences: int = len(_PLAN)) -> list:
    """The voice's stream for a few sentences from `start`: Sentence items as each starts and ends,
    and SpeechChunks of 40-200 ms carrying the phones and words they complete."""
    rng = np.random.default_rng([seed, 77])
    t = start
    timeline: list[tuple[Sentence, list[Phoneme], list[Word]]] = []
    for index, (kind, emotion, intensity, n_words) in enumerate(_PLAN[:sentences]):
        s_start, phones, words, text = t, [], [], ""
        emphasis = []
        for w in range(n_words):
            word_start, char = t, len(text)
            emphasised = rng.random() < 0.3
            syllables = []
            for _ in range(int(rng.integers(1, 4))):
                syllables += [_CONSONANTS[int(rng.integers(len(_CONSONANTS)))],
                              _VOWELS[int(rng.integers(len(_VOWELS)))]]
                if rng.random() < 0.4:
                    syllables.append(_CONSONANTS[int(rng.integers(len(_CONSONANTS)))])
            stress = int(rng.integers(len(syllables)))
            for k, sym in enumerate(syllables):
                length = float(rng.uniform(0.08, 0.22) if sym in _VOWELS else rng.uniform(0.04, 0.14))
                phones.append(Phoneme(sym, t, t + length, stressed=k == stress and sym in _VOWELS,
                                      word=char, emphasised=emphasised))
                t += length
            spelled = "".join(syllables).replace(":", "")
            text += spelled + " "
            if emphasised:
                emphasis.append(spelled)
            words.append(Word(spelled, char, char + len(spelled), word_start, t, emphasised, index))
            gap = float(rng.choice([0.0, 0.0, 0.06, 0.2, 0.3]))  # none, held, relaxed
            if gap and w < n_words - 1:
                phones.append(Phoneme("_", t, t + gap))
                t += gap
        end_pause = float(rng.choice([0.15, 0.4, 0.8]))
        phones.append(Phoneme("_", t, t + end_pause))
        text = text.strip() + {"question": "?", "exclamation": "!"}.get(kind.value, ".")
        sentence = Sentence(index, text, s_start, None, emotion=emotion, intensity=intensity, sentence_type=kind,
                            emphasis=tuple(emphasis))
        timeline.append((sentence, phones, words))
        t += end_pause
    samples = _audio([p for _, ps, _ in timeline for p in ps], start, t, rng)
    items: list = []
    pos = start
    for sentence, phones, words in timeline:
        items.append(sentence)
        s_end = phones[-1].end
        while pos < s_end - 1e-9:
            nxt = min(s_end, pos + float(rng.uniform(0.04, 0.2)))
            a, b = int(round((pos - start) * RATE)), int(round((nxt - start) * RATE))
            items.append(SpeechChunk(samples[a:b], RATE, start + a / RATE,
                                     tuple(p for p in phones if pos < p.end <= nxt + 1e-9),
                                     tuple(w for w in words if pos < w.end <= nxt + 1e-9)))
            pos = nxt
        items.append(Sentence(sentence.index, sentence.text, sentence.start, s_end, tags=sentence.tags))
    return items


def _audio(phones: list[Phoneme], start: float, end: float, rng: np.random.Generator) -> np.ndarray:
    """Arithmetic-only audio: vowels a triangle wave whose pitch wanders 90-220 Hz, voiced consonants
    quieter, fricatives noise, pauses silence."""
    n = int(round((end - start) * RATE))
    f0 = np.zeros(n)
    amp = np.zeros(n)
    noise = np.zeros(n)
    for p in phones:
        a, b = int(round((p.start - start) * RATE)), int(round((p.end - start) * RATE))
        if p.symbol == "_" or b <= a:
            continue
        f0[a:b] = np.linspace(float(rng.uniform(90, 220)), float(rng.uniform(90, 220)), b - a)
        if p.symbol in _VOWELS:
            amp[a:b] = float(rng.uniform(0.15, 0.5)) * (1.6 if p.emphasised else 1.0)
        elif p.symbol in _FRICATIVES:
            noise[a:b] = float(rng.uniform(0.02, 0.08))
        else:
            amp[a:b] = float(rng.uniform(0.03, 0.1))
    phase = np.cumsum(f0 / RATE)
    triangle = 4.0 * np.abs(phase - np.floor(phase + 0.5)) - 1.0
    out = amp * triangle + noise * rng.uniform(-1.0, 1.0, n)
    return np.clip(out, -1.0, 1.0).astype(np.float32)


def _offline(fps: int, style, seed: int, sentences: int) -> list[FaceFrame]:
    engine = MotionEngine(fps=fps, style=style, seed=seed)
    return [f for f in engine.run(speech(seed, 0.0, sentences)) if isinstance(f, FaceFrame)]


def _live(fps: int, style, seed: int) -> list[FaceFrame]:
    """A live session: idle and listening between turns, thinking, a reply streamed in ahead of the
    clock, an interruption, a second reply, the end of speech and the face settling."""
    engine = MotionEngine(fps=fps, style=style, seed=seed)
    frames: list[FaceFrame] = []
    tick = 1.0 / fps

    def clock_to(t: float) -> None:
        k = len(frames)
        while (k + 1) * tick <= t + 1e-9:
            frames.extend(engine.frames_until((k + 1) * tick))
            k += 1

    clock_to(4.0)
    engine.set_state(ConversationState.LISTENING)
    clock_to(9.0)
    engine.set_state(ConversationState.THINKING)
    clock_to(10.5)
    for turn, (begin, cut_at) in enumerate(((10.6, 17.0), (20.0, None))):
        items = speech(seed + 10 + turn, begin, 5 if cut_at else 4)
        for item in items:
            arrives = item.start - 0.3 if isinstance(item, (SpeechChunk, Sentence)) else 0.0
            if cut_at is not None and arrives >= cut_at:
                break
            clock_to(max(arrives, 0.0))
            engine.push(item)
        if cut_at is not None:
            clock_to(cut_at)
            engine.clear()
            clock_to(cut_at + 2.5)
        else:
            engine.end_of_speech()
            clock_to(max(f.end for f in items if isinstance(f, SpeechChunk)) + 1.0)
            engine.set_state(ConversationState.LISTENING)
            clock_to(frames[-1].t + 3.0)
            engine.set_state(ConversationState.IDLE)
            clock_to(frames[-1].t + 3.0)
    return frames


def scenarios() -> dict[str, list[FaceFrame]]:
    """Every scenario's frames, by name (offline and live, frame rates, styles, seeds)."""
    yes_style = MotionStyle(name="yes", shake_means_yes=True, smile_baseline=0.2, nod_rate=0.7, blink_rate=40)
    return {
        "offline_25_friendly": _offline(25, "friendly", 0, len(_PLAN)),
        "offline_30_lively": _offline(30, "lively", 3, 5),
        "offline_60_calm": _offline(60, "calm", 7, 3),
        "offline_25_yes": _offline(25, yes_style, 11, 4),
        "live_25_friendly": _live(25, "friendly", 1),
        "live_30_serious": _live(30, "serious", 5),
    }


def as_arrays(frames: list[FaceFrame]) -> dict[str, np.ndarray]:
    return {
        "t": np.array([f.t for f in frames]),
        "blendshapes": np.array([f.blendshapes for f in frames], np.float32),
        "head": np.array([[f.head.pitch, f.head.yaw, f.head.roll, f.head.x, f.head.y, f.head.z] for f in frames]),
        "gaze": np.array([[f.gaze.yaw, f.gaze.pitch] for f in frames]),
    }


if __name__ == "__main__":
    out = {}
    for name, frames in scenarios().items():
        for key, value in as_arrays(frames).items():
            out[f"{name}/{key}"] = value
        print(name, len(frames), "frames")
    np.savez_compressed(sys.argv[1], **out)
