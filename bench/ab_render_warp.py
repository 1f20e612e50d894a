"""A/B of the mesh warp's fast path against the plain one (`MeshWarp.warp_reference`, the code
before it) inside the whole portrait renderer: the same process, the same frames, blocks of
frames alternated so both see the same load; CPU time (process_time) per frame.

Run: .venv/bin/python bench/ab_render_warp.py
"""
from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import cv2  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.avatar_store import default_avatar  # noqa: E402

from bench_render import speech_frames  # noqa: E402  (this folder: the same motion as bench_render)


def main(rounds: int = 8) -> None:
    cv2.setNumThreads(1)
    frames = speech_frames()
    avatar = default_avatar()
    print("| size | plain warp fps | fast warp fps | ratio (median of rounds) |")
    print("|---|---|---|---|")
    for size in (256, 512, 1024):
        renderer = create_renderer("portrait", avatar=avatar, size=size)
        renderer.load()
        warp = renderer.warp
        paths = {"plain": warp.warp_reference, "fast": type(warp).warp.__get__(warp)}
        times: dict[str, list[float]] = {"plain": [], "fast": []}
        for r in range(rounds):
            for name in (("plain", "fast") if r % 2 == 0 else ("fast", "plain")):
                warp.warp = paths[name]
                t0 = time.process_time()
                for f in frames:
                    renderer.render(f)
                times[name].append((time.process_time() - t0) / len(frames))
        warp.warp = paths["fast"]
        ratios = sorted(p / f for p, f in zip(times["plain"], times["fast"]))
        plain, fast = (1 / sorted(times[k])[len(times[k]) // 2] for k in ("plain", "fast"))
        print(f"| {size} | {plain:.0f} | {fast:.0f} | {ratios[len(ratios) // 2]:.2f} |")


if __name__ == "__main__":
    main()
