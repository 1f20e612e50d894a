"""One short utterance through Whisper with an encoder window cut to the utterance's length.

Whisper was trained on 30-second windows, and faster-whisper always pads the log-mel features to
3000 frames, so the encoder (most of the cost) does the same work for a 2-second turn as for 30
seconds: 0.7 s or more on two cores for Whisper base in int8. CTranslate2's encoder takes any number of
frames, so here the features are padded only to the utterance plus `WINDOW_MARGIN` seconds (rounded up
to whole seconds, which keeps the number of distinct shapes small): for a 3-second turn the encoder
reads 700 frames instead of 3000, four times less work (the same trick as whisper.cpp's `audio_ctx`).
The margin matters: Whisper was trained on speech followed by silence or more speech, never by the
end of its input, and with less than a few seconds after the last word it loses words, more so in
noise (bench/bench_ear.py measures this path against the full window).

The features have steady background noise subtracted, and the window is padded with the
utterance's own silence level (whisper_features.py).

Greedy decoding for partials (beam 5 for finals, see faster_whisper.py), no timestamps, the language
given (detection costs an extra pass), at most `TOKENS_PER_SECOND` tokens per second of audio (a
runaway repetition cannot take long), a loop at the end cut to its first turn (in a cut window Whisper
sometimes says the sentence again to fill it: 1 in 40 espeak sentences with a 1 s margin), and no text
where the model itself judges there was no speech.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from visage.backends.asr.base import SAMPLE_RATE
from visage.backends.asr.whisper_features import log_mel

FRAMES_PER_SECOND = 100  # Whisper's log-mel hop is 10 ms
FULL_WINDOW = 3000  # frames: 30 s, the most the encoder's position embedding covers
WINDOW_MARGIN = 3.0  # s of silence after the speech inside the window (bench/bench_ear.py, 40 utterances:
# WER 0.165 with 1 s, 0.131 with 2 s, 0.126 with 3 s, 0.164 with the full 30 s; the noisy half gains most)
END_SILENCE = 0.2  # s of digital silence put after the audio. The live final is taken 0.2 s into the
# end-of-turn silence (listening.py), when the last 0.3 s that set the window's padding level
# (whisper_features.TAIL_FRAMES) still hold the last word's end: 3 s of padding at that level read as
# more speech, and Whisper looped or stopped ("Our flight flight flight", "What What What", "who do").
# Through the live listener, bench_ear's 40 utterances: WER 0.173 -> 0.098, the 20 held out 0.158 ->
# 0.022; finals taken at the end of the turn 0.090 -> 0.093 and 0.060 -> 0.022 (bench_ear.py prints
# both ways). 0.2 s of the quietest audio instead: 0.090 / 0.054 through the listener.
TOKENS_PER_SECOND = 12  # fast English is ~4 tokens/s, Mandarin ~6 characters/s
NO_SPEECH = 0.6  # no_speech probability above which (with a low log-probability) nothing was said
LOW_LOGPROB = -1.0
# Text "said before" the utterance, where it sets the script: without it Whisper writes Mandarin in
# traditional characters as often as in simplified ones.
PROMPTS = {"zh": "以下是普通话的句子。"}
UNSPACED = ("zh", "ja", "yue")  # written without spaces between words


@dataclass(frozen=True)
class Decoded:
    text: str
    language: str
    window_frames: int  # the encoder's input length, for benchmarks
    score: float = 0.0  # the mean log-probability of its tokens (CTranslate2's length-normalised score)
    beam: int = 1  # the beam it was decoded with


def window_frames(samples: int, margin: float = WINDOW_MARGIN) -> int:
    """Encoder frames for an utterance of `samples`: speech plus margin, rounded up to whole seconds."""
    seconds = samples / SAMPLE_RATE + margin
    return min(FULL_WINDOW, FRAMES_PER_SECOND * max(1, math.ceil(seconds)))


def decode_short(model, audio: np.ndarray, language: str | None, margin: float = WINDOW_MARGIN,
                 beam_size: int = 1, denoise: bool = True, sure_above: float | None = None) -> Decoded:
    """Transcribe one utterance of at most 30 s - margin with faster-whisper's `model` (a WhisperModel);
    `denoise`: steady noise subtracted from the features (whisper_features.py). With `sure_above`, a
    greedy decode comes first and is kept when its mean token log-probability is above that; only a
    less certain one is decoded again with `beam_size` (from the same encoder output)."""
    import ctranslate2
    from faster_whisper.tokenizer import Tokenizer

    audio = np.concatenate([audio, np.zeros(int(END_SILENCE * SAMPLE_RATE), np.float32)])
    features = log_mel(model.feature_extractor, audio, denoise)  # (n_mels, frames), no padding
    frames = window_frames(len(audio), margin)
    window = np.repeat(features.floor, frames, axis=1)  # padded with the utterance's own silence
    used = min(frames, features.mel.shape[1])
    window[:, :used] = features.mel[:, :used]
    encoded = model.model.encode(ctranslate2.StorageView.from_array(window[None]), to_cpu=False)
    if language is None:
        (ranked,) = model.model.detect_language(encoded)
        language = ranked[0][0][2:-2]  # "<|en|>" -> "en"
    tokenizer = Tokenizer(model.hf_tokenizer, model.model.is_multilingual, task="transcribe", language=language)
    prompt = list(tokenizer.sot_sequence) + [tokenizer.no_timestamps]
    if language in PROMPTS:
        prompt = [tokenizer.sot_prev] + tokenizer.encode(" " + PROMPTS[language]) + prompt
    budget = int(TOKENS_PER_SECOND * len(audio) / SAMPLE_RATE) + 8
    first = 1 if sure_above is not None else beam_size
    text, score = _generate(model, encoded, tokenizer, prompt, budget, first, language)
    beam = first
    if first < beam_size and score <= sure_above:
        text, score = _generate(model, encoded, tokenizer, prompt, budget, beam_size, language)
        beam = beam_size
    return Decoded(text, language, frames, score, beam)


def _generate(model, encoded, tokenizer, prompt: list[int], budget: int, beam_size: int,
              language: str) -> tuple[str, float]:
    """The text of one decode of `encoded`, cleaned, and its mean token log-probability."""
    from faster_whisper.transcribe import get_suppressed_tokens

    (result,) = model.model.generate(
        encoded, [prompt], beam_size=beam_size, max_length=min(448, len(prompt) + budget),
        suppress_blank=True, suppress_tokens=list(get_suppressed_tokens(tokenizer, [-1])),
        return_scores=True, return_no_speech_prob=True,
        no_repeat_ngram_size=0, repetition_penalty=1.0,
    )
    tokens = [t for t in result.sequences_ids[0] if t < tokenizer.eot]
    if result.no_speech_prob > NO_SPEECH and result.scores[0] < LOW_LOGPROB:
        tokens = []
    text = " ".join(tokenizer.decode(tokens).replace("\ufffd", "").split())  # (a character cut by max_length)
    if language in UNSPACED:  # "写 写 写 写" is a loop of characters, whatever spaces came between
        text = "".join(text.split())
    text = without_loop(text)
    if language in PROMPTS and bare(text) and bare(text) in bare(PROMPTS[language]):
        text = ""  # the prompt said again: what Whisper writes when it hears nothing it can read
    return text, float(result.scores[0])


def bare(text: str) -> str:
    return "".join(c for c in text if c.isalnum())


def without_loop(text: str, min_period: int = 3) -> str:
    """`text` with a repetition at its end cut to the first occurrence: "A B C. A B C. A B" -> "A B C.",
    "明天见见见见见" -> "明天见". Words are compared without case and punctuation (the repeat of a sentence
    starts with a capital, or without the space its first token had); text without spaces (Chinese,
    Japanese) is compared character by character. A loop is a block of at least `min_period` words
    that the rest of the text, to its end and at least half a block long, repeats, or a block of
    characters repeated three times or more; so "very, very" and 谢谢 are left alone."""
    spaced = " " in text.strip()
    units = text.split() if spaced else [c for c in text if c.strip()]
    keys = ["".join(c for c in u.lower() if c.isalnum()) for u in units]
    n = len(keys)
    for start in range(n):
        for period in range(min_period if spaced else 1, n - start):
            tail = keys[start + period :]
            if len(tail) < (max(min_period, (period + 1) // 2) if spaced else 2 * period):
                break
            if all(k == keys[start + i % period] for i, k in enumerate(tail)):
                return (" " if spaced else "").join(units[: start + period])
    return text
