"""The aligners time real speech: espeak's, whose own phoneme and word timings are the ground truth.

The speech uses a voice (female3) and emotional rates (happy 1.15x, sad 0.78x) that the DTW aligner's
reference (default voice, neutral rate) does not, so nothing is aligned against itself. Thresholds are
two to three times the errors measured (bench/bench_align.py gives the full figures), and each accuracy
test also shows that its check rejects a misaligned result. pocketsphinx tests skip without the extra.
"""
from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from conftest import speak
from visage.backends.align import (
    PAUSE, AutoAligner, check_input, create_aligner, default_aligner,
)
from visage.backends.align.dtw import DTWAligner, word_times
from visage.backends.align.pocketsphinx import ARPABET_TO_ESPEAK, ESPEAK_TO_ARPABET, PocketsphinxAligner, espeak_to_arpabet
from visage.core.types import Emotion, SpeechRequest
from visage.errors import InputError, MissingExtraError

ENGLISH = [
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at the station at half past seven tomorrow morning.",
    "Thomas Kretschmann visited Reykjavik in 2019.",  # words missing from the dictionary
    "Zebras and giraffes wandered slowly across the dusty plain.",
]
MANDARIN = ["今天天气很好，我们去公园散步吧。", "他在北京大学学习中文。", "谢谢你的帮助，我非常感激。"]


@pytest.fixture(scope="module")
def pocketsphinx_aligner():
    aligner = create_aligner("pocketsphinx")  # the align extra (make test installs it): missing fails
    aligner.load()
    return aligner


@pytest.fixture(scope="module")
def dtw_aligner():
    return create_aligner("dtw")


def utterances(espeak, sentences, language):
    """(text, samples, rate, true phonemes, true words) for each sentence, alternating happy and sad."""
    out = []
    for k, text in enumerate(sentences):
        emotion = (Emotion.HAPPY, Emotion.SAD)[k % 2]
        req = SpeechRequest(text, language=language, voice="female3", emotion=emotion, intensity=1.0)
        out.append((text, *speak(espeak, req)))
    return out


def errors(result, phonemes, words, arpabet: bool, shift: float = 0.0) -> tuple[float, float]:
    """(word-boundary MAE, phone-boundary MAE) in ms against espeak's timings moved by `shift` s.

    Words are matched by character span; phones word by word where the counts agree, an espeak phone
    counting as the ARPAbet phones it maps to (its start compared with the first, its end the last)."""
    spans = zip(words, word_times(phonemes, words))
    truth = {(w.char_start, w.char_end): (a + shift, b + shift) for w, (a, b) in spans}
    word_err, phone_err = [], []
    for w in result.words:
        if (w.char_start, w.char_end) not in truth:
            continue
        a, b = truth[(w.char_start, w.char_end)]
        word_err += [abs(w.start - a), abs(w.end - b)]
        t = [p for p in phonemes if p.symbol != PAUSE and a - shift - 1e-3 <= p.start and p.end <= b - shift + 1e-3]
        got = [p for p in result.phonemes if p.symbol != PAUSE and w.start - 1e-3 <= p.start and p.end <= w.end + 1e-3]
        sizes = [len(ESPEAK_TO_ARPABET.get(p.symbol, "x")) if arpabet else 1 for p in t]
        if sum(sizes) == len(got):
            k = 0
            for p, size in zip(t, sizes):
                phone_err += [abs(p.start + shift - got[k].start), abs(p.end + shift - got[k + size - 1].end)]
                k += size
    assert len(word_err) >= 2 * (len(words) - 2), "nearly every word is found (espeak splits numbers)"
    return 1000 * float(np.mean(word_err)), 1000 * float(np.mean(phone_err)) if phone_err else float("nan")


def check_accuracy(aligner, cases, language, arpabet, max_word_ms, max_phone_ms):
    word_mae, phone_mae = [], []
    for text, samples, rate, phonemes, words in cases:
        result = aligner.align(samples, rate, text, language)
        w, p = errors(result, phonemes, words, arpabet)
        word_mae.append(w)
        phone_mae.append(p)
    assert np.mean(word_mae) < max_word_ms, word_mae
    assert np.mean(phone_mae) < max_phone_ms, phone_mae
    # the check can fail: the same aligner on audio delayed by 300 ms follows the audio, so its result
    # is out by ~300 ms against the undelayed timings and within bounds against the delayed ones
    text, samples, rate, phonemes, words = cases[0]
    delayed = np.concatenate([np.zeros(int(0.3 * rate), np.float32), samples])
    result = aligner.align(delayed, rate, text, language)
    assert errors(result, phonemes, words, arpabet)[0] > 200
    assert errors(result, phonemes, words, arpabet, shift=0.3)[0] < max_word_ms * 1.5
    # and a naive aligner (words spread over the audio by length) is rejected
    spread = _spread_evenly(samples, rate, text, words)
    assert errors(spread, phonemes, words, arpabet)[0] > max_word_ms


def _spread_evenly(samples, rate, text, words):
    from visage.core.types import Alignment, Word

    total = sum(w.char_end - w.char_start for w in words)
    t, out = 0.0, []
    for w in words:
        d = len(samples) / rate * (w.char_end - w.char_start) / total
        out.append(Word(w.text, w.char_start, w.char_end, t, t + d))
        t += d
    return Alignment((), tuple(out))


def test_pocketsphinx_times_english_words_and_phones(espeak, pocketsphinx_aligner, caplog):
    cases = utterances(espeak, ENGLISH, "en")
    with caplog.at_level(logging.WARNING):
        # measured: word MAE 19-21 ms, phone MAE 15-17 ms over 8 runs
        check_accuracy(pocketsphinx_aligner, cases, "en", True, max_word_ms=40, max_phone_ms=32)
    assert not [r for r in caplog.records if "DTW" in r.getMessage()], "no fallback was needed"
    text, samples, rate, _, _ = cases[2]
    result = pocketsphinx_aligner.align(samples, rate, text, "en")
    assert [w.text for w in result.words] == ["Thomas", "Kretschmann", "visited", "Reykjavik", "in", "2019"]
    assert {p.symbol for p in result.phonemes} <= set(ARPABET_TO_ESPEAK.values()) | {PAUSE}
    assert any(p.stressed for p in result.phonemes)


def test_dtw_times_english(espeak, dtw_aligner):
    cases = utterances(espeak, ENGLISH, "en")
    # measured: word MAE 4-6 ms, phone MAE 6-8 ms (espeak against espeak: neural voices fare worse)
    check_accuracy(dtw_aligner, cases, "en", False, max_word_ms=15, max_phone_ms=16)


def test_dtw_times_mandarin(espeak, dtw_aligner):
    cases = utterances(espeak, MANDARIN, "zh")
    # measured: word MAE 7-8 ms, phone MAE 8-9 ms
    check_accuracy(dtw_aligner, cases, "zh", False, max_word_ms=18, max_phone_ms=18)
    text, samples, rate, phonemes, _ = cases[1]
    result = dtw_aligner.align(samples, rate, text, "zh")
    assert "".join(w.text for w in result.words) == "他在北京大学学习中文"
    spoken = [p.symbol for p in phonemes if p.symbol != PAUSE]
    assert [p.symbol for p in result.phonemes if p.symbol != PAUSE] == spoken


def test_long_audio_is_aligned_in_pieces(espeak, pocketsphinx_aligner):
    text = " ".join(ENGLISH)
    samples, rate, phonemes, words = speak(espeak, SpeechRequest(text, voice="female3", emotion=Emotion.SAD))
    assert len(samples) / rate > 15  # longer than one piece
    result = pocketsphinx_aligner.align(samples, rate, text, "en")
    word_mae, _ = errors(result, phonemes, words, True)
    assert word_mae < 40
    assert all(a.end <= b.start + 1e-9 for a, b in zip(result.phonemes, result.phonemes[1:]))


def test_alignment_is_well_formed(espeak, pocketsphinx_aligner, dtw_aligner):
    text = ENGLISH[1]
    (_, samples, rate, _, _), = utterances(espeak, [text], "en")
    duration = len(samples) / rate
    for aligner in (pocketsphinx_aligner, dtw_aligner):
        result = aligner.align(samples, rate, text, "en")
        assert [text[w.char_start : w.char_end] for w in result.words] == [w.text for w in result.words]
        times = [t for p in result.phonemes for t in (p.start, p.end)]
        assert times == sorted(times) and 0.0 <= times[0] and times[-1] <= duration + 1e-9
        assert all(0.0 <= w.start <= w.end <= duration for w in result.words)
        assert not any(a.symbol == b.symbol == PAUSE for a, b in zip(result.phonemes, result.phonemes[1:]))


def test_pocketsphinx_falls_back_to_dtw_when_the_audio_cannot_hold_the_text(espeak, pocketsphinx_aligner, caplog):
    (_, samples, rate, _, _), = utterances(espeak, ["Yes."], "en")
    text = "This text has far too many words to be spoken in the short moment that the audio lasts."
    with caplog.at_level(logging.WARNING):
        result = pocketsphinx_aligner.align(samples, rate, text, "en")
    assert any("DTW" in r.getMessage() for r in caplog.records)
    assert result.words and result.phonemes


def test_default_aligner_picks_by_language():
    auto = default_aligner()
    assert isinstance(auto, AutoAligner)
    assert isinstance(auto._for("en-GB"), PocketsphinxAligner)
    assert isinstance(auto._for("zh"), DTWAligner)
    assert isinstance(create_aligner("auto"), AutoAligner)


def test_without_pocketsphinx_english_goes_to_dtw(monkeypatch):
    monkeypatch.setitem(sys.modules, "pocketsphinx", None)  # makes `import pocketsphinx` fail
    with pytest.raises(MissingExtraError, match=r"pip install 'visage\[align\]'"):
        PocketsphinxAligner().load()
    assert isinstance(AutoAligner()._for("en"), DTWAligner)


def test_espeak_mnemonics_map_to_arpabet():
    assert espeak_to_arpabet("h@l'oU") == (["HH", "AH", "L", "OW"], 3)
    assert espeak_to_arpabet("gr'Ib@Lw,o@t") == (["G", "R", "IH", "B", "AH", "L", "W", "AO", "R", "T"], 2)
    assert espeak_to_arpabet("")[0] == []


@pytest.mark.parametrize("name", ["dtw", "pocketsphinx"])
def test_bad_input_is_refused_clearly(name, request):
    aligner = request.getfixturevalue(f"{name}_aligner")
    rate = 16000
    speechy = (0.1 * np.sin(np.arange(rate) * 0.1)).astype(np.float32)
    with pytest.raises(InputError, match="text is empty"):
        aligner.align(speechy, rate, "   ", "en")
    with pytest.raises(InputError, match="too short"):
        aligner.align(np.zeros(0, np.float32), rate, "hello", "en")
    with pytest.raises(InputError, match="too short"):
        aligner.align(speechy[:100], rate, "hello", "en")
    with pytest.raises(InputError, match="silent"):
        aligner.align(np.zeros(rate, np.float32), rate, "hello", "en")
    with pytest.raises(InputError, match="silent"):
        aligner.align(np.full(rate, np.nan, np.float32), rate, "hello", "en")
    with pytest.raises(InputError, match="mono"):
        aligner.align(np.zeros((rate, 2), np.float32), rate, "hello", "en")
    with pytest.raises(InputError, match="sample rate"):
        aligner.align(speechy, 0, "hello", "en")
    with pytest.raises(InputError, match="nothing to align"):
        aligner.align(speechy, rate, "...!", "en")


def test_unknown_names_are_refused(dtw_aligner):
    speechy = (0.1 * np.sin(np.arange(16000) * 0.1)).astype(np.float32)
    with pytest.raises(InputError, match="unknown language"):
        dtw_aligner.align(speechy, 16000, "hello", "xx-nowhere")
    with pytest.raises(InputError, match="unknown aligner"):
        create_aligner("nonesuch")


def test_nan_samples_are_zeroed_not_fatal(espeak, dtw_aligner):
    (text, samples, rate, phonemes, words), = utterances(espeak, [ENGLISH[3]], "en")
    broken = samples.copy()
    broken[::997] = np.nan
    assert np.isfinite(check_input(broken, rate, text)).all()
    word_mae, _ = errors(dtw_aligner.align(broken, rate, text, "en"), phonemes, words, False)
    assert word_mae < 15
