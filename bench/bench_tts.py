"""Embedded voice speed: real-time factor and time to first chunk, English and Mandarin.

Run: .venv/bin/python bench/bench_tts.py [--long]   (--long also streams 100,000 characters)
RTF = synthesis wall time / audio duration; first chunk = time from handing a sentence to the voice
until its first audio chunk is in the caller's hands.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
import tracemalloc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.tts import create_tts  # noqa: E402
from visage.backends.tts.narration import requests_for_text  # noqa: E402
from visage.core.types import Emotion, SpeechRequest  # noqa: E402
from visage.offline.speak import speak_to_files  # noqa: E402

SENTENCES = {
    "en": [
        "Good morning, and welcome to the demonstration.",
        "I can speak with feeling, and my face will follow what I say.",
        "Did you know that the first chunk of audio arrives in a few milliseconds?",
        "That is wonderful news!",
        "Please tell me what you would like to talk about today.",
        "The weather will be cloudy in the morning, with some sun in the afternoon.",
    ],
    "zh": [
        "早上好，欢迎来到演示。",
        "我可以带着感情说话，我的脸也会跟着变化。",
        "你知道第一段音频只需要几毫秒就能到达吗？",
        "这真是个好消息！",
        "请告诉我你今天想聊些什么。",
        "明天上午多云，下午会有阳光。",
    ],
}


def bench_language(tts, language: str, rounds: int) -> dict:
    first_ms, rtfs = [], []
    for _ in range(rounds):
        for text in SENTENCES[language]:
            for emotion in (Emotion.NEUTRAL, Emotion.HAPPY, Emotion.SAD):
                request = SpeechRequest(text, language=language, emotion=emotion)
                t0 = time.perf_counter()
                first = None
                samples = 0
                rate = 1
                for chunk in tts.stream(request):
                    if first is None and len(chunk.samples):
                        first = time.perf_counter() - t0
                    samples += len(chunk.samples)
                    rate = chunk.sample_rate
                wall = time.perf_counter() - t0
                first_ms.append(first * 1000)
                rtfs.append(wall / (samples / rate))
    q = statistics.quantiles(first_ms, n=20)
    return {"rtf": statistics.median(rtfs), "first_p50": statistics.median(first_ms), "first_p95": q[-1],
            "n": len(rtfs)}


def bench_long(tts) -> dict:
    paragraph = ("The quick brown fox jumps over the lazy dog, while the cat watches from the window. "
                 "Then, without warning, it starts to rain! Who could have seen that coming? ")
    text = (paragraph * (100_000 // len(paragraph) + 1))[:100_000]
    with tempfile.TemporaryDirectory() as tmp:
        tracemalloc.start()
        t0 = time.perf_counter()
        summary = speak_to_files(tts, requests_for_text(text[i : i + 4096] for i in range(0, len(text), 4096)),
                                 os.path.join(tmp, "long.wav"), os.path.join(tmp, "long.json"))
        wall = time.perf_counter() - t0
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        size = os.path.getsize(os.path.join(tmp, "long.wav"))
    return {"chars": len(text), "audio_s": summary.duration, "rtf": wall / summary.duration,
            "peak_mb": peak / 1e6, "wav_mb": size / 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--long", action="store_true", help="also stream 100,000 characters to a file")
    args = parser.parse_args()
    tts = create_tts("espeak")
    tts.load()
    list(tts.stream(SpeechRequest("warm up")))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print("| language | sentences | RTF (median) | first chunk p50 | first chunk p95 |")
    print("|---|---|---|---|---|")
    for language in SENTENCES:
        r = bench_language(tts, language, args.rounds)
        print(f"| {language} | {r['n']} | {r['rtf']:.4f} | {r['first_p50']:.1f} ms | {r['first_p95']:.1f} ms |")
    if args.long:
        r = bench_long(tts)
        print(f"\n100k characters: {r['audio_s'] / 60:.0f} min of audio, RTF {r['rtf']:.4f}, "
              f"peak Python memory {r['peak_mb']:.1f} MB while writing {r['wav_mb']:.0f} MB of WAV")


if __name__ == "__main__":
    main()
