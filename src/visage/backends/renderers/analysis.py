"""From a photo to an Avatar: find the face, crop a square around it and measure what a renderer needs.

Done once per photo (`visage avatar create`), so it favours care over speed: EXIF orientation is
applied (phones store portraits sideways), faces of any size are searched for, the crop is measured
again with the face mesh at its final size (landmarks from the whole photo are too coarse to warp a
mouth with), and everything doubtful becomes a warning the user sees instead of a silent bad avatar.
"""
from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from visage.backends.renderers import photo_expression
from visage.backends.renderers.avatar import AVATAR_SIDE, CROP_SCALE, FORMAT_VERSION, Avatar
from visage.backends.vision.face_mesh import CHIN, FOREHEAD, FaceMeshDetector, face_height, shared_detector
from visage.errors import InputError, require

MAX_SOURCE_SIDE = 4096  # bigger photos are shrunk first: more pixels only cost time and memory
MIN_SOURCE_SIDE = 64
# Decoded size is checked from the header before decoding: a 190 KB 13000x13000 PNG would take ~2-3 GB.
# 64 MP is above any phone or DSLR photo (and JPEGs beyond it decode at 1/8 scale anyway, see draft()).
MAX_SOURCE_PIXELS = 64_000_000
SHARP_FACE = 180  # px from forehead to chin; smaller faces are upscaled and look soft
MIN_AVATAR_SIDE = 512  # small crops are upscaled to this, not to AVATAR_SIDE: upscaling adds no detail
EYES_TO_CENTRE = 0.12  # the crop centre sits this many face heights below the eyes: room for the shoulders
MOUTH_OPEN = 0.03  # inner-lip gap / face height above which the photo's mouth counts as open
RIGHT_EYE, LEFT_EYE = 33, 263  # outer eye corners; "left" and "right" are the person's own
RIGHT_CHEEK, LEFT_CHEEK = 234, 454  # the face's outline at the cheekbones
UPPER_LIP_IN, LOWER_LIP_IN = 13, 14
MAX_TURN = 25.0  # degrees of yaw or pitch beyond which the photo gets a warning
SHARPEN_ABOVE = 1.3  # crops enlarged more than this are sharpened a little: upscaling only blurs
SHARPEN_AMOUNT = 0.6
SKIN_POINTS = (50, 280, 205, 425)  # mid-cheeks: lit skin, away from eyes, brows, nostrils and beard lines
LIPS_OUTER = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
LIPS_INNER = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)


def analyse_portrait(image_or_path, name: str = "portrait", detector: FaceMeshDetector | None = None,
                     source: str | None = None) -> tuple[Avatar, list[str]]:
    """Analyse a portrait (a path, or an RGB uint8 array) into an Avatar named `name`, and the warnings
    a person should read (several faces, a small or cut-off face, a shrunk photo)."""
    cv2 = require("cv2", "portrait", "portrait")
    image, label, original = load_photo(image_or_path, source)
    warnings: list[str] = []
    shrink = min(1.0, MAX_SOURCE_SIDE / max(image.shape[:2]))
    if shrink < 1.0:
        size = (round(image.shape[1] * shrink), round(image.shape[0] * shrink))
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    scale = image.shape[1] / original[0]  # working pixels per photo pixel (JPEGs may be decoded smaller)
    if scale < 0.999:
        warnings.append(f"{label} is {original[0]}x{original[1]} px; it was shrunk to "
                        f"{image.shape[1]}x{image.shape[0]} first")

    detector = detector or shared_detector()
    faces = detector.search(image)
    if not faces:
        raise InputError(f"no face found in {label}; use a well-lit, frontal portrait where the face "
                         f"(forehead to chin) is at least {SHARP_FACE} px tall")
    if len(faces) > 1:
        warnings.append(f"{len(faces)} faces found; using the largest")
    face = faces[0]
    height = face_height(face)
    eyes = (face[RIGHT_EYE, :2] + face[LEFT_EYE, :2]) / 2
    centre = eyes + np.array([0.0, EYES_TO_CENTRE * height])
    side = max(8, round(CROP_SCALE * height))
    x0, y0 = (np.round(centre - side / 2)).astype(int)
    out = min(AVATAR_SIDE, max(MIN_AVATAR_SIDE, side))
    if height / scale < SHARP_FACE:
        warnings.append(f"the face is only {height / scale:.0f} px tall (forehead to chin; {SHARP_FACE}+ recommended); "
                        f"it was enlarged {out / side:.1f}x and will look soft")
    crop, filled = crop_square(image, x0, y0, side, out)
    if filled > 0.15:
        warnings.append(f"the photo ends close to the face; {filled:.0%} of the avatar was filled in beyond its edges")

    found = detector.detect(crop, max_faces=3)
    if not found:
        raise InputError(f"the face in {label} was found but could not be measured; "
                         "try a sharper, better lit photo with the face turned towards the camera")
    landmarks = min(found, key=lambda f: float(np.linalg.norm(f[:, :2].mean(axis=0) - out / 2)))
    info = describe(crop, landmarks)
    warnings.extend(pose_warnings(info["head_pose"]))
    info.update({
        "source": {"path": label, "width": original[0], "height": original[1]},
        "crop": {"x": round(x0 / scale), "y": round(y0 / scale), "side": round(side / scale)},
        "source_face_height": round(height / scale, 1),
        "faces_found": len(faces),
        "warnings": warnings,
        "format": FORMAT_VERSION,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    })
    return Avatar(name, crop, landmarks.astype(np.float32), info), warnings


def load_photo(image_or_path, source: str | None = None) -> tuple[np.ndarray, str, tuple[int, int]]:
    """(RGB uint8 image upright, a label for messages, original (width, height)). Files are decoded with
    Pillow, turned by their EXIF orientation, and flattened onto white where transparent; JPEGs are
    decoded at a reduced scale when far bigger than MAX_SOURCE_SIDE, which saves most of the time."""
    if isinstance(image_or_path, (str, os.PathLike)):
        path = Path(image_or_path)
        label = source or str(path)
        image_mod = require("PIL.Image", "portrait", "portrait")
        ops = require("PIL.ImageOps", "portrait", "portrait")
        if not path.is_file():
            raise InputError(f"{label} does not exist or is not a file")
        try:
            with image_mod.open(path) as im:
                width, height = im.size
                if width * height > MAX_SOURCE_PIXELS and im.format != "JPEG":  # JPEG: draft() decodes it small
                    raise InputError(f"{label} is {width}x{height} px, more than {MAX_SOURCE_PIXELS // 10**6} "
                                     "megapixels; shrink it first (a portrait needs about 1000x1000 px)")
                if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # EXIF orientation: the photo stands sideways
                    width, height = height, width
                im.draft("RGB", (MAX_SOURCE_SIDE, MAX_SOURCE_SIDE))
                im = ops.exif_transpose(im)
                if im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info:
                    im = im.convert("RGBA")
                    flat = image_mod.new("RGBA", im.size, (255, 255, 255, 255))
                    im = image_mod.alpha_composite(flat, im)
                image = np.asarray(im.convert("RGB"))
        except InputError:
            raise
        except image_mod.DecompressionBombError as exc:
            raise InputError(f"{label} is too large to open safely: {exc}") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:  # Pillow's ways of saying "bad file"
            raise InputError(f"{label} is not an image (or is damaged): {exc}") from None
    else:
        from visage.backends.vision.face_mesh import as_rgb

        label = source or "the image"
        image = as_rgb(image_or_path)
        width, height = image.shape[1], image.shape[0]
    if min(image.shape[:2]) < MIN_SOURCE_SIDE:
        raise InputError(f"{label} is only {image.shape[1]}x{image.shape[0]} px; use a photo at least "
                         f"{MIN_SOURCE_SIDE} px on each side (a face {SHARP_FACE}+ px tall looks best)")
    return np.ascontiguousarray(image), label, (int(width), int(height))


def crop_square(image: np.ndarray, x0: int, y0: int, side: int, out: int) -> tuple[np.ndarray, float]:
    """The square (x0, y0, side) of `image` resized to `out` px, and the share of it that lay outside
    the photo. That part is filled by stretching the photo's edge pixels outwards and blurring them more
    the further they reach, so it reads as out-of-focus background rather than as streaks.
    The photo part is resized before padding, so a huge crop never exists at full size in memory."""
    cv2 = require("cv2", "portrait", "portrait")
    h, w = image.shape[:2]
    ix0, iy0, ix1, iy1 = max(0, x0), max(0, y0), min(w, x0 + side), min(h, y0 + side)
    k = out / side
    inner = image[iy0:iy1, ix0:ix1]
    size = (max(1, round((ix1 - ix0) * k)), max(1, round((iy1 - iy0) * k)))
    inner = cv2.resize(inner, size, interpolation=cv2.INTER_AREA if k < 1 else cv2.INTER_CUBIC)
    if k > SHARPEN_ABOVE:  # an unsharp mask at the scale of the enlargement restores some crispness
        soft = cv2.GaussianBlur(inner, (0, 0), sigmaX=0.6 * k)
        inner = cv2.addWeighted(inner, 1 + SHARPEN_AMOUNT, soft, -SHARPEN_AMOUNT, 0)
    left, top = round((ix0 - x0) * k), round((iy0 - y0) * k)
    right, bottom = max(0, out - left - size[0]), max(0, out - top - size[1])
    crop = cv2.copyMakeBorder(inner, top, bottom, left, right, cv2.BORDER_REPLICATE)[:out, :out]
    if crop.shape[:2] != (out, out):  # rounding left a pixel short
        crop = cv2.resize(crop, (out, out), interpolation=cv2.INTER_LINEAR)
    filled = 1.0 - size[0] * size[1] / out**2
    if top or bottom or left or right:
        outside = np.ones((out, out), np.uint8)
        outside[top : top + size[1], left : left + size[0]] = 0
        reach = cv2.distanceTransform(outside, cv2.DIST_L2, 5)
        alpha = np.clip(reach / (0.03 * out), 0.0, 1.0)[:, :, None]
        blurred = cv2.GaussianBlur(crop, (0, 0), sigmaX=out / 12)
        crop = (crop * (1 - alpha) + blurred * alpha).round().astype(np.uint8)
    return np.ascontiguousarray(crop), max(0.0, filled)


def describe(image: np.ndarray, landmarks: np.ndarray) -> dict:
    """What the renderer and the user want to know about the face in the crop, as JSON-ready data."""
    height = face_height(landmarks)
    (x0, y0), (x1, y1) = landmarks[:, :2].min(axis=0), landmarks[:, :2].max(axis=0)
    gap = float(np.linalg.norm(landmarks[LOWER_LIP_IN, :2] - landmarks[UPPER_LIP_IN, :2])) / height
    return {
        "size": int(image.shape[0]),
        "face_box": [round(float(v), 1) for v in (x0, y0, x1, y1)],
        "face_height": round(height, 1),
        "head_pose": head_pose(landmarks),
        "skin_rgb": skin_colour(image, landmarks),
        "lip_rgb": lip_colour(image, landmarks),
        "mouth_gap": round(gap, 4),
        "mouth_open": gap > MOUTH_OPEN,
        # what the renderer undoes and reuses (it measures these again on load, for older avatars)
        "expression": photo_expression.measure(image, landmarks).as_info(),
    }


def pose_warnings(pose: dict) -> list[str]:
    """Why a turned or tilted head will not animate well: the warp moves a flat photo, so a face
    turned far shows one cheek stretched and the other hidden, and the mouth opens askew."""
    out = []
    if abs(pose["yaw"]) > MAX_TURN:
        side = "left" if pose["yaw"] > 0 else "right"
        out.append(f"the head is turned {abs(pose['yaw']):.0f} degrees to the person's {side} (over {MAX_TURN:.0f}); "
                   "the far cheek and the mouth will distort as it moves: a photo facing the camera works best")
    if abs(pose["pitch"]) > MAX_TURN:
        way = "down" if pose["pitch"] > 0 else "up"
        out.append(f"the head is tilted {abs(pose['pitch']):.0f} degrees {way} (over {MAX_TURN:.0f}); "
                   "the eyes and mouth are foreshortened and will animate poorly")
    return out


def head_pose(landmarks: np.ndarray) -> dict:
    """Head rotation in degrees, signed as visage.core.types.HeadPose: yaw + turned to the person's left,
    pitch + nodding down, roll + tilted to their left. From the face mesh's own 3D points: the cheek-to-
    cheek axis gives roll (its slope) and yaw (its depth); the forehead-to-chin axis, about upright in
    a level head (the forehead slopes back as far as the chin recedes), gives pitch from its depth.
    An estimate: roll and yaw to a few degrees, pitch to about ten."""
    across = landmarks[LEFT_CHEEK] - landmarks[RIGHT_CHEEK]
    down = landmarks[CHIN] - landmarks[FOREHEAD]
    across = across / max(np.linalg.norm(across), 1e-6)
    down = down - across * float(down @ across)
    down = down / max(np.linalg.norm(down), 1e-6)
    roll = np.degrees(np.arctan2(across[1], across[0]))
    yaw = np.degrees(np.arcsin(np.clip(across[2], -1, 1)))
    pitch = np.degrees(np.arcsin(np.clip(down[2], -1, 1)))
    return {"yaw": round(float(yaw), 1), "pitch": round(float(pitch), 1), "roll": round(float(roll), 1)}


def skin_colour(image: np.ndarray, landmarks: np.ndarray) -> list[int]:
    """Median RGB of small disks on both cheeks: robust to a highlight, a shadow or a stray hair."""
    cv2 = require("cv2", "portrait", "portrait")
    mask = np.zeros(image.shape[:2], np.uint8)
    radius = max(2, round(0.04 * face_height(landmarks)))
    for i in SKIN_POINTS:
        cv2.circle(mask, tuple(int(v) for v in np.round(landmarks[i, :2])), radius, 1, -1)
    return _median_rgb(image, mask)


def lip_colour(image: np.ndarray, landmarks: np.ndarray) -> list[int]:
    """Median RGB of the lips: inside the outer lip line, outside the inner one (teeth and mouth)."""
    cv2 = require("cv2", "portrait", "portrait")
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(LIPS_OUTER), :2]).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(landmarks[list(LIPS_INNER), :2]).astype(np.int32)], 0)
    return _median_rgb(image, mask)


def _median_rgb(image: np.ndarray, mask: np.ndarray) -> list[int]:
    pixels = image[mask.astype(bool)]
    if not len(pixels):
        return [0, 0, 0]
    return [int(v) for v in np.median(pixels, axis=0)]
