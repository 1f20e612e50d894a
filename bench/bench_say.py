"""`visage say` speed: wall time over speech duration, end to end, and where the time goes.

Run: .venv/bin/python bench/bench_say.py [--size 512] [--fps 25] [--runs 1] [--x264-params ''] [--encoder-threads 2]
Speaks ~30 s of English with the default voice (--tts espeak: the embedded one) and renders the default portrait into an MP4 (with its
subtitles and motion file), as `visage say` does. The goal is 0.3x real time at 512x512, 25 fps: a
30-second answer ready in 9 seconds. Stages: voice (synthesis), motion (the engine), render (the
portrait warp), encode (colour conversion and waiting for the encoder: H.264 + AAC with FFmpeg, one x264 thread,
runs on a thread of its own beside the others, its busy time shown apart), files (subtitles, motion
JSON), load (the renderer's set-up, once per video).
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import narrate, requests_for_text, with_detected_emotion  # noqa: E402
from visage.backends.tts.read_ahead import read_ahead  # noqa: E402
from visage.offline import video  # noqa: E402
from visage.offline.say import STAGES, say_to_files  # noqa: E402

TEXT = ("Good morning, and thank you for coming. Today I would like to tell you about our new garden project. "
        "Last spring, we planted more than two hundred trees along the river. Some of them did not survive the "
        "dry summer, which was sad to see. But most of them are growing well, and the birds are coming back! "
        "Next month, we will add benches, a small playground and a path for bicycles. Would you like to help? "
        "We need volunteers on Saturday mornings. It is hard work, but it is also a lot of fun.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--fps", type=int, default=25)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--tts", default="auto", help="voice backend (auto: the neural voice, as visage say; espeak)")
    ap.add_argument("--x264-params", default=None, help="the encoder's x264 options (default "
                    f"{getattr(video, 'X264_PARAMS', '')!r}; '' for the preset's own)")
    ap.add_argument("--encoder-threads", type=int, default=None, help=f"x264 threads (default {video.THREADS})")
    args = ap.parse_args()
    if args.x264_params is not None:  # VideoWriter reads these when it is made
        video.X264_PARAMS = args.x264_params
    if args.encoder_threads is not None:
        video.THREADS = args.encoder_threads
    tts = create_tts(args.tts)
    tts.load()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(args.runs):
            renderer = create_renderer("portrait", size=args.size)
            began, cpu = time.perf_counter(), time.process_time()
            stream = read_ahead(narrate(tts, with_detected_emotion(requests_for_text(TEXT))))
            summary = say_to_files(stream, os.path.join(tmp, "bench.mp4"), renderer, fps=args.fps)
            wall, cpu = time.perf_counter() - began, time.process_time() - cpu
            results.append((wall, summary, cpu))
            size_mb = os.path.getsize(summary.outputs.video) / 1e6
            print(f"run {run + 1}: {summary.duration:.1f} s of speech, {summary.frames} frames, "
                  f"{wall:.2f} s wall, {wall / summary.duration:.3f}x real time, CPU {cpu / summary.duration:.3f} s "
                  f"per audio s, MP4 {size_mb:.2f} MB ({size_mb * 8e3 / summary.duration:.0f} kbit/s), load "
                  f"{os.getloadavg()[0]:.1f}")
    wall, summary, cpu = sorted(results, key=lambda r: r[0])[len(results) // 2]  # the median run
    d = summary.duration
    print(f"\n{args.size}x{args.size}, {args.fps} fps, {os.cpu_count()} CPUs; median run: "
          f"{wall:.2f} s for {d:.1f} s of speech = {wall / d:.3f}x real time (goal 0.3x)")
    print("| stage | seconds | x real time | ms per frame | share |")
    print("|---|---|---|---|---|")
    for stage in STAGES:
        s = summary.seconds[stage]
        print(f"| {stage} | {s:.2f} | {s / d:.3f} | {s / summary.frames * 1000:.2f} | {s / wall:.0%} |")
    other = wall - summary.wall
    print(f"| other | {other:.2f} | {other / d:.3f} | | {other / wall:.0%} |")
    e = summary.encoder_seconds
    print(f"| (encoder thread, overlapped) | {e:.2f} | {e / d:.3f} | {e / summary.frames * 1000:.2f} | |")
    e = getattr(summary, "encoder_cpu_seconds", 0.0)
    print(f"| (encoder thread CPU) | {e:.2f} | {e / d:.3f} | {e / summary.frames * 1000:.2f} | |")
    print(f"| (process CPU, all threads) | {cpu:.2f} | {cpu / d:.3f} | {cpu / summary.frames * 1000:.2f} | |")
    print(f"\nthe whole budget at 0.3x: {300 / args.fps:.1f} ms per frame; used {wall / summary.frames * 1000:.1f} ms")


if __name__ == "__main__":
    main()
