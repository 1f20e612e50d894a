"""From a recording of a person speaking to a video avatar: tracked face, indexed mouths, an idle base.

Two passes over the video (decoding is cheap next to the face mesh, and two passes keep memory flat for
long clips): the first tracks the face mesh through every frame and measures brightness and cuts; the
landmarks are smoothed in time; the second cuts each frame's mouth region into a canonical mouth frame
(a similarity from steady upper-face points, so the jaw's own motion stays in the crop) and keeps the
calmest stretch (little mouth and head motion) as the idle base, whose frames loop back and forth with
the head's natural motion. Everything doubtful becomes a warning the person reads.

The result is an Avatar (the first base frame as its portrait, so photo tools still work) with `files`:
base.mp4 (the idle loop), mouths.mp4 (one canonical mouth per indexed frame) and index.npz (shapes,
landmarks, geometry), all H.264 or numpy, compact enough to keep minutes of video.
"""
from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from visage.backends.renderers.avatar import FORMAT_VERSION, Avatar
from visage.backends.renderers.video_index import LIPS_INNER_RING, ShapeSpace, coverage, mouth_geometry
from visage.backends.renderers.video_media import decode_frames, encode_frames, probe_video
from visage.backends.renderers.video_phonemes import HeardPhonemes, heard_phonemes
from visage.backends.vision.face_mesh import FaceMeshDetector, face_height
from visage.errors import InputError, VisageError, require

MIN_SECONDS = 10.0  # shorter recordings show too few mouth shapes (allowed, with a warning)
MAX_SECONDS = 90.0  # longer ones are cut here: more add memory (~64 KB a mouth when rendering), few new shapes
WORK_SIDE = 1280  # frames are analysed at most this big
STEADY = (33, 133, 362, 263, 168, 6, 197, 1, 2)  # eye corners and nose: the mouth crop's frame of reference
NOSE_BOTTOM, CHIN, MOUTH_CORNERS = 2, 152, (61, 291)
MOUTH_CANVAS_WIDTH = 160  # px of a stored canonical mouth crop
REF_SIDE = 512  # the canonical frame: base-crop coordinates scaled to this side
BASE_SECONDS = (1.5, 4.0)  # the idle loop's shortest and longest length
BASE_MAX_SIDE = 720
CROP_SCALE = 2.4  # base crop side / face height (as for photo avatars)
DARK = 60  # mean luma of the face below this (0-255) is too dark
NO_FACE_SHARE = 0.5  # more frames than this without a face: refused
TURN = 0.22  # nose offset from the eyes' middle, in eye distances, beyond which the head is turned
CUT_JUMP = 6.0  # a frame difference this many times the clip's median (and > 20 grey levels) is a cut
EYE_LIDS = ((159, 145), (386, 374))  # upper and lower lid middles, subject's right then left eye
BLINK_CLOSED = 0.5  # a frame whose lids are this share of their usual gap or less shows closed eyes
SMOOTH_STEADY, SMOOTH_MOUTH = 3, 1  # half-widths (frames) of the moving averages on the landmarks


def analyse_video(path: str | Path, name: str, detector: FaceMeshDetector | None = None,
                  on_progress: Callable[[str, int, int], None] | None = None, script: str | None = None,
                  language: str = "en", hear: bool = True, recogniser=None) -> tuple[Avatar, list[str]]:
    """Analyse a recording into a video avatar named `name`, and the warnings a person should read.
    With `hear`, the mouths are also labelled by the sounds heard in the clip's audio: `script` (what
    is said) timed by the aligner, or without it the recogniser's transcript."""
    cv2 = require("cv2", "video avatar", "portrait")
    progress = on_progress or (lambda stage, done, total: None)
    path = Path(path)
    meta = probe_video(path)
    warnings: list[str] = []
    seconds = meta.frames / meta.fps if meta.frames else 0.0
    if 0 < seconds < MIN_SECONDS:
        warnings.append(f"the recording is only {seconds:.1f} s long ({MIN_SECONDS:.0f} s or more recommended): "
                        "few mouth shapes were seen, the missing ones use their nearest recorded neighbour")
    limit = int(MAX_SECONDS * meta.fps)
    shrink = min(1.0, WORK_SIDE / max(meta.width, meta.height))

    detector = detector or FaceMeshDetector(static=False)
    detector.reset()
    found, grey, luma, counts = [], [], [], []
    for i, frame in enumerate(decode_frames(path, shrink, limit)):
        faces = detector.detect(frame, max_faces=1, static=False)
        found.append(faces[0] if faces else None)
        small = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_RGB2GRAY), (64, 64), interpolation=cv2.INTER_AREA)
        grey.append(small.astype(np.float32))
        luma.append(_face_luma(frame, faces[0]) if faces else np.nan)
        if i % 30 == 0:
            counts.append(len(detector.detect(frame, max_faces=3, static=True)))
        progress("tracking the face", i + 1, min(limit, meta.frames) or i + 1)
    detector.reset()
    total = len(found)
    if total == 0:
        raise InputError(f"{path} holds no video frames that could be decoded")
    if seconds == 0:
        seconds = total / meta.fps
    if meta.frames > limit:
        warnings.append(f"only the first {MAX_SECONDS:.0f} s of the {meta.frames / meta.fps:.0f} s recording were used")
    have = np.array([f is not None for f in found])
    if have.mean() < 1 - NO_FACE_SHARE:
        raise InputError(f"no face found in {have.size - have.sum()} of {have.size} frames of {path}; record the "
                         "person facing the camera, the face filling a good part of the picture")
    if not have.all():
        warnings.append(f"no face in {have.size - have.sum()} of {have.size} frames; those frames are not used")
    if counts and np.mean(np.array(counts) > 1) > 0.2:
        warnings.append("several faces are in the picture; the largest one is used")
    raw_landmarks = _fill(found, have)
    landmarks = _smooth(raw_landmarks)
    luma_face = float(np.nanmean(luma))
    if luma_face < DARK:
        warnings.append(f"the recording is dark (face brightness {luma_face:.0f} of 255; {DARK}+ recommended): "
                        "the mouths will look murky")
    turn = head_turn(landmarks)
    if np.mean(np.abs(turn[have]) > TURN) > 0.1:
        warnings.append("the head turns away from the camera in parts of the recording; turned mouths "
                        "pasted on a frontal base look wrong")
    diff = np.array([0.0] + [float(np.mean(np.abs(a - b))) for a, b in zip(grey[1:], grey[:-1])])
    cuts = np.flatnonzero((diff > CUT_JUMP * max(np.median(diff), 1.0)) & (diff > 20))
    if cuts.size:
        where = ", ".join(f"{c / meta.fps:.1f} s" for c in cuts[:5])
        warnings.append(f"the recording has {cuts.size} cut(s) (at {where}); the idle loop avoids them")

    usable = have & (np.abs(turn) <= TURN)
    if usable.sum() < 10:
        raise InputError(f"fewer than 10 frames of {path} show a face turned to the camera; record the person "
                         "facing it")
    raw = mouth_geometry(landmarks)
    start, count = _calm_stretch(landmarks, raw, usable, cuts, meta.fps)
    base_ids = np.arange(start, start + count)
    mean_base = landmarks[base_ids].mean(axis=0)
    h = face_height(mean_base)
    side = int(min(round(CROP_SCALE * h), meta.width * shrink, meta.height * shrink)) // 2 * 2
    centre = mean_base[STEADY, :2].mean(axis=0) + np.array([0.0, 0.15 * h])
    frame_w, frame_h = round(meta.width * shrink), round(meta.height * shrink)
    x0 = int(np.clip(round(centre[0] - side / 2), 0, frame_w - side))
    y0 = int(np.clip(round(centre[1] - side / 2), 0, frame_h - side))
    base_side = min(side, BASE_MAX_SIDE) // 2 * 2
    to_base = base_side / side
    base_landmarks = (landmarks[base_ids] - np.array([x0, y0, 0], np.float32)) * to_base
    ref = (base_landmarks.mean(axis=0) * (REF_SIDE / base_side)).astype(np.float32)
    box = _mouth_box(ref)
    canvas = (MOUTH_CANVAS_WIDTH, int(round(MOUTH_CANVAS_WIDTH * box[3] / box[2])) // 2 * 2)
    box_to_canvas = np.array([[canvas[0] / box[2], 0, -box[0] * canvas[0] / box[2]],
                              [0, canvas[1] / box[3], -box[1] * canvas[1] / box[3]]], np.float32)

    eye_gap = eye_aperture(raw_landmarks)  # unsmoothed: a blink lasts two or three frames
    blink = int(np.flatnonzero(usable)[np.argmin(eye_gap[usable])])
    has_blink = bool(eye_gap[blink] <= BLINK_CLOSED * np.median(eye_gap[usable]))
    eye_box = _eye_box(ref)
    eye_canvas = (MOUTH_CANVAS_WIDTH, int(round(MOUTH_CANVAS_WIDTH * eye_box[3] / eye_box[2])) // 2 * 2)
    eye_to_canvas = np.array([[eye_canvas[0] / eye_box[2], 0, -eye_box[0] * eye_canvas[0] / eye_box[2]],
                              [0, eye_canvas[1] / eye_box[3], -eye_box[1] * eye_canvas[1] / eye_box[3]]], np.float32)
    closed_eyes = np.zeros((eye_canvas[1], eye_canvas[0], 3), np.uint8)

    indexed = np.flatnonzero(usable)
    crops, bases, teeth = [], [], []
    wanted = set(indexed.tolist())
    base_set = set(base_ids.tolist())
    for i, frame in enumerate(decode_frames(path, shrink, limit)):
        if i in wanted:
            to_canvas = compose(box_to_canvas, similarity(landmarks[i, STEADY, :2], ref[STEADY, :2]))
            crop = cv2.warpAffine(frame, to_canvas, canvas, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)
            crops.append(crop)
            teeth.append(_teeth(crop, landmarks[i], to_canvas))
        if has_blink and i == blink:
            to_eyes = compose(eye_to_canvas, similarity(landmarks[i, STEADY, :2], ref[STEADY, :2]))
            closed_eyes = cv2.warpAffine(frame, to_eyes, eye_canvas, flags=cv2.INTER_CUBIC,
                                         borderMode=cv2.BORDER_REPLICATE)
        if i in base_set:
            part = frame[y0:y0 + side, x0:x0 + side]
            if to_base < 1:
                part = cv2.resize(part, (base_side, base_side), interpolation=cv2.INTER_AREA)
            bases.append(part)
        progress("cutting mouths", i + 1, total)
        if i >= max(wanted | base_set | {blink}):
            break
    heard = _hear(path, total, meta.fps, script, language, recogniser, warnings) if hear else None
    shapes_raw = np.concatenate([raw[indexed], np.array(teeth, np.float32)[:, None]], axis=1)
    space = ShapeSpace.of(shapes_raw)
    shapes = space.normalise(shapes_raw)
    next_of = np.full(len(indexed), -1)
    follows = np.flatnonzero((np.diff(indexed) == 1) & ~np.isin(indexed[1:], cuts))
    next_of[follows] = follows + 1
    report = coverage(shapes)

    index = io.BytesIO()
    np.savez_compressed(index, shapes=shapes.astype(np.float32), next_of=next_of.astype(np.int32),
                        frames=indexed.astype(np.int32), turns=turn[indexed].astype(np.float32),
                        base_turns=turn[base_ids].astype(np.float32), base_landmarks=base_landmarks.astype(np.float32),
                        ref=ref, box_to_canvas=box_to_canvas, eyes_closed=closed_eyes, eyes_to_canvas=eye_to_canvas,
                        has_blink=np.array(has_blink),
                        visemes=(heard.groups[indexed] if heard else np.full(len(indexed), -1)).astype(np.int8))
    files = {
        "base.mp4": encode_frames(bases, meta.fps),
        "mouths.mp4": encode_frames(crops, meta.fps),
        "index.npz": index.getvalue(),
    }
    portrait = np.ascontiguousarray(bases[0])
    info = {
        "kind": "video",
        "format": FORMAT_VERSION,
        "size": base_side,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source": {"path": str(path), "width": meta.width, "height": meta.height, "fps": round(meta.fps, 3),
                   "seconds": round(seconds, 2), "frames": total},
        "face_height": round(h * to_base, 1),
        "mouths": len(indexed),
        "canvas": list(canvas),
        "base": {"start": round(start / meta.fps, 2), "seconds": round(count / meta.fps, 2), "frames": int(count),
                 "fps": round(meta.fps, 3), "crop": [x0, y0, side]},
        "shape_space": space.to_json(),
        "coverage": report,
        "blink": round(blink / meta.fps, 2) if has_blink else None,
        "phonemes": {"source": heard.source if heard else "none", "phonemes": heard.phonemes if heard else 0,
                     "frames_labelled": round(float(np.mean(heard.groups[indexed] >= 0)), 3) if heard else 0.0,
                     "text": heard.text[:500] if heard else ""},
        "face_brightness": round(luma_face, 1),
        "cuts": [round(c / meta.fps, 2) for c in cuts],
        "warnings": warnings,
        # what photo tools read from an avatar (the portrait renderer can animate the base frame too)
        "mouth_open": bool(raw[start, 0] > 0.08),
        "head_pose": {"yaw": 0.0, "pitch": 0.0, "roll": 0.0},
    }
    if not has_blink:
        warnings.append("the person never closes their eyes in the recording, so the avatar blinks only "
                        "where the idle loop does")
    if report["missing"]:
        warnings.append("mouth shapes not seen in the recording, synthesised from the nearest recorded ones: "
                        + "; ".join(report["synthesised"]))
    return Avatar(name, portrait, base_landmarks[0], info, files), warnings


def _hear(path, frames, fps, script, language, recogniser, warnings) -> HeardPhonemes | None:
    """The sounds heard per frame, or None (with a warning) where the audio cannot say."""
    try:
        heard = heard_phonemes(path, frames, fps, script, language, recogniser)
    except VisageError as exc:  # no recogniser model, an aligner that fails: shapes alone still work
        warnings.append(f"the words in the recording could not be timed ({exc}); mouths are indexed by shape only")
        return None
    if heard.source == "none":
        warnings.append("the recording has no speech in its audio (or no audio): mouths are indexed by shape "
                        "only; with sound (and --script, what is said) they are also indexed by the sounds heard")
    return heard


def _face_luma(frame: np.ndarray, face: np.ndarray) -> float:
    (x0, y0), (x1, y1) = face[:, :2].min(axis=0).astype(int), face[:, :2].max(axis=0).astype(int)
    part = frame[max(0, y0):max(y0 + 1, y1), max(0, x0):max(x0 + 1, x1)]
    return float((part @ np.array([0.299, 0.587, 0.114])).mean()) if part.size else np.nan


def _fill(found: list, have: np.ndarray) -> np.ndarray:
    """(N, 478, 3) landmarks with faceless frames filled from the nearest frame that has one."""
    ids = np.flatnonzero(have)
    nearest = ids[np.abs(np.arange(len(found))[:, None] - ids[None, :]).argmin(axis=1)]
    return np.stack([found[j] for j in nearest]).astype(np.float32)


def _smooth(landmarks: np.ndarray) -> np.ndarray:
    """Moving averages in time: long on the steady upper face (no jitter in the crops' frame), short on
    the rest (speech is fast)."""
    out = _moving(landmarks, SMOOTH_MOUTH)
    out[:, STEADY] = _moving(landmarks[:, STEADY], SMOOTH_STEADY)
    return out


def _moving(x: np.ndarray, half: int) -> np.ndarray:
    padded = np.concatenate([x[:1].repeat(half, 0), x, x[-1:].repeat(half, 0)])
    c = np.cumsum(np.concatenate([np.zeros_like(x[:1]), padded]), axis=0)
    return ((c[2 * half + 1:] - c[:-2 * half - 1]) / (2 * half + 1)).astype(np.float32)


def head_turn(landmarks: np.ndarray) -> np.ndarray:
    """How far the nose tip sits from the eyes' middle, sideways, in eye distances: ~0 facing the camera."""
    eyes = (landmarks[:, 33, :2] + landmarks[:, 263, :2]) / 2
    span = np.linalg.norm(landmarks[:, 33, :2] - landmarks[:, 263, :2], axis=1)
    return (landmarks[:, 1, 0] - eyes[:, 0]) / np.maximum(span, 1e-3)


def _calm_stretch(landmarks, raw, usable, cuts, fps) -> tuple[int, int]:
    """(first frame, length) of the calmest usable stretch: mouth least open and moving, head steadiest."""
    n = len(raw)
    count = int(np.clip(0.4 * n, BASE_SECONDS[0] * fps, BASE_SECONDS[1] * fps))
    count = max(2, min(count, n))
    steady = landmarks[:, STEADY, :2].mean(axis=1)
    speed = np.r_[0.0, np.linalg.norm(np.diff(steady, axis=0), axis=1)] / np.maximum(raw[:, 1], 1e-3)
    mouth = raw[:, 0] + np.r_[0.0, np.abs(np.diff(raw[:, 0]))] * 3
    bad = ~usable
    bad[cuts] = True
    best, best_cost = 0, np.inf
    for s in range(0, n - count + 1, max(1, count // 8)):
        if bad[s:s + count].any():
            continue
        cost = mouth[s:s + count].mean() + 0.02 * speed[s:s + count].mean()
        if cost < best_cost:
            best, best_cost = s, cost
    if not np.isfinite(best_cost):
        raise InputError("no stretch of the recording shows the face steadily enough to be the idle base")
    return best, count


def _mouth_box(ref: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, width, height) in canonical pixels: cheek to cheek, from under the nose to under the chin."""
    left, right = ref[MOUTH_CORNERS[0], :2], ref[MOUTH_CORNERS[1], :2]
    width = float(np.linalg.norm(right - left))
    cx = float((left[0] + right[0]) / 2)
    top = float(ref[NOSE_BOTTOM, 1]) + 0.1 * width
    bottom = float(ref[CHIN, 1]) + 0.25 * width
    return cx - 1.0 * width, top, 2.0 * width, bottom - top


def eye_aperture(landmarks: np.ndarray) -> np.ndarray:
    """(N,) mean gap between the lids of both eyes, in eye-corner distances."""
    span = np.linalg.norm(landmarks[:, 33, :2] - landmarks[:, 263, :2], axis=1)
    gaps = [np.linalg.norm(landmarks[:, a, :2] - landmarks[:, b, :2], axis=1) for a, b in EYE_LIDS]
    return np.mean(gaps, axis=0) / np.maximum(span, 1e-3)


def _eye_box(ref: np.ndarray) -> tuple[float, float, float, float]:
    """(x, y, width, height) in canonical pixels around both eyes, lids and lashes, not the brows."""
    right, left = ref[33, :2], ref[263, :2]
    span = float(np.linalg.norm(left - right))
    y = float((right[1] + left[1]) / 2)
    return float(right[0]) - 0.2 * span, y - 0.2 * span, 1.4 * span, 0.38 * span


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 least-squares similarity (scale, rotation, shift) mapping points `src` onto `dst`."""
    s_mean, d_mean = src.mean(axis=0), dst.mean(axis=0)
    s, d = src - s_mean, dst - d_mean
    a = float(np.sum(s * d)) / max(float(np.sum(s * s)), 1e-9)
    b = float(np.sum(s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0])) / max(float(np.sum(s * s)), 1e-9)
    m = np.array([[a, -b], [b, a]], np.float32)
    return np.concatenate([m, (d_mean - m @ s_mean)[:, None]], axis=1).astype(np.float32)


def compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The 2x3 affine `outer` after `inner`."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2].astype(np.float32)


def _teeth(crop: np.ndarray, landmarks: np.ndarray, to_canvas: np.ndarray) -> float:
    """Share of the inner-lip area that is bright and pale (teeth), in the canonical crop."""
    cv2 = require("cv2", "video avatar", "portrait")
    ring = landmarks[list(LIPS_INNER_RING), :2] @ to_canvas[:, :2].T + to_canvas[:, 2]
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(ring).astype(np.int32)], 1)
    inside = mask.astype(bool)
    if inside.sum() < 4:
        return 0.0
    hsv = cv2.cvtColor(crop, cv2.COLOR_RGB2HSV)
    skin = float(np.median(hsv[..., 2][~inside]))
    teeth = inside & (hsv[..., 2] > 0.9 * skin) & (hsv[..., 1] < 110)
    return float(teeth.sum()) / float(mask.size)
