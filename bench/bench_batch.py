"""`visage batch` throughput: seconds of finished video per wall second, by runner and number of jobs.

Run: .venv/bin/python bench/bench_batch.py [--jobs 2 4 8] [--size 256] [--modes 1 2 ray]
Each job says one short English sentence pair (~3 s of speech) with the embedded voice and renders the
default portrait at --size, as `visage batch` does (records written, nothing skipped: a fresh folder per
run). Modes: 1 = one process (no pool), 2 = two local worker processes (spawn), ray = a local Ray with
two CPUs started for the run (two actors). The wall time includes starting the pool or Ray, as a user
waits for it; speech seconds are those of the finished videos.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.cli.batch import SayJobRunner, batch_jobs, load_avatars  # noqa: E402
from visage.cli.batch_jobs import read_jobs  # noqa: E402
from visage.offline.batch import run_batch  # noqa: E402

SENTENCES = ["Welcome to lesson {i}. Today we look at one small idea.",
             "Thank you for watching video {i}. See you in the next one!",
             "Here is product number {i}. It is light, strong and easy to clean."]


def run_once(mode: str, count: int, size: int) -> tuple[float, float, float]:
    """(speech seconds, wall seconds, throughput) for `count` jobs on `mode`."""
    with tempfile.TemporaryDirectory() as tmp:
        jobs = Path(tmp) / "jobs.jsonl"
        jobs.write_text("".join(json.dumps({"text": SENTENCES[i % 3].format(i=i + 1), "output": f"v{i}.mp4",
                                            "size": size, "seed": i}) + "\n" for i in range(count)))
        out = Path(tmp) / "out"
        lines = read_jobs(jobs, out)
        avatars, digests = load_avatars(lines, print)
        out.mkdir()
        report = run_batch(batch_jobs(lines, out, digests), SayJobRunner(avatars),
                           workers=2 if mode in ("2", "ray") else 1, ray="local" if mode == "ray" else None)
        assert report.ok and report.count("done") == count, report.results
        return report.speech, report.wall, report.throughput


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, nargs="+", default=[2, 4, 8])
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--modes", nargs="+", default=["1", "2", "ray"], choices=["1", "2", "ray"])
    args = ap.parse_args()
    print(f"{'runner':<12} {'jobs':>4} {'speech s':>9} {'wall s':>7} {'video s / wall s':>17}")
    names = {"1": "1 process", "2": "2 processes", "ray": "Ray, 2 CPUs"}
    for mode in args.modes:
        for count in args.jobs:
            speech, wall, rate = run_once(mode, count, args.size)
            print(f"{names[mode]:<12} {count:>4} {speech:>9.1f} {wall:>7.1f} {rate:>17.2f}", flush=True)
    print(f"(size {args.size}, 25 fps, embedded voice, {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
