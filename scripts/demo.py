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

VIDEO_TEXT = ("Hello! I am visage, and I run on an ordinary computer. Isn't that wonderful? "
              "Give me a photo and a sentence, and I will say it for you.")
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
    video = os.path.join(out, "demo.mp4")
    from visage.backends.renderers import create_renderer
    from visage.offline.say import say_to_files

    requests = requests_for_text(VIDEO_TEXT, emotion=Emotion.HAPPY, intensity=0.7, emphasis=["wonderful", "you"])
    summary = say_to_files(narrate(tts, requests), video, create_renderer("portrait"))
    print(f"{os.path.relpath(video)} (+ .srt, .vtt, .motion.json)  {summary.duration:4.1f} s  the default avatar speaking")
    print("\nWatch out/demo.mp4 (any browser plays it). The WAV files beside it are the voice alone; the")
    print(".motion.json files hold the face's ARKit-52 weights, head pose and gaze per frame with the phoneme")
    print("timings, and the PNGs show that motion over time.")


if __name__ == "__main__":
    main()
