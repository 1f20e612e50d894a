"""MP4 video with its speech: H.264 frames and AAC audio on one clock, written as they are made.

Why these choices: H.264 (yuv420p, BT.601 tagged) and AAC in MP4 play everywhere, browsers included;
`+faststart` moves the index to the front so a browser can start playing while the file loads; the
"veryfast" preset (with the cheapest motion search, on one thread) and CRF 20 keep encoding a small part
of the 0.3x real-time budget while a mostly still portrait stays sharp. Frames and audio are encoded as
they arrive, on a thread of their own so that encoding one frame overlaps rendering the next; memory
stays flat however long the speech is, and the file appears under its name only when it is complete
(AtomicPath).
"""
from __future__ import annotations

import os
import queue
import threading
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from visage.core.audio import resample
from visage.errors import require
from visage.offline.files import AtomicPath

PRESET = "veryfast"  # x264 speed/size trade-off: ~2x faster than "medium", files ~20% larger
# ... made cheaper still where a talking portrait loses nothing: the diamond motion search and the
# fastest sub-pixel refinement (a head that moves a few pixels a frame needs no wider search). On the
# rendered bench frames: ~25-35 % less encoder CPU, files ~11 % larger, the same PSNR (bench_say.py).
X264_PARAMS = "me=dia:subme=1"
CRF = 20  # constant quality: visually clean for faces, ~0.3 Mbit/s at 512x512
THREADS = 1  # one x264 thread: the renderer and the voice hold the other core; frame threads cost more CPU
QUEUED_FRAMES = 8  # jobs (frames, audio pieces) waiting for the encoder thread: ~8 x 0.4 MB at 512x512
AUDIO_BIT_RATE = 64_000  # mono speech: transparent for a voice at AAC-LC rates
FALLBACK_AUDIO_RATE = 48_000  # for voices whose rate AAC cannot carry (AAC has a fixed list)
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_AV_SMPTE170M = 6  # BT.601 as AVColorPrimaries, AVColorTransferCharacteristic and AVColorSpace value
_AV_RANGE_MPEG = 1  # limited ("TV") range, what players expect of yuv420p


def aac_rate_for(sample_rate: int) -> int:
    """The AAC stream's rate: the voice's own when AAC allows it (no resampling), else 48 kHz."""
    return sample_rate if sample_rate in AAC_RATES else FALLBACK_AUDIO_RATE


class VideoWriter:
    """Writes square RGB frames and mono float audio into an MP4 file.

    `write_frame(image, t)` takes a (size, size, 3) uint8 RGB image for time `t` seconds (t = index / fps);
    `write_audio(samples, start)` takes mono float32 samples at `sample_rate` starting at `start` seconds.
    Both are on the speech's clock, so lips and voice line up in any player. Gaps in the audio become
    silence; at `close()` the audio is padded to the end of the last frame so both streams end together.
    """

    def __init__(self, path: str | os.PathLike, size: int, fps: int, sample_rate: int,
                 crf: int = CRF, preset: str = PRESET, x264_params: str | None = None,
                 threads: int | None = None) -> None:
        av = require("av", "video", "portrait")
        self.path = Path(path)
        self.size, self.fps, self.sample_rate = size, fps, sample_rate
        self._av = av
        try:
            import cv2
        except ImportError:  # the slower swscale conversion does the same
            cv2 = None
        self._cv2 = cv2
        if size % 2:
            raise ValueError(f"the video's side must be even for yuv420p, got {size}")
        self._out = AtomicPath(path)
        self._container = None
        try:
            self._container = av.open(str(self._out.tmp), "w", format="mp4", options={"movflags": "+faststart"})
            self._video = self._add_video_stream(crf, preset, X264_PARAMS if x264_params is None else x264_params,
                                                 THREADS if threads is None else threads)
            self._audio = self._add_audio_stream()
            self._start_encoder()
        except BaseException:  # Ctrl-C or SIGTERM included: the caller has no writer to abort yet
            if getattr(self, "_thread", None) is not None and self._thread.is_alive():
                self._aborting = True
                self._jobs.put(None)
            if self._container is not None:
                try:
                    self._container.close()
                except Exception:  # noqa: BLE001 - a container without streams may fail to finalise
                    pass
            self._out.abort()
            raise

    def _start_encoder(self) -> None:
        self._next_pts = 0  # next video frame index
        self._audio_samples = 0  # samples queued so far, at sample_rate
        self._closed = self._aborting = False
        self._error: BaseException | None = None
        self.encoder_seconds = 0.0  # time the encoder thread spent encoding and muxing (it overlaps the rest)
        self.encoder_cpu_seconds = 0.0  # the CPU time it took (below its wall time when the cores are busy)
        # Encoding runs beside the caller (FFmpeg releases the GIL), so rendering the next frame overlaps
        # encoding this one; the short queue keeps memory bounded when the encoder falls behind.
        self._jobs: queue.Queue = queue.Queue(maxsize=QUEUED_FRAMES)
        self._thread = threading.Thread(target=self._work, name="visage-video-encoder", daemon=True)
        self._thread.start()

    def _add_video_stream(self, crf: int, preset: str, x264_params: str, threads: int):
        stream = self._container.add_stream("libx264", rate=self.fps)
        stream.width = stream.height = self.size
        stream.pix_fmt = "yuv420p"
        stream.time_base = Fraction(1, self.fps)
        ctx = stream.codec_context
        ctx.options = {"crf": str(crf), "preset": preset, **({"x264-params": x264_params} if x264_params else {})}
        ctx.thread_count = threads
        # The tags say how the pixels were converted (BT.601 matrix, limited range: OpenCV's and swscale's
        # default), so that every player turns them back into the same colours.
        ctx.color_primaries = ctx.color_trc = ctx.colorspace = _AV_SMPTE170M
        ctx.color_range = _AV_RANGE_MPEG
        return stream

    def _add_audio_stream(self):
        rate = aac_rate_for(self.sample_rate)
        stream = self._container.add_stream("aac", rate=rate, layout="mono")
        stream.bit_rate = AUDIO_BIT_RATE
        stream.time_base = Fraction(1, rate)
        return stream

    @property
    def video_frames(self) -> int:
        return self._next_pts

    @property
    def audio_duration(self) -> float:
        return self._audio_samples / self.sample_rate

    # -- input (the caller's thread: checks, clock and colour conversion) ---------------------------
    def write_frame(self, image: np.ndarray, t: float) -> None:
        """Queue the image shown from time `t` for encoding; frames come in order, one per 1/fps."""
        if image.shape != (self.size, self.size, 3) or image.dtype != np.uint8:
            raise ValueError(f"expected a ({self.size}, {self.size}, 3) uint8 image, got {image.shape} {image.dtype}")
        pts = round(t * self.fps)
        if pts < self._next_pts:
            raise ValueError(f"frame at {t:.3f} s comes after frame {self._next_pts - 1}: frames must be in order")
        self._submit(("frame", self._yuv420p(np.ascontiguousarray(image)), pts))
        self._next_pts = pts + 1

    def _yuv420p(self, image: np.ndarray):
        """RGB to the encoder's yuv420p, as a new frame (a renderer may reuse its image buffer). OpenCV's
        conversion takes ~0.1 ms at 512x512, swscale's from rgb24 ~1.4 ms; both are BT.601 limited range."""
        if self._cv2 is not None:
            return self._av.VideoFrame.from_ndarray(self._cv2.cvtColor(image, self._cv2.COLOR_RGB2YUV_I420),
                                                    format="yuv420p")
        rgb = self._av.VideoFrame.from_ndarray(image, format="rgb24")
        return rgb.reformat(format="yuv420p", dst_colorspace="itu601", dst_color_range=_AV_RANGE_MPEG)

    def write_audio(self, samples: np.ndarray, start: float, sample_rate: int | None = None) -> None:
        """Queue speech starting at `start` seconds: a gap before it is filled with silence, and an
        overlap with audio already written (rounding in a voice's clock) is trimmed off its head.
        Samples at another rate (a fallback voice taking over mid-reply) are resampled to the video's."""
        first = round(start * self.sample_rate)
        samples = np.asarray(samples, dtype=np.float32).reshape(-1)
        if sample_rate and sample_rate != self.sample_rate:
            samples = resample(samples, sample_rate, self.sample_rate)
        if first > self._audio_samples:
            self._queue_audio(np.zeros(first - self._audio_samples, np.float32))
        elif first < self._audio_samples:
            samples = samples[self._audio_samples - first:]
        self._queue_audio(samples)

    def _queue_audio(self, samples: np.ndarray) -> None:
        if len(samples):
            self._submit(("audio", np.clip(samples, -1.0, 1.0), self._audio_samples))
            self._audio_samples += len(samples)

    def _submit(self, job: tuple) -> None:
        if self._error is not None:
            raise self._error
        self._jobs.put(job)

    # -- encoding (the encoder's thread: every PyAV call on the container happens here) ---------------
    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            if self._error is not None or self._aborting:
                continue  # keep draining, so that the caller never blocks on a full queue
            kind, data, pts = job
            began, cpu = time.perf_counter(), time.thread_time()
            try:
                if kind == "frame":
                    data.pts, data.time_base = pts, Fraction(1, self.fps)  # not the stream's: the muxer changes it
                    self._container.mux(self._video.encode(data))
                elif kind == "audio":
                    frame = self._av.AudioFrame.from_ndarray(data[None, :], format="flt", layout="mono")
                    frame.sample_rate, frame.pts, frame.time_base = self.sample_rate, pts, Fraction(1, self.sample_rate)
                    self._container.mux(self._audio.encode(frame))
                else:  # "finish"
                    self._container.mux(self._video.encode(None))
                    self._container.mux(self._audio.encode(None))
                    self._container.close()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                self._error = exc
            self.encoder_seconds += time.perf_counter() - began
            self.encoder_cpu_seconds += time.thread_time() - cpu

    # -- output -----------------------------------------------------------------------------------
    def close(self) -> Path:
        """Pad the audio to the last frame, flush both encoders, finish the file, move it under its name."""
        if self._closed:
            raise RuntimeError("the video is already closed")
        if self._next_pts == 0:
            raise ValueError("no video frames were written")
        video_end = round(self._next_pts / self.fps * self.sample_rate)
        if video_end > self._audio_samples:
            self._queue_audio(np.zeros(video_end - self._audio_samples, np.float32))
        self._submit(("finish", None, None))
        self._jobs.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        self._closed = True
        return self._out.commit()

    def abort(self) -> None:
        """Give up: stop the encoder, close what is open and remove the partial file."""
        if not self._closed:
            self._closed = True
            self._aborting = True
            if self._thread.is_alive():
                self._jobs.put(None)
                self._thread.join()
            try:
                self._container.close()
            except Exception:  # noqa: BLE001 - a half-written container may fail to finalise
                pass
        self._out.abort()

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()
