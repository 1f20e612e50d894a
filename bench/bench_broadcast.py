"""`visage broadcast` CPU and pacing: a 512 px, 25 fps stream to nginx-rtmp on loopback for SECONDS.

Reports CPU seconds per stream second (1.0 = one core busy), how far the stream fell behind the wall
clock, and what the server received (frames, rate); writes a contact sheet of received frames.
    python bench/bench_broadcast.py [--seconds 60] [--size 512] [--sheet out/broadcast_sheet.png]
"""
from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from rtmp_server import RtmpServer  # noqa: E402

SCRIPT = ("Good evening and welcome to the live shop.\n"
          "Tonight's kettle boils a litre of water in one minute, and it costs twenty nine euros!\n"
          "Ask me anything about it while we are live.\n")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=60)
    p.add_argument("--size", type=int, default=512)
    p.add_argument("--fps", type=int, default=25)
    p.add_argument("--sheet", default=str(ROOT / "out" / "broadcast_sheet.png"))
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        server = RtmpServer(tmp / "nginx").start()
        script = tmp / "script.txt"
        script.write_text(SCRIPT)
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "visage.cli.main", "broadcast", "--rtmp", server.url("bench"),
                              "--script", str(script), "--loop", "--duration", str(args.seconds), "--size",
                              str(args.size), "--fps", str(args.fps)], env=env, capture_output=True, text=True)
        wall = time.monotonic() - began
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        time.sleep(0.5)
        server.stop()
        if run.returncode:
            sys.exit(f"the broadcast failed:\n{run.stderr}")
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        summary = re.search(r"streamed .*", run.stderr).group(0)
        frames, times = received(server.recordings()[-1], args.sheet)
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"stream {args.size}x{args.size} at {args.fps} fps for {args.seconds:.0f} s (load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"  the command: {summary}")
    print(f"  whole process incl. start-up (models, avatar): {cpu:.1f} CPU s in {wall:.1f} s wall")
    print(f"  received by nginx: {frames} frames, {rate:.3f} fps; contact sheet {args.sheet}")


def received(path: Path, sheet: str) -> tuple[int, np.ndarray]:
    import av
    import cv2

    times, picks = [], []
    with av.open(str(path)) as c:
        for frame in c.decode(video=0):
            times.append(float(frame.pts * frame.time_base))
            if len(times) % 12 == 0 and len(picks) < 16:
                picks.append(frame.to_ndarray(format="rgb24"))
    rows = [np.concatenate(picks[i:i + 8], axis=1) for i in range(0, len(picks) - len(picks) % 8, 8)]
    Path(sheet).parent.mkdir(parents=True, exist_ok=True)
    if rows:
        image = np.concatenate(rows, axis=0)
        cv2.imwrite(sheet, cv2.cvtColor(cv2.resize(image, None, fx=0.5, fy=0.5), cv2.COLOR_RGB2BGR))
    return len(times), np.array(times)


if __name__ == "__main__":
    main()
