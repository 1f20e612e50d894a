"""Voice shaping after synthesis with WORLD (pyworld): pitch, contour, formants, energy and breath.

A Piper model has no pitch input, so what emotion, emphasis, the speaker's register and a female
voice need is done on its output: WORLD splits speech into F0, a smooth spectral envelope and an
aperiodicity map (Morise et al. 2016), each is changed, and the speech is resynthesised with every
frame where it was, so the voice's phoneme timings stay exact (speed is set inside the model, by its
length scale, before this step).

- F0: scaled (register, emotion, female voice), its excursions around the median widened or narrowed
  in log space (pitch range), raised under emphasised words, and bent up over a question's last word.
- Spectral envelope: stretched along frequency (formant scale: a shorter vocal tract), given a tilt
  (tense voices are brighter, sad ones darker), and an energy contour (emphasis, declining sadness).
- Aperiodicity: raised above 1 kHz for a breathy voice (sadness, fear).
- Unvoiced frames (bursts, fricatives, pauses) have no pitch to change: they keep the model's own
  samples, at the frame's loudness, because WORLD rebuilds them as noise from a smoothed envelope and
  a recogniser then hears "spread" for "bread" and "foam" for "phone" (bench/wer_stages.py).
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from visage.core.emotion import prosody_for
from visage.core.types import Emotion, PitchStyle, SentenceTags, SentenceType
from visage.errors import BackendError

FRAME_MS = 5.0  # WORLD's default frame period: F0 moves (emphasis, contours) at this resolution
# The analysis is cheap where the ear and the recogniser do not notice, full where they do
# (bench/wer_stages.py measures what each setting does to the word error rate; bench_voice_neural.py
# the cost, F0 and formants):
ANALYSIS_STEP = 1  # the envelope every 5 ms frame: every 10 ms, interpolated, blurred bursts and
# formant transitions (mel-cepstral distance of WORLD's resynthesis from the model's audio 21.3 -> 17.5)
APERIODICITY_STEP = 16  # D4C every 80 ms: it matters only in voiced frames (WORLD excites unvoiced
# frames with noise whatever it says), where it changes slowly; every frame measured no better, and
# 40 ms gave WER 1.3 % / 2.1 % against 1.7 % / 1.9 % here, for 0.005 CPU s more per audio second
FFT_SIZE = 1024  # 21.5 Hz bins: CheapTrick's window fits F0 down to 65 Hz, so joe's low frames are
# not smeared (512 points fitted only F0 >= 130 Hz); with the 5 ms envelope the distance 21.3 -> 15.0
# WORLD's synthesis runs at half the analysis's points (_half_bins): one inverse FFT per pitch pulse is
# most of its cost (0.018 -> 0.012 CPU s per audio second), and the envelope, smooth already, keeps
# its shape at 43 Hz bins (log-spectral distance 0.66 dB to the 1024-point output; WER 1.9 % / 1.7 %)
DIO_SPEED = 3  # DIO on a 3x decimated signal: F0 is repaired from the phone spans anyway (below)
F0_FLOOR, F0_CEIL = 70.0, 400.0  # search range for the model's own F0 (a male voice, before scaling)
KEEP_UNVOICED = True  # unvoiced frames keep the model's own samples (_keep_unvoiced): distance 15.0 -> 12.9
EDGE_FADE_S = 0.003  # a few ms ramp at the piece's ends keeps resynthesis from clicking at joins
SPAN_MARGIN = 2  # unvoiced frames made by WORLD either side of a voiced stretch (the crossfade needs 1)
SPAN_JOIN = 8  # voiced stretches closer than this many frames are made in one call
_helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="voice-shaping")


@dataclass(frozen=True)
class VoiceQuality:
    """What an emotion does to the voice beyond pitch, speed and loudness (at full intensity)."""

    breathiness: float = 0.0  # 0..1: share of aperiodic energy added above 1 kHz
    tilt_db_per_octave: float = 0.0  # + brighter (tense), - darker (lax)
    energy_slope: float = 0.0  # relative loudness change from the first to the last frame
    tremor_semitones: float = 0.0  # 5.5 Hz F0 wobble depth (fear's unsteady voice)


# Voice quality per emotion, after the acoustic profiles in Juslin & Laukka (2003, table 7): anger
# has high-frequency energy (tense, bright), sadness low (lax, breathy) with falling energy, fear a
# breathy, unsteady voice, joy slightly bright.
_QUALITY_AT_FULL_INTENSITY: dict[Emotion, VoiceQuality] = {
    Emotion.NEUTRAL: VoiceQuality(),
    Emotion.HAPPY: VoiceQuality(tilt_db_per_octave=1.0),
    Emotion.SAD: VoiceQuality(breathiness=0.25, tilt_db_per_octave=-2.0, energy_slope=-0.35),
    Emotion.ANGRY: VoiceQuality(tilt_db_per_octave=2.5),
    Emotion.SURPRISED: VoiceQuality(tilt_db_per_octave=1.0),
    Emotion.FEARFUL: VoiceQuality(breathiness=0.2, tremor_semitones=0.4),
    Emotion.DISGUSTED: VoiceQuality(breathiness=0.1, tilt_db_per_octave=-1.0),
}
EMPHASIS_GAIN = 2.0  # +6 dB on an emphasised word (tests/test_prosody.py wants > 1.3x relative RMS)
EMPHASIS_SEMITONES = 2.5
QUESTION_RISE_SEMITONES = 3.0  # over the last word of a question
STATEMENT_FALL_SEMITONES = -1.0  # a little extra declination at the end of a statement


@dataclass(frozen=True)
class Shape:
    """Everything this step does to one piece of speech. Spans are (start, end) seconds in it."""

    f0_scale: float = 1.0
    f0_range: float = 1.0
    formant_scale: float = 1.0
    gain: float = 1.0
    quality: VoiceQuality = VoiceQuality()
    emphasis: tuple[tuple[float, float], ...] = ()
    final_span: tuple[float, float] | None = None
    final_semitones: float = 0.0
    voiced: tuple[tuple[float, float], ...] = ()  # spans of vowels and sonorants: F0 must exist there
    reference_f0: float = 0.0  # the model's usual median (Hz): the register is set from it, not from
    # this sentence's own median, which the model lowers when it speaks faster

    @property
    def is_identity(self) -> bool:
        return (self.f0_scale == 1.0 and self.f0_range == 1.0 and self.formant_scale == 1.0
                and self.quality == VoiceQuality() and not self.emphasis and not self.final_semitones)


def shape_for(tags: SentenceTags, pitch: PitchStyle, speaker_f0: float = 1.0, speaker_formants: float = 1.0,
              reference_f0: float = 0.0) -> Shape:
    """The shape of a sentence's delivery (spans are filled in per piece by the voice)."""
    p = prosody_for(tags, pitch)
    q = _QUALITY_AT_FULL_INTENSITY[tags.emotion]
    k = tags.intensity
    sentence_type = tags.sentence_type
    quality = VoiceQuality(q.breathiness * k, q.tilt_db_per_octave * k, q.energy_slope * k, q.tremor_semitones * k)
    final = {SentenceType.QUESTION: QUESTION_RISE_SEMITONES, SentenceType.STATEMENT: STATEMENT_FALL_SEMITONES}
    return Shape(f0_scale=speaker_f0 * p.pitch, f0_range=p.pitch_range, formant_scale=speaker_formants,
                 gain=p.volume, quality=quality, final_semitones=final.get(sentence_type, 0.0),
                 reference_f0=reference_f0)


def reshape(samples: np.ndarray, rate: int, shape: Shape) -> np.ndarray:
    """The piece with `shape` applied: same length, same timings (float32)."""
    x = np.asarray(samples, dtype=np.float64)
    if shape.is_identity or len(x) < rate * FRAME_MS * 4 / 1000:
        return (x * shape.gain).astype(np.float32)
    pw = _pyworld()
    f0, times = pw.dio(x, rate, f0_floor=F0_FLOOR, f0_ceil=F0_CEIL, frame_period=FRAME_MS, allowed_range=0.2,
                       speed=DIO_SPEED)
    old_f0 = _repair_f0(pw.stonemask(x, f0, times, rate), times, shape.voiced)
    f0 = _new_f0(old_f0, times, shape)
    gain = _frame_gain(times, shape)
    # only the voiced spans go through WORLD: unvoiced frames are the model's own samples
    # (_keep_unvoiced), and WORLD's noise pulses there (every 2 ms) cost a third of its synthesis
    y = np.zeros(len(x))
    spans = _voiced_spans(f0 > 0, len(x), rate) if KEEP_UNVOICED else [(0, len(times))]
    if spans:
        # WORLD lets go of the interpreter lock: half the spans are made in a second thread, so
        # the step takes half the wall time on two cores (the model sits idle meanwhile)
        half = _halfway(spans)
        later = _helper.submit(_resynthesise, y, x, rate, spans[half:], old_f0, f0, times, shape, gain) \
            if half < len(spans) else None
        _resynthesise(y, x, rate, spans[:half], old_f0, f0, times, shape, gain)
        if later is not None:
            later.result()
    if KEEP_UNVOICED:
        y = _keep_unvoiced(y, x, f0, times, rate, gain)
    ramp = max(1, int(EDGE_FADE_S * rate))
    fade = np.linspace(0.0, 1.0, ramp)
    y[:ramp] *= fade
    y[-ramp:] *= fade[::-1]
    return _limit(y).astype(np.float32)


def _voiced_spans(voiced: np.ndarray, n_samples: int, rate: int) -> list[tuple[int, int]]:
    """(first, end) frames of the stretches WORLD must make: voiced frames and SPAN_MARGIN frames
    either side (the crossfade into the model's samples needs WORLD's one frame past the last
    voiced one), starting on a frame whose time is a whole sample; gaps under SPAN_JOIN joined."""
    n = len(voiced)
    align = _whole_sample_frames(rate)
    idx = np.flatnonzero(voiced)
    if not len(idx):
        return []
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts, ends = idx[np.r_[0, breaks + 1]], idx[np.r_[breaks, len(idx) - 1]] + 1
    spans: list[tuple[int, int]] = []
    last_frame = int(n_samples * 1000 / (rate * FRAME_MS)) + 1  # frames past the audio make nothing
    for a, b in zip(starts, ends):
        a = max(0, int(a) - SPAN_MARGIN) // align * align
        b = min(n, last_frame, int(b) + SPAN_MARGIN)
        if spans and a - spans[-1][1] < SPAN_JOIN:
            spans[-1] = (spans[-1][0], b)
        else:
            spans.append((a, b))
    return spans


def _whole_sample_frames(rate: int) -> int:
    """The smallest number of frames that is a whole number of samples (4 at 22.05 kHz)."""
    k = 1
    while abs(k * rate * FRAME_MS / 1000 - round(k * rate * FRAME_MS / 1000)) > 1e-9 and k < 1000:
        k += 1
    return k


def _halfway(spans: list[tuple[int, int]]) -> int:
    """Index that splits the spans into two runs of frames as equal as the spans allow (a long
    stretch is not cut: WORLD's pulses would restart at the cut)."""
    sizes = np.cumsum([b - a for a, b in spans])
    return int(np.argmin(np.abs(sizes - sizes[-1] / 2))) + 1


def _resynthesise(y: np.ndarray, x: np.ndarray, rate: int, spans, old_f0: np.ndarray, f0: np.ndarray,
                  times: np.ndarray, shape: Shape, gain: np.ndarray) -> None:
    """WORLD's analysis, the envelope's and aperiodicity's changes, and resynthesis of each span of
    frames, written into `y` at the span's samples (spans do not overlap: threads may share `y`)."""
    pw = _pyworld()
    for a, b in spans:
        first = int(round(a * rate * FRAME_MS / 1000))
        f0_a, t_a = old_f0[a:b], times[a:b]
        envelope = _to_frames(pw.cheaptrick(x, *_every(f0_a, t_a, ANALYSIS_STEP), rate, fft_size=FFT_SIZE),
                              b - a, ANALYSIS_STEP)
        aperiodicity = _to_frames(pw.d4c(x, *_every(f0_a, t_a, APERIODICITY_STEP), rate, fft_size=FFT_SIZE),
                                  b - a, APERIODICITY_STEP)
        envelope = _new_envelope(envelope, t_a, rate, shape, gain[a:b])
        if shape.quality.breathiness > 0:
            aperiodicity = _breathier(aperiodicity, rate, shape.quality.breathiness)
        envelope, aperiodicity = _half_bins(envelope), _half_bins(aperiodicity)
        part = pw.synthesize(np.ascontiguousarray(f0[a:b]), envelope, aperiodicity, rate, FRAME_MS)
        part = part[: len(y) - first]
        y[first : first + len(part)] = part


def _half_bins(spectrum: np.ndarray) -> np.ndarray:
    """A (frames, FFT_SIZE/2 + 1) spectrum on the bins of FFT_SIZE/2 points: every other bin, each
    the 1-2-1 mean of its neighbours (so no narrow peak between two kept bins is lost)."""
    padded = np.pad(spectrum, ((0, 0), (1, 1)), mode="edge")
    smooth = 0.25 * padded[:, :-2] + 0.5 * padded[:, 1:-1] + 0.25 * padded[:, 2:]
    return np.ascontiguousarray(smooth[:, ::2])


def _pyworld():
    try:
        import pyworld
    except ImportError:
        raise BackendError("the neural voice's shaping needs pyworld; install it with: pip install visage") from None
    return pyworld


def _every(f0: np.ndarray, times: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Every step-th frame's F0 and time, as WORLD's analysers want them (contiguous)."""
    return np.ascontiguousarray(f0[::step]), np.ascontiguousarray(times[::step])


def _to_frames(coarse: np.ndarray, n: int, step: int) -> np.ndarray:
    """Linear interpolation of every-step-th frame rows back onto all n frames."""
    if step == 1:
        return coarse
    pos = np.arange(n) / step
    i0 = np.minimum(np.floor(pos).astype(int), len(coarse) - 1)
    i1 = np.minimum(i0 + 1, len(coarse) - 1)
    w = (pos - i0)[:, None]
    return np.ascontiguousarray(coarse[i0] * (1 - w) + coarse[i1] * w)


def _raised_cosine(times: np.ndarray, spans, ramp: float = 0.04) -> np.ndarray:
    """0..1 over the spans with smooth ramps either side (no step in pitch or level: no clicks)."""
    w = np.zeros_like(times)
    for a, b in spans:
        inside = np.clip(np.minimum(times - (a - ramp), (b + ramp) - times) / ramp, 0.0, 1.0)
        w = np.maximum(w, 0.5 - 0.5 * np.cos(np.pi * inside))
    return w


def _repair_f0(f0: np.ndarray, times: np.ndarray, voiced_spans) -> np.ndarray:
    """DIO misses about half the voiced frames of this voice and slips octaves now and then; the
    voice knows where its vowels and sonorants are, so F0 is filled in there (log-linear between the
    reliable frames) and outliers are replaced the same way. Unvoiced frames elsewhere stay unvoiced."""
    must = np.zeros(len(times), bool)
    for a, b in voiced_spans:
        must |= (times >= a) & (times < b)
    found = f0 > 0
    if found.sum() < 3:
        return f0
    log_f0 = np.log(np.where(found, f0, 1.0))
    idx = np.flatnonzero(found)
    smooth = np.interp(np.arange(len(f0)), idx, _running_median(log_f0[idx], 7))
    reliable = found & (np.abs(log_f0 - smooth) < math.log(2) * 3 / 12)  # within 3 semitones
    if reliable.sum() < 3:
        return f0
    r = np.flatnonzero(reliable)
    filled = np.exp(np.interp(np.arange(len(f0)), r, log_f0[r]))
    return np.where(reliable, f0, np.where(must | found, filled, 0.0))


def _running_median(v: np.ndarray, size: int) -> np.ndarray:
    half = size // 2
    padded = np.pad(v, half, mode="edge")
    return np.median(np.stack([padded[i : i + len(v)] for i in range(size)]), axis=0)


def _new_f0(f0: np.ndarray, times: np.ndarray, shape: Shape) -> np.ndarray:
    voiced = f0 > 0
    if not voiced.any():
        return f0
    log_f0 = np.where(voiced, np.log(np.where(voiced, f0, 1.0)), 0.0)
    centre = float(np.median(log_f0[voiced]))
    semitones = EMPHASIS_SEMITONES * _raised_cosine(times, shape.emphasis)
    if shape.final_span and shape.final_semitones:
        a, b = shape.final_span
        semitones += shape.final_semitones * np.clip((times - a) / max(1e-3, b - a), 0.0, 1.0) ** 1.5
    if shape.quality.tremor_semitones:
        semitones += shape.quality.tremor_semitones * np.sin(2 * np.pi * 5.5 * times)
    out = (log_f0 - centre) * shape.f0_range + semitones * math.log(2) / 12
    # the register is the median: a widened range or a final contour must not move it
    base = math.log(shape.reference_f0) if shape.reference_f0 > 0 else centre
    out = out - float(np.median(out[voiced])) + base + math.log(shape.f0_scale)
    return np.where(voiced, np.exp(out), 0.0)


def _frame_gain(times: np.ndarray, shape: Shape) -> np.ndarray:
    """Loudness per frame: the delivery's gain, emphasis, and an energy slope (sadness)."""
    gain = shape.gain * (1.0 + (EMPHASIS_GAIN - 1.0) * _raised_cosine(times, shape.emphasis))
    if shape.quality.energy_slope:
        gain = gain * (1.0 + shape.quality.energy_slope * times / max(times[-1], 1e-3))
    return gain


def _keep_unvoiced(y: np.ndarray, x: np.ndarray, f0: np.ndarray, times: np.ndarray, rate: int,
                   gain: np.ndarray) -> np.ndarray:
    """The model's own samples (at the frame's loudness) where the new F0 is unvoiced, WORLD's elsewhere,
    crossfaded over a frame. WORLD rebuilds unvoiced frames as shaped noise from a smoothed envelope,
    which blurs bursts and fricatives; there is no pitch to change in them. The tilt and the formant
    stretch are not applied there: they are heard in the vowels."""
    t = np.arange(len(x)) / rate
    keep = np.interp(t, times, (f0 <= 0).astype(float))
    return y * (1.0 - keep) + x * np.interp(t, times, gain) * keep


def _new_envelope(envelope: np.ndarray, times: np.ndarray, rate: int, shape: Shape,
                  gain: np.ndarray) -> np.ndarray:
    n_bins = envelope.shape[1]
    if shape.formant_scale != 1.0:
        # a shorter vocal tract moves every formant up by the same factor: bin k takes bin k / scale
        src = np.arange(n_bins) / shape.formant_scale
        i0 = np.clip(np.floor(src).astype(int), 0, n_bins - 1)
        i1 = np.clip(i0 + 1, 0, n_bins - 1)
        w = (src - np.floor(src))[None, :]
        envelope = envelope[:, i0] * (1 - w) + envelope[:, i1] * w
    freqs = np.linspace(0.0, rate / 2, n_bins)
    power = np.ones((len(times), 1)) * (gain**2)[:, None]
    if shape.quality.tilt_db_per_octave:
        octaves = np.log2(np.maximum(freqs, 500.0) / 500.0)
        power = power * (10 ** (shape.quality.tilt_db_per_octave * octaves / 10))[None, :]
    return np.ascontiguousarray(envelope * power)


def _breathier(aperiodicity: np.ndarray, rate: int, amount: float) -> np.ndarray:
    freqs = np.linspace(0.0, rate / 2, aperiodicity.shape[1])
    weight = np.clip((freqs - 1000.0) / 2000.0, 0.0, 1.0)[None, :] * amount
    return np.ascontiguousarray(np.clip(aperiodicity + (1 - aperiodicity) * weight, 0.0, 1.0))


def _limit(y: np.ndarray, knee: float = 0.9) -> np.ndarray:
    """Soft limiter: samples above the knee are compressed smoothly toward 1 instead of clipping."""
    over = np.abs(y) > knee
    if over.any():
        a = np.abs(y[over])
        y = y.copy()
        y[over] = np.sign(y[over]) * (knee + (1 - knee) * np.tanh((a - knee) / (1 - knee)))
    return y
