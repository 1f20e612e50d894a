"""Whisper's log-mel features with stationary noise taken out, for short utterances.

Whisper base loses words in steady background noise (a fan, a hum, a microphone's hiss): at 20 dB
SNR white noise its word error rate on espeak voices about quadruples. The noise is steady, so its
power in each mel band can be estimated from the utterance itself, from its quietest frames (the
pauses and the pre-roll before the first word, which a turn always has), and subtracted (spectral
subtraction in the mel domain). Each mel band averages many FFT bins, so the estimate of speech is
smoother than per-bin subtraction's (less "musical noise"); what is left of the noise is kept above a
floor, a fraction of its power (taking all of it out leaves holes Whisper reads as sounds: on
bench/bench_ear.py, WER 0.106 with a floor of 0.05, 0.082 with 0.2). The encoder window's padding
after the speech continues the utterance's last 0.3 s (`floor`; a turn ends in the silence that
ended it): zeros in Whisper's scaled features are a level that noisy audio never reaches, and the
jump from the noise to them reads as an edge.

On clean audio the quietest frames are near silence and the subtraction changes little.
Figures: bench/bench_ear.py (its "plain features" row is the same ear without this).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

QUIET_PERCENTILE = 10  # the frames (by total mel power) at or below this percentile are taken as noise
OVER_SUBTRACT = 1.0  # noise power taken out: 1x its estimate
NOISE_FLOOR = 0.2  # what is left of the noise power where speech is absent (-7 dB)
TAIL_FRAMES = 30  # the last 0.3 s: the window is padded with their mean level
DYNAMIC_RANGE = 8.0  # Whisper's: log10 power more than 8 below the loudest is clipped


@dataclass(frozen=True)
class Features:
    mel: np.ndarray  # (n_mels, frames), Whisper's scaling: (log10 power + 4) / 4
    floor: np.ndarray  # (n_mels, 1): the scaled level of the utterance's silence, to pad the window with


def log_mel(extractor, audio: np.ndarray, denoise: bool = True) -> Features:
    """Whisper's log-mel of `audio` (16 kHz float) with faster-whisper's `extractor` (its STFT and mel
    filters), the steady noise subtracted when `denoise`."""
    waveform = np.pad(audio.astype(np.float32, copy=False), (0, 160))  # as faster-whisper pads
    window = np.hanning(extractor.n_fft + 1)[:-1].astype(np.float32)
    stft = extractor.stft(waveform, extractor.n_fft, extractor.hop_length, window=window, return_complex=True)
    power = extractor.mel_filters @ (np.abs(stft[..., :-1]) ** 2)
    if denoise and power.shape[1] >= 10:
        total = power.sum(axis=0)
        noise = power[:, total <= np.percentile(total, QUIET_PERCENTILE)].mean(axis=1, keepdims=True)
        power = np.maximum(power - OVER_SUBTRACT * noise, NOISE_FLOOR * noise)
    log = np.log10(np.clip(power, 1e-10, None))
    log = np.maximum(log, log.max() - DYNAMIC_RANGE)
    mel = ((log + 4.0) / 4.0).astype(np.float32)
    tail = mel[:, -TAIL_FRAMES:]  # a turn ends in the silence that ended it
    return Features(mel, tail.mean(axis=1, keepdims=True).astype(np.float32))
