"""How long speech recognition stops the other threads of the process that asks for it.

    .venv/bin/python bench/bench_asr_stall.py [--sentences 10]

A live server paces every session's audio packets from one event loop. A recogniser that holds
Python's interpreter lock while it decodes stops that loop for as long as each call takes; the
browser's jitter buffer sees the late packets and grows. A thread that wants to wake every 1 ms
stands for the loop here; its longest waits are the stalls. The same speech (espeak's, in the 20 ms
chunks a connection delivers, as fast as the recogniser takes them) is recognised by pocketsphinx in this
process and by the same recogniser in a child process (`RecognizerProcess`).
"""
from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_asr import SENTENCES  # noqa: E402

from visage.backends.asr import create_asr  # noqa: E402
from visage.backends.asr.process import RecognizerProcess  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.core.audio import resample  # noqa: E402
from visage.core.types import SpeechRequest  # noqa: E402


class Ticker:
    """A thread that sleeps 1 ms at a time and records how late it wakes."""

    def __init__(self) -> None:
        self.gaps: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = time.perf_counter()
        while not self._stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            self.gaps.append(now - last)
            last = now

    def __enter__(self) -> "Ticker":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def recognise_all(asr, clips: list[np.ndarray]) -> tuple[list[float], list[str]]:
    texts = []
    with Ticker() as ticker:
        for clip in clips:
            stream = asr.stream("en")
            for i in range(0, len(clip), 320):
                stream.feed(clip[i: i + 320])
            texts.append(stream.finish().text)
    return ticker.gaps, texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sentences", type=int, default=10)
    args = parser.parse_args()
    tts = create_tts("espeak")
    clips = []
    for text in SENTENCES[: args.sentences]:
        chunks = list(tts.stream(SpeechRequest(text)))
        clips.append(resample(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, 16000))
    here = create_asr("pocketsphinx").conversation()
    child = RecognizerProcess("pocketsphinx")
    child.load()
    try:
        print("| recogniser | longest stall | 99th percentile wait | transcripts equal |\n|---|---|---|---|")
        gaps_here, texts_here = recognise_all(here, clips)
        gaps_child, texts_child = recognise_all(child.conversation(), clips)
        for label, gaps in (("pocketsphinx in this process", gaps_here), ("pocketsphinx in a child process", gaps_child)):
            g = np.array(gaps) * 1000
            print(f"| {label} | {g.max():.0f} ms | {np.percentile(g, 99):.1f} ms | {texts_here == texts_child} |")
    finally:
        child.close()


if __name__ == "__main__":
    main()
