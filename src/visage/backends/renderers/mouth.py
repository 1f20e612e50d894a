"""The inside of the mouth: what shows between the lips when they part.

A warp can only stretch the photo's lips; the cavity, teeth and tongue behind them must be drawn. The
opening is the polygon of the inner lip contour after the frame's deformation; inside it go a dark
cavity shaded towards the back, the upper teeth under the upper lip, a strip of lower teeth when the
jaw drops far, and the tongue low in the mouth. Edges are anti-aliased and softened so the drawn parts
sit behind the lips rather than on them.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.face_model import LOWER_INNER, UPPER_INNER
from visage.errors import require

_SUB = 4  # sub-pixel bits for cv2's anti-aliased polygons
CAVITY = np.array([58, 22, 26], np.float32)
UPPER_TEETH = np.array([214, 206, 192], np.float32)
LOWER_TEETH = np.array([178, 168, 156], np.float32)
TONGUE = np.array([168, 74, 80], np.float32)
MOUTH_POINTS = (61, 291, 0, 17)  # lip corners, top and bottom of the outer lip line (face-mesh indices)


def mouth_box(landmarks: np.ndarray, side: float) -> tuple[float, float, float, float]:
    """Where the mouth is in a portrait of `side` pixels, as fractions of its width and height
    (x0, y0, x1, y1), padded to hold the lips' motion: a client samples that region to see when the
    lips move (the page's A/V offset measurement)."""
    points = np.asarray(landmarks)[list(MOUTH_POINTS), :2] / float(side)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.15 * (x1 - x0), 0.6 * (y1 - y0)
    box = (max(0.0, x0 - pad_x), max(0.0, y0 - pad_y), min(1.0, x1 + pad_x), min(1.0, y1 + pad_y))
    return tuple(round(float(v), 4) for v in box)


class MouthInterior:
    def __init__(self, landmark_pos: dict[int, int], face_height: float) -> None:
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.upper = [landmark_pos[i] for i in [78] + UPPER_INNER + [308]]
        self.lower = [landmark_pos[i] for i in [78] + LOWER_INNER + [308]]
        self.h = face_height

    def draw(self, image: np.ndarray, vertices: np.ndarray, tongue_out: float = 0.0) -> None:
        """Paint the mouth's inside into `image` (in place) for deformed vertex positions (V, 2)."""
        cv2 = self.cv2
        upper, lower = vertices[self.upper], vertices[self.lower].copy()
        # lips pressed past each other close the mouth; they never open a hole on the other side
        lower[:, 1] = np.maximum(lower[:, 1], upper[:, 1])
        gap = float(np.max(lower[1:-1, 1] - upper[1:-1, 1]))
        if gap < 0.6:
            return
        outline = np.concatenate([upper, lower[::-1][1:-1]])
        x0, y0 = np.floor(outline.min(axis=0)).astype(int) - 3
        x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 4
        h, w = image.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        roi_w, roi_h = x1 - x0, y1 - y0
        origin = np.array([x0, y0], np.float32)

        def poly(points):
            return [np.round((points - origin) * (1 << _SUB)).astype(np.int32)]

        mask = np.zeros((roi_h, roi_w), np.uint8)
        cv2.fillPoly(mask, poly(outline), 255, cv2.LINE_AA, _SUB)
        # the cavity: darkest at the back (centre of the opening), a little lighter under the lips
        yy = np.arange(roi_h, dtype=np.float32)[:, None] + y0
        top = np.interp(np.arange(roi_w) + x0, upper[:, 0], upper[:, 1])[None, :]
        depth = np.clip((yy - top) / max(gap, 1.0), 0.0, 1.0)
        shade = 0.55 + 0.45 * np.abs(depth - 0.5) * 2
        inside = CAVITY[None, None, :] * shade[..., None]
        paint = np.zeros((roi_h, roi_w), np.uint8)
        # upper teeth hang from the upper lip, lit in the middle and fading into shadow at the sides;
        # the lower ones show only when the jaw is well open
        teeth_h = min(0.35 * gap, 0.032 * self.h)
        span = slice(2, len(upper) - 2)
        top_band = np.concatenate([upper[span], (upper[span] + [0, teeth_h])[::-1]])
        cv2.fillPoly(paint, poly(top_band), 255, cv2.LINE_AA, _SUB)
        a = (paint.astype(np.float32) / 255.0)[..., None]
        xs = np.arange(roi_w, dtype=np.float32)[None, :] + x0
        centre_x, half_w = 0.5 * (upper[0, 0] + upper[-1, 0]), max(1.0, 0.5 * (upper[-1, 0] - upper[0, 0]))
        side_shade = np.clip(1.0 - 0.7 * ((xs - centre_x) / half_w) ** 2, 0.2, 1.0)
        lit = (side_shade * (0.8 + 0.2 * (1 - depth)))[..., None]
        inside = inside * (1 - a) + UPPER_TEETH * lit * a
        low_h = min(max(0.0, 0.12 * gap - 0.01 * self.h), 0.018 * self.h)
        tongue_h = max(0.0, min(0.3 * gap, 0.06 * self.h)) * (1 + tongue_out)
        if tongue_h > 0.5:
            centre = ((lower[len(lower) // 2] - origin) + [0, -0.25 * tongue_h]) * (1 << _SUB)
            axes = (np.array([0.35 * (lower[-1, 0] - lower[0, 0]), tongue_h]) * (1 << _SUB))
            paint[:] = 0
            cv2.ellipse(paint, tuple(np.round(centre).astype(int)), tuple(np.round(axes).astype(int)), 0, 180, 360,
                        255, -1, cv2.LINE_AA, _SUB)
            a = (paint.astype(np.float32) / 255.0)[..., None]
            inside = inside * (1 - a) + TONGUE * a
        if low_h > 0.5:
            paint[:] = 0
            bottom_band = np.concatenate([lower[span], (lower[span] - [0, low_h])[::-1]])
            cv2.fillPoly(paint, poly(bottom_band), 255, cv2.LINE_AA, _SUB)
            a = (paint.astype(np.float32) / 255.0)[..., None]
            inside = inside * (1 - a) + LOWER_TEETH * side_shade[..., None] * a
        alpha = cv2.GaussianBlur(mask, (3, 3), 0).astype(np.float32)[..., None] / 255.0
        roi = image[y0:y1, x0:x1].astype(np.float32)
        image[y0:y1, x0:x1] = (roi * (1 - alpha) + inside * alpha).astype(np.uint8)
