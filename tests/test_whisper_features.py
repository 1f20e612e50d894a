"""The Whisper ear's front end (steady noise out of the features) and the word error count it is
measured by (a compound spelt as one word or two is not an error)."""
from __future__ import annotations

import numpy as np
import pytest
from faster_whisper.feature_extractor import FeatureExtractor

from visage.backends.asr import word_errors
from visage.backends.asr.whisper_features import log_mel
from visage.backends.tts import create_tts
from visage.core.audio import resample
from visage.core.types import SpeechRequest

RATE = 16000


@pytest.fixture(scope="module")
def clean():
    tts = create_tts("espeak")
    tts.load()
    chunks = list(tts.stream(SpeechRequest("The children played in the park until it got dark.", voice="m3")))
    x = resample(np.concatenate([c.samples for c in chunks]), chunks[0].sample_rate, RATE)
    return np.concatenate([np.zeros(int(0.3 * RATE)), np.trim_zeros(x), np.zeros(int(0.4 * RATE))]).astype(np.float32)


def noisy(x: np.ndarray, snr_db: float = 20.0) -> np.ndarray:
    rms = np.sqrt(np.mean(x[np.abs(x) > 0.01 * np.abs(x).max()] ** 2))
    return (x + np.random.default_rng(3).normal(0, rms * 10 ** (-snr_db / 20), len(x))).astype(np.float32)


def test_denoised_features_of_noisy_speech_are_nearer_the_clean_ones(clean):
    fe = FeatureExtractor(feature_size=80)
    reference = log_mel(fe, clean, denoise=False).mel
    plain, denoised = log_mel(fe, noisy(clean), denoise=False), log_mel(fe, noisy(clean), denoise=True)
    assert plain.mel.shape == denoised.mel.shape == reference.shape
    error = lambda f: float(np.mean(np.abs(f.mel - reference)))  # noqa: E731
    assert error(denoised) < 0.9 * error(plain), (error(denoised), error(plain))
    # in the pre-roll (no speech), the noise's level is down (by over 3 dB: 0.08 in these units)
    level = lambda f: float(np.mean(f.mel[:, :25]))  # noqa: E731
    assert level(denoised) < level(plain) - 0.08, (level(denoised), level(plain))
    # the padding continues the utterance's silence: below its speech, at the level its last 0.3 s had
    assert float(denoised.floor.mean()) < float(np.percentile(denoised.mel, 50))
    assert np.allclose(denoised.floor[:, 0], denoised.mel[:, -30:].mean(axis=1), atol=1e-5)


def test_clean_speech_is_left_nearly_as_it_was(clean):
    fe = FeatureExtractor(feature_size=80)
    plain, denoised = log_mel(fe, clean, denoise=False), log_mel(fe, clean, denoise=True)
    speech = plain.mel > np.percentile(plain.mel, 75)  # the loud parts, where the words are
    assert float(np.mean(np.abs(plain.mel[speech] - denoised.mel[speech]))) < 0.02


def test_features_match_faster_whisper_without_denoising(clean):
    fe = FeatureExtractor(feature_size=80)
    assert np.allclose(log_mel(fe, clean, denoise=False).mel, fe(clean), atol=1e-4)


@pytest.mark.parametrize("reference, heard, errors", [
    ("She sells sea shells by the sea shore", "She sells seashells by the seashore.", 0),
    ("a seashell", "a sea shell", 0),
    ("sea shells", "sea shell", 1), ("sea shells", "seashell", 2),
    ("the cat sat", "the hat sat on", 2), ("nine o'clock", "9 o'clock", 0), ("a b", "", 2), ("", "", 0)])
def test_word_errors_count_a_compound_either_way_as_right(reference, heard, errors):
    assert word_errors(reference, heard)[0] == errors
