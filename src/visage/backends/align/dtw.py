"""A language-independent aligner: speak the text with espeak, then warp espeak's timings onto the audio.

espeak knows exactly when it says each phoneme, in ~100 languages. Dynamic time warping between its
rendering of the text and the audio to be aligned finds, for every moment of the rendering, the
matching moment of the audio; phoneme and word boundaries are carried across that map. It needs no
acoustic model, so it works wherever espeak does (Mandarin included), at the cost of some accuracy
when the two voices differ a lot.

The DTW runs twice (a coarse pass at 40 ms in a band around the diagonal, then a fine pass at 10 ms
in a narrow window around the coarse path), and each pass is a loop over rows with the row itself
vectorised, so time and memory grow linearly with the audio's length.
"""
from __future__ import annotations

import numpy as np

from visage.backends.align import PAUSE, Aligner, check_input, finite_alignment, registry
from visage.core.audio import resample
from visage.core.types import Alignment, Phoneme, SpeechRequest, Word
from visage.errors import InputError

RATE = 16000
HOP = 160  # 10 ms frames, the usual speech-feature rate
WINDOW = 400  # 25 ms analysis window (Davis & Mermelstein 1980; HTK and Kaldi defaults)
N_FFT = 512
FFT_BLOCK = 2048  # frames per FFT batch
N_MELS = 40
N_CEPS = 8  # c0 (loudness) is dropped and c1..c7 kept (see features)
PRE_EMPHASIS = 0.97  # first-order high-pass, HTK's default
FLOOR_DB = 60.0  # spectra are floored 60 dB under the loudest frame, so silences look alike
COARSE = 4  # coarse pass frame factor (40 ms)
COARSE_BAND = 0.3  # coarse band half-width, as a fraction of the longer signal...
COARSE_BAND_MIN, COARSE_BAND_MAX = 25, 750  # ...within 1 s and 30 s (coarse frames)
FINE_RADIUS = 12  # fine pass: frames either side of the coarse path (120 ms)
REF_PAD = 0.25  # seconds of silence added around espeak's rendering
LOUDNESS_WEIGHT = 2.0  # weight of the speech/silence feature against the cepstra
DELTA_WEIGHT = 1.0


@registry.register("dtw")
class DTWAligner(Aligner):
    """Aligns any language espeak speaks by DTW against espeak's own rendering of the text."""

    name = "dtw"

    def __init__(self, voice: str | None = None, **_options) -> None:
        self.voice = voice
        self._speaker = None

    def load(self) -> None:
        if self._speaker is None:
            from visage.backends.espeak.speech import EspeakSpeaker

            speaker = EspeakSpeaker()
            speaker.load()
            self._speaker = speaker

    def reference(self, text: str, language: str) -> tuple[np.ndarray, int, list[Phoneme], list[Word]]:
        """espeak's rendering of `text`: (samples, rate, phonemes, words), timings exact."""
        self.load()
        samples, phonemes, words = [], [], []
        rate = self._speaker.sample_rate
        for chunk in self._speaker.stream(SpeechRequest(text, language=language, voice=self.voice)):
            samples.append(chunk.samples)
            phonemes.extend(chunk.phonemes)
            words.extend(chunk.words)
        audio = np.concatenate(samples) if samples else np.zeros(0, np.float32)
        return audio, rate, phonemes, words

    def align(self, samples: np.ndarray, sample_rate: int, text: str, language: str = "en") -> Alignment:
        x = check_input(samples, sample_rate, text)
        ref, ref_rate, phonemes, words = self.reference(text, language)
        if not any(p.symbol != PAUSE for p in phonemes):
            raise InputError(f"nothing to align: espeak finds no speech sounds in {text!r}")
        # silence around the rendering gives the audio's own leading and trailing silence (or noise)
        # something to match, instead of stretching the first and last phones over it
        pad = int(REF_PAD * ref_rate)
        ref = np.concatenate([np.zeros(pad, np.float32), ref, np.zeros(pad, np.float32)])
        feats_ref = features(ref, ref_rate)
        feats_x = features(x, sample_rate)
        path = dtw_path(feats_ref, feats_x)
        shifted = _time_map(path, len(feats_ref), len(feats_x))
        offset = pad / ref_rate

        def warp(t: float) -> float:
            return shifted(t + offset)

        duration = len(x) / sample_rate
        spans = word_times(phonemes, words)
        out_phones = [Phoneme(p.symbol, warp(p.start), warp(p.end), p.stressed) for p in phonemes]
        out_words = [
            Word(w.text, w.char_start, w.char_end, warp(a), warp(b), w.emphasised, w.sentence)
            for w, (a, b) in zip(words, spans)
        ]
        if out_phones and out_phones[-1].symbol == PAUSE:  # trailing silence lasts to the end of the audio
            out_phones[-1] = Phoneme(PAUSE, out_phones[-1].start, duration)
        return finite_alignment(out_phones, out_words, duration)


def word_times(phonemes: list[Phoneme], words: list[Word]) -> list[tuple[float, float]]:
    """(start, end) of each espeak word, read from its phones.

    espeak's word events need not fall on phone boundaries (a word's span may include the pause
    before it); lips follow phones, so a word is taken to run from its first (non-pause) phone to the
    end of the last phone before the next word's first phone.
    """
    starts = np.array([p.start for p in phonemes])
    voiced = np.array([i for i, p in enumerate(phonemes) if p.symbol != PAUSE and p.end > p.start], np.int64)
    first: list[int | None] = []
    for w in words:
        v = int(np.searchsorted(voiced, np.searchsorted(starts, w.start - 1e-3)))
        ok = v < len(voiced) and phonemes[voiced[v]].start <= w.end + 1e-3
        first.append(int(voiced[v]) if ok else None)
    out: list[tuple[float, float]] = [(w.start, w.end) for w in words]
    following = len(phonemes)  # the first phone of the next word that has one
    for n in range(len(words) - 1, -1, -1):
        f = first[n]
        if f is None:
            continue
        last = int(voiced[np.searchsorted(voiced, max(following, f + 1)) - 1])
        out[n] = (phonemes[f].start, phonemes[last].end)
        if f < following:
            following = f
    return out


# -- features ---------------------------------------------------------------------------------------
_MEL_CACHE: dict[int, np.ndarray] = {}


def _mel_filterbank() -> np.ndarray:
    """Triangular filters evenly spaced on the mel scale (O'Shaughnessy 1987: 2595 log10(1 + f/700))."""
    if N_MELS not in _MEL_CACHE:
        mel = lambda f: 2595.0 * np.log10(1.0 + f / 700.0)  # noqa: E731
        hz = lambda m: 700.0 * (10.0 ** (m / 2595.0) - 1.0)  # noqa: E731
        edges = hz(np.linspace(mel(60.0), mel(7600.0), N_MELS + 2))
        bins = np.fft.rfftfreq(N_FFT, 1.0 / RATE)
        lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        up = (bins[None, :] - lo) / (mid - lo)
        down = (hi - bins[None, :]) / (hi - mid)
        _MEL_CACHE[N_MELS] = np.maximum(0.0, np.minimum(up, down))
    return _MEL_CACHE[N_MELS]


def features(samples: np.ndarray, rate: int) -> np.ndarray:
    """Per 10 ms frame: low-order MFCCs, their deltas, and a speech/silence loudness, each normalised
    over the utterance.

    Only c1..c7 are kept: they describe the spectral envelope (which sound is being made), while
    higher coefficients carry the speaker's formant scale and pitch harmonics, which differ between
    espeak and the voice being aligned. Deltas (regression over +-2 frames, as in HTK) mark the
    transitions where boundaries lie. Loudness is scaled between the audio's own quiet floor and its
    speech level, so silence looks alike in a clean rendering and in a noisy recording.
    """
    from scipy.fft import dct

    x = resample(np.asarray(samples, np.float32), rate, RATE)
    half = WINDOW // 2
    padded = np.zeros(len(x) + WINDOW + HOP, np.float32)  # frame k is centred on k * HOP
    padded[half : half + len(x)] = x
    padded[half + 1 : half + len(x)] -= PRE_EMPHASIS * x[:-1]
    n = max(1, (len(padded) - WINDOW) // HOP + 1)
    windows = np.lib.stride_tricks.sliding_window_view(padded, WINDOW)[::HOP][:n]
    taper, bank = np.hanning(WINDOW), _mel_filterbank().T
    mel = np.empty((n, N_MELS))
    for i in range(0, n, FFT_BLOCK):  # in blocks, so long audio never holds a whole spectrogram
        mel[i : i + FFT_BLOCK] = (np.abs(np.fft.rfft(windows[i : i + FFT_BLOCK] * taper, N_FFT)) ** 2) @ bank
    floor = max(float(mel.max()), 1e-20) * 10.0 ** (-FLOOR_DB / 10.0)
    logmel = np.log(np.maximum(mel, floor))
    ceps = _normalise(dct(logmel, type=2, norm="ortho", axis=1)[:, 1:N_CEPS])
    padded = np.pad(ceps, ((2, 2), (0, 0)), mode="edge")
    deltas = _normalise(padded[3:-1] - padded[1:-3] + 2.0 * (padded[4:] - padded[:-4]))
    energy = logmel.mean(axis=1)
    quiet, loud = np.percentile(energy, [5, 95])
    loudness = np.clip((energy - quiet) / max(loud - quiet, 1e-6), 0.0, 1.0)[:, None]
    return np.hstack([ceps, DELTA_WEIGHT * deltas, LOUDNESS_WEIGHT * loudness]).astype(np.float32)


def _normalise(x: np.ndarray) -> np.ndarray:
    return (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-8)


# -- DTW --------------------------------------------------------------------------------------------
def dtw_path(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The DTW path between feature sequences `a` (n, d) and `b` (m, d), as (k, 2) index pairs.

    Coarse-to-fine (as in FastDTW, Salvador & Chan 2007): the coarse path bounds the fine search, so
    memory is O((n + m) * band) rather than O(n * m).
    """
    n, m = len(a), len(b)
    ca, cb = _pool(a, COARSE), _pool(b, COARSE)
    nc, mc = len(ca), len(cb)
    band = int(np.clip(COARSE_BAND * max(nc, mc), COARSE_BAND_MIN, COARSE_BAND_MAX))
    centre = np.arange(nc) * (mc - 1) / max(nc - 1, 1)
    lo = np.clip(np.floor(centre - band), 0, mc - 1).astype(np.int64)
    hi = np.clip(np.ceil(centre + band) + 1, 1, mc).astype(np.int64)
    coarse = _windowed_dtw(ca, cb, lo, hi)
    # fine window: the coarse cells' span, widened by FINE_RADIUS frames
    lo_f = np.full(n, m, np.int64)
    hi_f = np.zeros(n, np.int64)
    for i, j in coarse:  # each coarse cell covers COARSE x COARSE fine cells
        r0, r1 = i * COARSE, min(n, (i + 1) * COARSE)
        lo_f[r0:r1] = np.minimum(lo_f[r0:r1], j * COARSE)
        hi_f[r0:r1] = np.maximum(hi_f[r0:r1], min(m, (j + 1) * COARSE))
    lo_f = np.maximum(0, np.minimum.accumulate(lo_f[::-1])[::-1] - FINE_RADIUS)
    hi_f = np.minimum(m, np.maximum.accumulate(hi_f) + FINE_RADIUS)
    return _windowed_dtw(a, b, lo_f, hi_f)


def _pool(x: np.ndarray, k: int) -> np.ndarray:
    n = -(-len(x) // k)
    padded = np.concatenate([x, np.repeat(x[-1:], n * k - len(x), axis=0)])
    return padded.reshape(n, k, -1).mean(axis=1)


def _windowed_dtw(a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> list[tuple[int, int]]:
    """DTW restricted to columns [lo[i], hi[i]) of each row i; lo and hi must not decrease.

    Symmetric step weights (Sakoe & Chiba 1978): a diagonal step costs twice the local distance, a
    horizontal or vertical one once, so the path is not biased towards diagonals. Within a row the
    horizontal recursion D[j] = min(A[j], D[j-1] + c[j]) is solved in closed form with a running
    minimum, D = S + cummin(A - S) where S = cumsum(c), which keeps each row one numpy expression.
    Only step directions are stored (one byte per cell).
    """
    n = len(a)
    b_sq = np.einsum("ij,ij->i", b, b)
    offsets = np.concatenate([[0], np.cumsum(hi - lo)])
    steps = np.empty(int(offsets[-1]), np.int8)  # 0 diagonal, 1 from the row below, 2 from the left
    prev = None
    for i in range(n):
        cols = slice(lo[i], hi[i])
        d2 = b_sq[cols] - 2.0 * (b[cols] @ a[i]) + float(a[i] @ a[i])
        c = np.sqrt(np.maximum(d2, 0.0)).astype(np.float64)
        w = hi[i] - lo[i]
        if prev is None:
            diag = np.full(w, np.inf)
            up = np.full(w, np.inf)
            if lo[i] == 0:
                diag[0] = -c[0]  # the path starts at (0, 0), costing c once
        else:
            shift = lo[i] - lo[i - 1]
            js = np.arange(w) + shift  # this row's columns in the previous row's coordinates
            pw = len(prev)
            up = np.where((js >= 0) & (js < pw), prev[np.clip(js, 0, pw - 1)], np.inf)
            jd = js - 1
            diag = np.where((jd >= 0) & (jd < pw), prev[np.clip(jd, 0, pw - 1)], np.inf)
        via_diag = diag + 2.0 * c
        via_up = up + c
        acc = np.minimum(via_diag, via_up)
        row_steps = np.where(via_diag <= via_up, 0, 1).astype(np.int8)
        s = np.cumsum(c)
        with np.errstate(invalid="ignore"):
            row = s + np.minimum.accumulate(acc - s)
        row = np.where(np.isnan(row), np.inf, row)
        row_steps[row < acc] = 2
        steps[offsets[i] : offsets[i + 1]] = row_steps
        prev = row
    return _backtrack(steps, offsets, lo, n - 1, hi[n - 1] - 1)


def _backtrack(steps: np.ndarray, offsets: np.ndarray, lo: np.ndarray, i: int, j: int) -> np.ndarray:
    path = []
    while True:
        path.append((i, j))
        if i == 0 and j == lo[0]:
            break
        step = steps[offsets[i] + j - lo[i]]
        if i == 0 or step == 2:
            j -= 1
        elif step == 0:
            i, j = i - 1, j - 1
        else:
            i -= 1
    return np.array(path[::-1], np.int64)


def _time_map(path: np.ndarray, n: int, m: int):
    """A monotone map from reference seconds to audio seconds, read off the DTW path.

    A boundary between reference frames i-1 and i lands midway between the last audio frame matched
    to i-1 and the first matched to i; between boundaries it is interpolated linearly.
    """
    first = np.full(n, m, np.int64)
    last = np.zeros(n, np.int64)
    np.minimum.at(first, path[:, 0], path[:, 1])
    np.maximum.at(last, path[:, 0], path[:, 1])
    # a frame index k is the instant k * HOP; frame i's span starts halfway from frame i-1
    ref_pos = np.arange(n + 1) - 0.5
    audio_pos = np.empty(n + 1)
    audio_pos[0] = first[0] - 0.5
    audio_pos[1:n] = (last[:-1] + first[1:]) / 2.0
    audio_pos[n] = last[-1] + 0.5
    audio_pos = np.maximum.accumulate(audio_pos)
    step = HOP / RATE

    def warp(t: float) -> float:
        return float(np.interp(t / step, ref_pos, audio_pos)) * step

    return warp
