"""Video files in and out for video avatars, through PyAV (FFmpeg): probe, decode, and small H.264 clips.

A video avatar keeps its idle loop and its mouths as H.264 clips in memory-sized bytes (a few MB a
minute) rather than raw pixels (hundreds of MB); CRF 12 keeps them visually lossless.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from visage.errors import InputError, require

CLIP_CRF = 12


@dataclass(frozen=True)
class VideoInfo:
    width: int
    height: int
    fps: float
    frames: int  # 0 when the container does not say


def probe_video(path: str | Path) -> VideoInfo:
    """The first video stream's size and rate, or a clear InputError (missing, corrupt, audio only)."""
    av = require("av", "video avatar", "portrait")
    path = Path(path)
    if not path.is_file():
        raise InputError(f"no such video: {path}")
    try:
        with av.open(str(path)) as container:
            streams = container.streams.video
            if not streams:
                kinds = ", ".join(sorted({s.type for s in container.streams})) or "nothing"
                raise InputError(f"{path} has no video (it holds {kinds}); a video avatar needs a recording "
                                 "of the person's face")
            s = streams[0]
            fps = float(s.average_rate or s.guessed_rate or 0) or 25.0
            frames = int(s.frames or 0)
            if not frames and s.duration and s.time_base:
                frames = int(float(s.duration * s.time_base) * fps)
            width, height = s.codec_context.width, s.codec_context.height
    except InputError:
        raise
    except Exception as exc:  # av.error.* for corrupt or unknown files
        raise InputError(f"cannot read {path} as a video ({type(exc).__name__}: {exc}); use an MP4, MOV, "
                         "MKV or WebM recording") from None
    if not width or not height:
        raise InputError(f"{path}: its video stream has no picture size")
    return VideoInfo(int(width), int(height), fps, frames)


def decode_frames(path: str | Path, scale: float = 1.0, limit: int | None = None) -> Iterator[np.ndarray]:
    """RGB uint8 frames of the first video stream, resized by `scale`, at most `limit` of them."""
    av = require("av", "video avatar", "portrait")
    cv2 = require("cv2", "video avatar", "portrait")
    try:
        with av.open(str(path)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if limit is not None and i >= limit:
                    return
                image = frame.to_ndarray(format="rgb24")
                if scale < 1.0:
                    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
                    image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
                yield image
    except av.error.FFmpegError as exc:
        raise InputError(f"{path} is damaged: decoding stopped ({exc})") from None


def encode_frames(frames: list[np.ndarray], fps: float) -> bytes:
    """Equal-sized RGB frames as a small H.264 MP4 (4:4:4, CRF CLIP_CRF), returned as bytes."""
    av = require("av", "video avatar", "portrait")
    h, w = frames[0].shape[:2]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height, stream.pix_fmt = w + w % 2, h + h % 2, "yuv444p"
        stream.options = {"crf": str(CLIP_CRF), "preset": "medium"}
        for image in frames:
            if w % 2 or h % 2:
                image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return buffer.getvalue()


def decode_clip(data: bytes) -> np.ndarray:
    """(N, H, W, 3) RGB frames of a clip made by encode_frames."""
    av = require("av", "video avatar", "portrait")
    with av.open(io.BytesIO(data)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
