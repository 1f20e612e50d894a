"""Audio as numpy arrays: WAV bytes in and out, resampling, loudness and pitch.

WAV is parsed here rather than with the `wave` module because voice servers send float WAVs and
streamed WAVs whose RIFF sizes are left as 0 or 0xFFFFFFFF; both must decode, and broken files must
fail with a clear message rather than noise. Written WAVs past 4 GiB become RF64 (EBU Tech 3306), the
WAV that holds any length, which FFmpeg, libsndfile, sox and audio editors read.
"""
from __future__ import annotations

import functools

import io
import struct
from math import gcd

import numpy as np

from visage.errors import InputError

MIN_RATE, MAX_RATE = 4000, 384_000  # sample rates that can carry speech and that resampling handles
RIFF_LIMIT = 0xFFFFFFFF  # the largest size a RIFF chunk can state: a WAV's 4 GiB ceiling
_UNKNOWN_SIZE = 0xFFFFFFFF  # streamed WAVs and RF64 state this instead of a size


def decode_wav(data: bytes) -> tuple[np.ndarray, int]:
    """Decode WAV bytes to (mono float32 samples in [-1, 1], sample rate)."""
    if len(data) < 12 or data[:4] not in (b"RIFF", b"RF64") or data[8:12] != b"WAVE":
        raise InputError("not a WAV file (no RIFF/WAVE header); convert it first, e.g. "
                         "ffmpeg -i INPUT -ac 1 speech.wav")
    pos = 12
    fmt = None
    rf64_data_size = None  # RF64 states the data's size in its ds64 chunk
    while pos + 8 <= len(data):
        chunk_id, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        body = pos + 8
        if chunk_id == b"fmt ":
            if size < 16 or body + 16 > len(data):
                raise InputError("broken WAV file: truncated format chunk")
            fmt = struct.unpack("<HHIIHH", data[body : body + 16])
            if fmt[0] == 0xFFFE and size >= 40:  # WAVE_FORMAT_EXTENSIBLE: the real tag is in the GUID
                fmt = (struct.unpack("<H", data[body + 24 : body + 26])[0],) + fmt[1:]
        elif chunk_id == b"ds64" and size >= 24 and body + 24 <= len(data):
            rf64_data_size = struct.unpack("<Q", data[body + 8 : body + 16])[0]
        elif chunk_id == b"data":
            if fmt is None:
                raise InputError("broken WAV file: data before format chunk")
            if size == _UNKNOWN_SIZE and rf64_data_size is not None:
                size = min(rf64_data_size, len(data) - body)
            end = len(data) if size in (0, _UNKNOWN_SIZE) or body + size > len(data) else body + size
            return _pcm_to_float(data[body:end], fmt)
        pos = body + size + (size & 1)
    raise InputError("broken WAV file: no audio data")


def _pcm_to_float(raw: bytes, fmt: tuple) -> tuple[np.ndarray, int]:
    tag, channels, rate, _, _, bits = fmt
    if channels < 1 or not MIN_RATE <= rate <= MAX_RATE:
        raise InputError(f"broken or unsupported WAV file: {channels} channels at {rate} Hz "
                         f"(visage reads {MIN_RATE}..{MAX_RATE} Hz)")
    width = max(1, bits // 8)
    usable = len(raw) - len(raw) % (width * channels)
    raw = raw[:usable]
    if tag == 1 and bits == 16:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif tag == 1 and bits == 32:
        x = (np.frombuffer(raw, "<i4") / 2147483648.0).astype(np.float32)
    elif tag == 1 and bits == 24:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        v = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        x = (np.where(v >= 1 << 23, v - (1 << 24), v) / float(1 << 23)).astype(np.float32)
    elif tag == 1 and bits == 8:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif tag == 3 and bits == 32:
        x = np.frombuffer(raw, "<f4").astype(np.float32)
    elif tag == 3 and bits == 64:
        x = np.frombuffer(raw, "<f8").astype(np.float32)
    else:
        raise InputError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    if channels > 1:
        x = x.reshape(-1, channels).mean(axis=1)
    return np.clip(np.nan_to_num(x), -1.0, 1.0), rate


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """Encode mono float samples as 16-bit PCM WAV bytes."""
    pcm = (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16,
        b"data", len(pcm),
    )
    return header + pcm


def read_wav(path) -> tuple[np.ndarray, int]:
    """Decode a WAV file; a missing, unreadable, empty or non-WAV file is an InputError naming it."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        raise InputError(f"no such audio file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a folder, not an audio file") from None
    except OSError as exc:
        raise InputError(f"cannot read the audio file {path}: {exc.strerror or exc}") from None
    if not data:
        raise InputError(f"the audio file {path} is empty")
    try:
        samples, rate = decode_wav(data)
    except InputError as exc:
        raise InputError(f"{path}: {exc}") from None
    if len(samples) == 0:
        raise InputError(f"{path}: the WAV file holds no audio samples")
    return samples, rate


class WavWriter:
    """Writes 16-bit mono WAV incrementally, so long speech never has to sit in memory whole.

    The header reserves a JUNK chunk where RF64's ds64 chunk goes: a file whose size passes
    `riff_limit` (4 GiB; lowered by tests) is turned into RF64 at close, in place, instead of failing."""

    HEADER_BYTES = 80  # RIFF (12) + JUNK/ds64 (8 + 28) + fmt (8 + 16) + data chunk header (8)

    def __init__(self, path, sample_rate: int, riff_limit: int = RIFF_LIMIT) -> None:
        self.sample_rate = sample_rate
        self.riff_limit = riff_limit
        self._file: io.BufferedWriter = open(path, "wb")
        self._file.write(b"\0" * self.HEADER_BYTES)
        self.frames = 0
        self.rf64 = False

    def write(self, samples: np.ndarray) -> None:
        self._file.write((np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes())
        self.frames += len(samples)

    def close(self) -> None:
        """Write the header and close; the file is closed even when writing the header fails."""
        if self._file.closed:
            return
        try:
            self._file.seek(0)
            self._file.write(self._header())
        finally:
            self._file.close()

    def abort(self) -> None:
        """Close without finishing the header (the caller removes the file)."""
        self._file.close()

    def _header(self) -> bytes:
        data_bytes = self.frames * 2
        riff_size = self.HEADER_BYTES - 8 + data_bytes
        fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, 1, 1, self.sample_rate, self.sample_rate * 2, 2, 16)
        self.rf64 = riff_size > self.riff_limit
        if not self.rf64:
            return (struct.pack("<4sI4s", b"RIFF", riff_size, b"WAVE") + struct.pack("<4sI", b"JUNK", 28)
                    + b"\0" * 28 + fmt + struct.pack("<4sI", b"data", data_bytes))
        ds64 = struct.pack("<4sIQQQI", b"ds64", 28, riff_size, data_bytes, self.frames, 0)
        return (struct.pack("<4sI4s", b"RF64", _UNKNOWN_SIZE, b"WAVE") + ds64 + fmt
                + struct.pack("<4sI", b"data", _UNKNOWN_SIZE))

    def __enter__(self) -> "WavWriter":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def resample(samples: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Polyphase resampling (anti-aliased) between integer rates."""
    if rate_in == rate_out or len(samples) == 0:
        return samples.astype(np.float32, copy=False)
    from scipy.signal import resample_poly

    g = gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    samples = np.asarray(samples)
    dtype = samples.dtype if np.issubdtype(samples.dtype, np.floating) else np.float64
    # scipy's own filter for these rates, designed once: a live session resamples every 20 ms frame
    # of the microphone and of the voice, and the design (firwin) cost more than the filtering
    window = _lowpass(up, down).astype(dtype)
    return resample_poly(samples, up, down, window=window).astype(np.float32)


@functools.lru_cache(maxsize=32)
def _lowpass(up: int, down: int) -> np.ndarray:
    """The FIR filter scipy's resample_poly designs for these rates (its default Kaiser window)."""
    from scipy.signal import firwin

    max_rate = max(up, down)
    filt = firwin(2 * 10 * max_rate + 1, 1.0 / max_rate, window=("kaiser", 5.0))
    filt.flags.writeable = False
    return filt


def rms_envelope(samples: np.ndarray, sample_rate: int, hop: float = 0.01, window: float = 0.03) -> np.ndarray:
    """Frame RMS loudness every `hop` seconds over `window`-second windows (linear amplitude)."""
    hop_n = max(1, int(round(hop * sample_rate)))
    win_n = max(hop_n, int(round(window * sample_rate)))
    n_frames = max(0, 1 + (len(samples) - win_n) // hop_n) if len(samples) >= win_n else 0
    if n_frames == 0:
        return np.zeros(0, np.float32)
    sq = np.concatenate([[0.0], np.cumsum(samples.astype(np.float64) ** 2)])
    starts = np.arange(n_frames) * hop_n
    energy = (sq[starts + win_n] - sq[starts]) / win_n
    return np.sqrt(np.maximum(energy, 0.0)).astype(np.float32)


def pitch_track(
    samples: np.ndarray, sample_rate: int, hop: float = 0.01, fmin: float = 60.0, fmax: float = 500.0,
    threshold: float = 0.15, gate: float | None = None, starts: np.ndarray | None = None,
) -> np.ndarray:
    """Fundamental frequency every `hop` seconds by YIN (de Cheveigné & Kawahara 2002); 0 where unvoiced
    or quieter than `gate` (RMS; by default 5 % of the signal's loud frames).

    `starts` (sample indices, even) replaces the regular hop: one value per start, analysing the
    window of 2 / fmin seconds that begins there."""
    # YIN needs no more than ~11 kHz for voice pitch: halving higher rates quarters the work
    _rate_in = sample_rate
    decimated_rate = sample_rate
    if sample_rate >= 22050:
        even = samples[: len(samples) // 2 * 2]
        samples = 0.5 * (even[0::2] + even[1::2])
        decimated_rate = sample_rate / 2
    sample_rate = int(decimated_rate)
    hop_n = hop * decimated_rate
    tau_max = int(sample_rate / fmin)
    tau_min = max(2, int(sample_rate / fmax))
    win = tau_max
    if starts is not None:
        idx = (np.asarray(starts, int) // (2 if len(samples) and decimated_rate < _rate_in else 1))[:, None]
        n = len(idx)
    else:
        n = 1 + int((len(samples) - 2 * win) // hop_n) if len(samples) >= 2 * win else 0
        idx = np.round(np.arange(max(n, 0)) * hop_n).astype(int)[:, None]
    if n <= 0:
        return np.zeros(0, np.float32)
    x = samples.astype(np.float64)
    frames = x[idx + np.arange(2 * win)[None, :]]
    loud = np.sqrt((frames[:, :win] ** 2).mean(axis=1))
    if gate is None:
        gate = max(1e-4, 0.05 * float(np.percentile(loud, 95)))
    out = np.zeros(n, np.float32)
    sounding = loud >= gate  # quieter frames are unvoiced whatever YIN finds: analyse only the others
    if not sounding.any():
        return out
    frames = frames[sounding]
    n = len(frames)
    # difference function via FFT autocorrelation, per frame
    size = 1 << int(np.ceil(np.log2(3 * win)))
    a = np.fft.rfft(frames, size)
    b = np.fft.rfft(frames[:, :win], size)
    corr = np.fft.irfft(a * np.conj(b), size)[:, : tau_max + 1]
    energy_cum = np.cumsum(frames**2, axis=1)
    e0 = energy_cum[:, win - 1]
    taus = np.arange(tau_max + 1)
    e_tau = energy_cum[:, win - 1 : win + tau_max].copy()  # energy of each lagged window: lag 0 is e0 itself
    e_tau[:, 1:] -= energy_cum[:, : tau_max]
    diff = e0[:, None] + e_tau - 2 * corr
    diff[:, 0] = 0
    cum = np.cumsum(diff[:, 1:], axis=1) / np.arange(1, tau_max + 1)
    cmnd = np.empty_like(diff)
    cmnd[:, 0] = 1.0
    cmnd[:, 1:] = diff[:, 1:] / np.maximum(cum, 1e-12)
    below = cmnd[:, tau_min:] < threshold
    has = below.any(axis=1)
    first = tau_min + np.argmax(below, axis=1)
    # walk down to the local minimum after the first dip below threshold: the first lag from there
    # that is the last one or whose next value is not lower
    stop = np.empty(cmnd.shape, bool)
    stop[:, -1] = True
    np.less(cmnd[:, 1:], cmnd[:, :-1], out=stop[:, :-1])
    np.logical_not(stop[:, :-1], out=stop[:, :-1])
    stop &= taus[None, :] >= first[:, None]
    t = np.argmax(stop, axis=1)
    rows = np.arange(n)
    inner = (t > 0) & (t < tau_max)
    tc = np.clip(t, 1, tau_max - 1)
    y0, y1, y2 = cmnd[rows, tc - 1], cmnd[rows, tc], cmnd[rows, tc + 1]
    d = y0 - 2 * y1 + y2
    shift = np.where(inner & (d != 0), 0.5 * (y0 - y2) / np.where(d == 0, 1, d), 0.0)
    period = t + shift
    out[sounding] = np.where(has, decimated_rate / np.maximum(period, 1e-9), 0.0)
    return out
