"""What the photo's face already does and wears: the smile or frown it was taken with, the teeth it
shows, glasses.

A portrait is rarely neutral: most people smile for a photo, many with their teeth. The renderer
starts every expression from a neutral face, so it must know how far the photo is from one. Both
measures come from the face mesh and the photo alone, so avatars saved before they existed are
measured again when loaded, with the same result.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.errors import require

NEUTRAL_CORNER_LIFT = 0.0  # a relaxed mouth's corners sit level with the lips' centre (measured: the
# closed-mouth Grace Hopper portrait +0.003, the carphone speaker -0.05..+0.02 while talking)
OPEN_MOUTH = 0.03  # inter-ocular distances between the inner lips: below it no teeth can show
TEETH_SHARE = 0.2  # share of the mouth opening that must be teeth-bright for the photo to "show teeth"
GLASSES_POINTS = (168, 118, 347)  # the nose bridge between the eyes, and under each eye where a rim runs
GLASSES_EDGE = 45.0
CHEEKS = (50, 280, 205, 425, 101, 330)
LIPS = (0, 17, 37, 267, 84, 314, 39, 269, 181, 405)
INNER_LIPS = (78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95)


@dataclass(frozen=True)
class PhotoExpression:
    """`corner_lift`: how far the mouth corners sit above the lips' centre, in inter-ocular distances,
    less a neutral face's (positive: a smile, negative: a frown). `mouth_gap`: the inner lips' opening
    in inter-ocular distances. `teeth_rgb`: the colour of the teeth the photo shows, or None."""

    corner_lift: float
    mouth_gap: float
    teeth_rgb: tuple[int, int, int] | None
    glasses: bool = False

    def as_info(self) -> dict:
        return {"corner_lift": round(self.corner_lift, 4), "mouth_gap": round(self.mouth_gap, 4),
                "teeth_rgb": list(self.teeth_rgb) if self.teeth_rgb else None, "glasses": self.glasses}


def face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, float]:
    """The unit vector down the face (perpendicular to the eye line) and the inter-ocular distance."""
    eye_r = landmarks[[33, 133], :2].mean(axis=0)
    eye_l = landmarks[[263, 362], :2].mean(axis=0)
    iod = float(np.linalg.norm(eye_l - eye_r))
    across = (eye_l - eye_r) / max(iod, 1e-6)
    if across[0] < 0:
        across = -across
    return np.array([-across[1], across[0]]), iod


def corner_lift(landmarks: np.ndarray) -> float:
    """Mouth corners (61, 291) above the lips' centre (13, 14) along the face, in inter-ocular
    distances: the measure the round-trip tests read on rendered frames too."""
    down, iod = face_axes(landmarks)
    centre = landmarks[[13, 14], :2].mean(axis=0)
    return float(-((landmarks[[61, 291], :2] - centre) @ down).mean()) / max(iod, 1e-6)


def measure(image: np.ndarray, landmarks: np.ndarray) -> PhotoExpression:
    """The photo's expression and teeth, from the crop and its landmarks (same pixels)."""
    down, iod = face_axes(landmarks)
    gap = float((landmarks[14, :2] - landmarks[13, :2]) @ down) / max(iod, 1e-6)
    teeth = teeth_colour(image, landmarks) if gap > OPEN_MOUTH else None
    return PhotoExpression(corner_lift(landmarks) - NEUTRAL_CORNER_LIFT, gap, teeth,
                           wears_glasses(image, landmarks))


def wears_glasses(image: np.ndarray, landmarks: np.ndarray) -> bool:
    """Whether a frame crosses the nose bridge and runs under the eyes: the mean vertical-gradient
    strength of small patches there. Skin, even lined or soft, stays far below GLASSES_EDGE (measured:
    the astronaut 16, the carphone speaker 5, Grace Hopper's glasses 94)."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    grey = cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2GRAY).astype(np.float32)
    height = float(np.linalg.norm(landmarks[10, :2] - landmarks[152, :2]))
    r = max(2, int(round(0.04 * height)))
    strengths = []
    for i in GLASSES_POINTS:
        x, y = (int(round(v)) for v in landmarks[i, :2])
        patch = grey[max(0, y - r - 1) : y + r + 2, max(0, x - r - 1) : x + r + 2]
        if patch.shape[0] > 3 and patch.shape[1] > 3:
            strengths.append(float(np.abs(cv2.Sobel(patch, cv2.CV_32F, 0, 1, ksize=3))[1:-1, 1:-1].mean()))
    return bool(strengths) and float(np.mean(strengths)) > GLASSES_EDGE


def teeth_colour(image: np.ndarray, landmarks: np.ndarray) -> tuple[int, int, int] | None:
    """Median colour of the bright, unsaturated pixels inside the inner lips, when they fill at least
    TEETH_SHARE of the opening; None for a closed mouth or one that shows no teeth."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    mask = np.zeros(image.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(landmarks[list(INNER_LIPS), :2]).astype(np.int32)], 1)
    pixels = image[mask.astype(bool)].astype(np.float32)
    if len(pixels) < 12:
        return None
    luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
    chroma = pixels.max(axis=1) - pixels.min(axis=1)
    bright = (luma > np.percentile(luma, 40)) & (luma > 90) & (chroma < 0.45 * luma)
    if bright.mean() < TEETH_SHARE:
        return None
    return tuple(int(v) for v in np.median(pixels[bright], axis=0))
