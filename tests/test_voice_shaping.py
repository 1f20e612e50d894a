"""WORLD shaping keeps what carries the words: unvoiced sounds are the model's own samples."""
from __future__ import annotations

import numpy as np

from visage.backends.tts.shaping import Shape, reshape

RATE = 22050


def _tone_then_noise() -> tuple[np.ndarray, int]:
    """0.4 s of a 150 Hz voiced buzz (harmonics), then 0.3 s of noise (a fricative), as float64."""
    t = np.arange(int(0.4 * RATE)) / RATE
    buzz = sum(np.sin(2 * np.pi * 150 * k * t) / k for k in range(1, 20)) * 0.1
    noise = np.random.default_rng(1).standard_normal(int(0.3 * RATE)) * 0.05
    return np.concatenate([buzz, noise]), len(buzz)


def test_unvoiced_frames_keep_the_models_samples_at_the_frames_loudness():
    x, split = _tone_then_noise()
    shape = Shape(f0_scale=1.25, formant_scale=1.18, gain=0.5, voiced=((0.0, split / RATE),))
    y = reshape(x, RATE, shape).astype(np.float64)
    assert len(y) == len(x)
    inside = slice(split + int(0.05 * RATE), len(x) - int(0.05 * RATE))  # away from the crossfade
    assert np.allclose(y[inside], 0.5 * x[inside], atol=1e-6)
    # the voiced part is WORLD's: its pitch moved up (x1.25), so it is not the input's waveform
    voiced = slice(int(0.1 * RATE), split - int(0.1 * RATE))
    spectrum = np.abs(np.fft.rfft(y[voiced] * np.hanning(voiced.stop - voiced.start)))
    peak = np.fft.rfftfreq(voiced.stop - voiced.start, 1 / RATE)[np.argmax(spectrum)]
    assert 170 < peak < 210, peak


def test_world_makes_only_the_voiced_stretches_and_their_margins():
    from visage.backends.tts.shaping import SPAN_JOIN, SPAN_MARGIN, _voiced_spans

    voiced = np.zeros(200, bool)
    voiced[10:50] = voiced[52:60] = voiced[120:150] = True  # a 2-frame gap is joined, a long one not
    spans = _voiced_spans(voiced, n_samples=int(200 * 0.005 * RATE), rate=RATE)
    assert len(spans) == 2 and SPAN_JOIN > 2
    for a, b in spans:
        assert a % 4 == 0  # 4 frames of 5 ms are 441 samples at 22.05 kHz: the span starts on a sample
    (a0, b0), (a1, b1) = spans
    assert a0 <= 10 - SPAN_MARGIN and b0 == 60 + SPAN_MARGIN
    assert a1 <= 120 - SPAN_MARGIN and b1 == 150 + SPAN_MARGIN
    assert not voiced[b0:a1].any()


def test_a_piece_without_voiced_frames_is_the_models_samples_at_its_gain():
    noise = np.random.default_rng(2).standard_normal(int(0.5 * RATE)) * 0.05
    y = reshape(noise, RATE, Shape(f0_scale=1.25, gain=0.5)).astype(np.float64)
    inside = slice(int(0.01 * RATE), len(noise) - int(0.01 * RATE))
    assert np.allclose(y[inside], 0.5 * noise[inside], atol=1e-6)
