"""How well and how fast the aligners time real speech.

    .venv/bin/python bench/bench_align.py [--quick]

The speech is espeak's, whose phoneme timings are exact, in two conditions the DTW aligner's own
reference (default voice, neutral rate, clean) does not share:
  clean: voice variant female3 at emotional rates (happy 1.15x, sad 0.78x);
  noisy: espeak's Klatt synthesiser (klatt4) at surprised/disgusted rates, a 300 ms lead-in and white
         noise at 20 dB SNR.
Each aligner sees only the audio and the text. Both conditions flatter the DTW aligner, whose reference
is espeak too: expect larger errors on neural voices.

Prints, per aligner, language and condition: word-boundary MAE (starts and ends), word-start MAE,
phone-boundary MAE (over words whose phone counts match; coverage shown) and the real-time factor
(align time / audio duration; lower is faster).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from visage.backends.align import PAUSE, create_aligner
from visage.backends.align.dtw import word_times
from visage.backends.align.pocketsphinx import ESPEAK_TO_ARPABET
from visage.backends.tts import create_tts
from visage.core.types import Emotion, SpeechRequest

ENGLISH = [
    "The quick brown fox jumps over the lazy dog.",
    "She sells sea shells by the sea shore every summer.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "My grandmother kept a small garden behind the house.",
    "We will meet at the station at half past seven tomorrow morning.",
    "Reading books in the evening helps me fall asleep.",
    "The committee postponed its decision until next month.",
    "Could you tell me where the nearest pharmacy is?",
    "Twelve students finished the marathon despite the heavy rain.",
    "Artificial intelligence is changing how people work and learn.",
    "He painted the fence bright yellow, and nobody liked it.",
    "Our flight was delayed by three hours because of fog.",
    "The museum opens at nine and closes at five on weekdays.",
    "Never underestimate the power of a good night's sleep.",
    "Zebras and giraffes wandered slowly across the dusty plain.",
    "I can't believe how quickly this year has gone by!",
    "Thomas Kretschmann visited Reykjavik in 2019.",
    "Fresh bread smells wonderful early in the morning.",
    "Turn left at the second traffic light, then continue straight.",
    "Mathematics teaches us to think clearly about difficult problems.",
]

MANDARIN = [
    "今天天气很好，我们去公园散步吧。",
    "我每天早上七点起床。",
    "这本书非常有意思，你应该读一读。",
    "请问火车站怎么走？",
    "他在北京大学学习中文。",
    "我们明天下午三点开会。",
    "妈妈做的饭菜特别好吃。",
    "周末我喜欢和朋友一起看电影。",
    "这个城市的交通越来越方便了。",
    "学习一门新的语言需要耐心。",
    "孩子们在操场上快乐地玩耍。",
    "春天来了，花园里开满了鲜花。",
    "他的工作很忙，经常加班到很晚。",
    "我想买一杯咖啡和一块蛋糕。",
    "图书馆里非常安静。",
    "老师耐心地回答了学生的问题。",
    "这条河的水很清澈。",
    "明年我打算去上海旅游。",
    "健康的生活习惯非常重要。",
    "谢谢你的帮助，我非常感激。",
]


def speak(tts, request: SpeechRequest):
    chunks = list(tts.stream(request))
    samples = np.concatenate([c.samples for c in chunks])
    phonemes = [p for c in chunks for p in c.phonemes]
    return samples, chunks[0].sample_rate, phonemes, [w for c in chunks for w in c.words]


def word_errors(truth_phones, truth_words, words) -> tuple[list[float], list[float]]:
    """Absolute start and end errors (s) of the words found in both, matched by character span.
    True word times are read from espeak's phones (see dtw.word_times)."""
    truth = {(w.char_start, w.char_end): t for w, t in zip(truth_words, word_times(truth_phones, truth_words))}
    s_err, e_err = [], []
    for w in words:
        if (w.char_start, w.char_end) in truth:
            s, e = truth[(w.char_start, w.char_end)]
            s_err.append(abs(w.start - s))
            e_err.append(abs(w.end - e))
    return s_err, e_err


def phone_errors(truth_phones, truth_words, phones, words, arpabet: bool) -> tuple[list[float], int, int]:
    """Absolute errors (s) of phone starts and ends, compared word by word.

    For ARPAbet output each espeak phone counts as as many phones as it maps to (espeak "A@" is
    ARPAbet "AA R"; its start is compared with AA's, its end with R's); a word is compared when the
    counts agree. Returns (errors, words compared, words)."""
    truth = {(w.char_start, w.char_end): t for w, t in zip(truth_words, word_times(truth_phones, truth_words))}

    def inside(ps, a, b):
        return [p for p in ps if p.symbol != PAUSE and p.start >= a - 1e-3 and p.end <= b + 1e-3 and p.end > p.start]

    errors, compared = [], 0
    for w in words:
        span = truth.get((w.char_start, w.char_end))
        if span is None:
            continue
        t = inside(truth_phones, *span)
        p = inside(phones, w.start, w.end)
        sizes = [len(ESPEAK_TO_ARPABET.get(x.symbol, (x.symbol,))) if arpabet else 1 for x in t]
        if sum(sizes) != len(p) or not t:
            continue
        compared += 1
        k = 0
        for x, size in zip(t, sizes):
            errors += [abs(x.start - p[k].start), abs(x.end - p[k + size - 1].end)]
            k += size
    return errors, compared, len(words)


def degrade(samples: np.ndarray, rate: int, phones, words, rng) -> tuple:
    """The harder condition: 300 ms of lead-in and white noise at 20 dB SNR."""
    pad = int(0.3 * rate)
    x = np.concatenate([np.zeros(pad, np.float32), samples])
    level = float(np.sqrt(np.mean(samples**2)))
    x = (x + rng.normal(0.0, level / 10.0, len(x))).astype(np.float32)
    return x, [p.shifted(0.3) for p in phones], [w.shifted(0.3) for w in words]


def run(name: str, language: str, sentences: list[str], tts, hard: bool = False) -> dict:
    aligner = create_aligner(name)
    rng = np.random.default_rng(0)
    warm_up = speak(tts, SpeechRequest(sentences[0], language=language))
    aligner.align(warm_up[0], warm_up[1], sentences[0], language)
    starts, ends, phones, compared, total, busy, audio = [], [], [], 0, 0, 0.0, 0.0
    for k, text in enumerate(sentences):
        if hard:
            emotion, voice = (Emotion.SURPRISED, Emotion.DISGUSTED)[k % 2], "klatt4"
        else:
            emotion, voice = (Emotion.HAPPY, Emotion.SAD)[k % 2], "female3"
        req = SpeechRequest(text, language=language, voice=voice, emotion=emotion, intensity=1.0)
        samples, rate, t_phones, t_words = speak(tts, req)
        if hard:
            samples, t_phones, t_words = degrade(samples, rate, t_phones, t_words, rng)
        t0 = time.perf_counter()
        result = aligner.align(samples, rate, text, language)
        busy += time.perf_counter() - t0
        audio += len(samples) / rate
        s, e = word_errors(t_phones, t_words, result.words)
        starts += s
        ends += e
        p, c, n = phone_errors(t_phones, t_words, list(result.phonemes), list(result.words), name == "pocketsphinx")
        phones += p
        compared += c
        total += n
    return {
        "word_mae_ms": 1000 * float(np.mean(starts + ends)),
        "word_start_mae_ms": 1000 * float(np.mean(starts)),
        "phone_mae_ms": 1000 * float(np.mean(phones)) if phones else float("nan"),
        "phone_words": f"{compared}/{total}",
        "rtf": busy / audio,
        "audio_s": audio,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="5 sentences per case instead of 20")
    args = parser.parse_args()
    n = 5 if args.quick else 20
    tts = create_tts("espeak")
    cases = [("pocketsphinx", "en", ENGLISH[:n]), ("dtw", "en", ENGLISH[:n]), ("dtw", "zh", MANDARIN[:n])]
    print(f"{'aligner':<14}{'lang':<6}{'condition':<12}{'word MAE':>10}{'start MAE':>11}{'phone MAE':>11}"
          f"{'phone words':>13}{'RTF':>8}")
    for hard in (False, True):
        for name, language, sentences in cases:
            r = run(name, language, sentences, tts, hard)
            print(
                f"{name:<14}{language:<6}{'noisy' if hard else 'clean':<12}{r['word_mae_ms']:>8.1f}ms"
                f"{r['word_start_mae_ms']:>9.1f}ms{r['phone_mae_ms']:>9.1f}ms{r['phone_words']:>13}{r['rtf']:>8.3f}"
            )
    print(f"{n} sentences per case. clean: voice female3 at happy/sad rates; noisy: voice klatt4 at "
          "surprised/disgusted rates, 300 ms lead-in, white noise at 20 dB SNR.")


if __name__ == "__main__":
    main()
