"""Creases that come and go with an expression: what makes a face read at a glance.

A warp moves skin but cannot fold it. Real faces show an expression as much by their creases as by
their shapes: the nasolabial folds deepen in a smile, a vertical furrow appears between drawn brows,
lines cross the forehead under raised brows. Each crease is a soft dark line with a faint highlight
beside it (a fold is lit on one side), laid out from the rest landmarks and multiplied into the photo
before the warp, so it moves with the face. A smile the photo already has is taken back the same way
as its shape: its folds are lightened, not deepened, at the neutral rest pose.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.backends.renderers.face_model import FaceGeometry
from visage.core.arkit import INDEX
from visage.errors import require

FOLD_DEPTH = 0.22  # darkening at a crease's centre at full weight (share of the pixel's brightness)
HIGHLIGHT = 0.35  # the lit side's brightening, relative to the depth
MAX_LIGHTEN = 0.6
DEPTH_STEP = 0.02  # crease weights are quantised: an unchanged crease costs nothing the next frame  # a neutralised photo's folds are lightened by at most this weight


@dataclass
class Crease:
    name: str
    box: tuple[int, int, int, int]  # y0, y1, x0, x1 in image pixels
    relief: np.ndarray  # (h, w, 1) float32: negative in the fold, positive on its lit side
    shapes: tuple[tuple[str, float], ...]  # (blendshape, gain): the crease's weight is their sum
    offset: float = 0.0  # weight already in the photo (negative: a smile the rest pose took away)


class ExpressionShading:
    def __init__(self, image: np.ndarray, landmarks: np.ndarray, geometry: FaceGeometry,
                 neutralising: dict[str, float]) -> None:
        """`landmarks` (478, 3) in pixels of `image`; `neutralising` the weights the rest pose adds
        (face_model.FaceMotionModel.neutralising), which the folds follow too."""
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.base = image
        self.work = image.copy()
        self._depths: list[float] | None = None
        self.h = geometry.height
        self.g = geometry
        L = landmarks[:, :2].astype(np.float32)
        hw, H = geometry.mouth_half_width, geometry.height
        u, v = geometry.axis_u.astype(np.float32), geometry.axis_v.astype(np.float32)
        self.creases: list[Crease] = []
        for side, sign, ala, corner in (("Right", -1.0, 129, 61), ("Left", 1.0, 358, 291)):
            start = L[ala] + sign * u * 0.03 * H
            end = L[corner] + sign * u * 0.2 * hw + v * 0.12 * hw
            bulge = 0.5 * (start + end) + sign * u * 0.08 * hw
            smile = f"mouthSmile{side}"
            self._add(f"nasolabial {side}", _bezier(start, bulge, end), 0.011 * H, sign * u,
                      ((smile, 1.0), (f"cheekSquint{side}", 0.4)), neutralising.get(smile, 0.0))
        inner = 0.5 * (L[55] + L[285])
        spread = 0.22 * float(np.linalg.norm(L[285] - L[55]))
        for k in (-1.0, 1.0):
            top = inner + u * k * spread - v * 0.085 * H
            bottom = inner + u * k * spread * 0.8 + v * 0.005 * H
            self._add(f"furrow {k:+.0f}", np.stack([top, bottom]), 0.006 * H, u * k,
                      (("browDownLeft", 0.5), ("browDownRight", 0.5), ("browInnerUp", 0.2)))
        brow_line = 0.5 * (L[105] + L[334])
        half = 0.55 * float(np.linalg.norm(L[334] - L[105]))
        room = float((brow_line - L[10]) @ v)  # forehead height above the brows
        for k, height in enumerate((0.32, 0.52, 0.72)):
            if height * room < 0.05 * H:
                continue
            centre = brow_line - v * height * room
            xs = np.linspace(-1.0, 1.0, 9, dtype=np.float32)
            points = centre + np.outer(xs * half * (1.0 - 0.1 * k), u) + np.outer(0.12 * room * xs ** 2, v)
            self._add(f"forehead {k}", points, 0.005 * H, -v,
                      (("browInnerUp", 0.6), ("browOuterUpLeft", 0.2), ("browOuterUpRight", 0.2)))

    def _add(self, name, points, width, lit_side, shapes, offset=0.0) -> None:
        """A crease along the polyline `points`, `width` px wide, its lit side towards `lit_side`."""
        cv2 = self.cv2
        pad = int(4 * width) + 3
        (x0, y0), (x1, y1) = np.floor(points.min(axis=0)).astype(int) - pad, np.ceil(points.max(axis=0)).astype(int) + pad
        h, w = self.base.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 4 or y1 - y0 < 4:
            return
        canvas = np.zeros((y1 - y0, x1 - x0), np.float32)
        fold = np.round((points - [x0, y0]) * 16).astype(np.int32)
        cv2.polylines(canvas, [fold], False, 1.0, max(1, int(round(width * 0.6))), cv2.LINE_AA, 4)
        lit = np.round((points + lit_side * 1.4 * width - [x0, y0]) * 16).astype(np.int32)
        light = np.zeros_like(canvas)
        cv2.polylines(light, [lit], False, 1.0, max(1, int(round(width * 0.8))), cv2.LINE_AA, 4)
        canvas = cv2.GaussianBlur(canvas, (0, 0), width * 0.6)
        light = cv2.GaussianBlur(light, (0, 0), width * 0.9)
        # taper both ends so a crease fades into the skin rather than stopping
        t = np.linspace(0.0, 1.0, len(points))
        taper = np.zeros_like(canvas)
        ends = np.round((points - [x0, y0]) * 16).astype(np.int32)
        for i in range(len(points) - 1):
            level = float(np.sin(np.pi * 0.5 * (t[i] + t[i + 1])) ** 0.7)
            cv2.line(taper, tuple(ends[i]), tuple(ends[i + 1]), level, int(6 * width) + 2, cv2.LINE_AA, 4)
        taper = cv2.GaussianBlur(taper, (0, 0), width * 2)
        peak = max(float(canvas.max()), 1e-6)
        relief = (-canvas + HIGHLIGHT * light * (canvas.max() / max(float(light.max()), 1e-6))) / peak * taper
        self.creases.append(Crease(name, (y0, y1, x0, x1), relief[..., None].astype(np.float32), shapes, offset))

    def apply(self, blendshapes: np.ndarray) -> np.ndarray:
        """The photo with each crease at the depth this frame's expression gives it."""
        depths = [float(np.clip(c.offset + sum(gain * float(blendshapes[INDEX[s]]) for s, gain in c.shapes),
                                -MAX_LIGHTEN, 1.5)) for c in self.creases]
        depths = [round(d / DEPTH_STEP) * DEPTH_STEP for d in depths]  # steps far below what shows
        if depths == self._depths:  # most frames: the same creases as the last one
            return self.work
        self._depths = depths
        for c in self.creases:  # boxes overlap (the furrow, the forehead lines): restore all first
            y0, y1, x0, x1 = c.box
            self.work[y0:y1, x0:x1] = self.base[y0:y1, x0:x1]
        for c, weight in zip(self.creases, depths):
            if abs(weight) < DEPTH_STEP / 2:
                continue
            y0, y1, x0, x1 = c.box
            scale = FOLD_DEPTH * weight * (0.5 if weight < 0 else 1.0)
            region = self.work[y0:y1, x0:x1].astype(np.float32) * (1.0 + scale * c.relief)
            self.work[y0:y1, x0:x1] = np.clip(region, 0, 255).astype(np.uint8)
        return self.work


def _bezier(a: np.ndarray, b: np.ndarray, c: np.ndarray, n: int = 12) -> np.ndarray:
    t = np.linspace(0.0, 1.0, n, dtype=np.float32)[:, None]
    return ((1 - t) ** 2 * a + 2 * (1 - t) * t * b + t ** 2 * c).astype(np.float32)
