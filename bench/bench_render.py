"""Portrait renderer speed: frames per second on one core at 256, 512 and 1024 pixels.

Run: .venv/bin/python bench/bench_render.py
OpenCV is limited to one thread, so the figure is what one core does; the frames are real motion
(speech with emotion, head motion, blinks), rendered from the default avatar.
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import cv2  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.avatar_store import default_avatar  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text  # noqa: E402
from visage.core.motion.engine import animate  # noqa: E402
from visage.core.types import Emotion  # noqa: E402


def speech_frames() -> list:
    """The motion both renderer benchmarks draw: a happy sentence with an emphasised word."""
    return list(animate(narrate(create_tts("espeak"), requests_for_text(
        "Hello there! I am so glad to see you. Shall we begin with the plan for today?",
        emotion=Emotion.HAPPY, intensity=0.7, emphasis=["glad"]))))


def main() -> None:
    cv2.setNumThreads(1)
    frames = speech_frames()
    avatar = default_avatar()
    print("| size | frames per second (one core) | ms per frame | load |")
    print("|---|---|---|---|")
    for size in (256, 512, 1024):
        renderer = create_renderer("portrait", avatar=avatar, size=size)
        t0 = time.perf_counter()
        renderer.load()
        load = time.perf_counter() - t0
        renderer.render(frames[0])
        t0 = time.perf_counter()
        for _ in range(2):
            for f in frames:
                renderer.render(f)
        per = (time.perf_counter() - t0) / (2 * len(frames))
        print(f"| {size} | {1 / per:.0f} | {per * 1000:.1f} | {load:.2f} s |")


if __name__ == "__main__":
    main()
