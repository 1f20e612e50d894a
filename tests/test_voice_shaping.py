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
