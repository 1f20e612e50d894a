"""Motion engine speed and look-ahead: CPU per frame, and how far past a frame the input must reach.

Run: .venv/bin/python bench/bench_motion.py
CPU per frame counts everything the engine does (audio features, lips, expression, head, life) on one
core; the voice's own synthesis is excluded (see bench_tts.py). Look-ahead latency is the audio time
already received when each frame comes out, minus the frame's time, while speech streams in.
"""
from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text  # noqa: E402
from visage.core.motion.engine import MotionEngine  # noqa: E402
from visage.core.types import ConversationState, Emotion  # noqa: E402

TEXT = ("Good morning! I am glad you could make it today. Did you have a chance to look at the plans? "
        "I think the second option is clearly the best one. It is cheaper, faster, and much simpler. "
        "But of course, the decision is yours. What do you think?")


def main() -> None:
    tts = create_tts("espeak")
    items = list(narrate(tts, requests_for_text(TEXT, emotion=Emotion.HAPPY, intensity=0.6,
                                                emphasis=["glad", "clearly", "yours"])))
    print("| fps | frames | CPU per frame (median of 5 runs) | frame budget used | look-ahead p50 / max |")
    print("|---|---|---|---|---|")
    for fps in (25, 30, 60):
        per_frame, lookahead = [], []
        for _ in range(5):
            engine = MotionEngine(fps=fps)
            frames = 0
            cpu0 = time.process_time()
            for item in items:
                engine.push(item)
                for f in engine.frames():
                    frames += 1
                    lookahead.append(engine.track.horizon - f.t)
            engine.end_of_speech()
            frames += len(engine.frames())
            per_frame.append((time.process_time() - cpu0) / frames)
        ms = statistics.median(per_frame) * 1000
        print(f"| {fps} | {frames} | {ms:.3f} ms | {ms / (1000 / fps):.1%} | "
              f"{statistics.median(lookahead) * 1000:.0f} / {max(lookahead) * 1000:.0f} ms |")
    engine = MotionEngine(fps=25)
    engine.set_state(ConversationState.LISTENING)
    cpu0 = time.process_time()
    frames = engine.frames_until(60.0)
    print(f"\nlistening (no speech): {(time.process_time() - cpu0) / len(frames) * 1000:.3f} ms per frame")


if __name__ == "__main__":
    main()
