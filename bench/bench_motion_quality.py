"""Motion quality figures on real espeak speech through the full engine (the README's quality table).

Run: .venv/bin/python bench/bench_motion_quality.py
"""
from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text  # noqa: E402
from visage.core.arkit import INDEX  # noqa: E402
from visage.core.motion.engine import MotionEngine  # noqa: E402
from visage.core.motion.visemes import viseme_of  # noqa: E402
from visage.core.types import ConversationState, Emotion, FaceFrame, SpeechChunk  # noqa: E402

FPS = 25
TEXT = ("Bob bought a bigger map for his trip to Boston. Maybe the pilot will permit a brief stop in Portland? "
        "I absolutely believe we can make it. Please, promise me you will be patient! Remember: every "
        "mile matters. Did you pack the blue backpack? My mother made some apple pie. It was simply "
        "perfect. We will meet at the bus stop by the museum. Nobody else can possibly do it better.")
EMPHASIS = ["bigger", "brief", "absolutely", "promise", "every", "blue", "simply", "museum", "Nobody"]


def run(text, emphasis=(), emotion=Emotion.NEUTRAL):
    engine = MotionEngine(fps=FPS)
    frames, chunks = [], []
    for item in engine.run(narrate(create_tts("espeak"), requests_for_text(text, emphasis=emphasis, emotion=emotion))):
        if isinstance(item, FaceFrame):
            frames.append(item)
        elif isinstance(item, SpeechChunk):
            chunks.append(item)
    return frames, chunks


def main() -> None:
    frames, chunks = run(TEXT, EMPHASIS)
    phonemes = [p for c in chunks for p in c.phonemes]
    b = np.array([f.blendshapes for f in frames])
    t = np.array([f.t for f in frames])

    def at(time):
        return b[min(len(b) - 1, int(round(time * FPS)))]

    bil = [p for p in phonemes if viseme_of(p.symbol) == "PP"]
    closed = [at((p.start + p.end) / 2)[INDEX["jawOpen"]] < 0.08 for p in bil]

    samples = np.concatenate([c.samples for c in chunks])
    rate = chunks[0].sample_rate
    half = int(rate / FPS / 2)
    inside = t < len(samples) / rate - 0.02
    loud = np.array([np.sqrt(np.mean(samples[max(0, int(x * rate) - half) : int(x * rate) + half] ** 2))
                     for x in t[inside]])
    jaw = b[inside, INDEX["jawOpen"]]
    a_, j_ = (loud - loud.mean()) / loud.std(), (jaw - jaw.mean()) / jaw.std()
    lags = range(-10, 11)
    cc = [np.mean(a_[max(0, -k) : len(a_) - max(0, k)] * j_[max(0, k) : len(j_) - max(0, -k)]) for k in lags]
    lag = list(lags)[int(np.argmax(cc))]

    pitch = np.array([f.head.pitch for f in frames])
    brow = b[:, INDEX["browInnerUp"]]
    emph = []
    for p in phonemes:
        if p.emphasised and (not emph or emph[-1][1] != p.word or p.start - emph[-1][2] > 0.3):
            emph.append([p.start, p.word, p.end, None])
        if p.emphasised:
            emph[-1][2] = p.end
            if p.stressed and emph[-1][3] is None:
                emph[-1][3] = p.start
    hits = 0
    for onset, _, end, stress in emph:
        anchor = stress if stress is not None else onset
        k0, k1 = int((anchor - 0.15) * FPS), int((anchor + 0.15) * FPS) + 1
        window_pitch, window_brow = pitch[k0 : k1 + 1], brow[k0 : k1 + 1]
        nod = any(window_pitch[i] > window_pitch[i - 1] and window_pitch[i] >= window_pitch[i + 1]
                  and window_pitch[i] - pitch[max(0, k0 - 5) : k1 + 5].min() > 1.0 for i in range(1, len(window_pitch) - 1))
        raise_ = window_brow.max() > 0.15
        hits += nod or raise_

    blink = b[:, INDEX["eyeBlinkLeft"]]
    blinks = int(np.sum((blink[1:] >= 0.5) & (blink[:-1] < 0.5)))
    q_frames, _ = run("Do you really think so?")
    s_frames, _ = run("You really think so.")
    q_end = q_frames[-13]  # half a second before the end: the sentence's last word
    s_end = s_frames[-13]
    pose = np.array([[f.head.pitch, f.head.yaw, f.head.roll] for f in frames])
    jerk = np.abs(np.diff(pose, n=3, axis=0)).max() * FPS**3

    listen = MotionEngine(fps=FPS)
    listen.set_state(ConversationState.LISTENING)
    lb = np.array([f.blendshapes[INDEX["eyeBlinkLeft"]] for f in listen.frames_until(300.0)])
    listen_blinks = int(np.sum((lb[1:] >= 0.5) & (lb[:-1] < 0.5)))

    print(f"speech: {t[-1]:.1f} s, {len(frames)} frames at {FPS} fps")
    print(f"| lips closed at p/b/m midpoints | {np.mean(closed):.0%} ({sum(closed)}/{len(closed)}) |")
    print(f"| mouth-loudness cross-correlation: best lag / confidence | {lag} frames / {max(cc) - np.median(cc):.2f} |")
    print(f"| emphasised words with a nod or brow raise within 150 ms | {hits / len(emph):.0%} ({hits}/{len(emph)}) |")
    print(f"| end of question vs statement: head pitch, browInnerUp | {q_end.head.pitch:+.1f} vs {s_end.head.pitch:+.1f} deg, "
          f"{q_end.blendshapes[INDEX['browInnerUp']]:.2f} vs {s_end.blendshapes[INDEX['browInnerUp']]:.2f} |")
    print(f"| blinks per minute: speaking / listening | {blinks / t[-1] * 60:.1f} / {listen_blinks / 5:.1f} |")
    print(f"| weights outside [0, 1] | {int(np.sum((b < 0) | (b > 1)))} |")
    print(f"| head: max |pitch|, |yaw|, |roll| | {np.abs(pose).max(axis=0).round(1).tolist()} deg (limits 10, 15, 8) |")
    print(f"| head: max jerk | {jerk:.0f} deg/s^3 |")


if __name__ == "__main__":
    main()
