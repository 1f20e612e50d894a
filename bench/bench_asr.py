"""How well and how fast the live path hears: speech recognition and voice activity detection.

    .venv/bin/python bench/bench_asr.py [--quick] [--whisper MODEL] [--funasr MODEL] [--silero PATH]

Speech is espeak's (20 sentences, 8 voices), fed 100 ms at a time as a live connection delivers it.
Recognisers (pocketsphinx always; faster-whisper, FunASR with weights you have) report:
  WER          word error rate against the text spoken, one recogniser per run as in a conversation
               (pocketsphinx also "fresh": every utterance from the model's generic CMN estimate);
  RTF          processing time / audio duration while streaming (partials included);
  final        time from the end of the audio (finish()) to the final transcript: what the user waits
               for after the detector's `silence`.
Detectors (webrtc; silero with --silero) report boundary error against espeak's phoneme timings on the
same speech with 20 dB SNR white noise between 1 s pauses, and CPU time per second of audio.
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from visage.backends.asr import create_asr, word_errors
from visage.backends.tts import create_tts
from visage.backends.vad import create_vad
from visage.core.audio import resample
from visage.core.types import SpeechRequest

RATE = 16000
CHUNK = 1600  # 100 ms

SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore every summer.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "My grandmother kept a small garden behind the house.",
    "We will meet at the station at half past seven tomorrow morning.",
    "Reading books in the evening helps me fall asleep.",
    "The committee postponed its decision until next month.",
    "Could you tell me where the nearest pharmacy is?",
    "He painted the fence bright yellow, and nobody liked it.",
    "Our flight was delayed by three hours because of fog.",
    "The museum opens at nine and closes at five on weekdays.",
    "Never underestimate the power of a good night's sleep.",
    "Zebras and giraffes wandered slowly across the dusty plain.",
    "I can't believe how quickly this year has gone by!",
    "Fresh bread smells wonderful early in the morning.",
    "Turn left at the second traffic light, then continue straight.",
    "Mathematics teaches us to think clearly about difficult problems.",
    "What would you like to have for dinner tonight?",
    "The children played in the park until it got dark.",
    "Can you help me carry these boxes upstairs?",
]
VOICES = [None, "edward", "f5", "klatt", "m6", "klatt4", "f2", "m3"]


def speech(tts, count: int) -> list[tuple[str, str, np.ndarray, float, float]]:
    """(text, voice, 16 kHz audio, first phoneme start, last phoneme end) per sentence."""
    out = []
    for k, text in enumerate(SENTENCES[:count]):
        voice = VOICES[k % len(VOICES)]
        chunks = list(tts.stream(SpeechRequest(text, voice=voice)))
        x = np.concatenate([c.samples for c in chunks])
        voiced = [p for c in chunks for p in c.phonemes if p.symbol != "_"]
        out.append((text, voice or "default", resample(x, chunks[0].sample_rate, RATE),
                    voiced[0].start, voiced[-1].end))
    return out


def bench_recognizer(label: str, asr, data, language: str = "en") -> None:
    asr.load()
    errors = words = 0
    busy = audio = 0.0
    finals, partials = [], 0
    by_voice: dict[str, list[int]] = {}
    for text, voice, x, _, _ in data:
        stream = asr.stream(language)
        t0 = time.perf_counter()
        for i in range(0, len(x), CHUNK):
            partials += stream.feed(x[i : i + CHUNK]) is not None
        t1 = time.perf_counter()
        final = stream.finish()
        t2 = time.perf_counter()
        busy += t2 - t0
        audio += len(x) / RATE
        finals.append(t2 - t1)
        e, n = word_errors(text, final.text)
        errors, words = errors + e, words + n
        by_voice.setdefault(voice, [0, 0])
        by_voice[voice][0] += e
        by_voice[voice][1] += n
    voices = "  ".join(f"{v} {e / n:.2f}" for v, (e, n) in by_voice.items())
    print(f"{label:28s} WER {errors / words:5.3f}  RTF {busy / audio:5.3f}  final {1000 * np.mean(finals):6.1f} ms "
          f"(max {1000 * max(finals):6.1f})  partials/utt {partials / len(data):4.1f}")
    print(f"{'':28s} by voice: {voices}")


def dialogue(data, noise_db: float = 20.0, pause: float = 1.0, seed: int = 0):
    """All sentences one after another between pauses, with white noise `noise_db` below the speech."""
    parts, truth, t = [], [], 0.0
    for _, _, x, start, end in data:
        parts += [np.zeros(int(pause * RATE), np.float32), x]
        truth.append((t + pause + start, t + pause + end))
        t += pause + len(x) / RATE
    parts.append(np.zeros(int(pause * RATE), np.float32))
    clean = np.concatenate(parts)
    rms = np.sqrt(np.mean(np.concatenate(parts[1::2]) ** 2))
    noise = np.random.default_rng(seed).normal(0, rms * 10 ** (-noise_db / 20), len(clean))
    return (clean + noise).astype(np.float32), truth


def bench_detector(label: str, vad, audio: np.ndarray, truth, chunk: int) -> None:
    vad.reset()
    vad.load()
    events = []
    t0 = time.perf_counter()
    for i in range(0, len(audio), chunk):
        events += vad.process(audio[i : i + chunk])
    busy = time.perf_counter() - t0
    starts = [e.time for e in events if e.kind == "start"]
    ends = [e.time for e in events if e.kind == "end"]
    line = f"{label:34s} {1000 * busy / (len(audio) / RATE):5.2f} ms CPU per s of audio"
    if len(starts) == len(ends) == len(truth):
        start_err = np.abs(np.subtract(starts, [a for a, _ in truth]))
        end_err = np.abs(np.subtract(ends, [b for _, b in truth]))
        line += (f"  start error mean {1000 * start_err.mean():4.0f} ms (max {1000 * start_err.max():4.0f})"
                 f"  end error mean {1000 * end_err.mean():4.0f} ms (max {1000 * end_err.max():4.0f})")
    else:
        line += f"  {len(starts)} turns found for {len(truth)} sentences"
    print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="6 sentences instead of 20")
    parser.add_argument("--whisper", metavar="MODEL", help="also faster-whisper with this model (path or size)")
    parser.add_argument("--funasr", metavar="MODEL", help="also FunASR with this model (path or name)")
    parser.add_argument("--silero", metavar="PATH", help="also Silero VAD from this silero_vad.onnx")
    args = parser.parse_args()

    tts = create_tts("espeak")
    tts.load()
    data = speech(tts, 6 if args.quick else len(SENTENCES))
    seconds = sum(len(x) for _, _, x, _, _ in data) / RATE
    print(f"{len(data)} sentences, {seconds:.1f} s of speech, fed {1000 * CHUNK // RATE} ms at a time\n")

    bench_recognizer("pocketsphinx", create_asr("pocketsphinx"), data)
    bench_recognizer("pocketsphinx fresh", create_asr("pocketsphinx", adapt=False), data)
    bench_recognizer("pocketsphinx, no partials", create_asr("pocketsphinx", partial_every=1e9), data)
    if args.whisper:
        bench_recognizer(f"faster-whisper {args.whisper}", create_asr("faster-whisper", model=args.whisper), data)
    if args.funasr:
        bench_recognizer(f"funasr {args.funasr}", create_asr("funasr", model=args.funasr), data)

    audio, truth = dialogue(data)
    print(f"\nvoice activity: {len(audio) / RATE:.1f} s, {len(truth)} sentences between 1 s pauses, 20 dB SNR")
    for aggressiveness in (1, 2, 3):
        for chunk in (320, 5328):
            bench_detector(f"webrtc a={aggressiveness}, {1000 * chunk // RATE} ms chunks",
                           create_vad("webrtc", aggressiveness=aggressiveness), audio, truth, chunk)
    if args.silero:
        bench_detector("silero, 20 ms chunks", create_vad("silero", model_path=args.silero), audio, truth, 320)


if __name__ == "__main__":
    main()
