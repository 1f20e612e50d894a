"""The demo: speak and animate a few sentences with different feelings, in English and Mandarin, into
out/: a WAV, its timings, the face's motion (JSON) and a plot of it for each.

Run with `make demo` (sets up first) or `.venv/bin/python scripts/demo.py`.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import requests_for_text  # noqa: E402
from visage.core.types import Emotion  # noqa: E402
from visage.backends.tts.narration import narrate  # noqa: E402
from visage.offline.animate import animate_to_file  # noqa: E402
from visage.offline.plot import plot_motion  # noqa: E402

LINES = [
    ("en", Emotion.HAPPY, "Hello! I am visage. It is so nice to meet you!", ["nice"]),
    ("en", Emotion.SAD, "I am sorry. I could not find the answer this time.", ["sorry"]),
    ("en", Emotion.SURPRISED, "Really? You built all of this in one afternoon?", ["one"]),
    ("en", Emotion.ANGRY, "No. That is not acceptable, and it must never happen again.", ["never"]),
    ("zh", Emotion.HAPPY, "你好！我是 visage，很高兴认识你。", ["很高兴"]),
    ("zh", Emotion.SAD, "对不起，这次我没能找到答案。", ["对不起"]),
]


def main() -> None:
    out = os.path.join(os.path.dirname(__file__), "..", "out")
    os.makedirs(out, exist_ok=True)
    tts = create_tts("espeak")
    for i, (language, emotion, text, emphasis) in enumerate(LINES):
        stem = os.path.join(out, f"demo-{i}-{language}-{emotion.value}")
        requests = requests_for_text(text, language=language, emotion=emotion, intensity=0.8, emphasis=emphasis)
        summary = animate_to_file(narrate(tts, requests), stem + ".motion.json", wav_path=stem + ".wav")
        plot_motion(summary.motion_path, stem + ".png")
        print(f"{os.path.relpath(stem)}.wav/.motion.json/.png  {summary.duration:4.1f} s  [{emotion.value}] {text}")
    print("\nListen to the WAV files; the .motion.json files hold the face's ARKit-52 weights, head pose and")
    print("gaze per frame with the phoneme timings, and the PNGs show that motion over time.")


if __name__ == "__main__":
    main()
