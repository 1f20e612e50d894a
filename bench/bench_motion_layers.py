"""Motion engine speed per layer: frames per second of CPU for each layer and the whole engine, in the
offline loop (`say`: a whole reply streamed through `run`) and live between turns (listening, no
speech: blinks, gaze, breathing, sway; what a live server pays 25 times a second per session).

Run: .venv/bin/python bench/bench_motion_layers.py [--base SRC] [--rounds 3]
With --base (another checkout's src folder, e.g. one made by `git worktree add /tmp/base main`), the
two trees are measured in turns, each in its own process, and the table shows both and the speed-up:
an A/B under the same load. Layers: track (speech in: audio features), lips, expression, head, life,
and compose (the engine's own work: adding the layers, limits, the frame).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

LAYERS = ("track", "lips", "expression", "head", "life")
TEXT = ("Good morning! I am glad you could make it today. Did you have a chance to look at the plans? "
        "I think the second option is clearly the best one. It is cheaper, faster, and much simpler. "
        "But of course, the decision is yours. What do you think?")


def _measure(idle_seconds: float) -> dict:
    """In this process: CPU seconds per frame for each layer and the whole engine, both loops."""
    from visage.backends.tts import create_tts
    from visage.backends.tts.narration import narrate, requests_for_text
    from visage.core.motion.engine import MotionEngine
    from visage.core.types import ConversationState, Emotion, FaceFrame

    items = list(narrate(create_tts("espeak"), requests_for_text(
        TEXT, emotion=Emotion.HAPPY, intensity=0.6, emphasis=["glad", "clearly", "yours"])))

    def timed(engine, spent):
        """Charge each layer its own CPU time: a nested call (a query that analyses audio) is the
        track's, not the caller's."""
        stack: list[str] = []
        for name, obj, method in (("lips", engine.lips, "weights"), ("expression", engine.expression, "weights"),
                                  ("head", engine.head, "pose"), ("life", engine.life, "frame"),
                                  ("track", engine, "push"), ("track", engine.track, "_analyse")):
            inner = getattr(obj, method)

            def wrapper(*args, _inner=inner, _name=name, **kwargs):
                t0 = time.process_time()
                stack.append(_name)
                try:
                    return _inner(*args, **kwargs)
                finally:
                    stack.pop()
                    elapsed = time.process_time() - t0
                    spent[_name] += elapsed
                    if stack:
                        spent[stack[-1]] -= elapsed
            setattr(obj, method, wrapper)

    out = {}
    for loop in ("offline", "idle"):
        spent = dict.fromkeys(LAYERS, 0.0)
        engine = MotionEngine(fps=25)
        timed(engine, spent)
        cpu0 = time.process_time()
        if loop == "offline":
            frames = sum(isinstance(i, FaceFrame) for i in engine.run(iter(items)))
        else:
            engine.set_state(ConversationState.LISTENING)
            frames = len(engine.frames_until(idle_seconds))
        total = time.process_time() - cpu0
        spent["compose"] = total - sum(spent.values())
        spent["engine"] = total
        out[loop] = {k: v / frames for k, v in spent.items()}
    return out


def _run_tree(src: str, idle_seconds: float) -> dict:
    env = dict(os.environ, PYTHONPATH=src)
    code = f"import json, sys; sys.path.insert(0, {os.path.dirname(__file__)!r}); import bench_motion_layers as b; " \
           f"print(json.dumps(b._measure({idle_seconds})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", help="src folder of the tree to compare against (A/B)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--idle-seconds", type=float, default=60.0)
    args = ap.parse_args()
    here = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "src")
    trees = {"new": here} if not args.base else {"base": args.base, "new": here}
    runs: dict[str, list[dict]] = {k: [] for k in trees}
    for _ in range(args.rounds):  # in turns, so both see the same load
        for name, src in trees.items():
            runs[name].append(_run_tree(src, args.idle_seconds))
    print(f"load average {os.getloadavg()[0]:.1f}; median of {args.rounds} runs; frames per CPU second (25 fps)")
    names = list(trees)
    head = " | ".join(names) + (" | speed-up" if len(names) == 2 else "")
    for loop in ("offline", "idle"):
        print(f"\n{loop}: | layer | {head} |")
        print("|---|" + "---|" * (len(names) + (len(names) == 2)))
        for layer in LAYERS + ("compose", "engine"):
            per = {n: statistics.median(r[loop][layer] for r in runs[n]) for n in names}
            cells = [f"{1 / per[n]:,.0f}" if per[n] > 0 else "-" for n in names]
            if len(names) == 2:
                cells.append(f"{per['base'] / per['new']:.2f}x" if per["new"] > 0 else "-")
            print(f"| {layer} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
