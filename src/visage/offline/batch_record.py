"""What makes a batch resumable: a small record beside each finished video, and its check.

A job counts as done on a rerun only when its record says it was made from the same job line (a hash
of the job's settings, its text and its recording's bytes) and every file it lists is still there with
the size and SHA-256 it had, and the MP4 still opens with the duration it had (read back with PyAV). A
file that is present but truncated, replaced or damaged makes the job render again; so does a changed
line. Records live in DIR/.visage-batch/, one JSON file per output, written atomically after the
video's own files are in place, so a record never vouches for files that are not there.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from visage.errors import require
from visage.offline.files import AtomicPath

RECORDS_FOLDER = ".visage-batch"
RECORD_VERSION = 1
DURATION_TOLERANCE = 0.05  # seconds: container durations are rounded to the stream's time base


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def job_hash(settings: dict, audio: str | os.PathLike | None = None) -> str:
    """The identity of a job: its settings (canonical JSON) and, for a recording, the recording's bytes."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, ensure_ascii=False, default=str).encode())
    if audio is not None:
        digest.update(file_sha256(audio).encode())
    return digest.hexdigest()


def mp4_duration(path: str | os.PathLike) -> float:
    """The video's duration as its container states it, after opening it and decoding its first frame
    (a file that does not decode raises)."""
    av = require("av", "video", "portrait")
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        next(container.decode(stream))
        if container.duration is not None:
            return container.duration / 1_000_000
        return float(stream.duration * stream.time_base)


@dataclass(frozen=True)
class JobRecord:
    """The record of a finished job: its hash, its files' sizes and hashes, the video's duration."""

    job: str
    files: dict[str, dict]  # file name (in the output's folder) -> {"size", "sha256"}
    duration: float  # the MP4's duration in seconds, as PyAV reads it
    speech: float  # seconds of speech (for the summary of a rerun)

    @staticmethod
    def path_for(out_dir: Path, output: str) -> Path:
        return out_dir / RECORDS_FOLDER / (quote(output, safe="") + ".json")  # sub/c.mp4 -> sub%2Fc.mp4.json

    @classmethod
    def of_files(cls, job: str, files: list[Path], video: Path, speech: float) -> "JobRecord":
        entries = {p.name: {"size": p.stat().st_size, "sha256": file_sha256(p)} for p in files}
        return cls(job, entries, round(mp4_duration(video), 3), round(speech, 3))

    def write(self, path: Path) -> Path:
        path.parent.mkdir(exist_ok=True)
        part = AtomicPath(path)
        try:
            part.tmp.write_text(json.dumps({"version": RECORD_VERSION, "job": self.job, "files": self.files,
                                            "duration": self.duration, "speech": self.speech}, indent=1))
            return part.commit()
        except BaseException:
            part.abort()
            raise

    @classmethod
    def read(cls, path: Path) -> "JobRecord | None":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != RECORD_VERSION:
                return None
            return cls(str(data["job"]), dict(data["files"]), float(data["duration"]), float(data["speech"]))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


def verified(record_path: Path, job: str, video: Path) -> JobRecord | None:
    """The job's record when it vouches for this job and its files still check out, else None."""
    record = JobRecord.read(record_path)
    if record is None or record.job != job:
        return None
    folder = video.parent
    for name, entry in record.files.items():
        path = folder / name
        try:
            if path.stat().st_size != entry["size"] or file_sha256(path) != entry["sha256"]:
                return None
        except (OSError, KeyError, TypeError):
            return None
    if video.name not in record.files:
        return None
    try:
        if abs(mp4_duration(video) - record.duration) > DURATION_TOLERANCE:
            return None
    except Exception:  # noqa: BLE001 - any decoding failure means the video is not good
        return None
    return record
