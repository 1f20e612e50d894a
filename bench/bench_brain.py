"""Embedded brain speed: time to first sentence (goal <= 20 ms), and the emotion classifier's speed and accuracy.

Run: .venv/bin/python bench/bench_brain.py [--runs 50]
Time to first sentence = from calling `reply()` until its first tagged sentence is in the caller's hands,
after `load()` (which reads the knowledge base and the Chinese segmenter's dictionary once, timed apart).
Questions alternate between answered ones, small talk, follow-ups and unknown ones.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

from visage.backends.llm import create_brain  # noqa: E402
from visage.backends.llm.base import ChatTurn, Conversation  # noqa: E402
from visage.core.sentiment import classify_emotion  # noqa: E402

MESSAGES = {
    "en": ["How do I install visage?", "When does the museum open?", "Hello!", "Can I use my own photo?",
           "What is the capital of France?", "This thing doesn't work!", "Which languages do you speak?",
           "How much is a ticket?", "Thanks a lot!", "Is there a café?"],
    "zh": ["怎么安装visage？", "博物馆几点开门？", "你好", "能用我自己的照片吗？", "法国的首都是哪里？",
           "这个软件太难用了！", "你会说哪些语言？", "门票多少钱？", "谢谢！", "有咖啡馆吗？"],
}
FOLLOW_UPS = {"en": ("What is visage?", "tell me more"), "zh": ("visage是什么？", "还有呢")}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def time_first_sentence(brain, conversation: Conversation, message: str) -> tuple[float, float]:
    began = time.perf_counter()
    reply = brain.reply(conversation, message)
    next(reply)
    first = time.perf_counter() - began
    list(reply)
    return first, time.perf_counter() - began


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=50)
    args = ap.parse_args()
    print(f"python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs")

    brain = create_brain("embedded")
    began = time.perf_counter()
    brain.load()
    print(f"load (knowledge base + jieba dictionary): {time.perf_counter() - began:.2f} s")

    for language, messages in MESSAGES.items():
        firsts, wholes = [], []
        question, follow_up = FOLLOW_UPS[language]
        for _ in range(args.runs):
            for message in messages:
                first, whole = time_first_sentence(brain, Conversation("bench"), message)
                firsts.append(first)
                wholes.append(whole)
            reply = " ".join(s.text for s in brain.reply(Conversation("bench"), question))
            history = Conversation("bench", history=[ChatTurn("user", question), ChatTurn("assistant", reply)])
            first, whole = time_first_sentence(brain, history, follow_up)
            firsts.append(first)
            wholes.append(whole)
        ms = [t * 1000 for t in firsts]
        print(f"{language}: time to first sentence p50 {statistics.median(ms):.2f} ms, "
              f"p95 {percentile(ms, 0.95):.2f} ms, max {max(ms):.2f} ms (goal <= 20 ms); whole reply p50 {statistics.median(wholes) * 1000:.2f} ms "
              f"({len(ms)} replies)")

    from test_sentiment import ROWS, accuracy  # the labelled set and its scorer

    for language in ("en", "zh"):
        texts = [text for _, lang, _, text in ROWS if lang == language]
        began = time.perf_counter()
        for _ in range(20):
            for text in texts:
                classify_emotion(text)
        per = (time.perf_counter() - began) / (20 * len(texts)) * 1e6
        print(f"emotion classifier, {language}: {per:.0f} µs a sentence")
    held_out = [r for r in ROWS if r[0] == "held-out"]
    print(f"emotion classifier accuracy: {accuracy(ROWS):.3f} on {len(ROWS)} sentences "
          f"(en {accuracy([r for r in ROWS if r[1] == 'en']):.3f}, "
          f"zh {accuracy([r for r in ROWS if r[1] == 'zh']):.3f}); "
          f"held-out {accuracy(held_out):.3f} on {len(held_out)} "
          f"(en {accuracy([r for r in held_out if r[1] == 'en']):.3f}, "
          f"zh {accuracy([r for r in held_out if r[1] == 'zh']):.3f})")


if __name__ == "__main__":
    main()
