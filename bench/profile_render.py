"""Where the portrait renderer's time goes: per-stage milliseconds a frame at one size (default 512).

Run: .venv/bin/python bench/profile_render.py [size]
The frames are bench_render's (speech with emotion, head motion, blinks). Two tables come out:
the renderer's stages (the face model, the head's motion, the shading, the warp and its exact map,
the mouth, the eyelids), timed around the methods `PortraitRenderer.render` calls; and every cv2
call the warp, mouth, eyelids and shading make, labelled by the line that makes it (their `cv2`
attribute is swapped for a timing proxy, so no renderer code is copied here and the figures follow
the code as it changes). Timing adds a little overhead per call: read the shares, not the total.
"""
from __future__ import annotations

import collections
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import cv2  # noqa: E402

from visage.backends.renderers import create_renderer, portrait  # noqa: E402
from visage.backends.renderers.avatar_store import default_avatar  # noqa: E402

from bench_render import speech_frames  # noqa: E402  (this folder: the same motion as bench_render)

TOTALS: dict[str, float] = collections.defaultdict(float)
CALLS: dict[str, int] = collections.defaultdict(int)


def timed(label: str, function):
    """`function` with its wall time added to TOTALS[label] on each call."""
    def wrapper(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            TOTALS[label] += time.perf_counter() - t0
            CALLS[label] += 1
    return wrapper


class TimingCv2:
    """cv2 with each function call timed under 'name @ file:line' of its caller."""

    def __getattr__(self, name: str):
        value = getattr(cv2, name)
        if not callable(value) or isinstance(value, type):
            return value

        def call(*args, **kwargs):
            frame = sys._getframe(1)
            label = f"cv2.{name} @ {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
            t0 = time.perf_counter()
            try:
                return value(*args, **kwargs)
            finally:
                TOTALS[label] += time.perf_counter() - t0
                CALLS[label] += 1
        return call


def instrument(renderer) -> None:
    """Wrap the renderer's stages and give its parts the timing cv2."""
    proxy = TimingCv2()
    for part in (renderer.warp, renderer.mouth, renderer.lids, renderer.shading):
        part.cv2 = proxy
    if getattr(renderer.warp, "exact_map", None) is not None:
        renderer.warp.exact_map.cv2 = proxy
    stages = [(renderer.model, "displace", "face model (displace)"),
              (renderer.shading, "apply", "shading"),
              (renderer.warp, "warp", "warp (all)"),
              (renderer.warp, "field", "warp: coarse field"),
              (renderer.warp, "_exact", "warp: exact map"),
              (renderer.mouth, "draw", "mouth"),
              (renderer.lids, "draw", "eyelids"),
              (renderer, "exact_share", "exact share")]
    for owner, name, label in stages:
        setattr(owner, name, timed(label, getattr(owner, name)))
    portrait.head_displacement = timed("head motion", portrait.head_displacement)
    renderer.render = timed("render (all)", renderer.render)


def main(size: int = 512, rounds: int = 2) -> None:
    cv2.setNumThreads(1)
    frames = speech_frames()
    renderer = create_renderer("portrait", avatar=default_avatar(), size=size)
    renderer.load()
    renderer.render(frames[0])
    t0 = time.perf_counter()
    for _ in range(rounds):
        for f in frames:
            renderer.render(f)
    plain = (time.perf_counter() - t0) / (rounds * len(frames))
    instrument(renderer)
    for _ in range(rounds):
        for f in frames:
            renderer.render(f)
    n = rounds * len(frames)
    print(f"size {size}: {1000 * plain:.2f} ms a frame uninstrumented ({1 / plain:.0f} fps), {n} frames\n")
    print("| stage | ms a frame | calls a frame |")
    print("|---|---|---|")
    for label, total in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        if not label.startswith("cv2."):
            print(f"| {label} | {1000 * total / n:.3f} | {CALLS[label] / n:.1f} |")
    print("\n| cv2 call | ms a frame | calls a frame |")
    print("|---|---|---|")
    for label, total in sorted(TOTALS.items(), key=lambda kv: -kv[1]):
        if label.startswith("cv2.") and 1000 * total / n >= 0.01:
            print(f"| {label} | {1000 * total / n:.3f} | {CALLS[label] / n:.1f} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 512)
