"""A/B of the portrait renderer between two checkouts, run side by side so both see the same load.

Run: .venv/bin/python bench/ab_render_trees.py OLD_CHECKOUT [NEW_CHECKOUT (default: this one)]
     [--rounds 4] [--sizes 512,1024]

On a shared machine the renderer's speed moves by more than a change's gain from one minute to the
next (bench_render.py's wall-clock figures), so timing the two trees one after the other compares the
minutes, not the code. Here each round starts both trees' renderers at the same moment, one process
each, and each reports its own CPU time per frame (process_time) over bench_render.py's frames: the
two share whatever else the machine is doing. Each process imports the renderer from its own tree
(PYTHONPATH), so any two commits can be compared (`git worktree add /tmp/old <commit>`).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# what each process runs: CPU ms a frame at each size, as "size:ms" words on one line
CHILD = """
import os, sys, time
sys.path.insert(0, os.path.join(os.getcwd(), "bench"))
import cv2
cv2.setNumThreads(1)
from bench_render import speech_frames
from visage.backends.renderers import create_renderer
from visage.backends.renderers.avatar_store import default_avatar
frames, avatar, words = speech_frames(), default_avatar(), []
for size in map(int, sys.argv[1:]):
    renderer = create_renderer("portrait", avatar=avatar, size=size)
    renderer.load()
    renderer.render(frames[0])
    began = time.process_time()
    for frame in frames:
        renderer.render(frame)
    words.append(f"{size}:{(time.process_time() - began) / len(frames) * 1000:.3f}")
print(" ".join(words))
"""


def start(tree: Path, sizes: list[int]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(tree / "src"))
    return subprocess.Popen([sys.executable, "-c", CHILD, *map(str, sizes)], cwd=tree, env=env,
                            stdout=subprocess.PIPE, text=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("old", type=Path, help="the checkout to compare against")
    ap.add_argument("new", type=Path, nargs="?", default=ROOT, help="the checkout measured (default: this one)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--sizes", default="512,1024")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    ms: dict[str, dict[int, list[float]]] = {"old": {s: [] for s in sizes}, "new": {s: [] for s in sizes}}
    for round_ in range(args.rounds):
        running = {name: start(tree.resolve(), sizes) for name, tree in (("old", args.old), ("new", args.new))}
        for name, process in running.items():
            out, _ = process.communicate()
            if process.returncode:
                sys.exit(f"the {name} checkout's renderer failed (exit {process.returncode})")
            for word in out.split():
                size, value = word.split(":")
                ms[name][int(size)].append(float(value))
        load = os.getloadavg()[0]
        print(f"round {round_ + 1}, load {load:.1f}: " + "  ".join(
            f"{s}: old {ms['old'][s][-1]:.2f} new {ms['new'][s][-1]:.2f} ms" for s in sizes))
    print("| size | old ms a frame (CPU) | new ms a frame (CPU) | new / old, median of rounds |")
    print("|---|---|---|---|")
    for s in sizes:
        ratios = [n / o for n, o in zip(ms["new"][s], ms["old"][s])]
        print(f"| {s} | {statistics.median(ms['old'][s]):.2f} | {statistics.median(ms['new'][s]):.2f} | "
              f"{statistics.median(ratios):.3f} |")


if __name__ == "__main__":
    main()
