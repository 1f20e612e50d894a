"""Closing eyelids: the part of a blink the warp cannot do.

The warp brings the upper lid half way down (FaceMotionModel.warped_blink; not at all behind glasses,
whose frame would bend); squeezing the eye flatter than that cannot be inverted cleanly, and the
squeezed white and iris would still show. So the rest of the closing is painted: per column, the band of lid skin above the lid's edge (the photo's own lid, lashes
at its bottom) is stretched down over the eye to where the lid should be, and the lash line where the
lids meet is darkened with the photo's own lash colour. Only the eye's small box is touched.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.face_model import EYE_CORNERS, EYE_LOWER, EYE_UPPER
from visage.errors import require

_OVERSHOOT = 1.05  # a full blink brings the lid slightly past the lower lid's edge, so nothing shows
_LID_BAND = 0.45  # height of the lid skin that is stretched, in half eye widths
_LASH_SKIP = 0.4  # share of the band just above the lid's edge that holds the lashes
_LASH_DARKEN = 0.75
_LID_SKIN = 0.45  # a closed lid is the face's skin more than the shadowed band above the open eye
_LID_TONE = 0.94  # lids are a little darker than the cheeks


class EyeLids:
    def __init__(self, landmark_pos: dict[int, int], image: np.ndarray, vertices: np.ndarray, face_height: float,
                 warped_blink: float = 0.5, skin_rgb=(200, 160, 140)) -> None:
        """`vertices` are the rest positions (pixels of `image`) of the mesh, indexed by `landmark_pos`;
        `warped_blink` the share of a blink the warp does (0 behind glasses: the frame stays rigid)."""
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.h = face_height
        self.warped = warped_blink
        self.band = _LID_BAND
        self.lid_colour = np.asarray(skin_rgb, np.float32) * _LID_TONE
        self.eyes = {}
        for side in "LR":
            first, last = EYE_CORNERS[side]
            upper = [landmark_pos[i] for i in [first] + EYE_UPPER[side] + [last]]
            lower = [landmark_pos[i] for i in [first] + EYE_LOWER[side] + [last]]
            self.eyes[side] = (upper, lower, self._lash_colour(image, vertices[upper, :2]))

    def _lash_colour(self, image: np.ndarray, upper: np.ndarray) -> np.ndarray:
        """The darkest fifth of the pixels along the upper lid's edge: the lashes' colour."""
        xs = np.linspace(upper[:, 0].min(), upper[:, 0].max(), 24)
        order = np.argsort(upper[:, 0])
        ys = np.interp(xs, upper[order, 0], upper[order, 1])
        samples = []
        for dy in (-1.0, 0.0, 1.0):
            px = np.clip(np.round(xs).astype(int), 0, image.shape[1] - 1)
            py = np.clip(np.round(ys + dy).astype(int), 0, image.shape[0] - 1)
            samples.append(image[py, px])
        pixels = np.concatenate(samples).astype(np.float32)
        luma = pixels @ np.array([0.299, 0.587, 0.114], np.float32)
        return pixels[luma <= np.percentile(luma, 20)].mean(axis=0)

    def draw(self, image: np.ndarray, vertices: np.ndarray, blink: dict[str, float]) -> None:
        """Close the lids over the eyes in `image` (in place) for deformed vertices and blink weights."""
        for side, (upper_ids, lower_ids, lash) in self.eyes.items():
            b = float(blink.get(side, 0.0))
            if b > 0.05:
                self._close(image, vertices[upper_ids], vertices[lower_ids], b, lash)

    def _close(self, image, upper, lower, b, lash) -> None:
        cv2 = self.cv2
        # where the lid edge should be, as a share of the eye's current opening (the warp did warped * b)
        reach = min(_OVERSHOOT * b, 1.0)
        share = max(0.0, (reach - self.warped * b) / max(1e-3, 1.0 - self.warped * b))
        if share <= 0.0:
            return
        width = float(upper[-1, 0] - upper[0, 0])
        band = self.band * abs(width) * 0.5
        h, w = image.shape[:2]
        x0, x1 = int(np.floor(min(upper[:, 0].min(), lower[:, 0].min()))), int(np.ceil(max(upper[:, 0].max(), lower[:, 0].max()))) + 1
        y0 = int(np.floor(upper[:, 1].min() - band)) - 1
        y1 = int(np.ceil(lower[:, 1].max())) + 3
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        xs = np.arange(x0, x1, dtype=np.float32)
        uo, lo = np.argsort(upper[:, 0]), np.argsort(lower[:, 0])
        top = np.interp(xs, upper[uo, 0], upper[uo, 1]).astype(np.float32)
        bottom = np.maximum(np.interp(xs, lower[lo, 0], lower[lo, 1]).astype(np.float32), top)
        edge = top + share * (bottom - top) + (share >= 1.0) * 0.6  # the lid's new edge per column
        start = top - band
        yy = np.arange(y0, y1, dtype=np.float32)[:, None]
        # rows from `start` to `edge` show the lid band (start..top) stretched; the rest is unchanged
        # the lid skin comes from above the lashes (they would smear into dark streaks); the lash
        # line is drawn again at the new edge
        skin_end = top - _LASH_SKIP * band
        stretch = (skin_end - start) / np.maximum(edge - start, 1e-3)
        inside = (yy >= start) & (yy <= edge)
        map_y = np.where(inside, start + (yy - start) * stretch, yy)
        opening = bottom - top  # columns by the corners, where the eye is thin, fade to no change
        fade = np.clip(opening / max(1e-3, 0.5 * float(opening.max())), 0.0, 1.0)
        map_y = (yy + (map_y - yy) * fade).astype(np.float32)
        map_x = np.broadcast_to(xs[None, :], map_y.shape).astype(np.float32)
        roi = image[y0:y1, x0:x1]
        moved = cv2.remap(roi, map_x - x0, map_y - y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # a closed lid is smooth skin: blur away the streaks that stretching a creased band leaves
        moved = cv2.GaussianBlur(moved, (0, 0), sigmaX=max(0.5, 0.008 * self.h), sigmaY=max(0.3, 0.002 * self.h))
        moved = moved.astype(np.float32) * (1 - _LID_SKIN) + self.lid_colour * _LID_SKIN
        # soften the lid's new edge against the lower lid and its top against the brow, then darken
        # the lash line along the edge
        ramp = np.clip((yy - start) / max(1.0, 0.5 * band), 0.0, 1.0)
        alpha = np.clip(edge + 0.7 - yy, 0.0, 1.0) * ramp * fade
        out = roi.astype(np.float32) * (1 - alpha[..., None]) + moved * alpha[..., None]
        thick = max(0.8, 0.006 * self.h)
        span = np.clip((xs - xs[0]) / max(1.0, xs[-1] - xs[0]), 0, 1)
        along = np.clip(np.sin(np.pi * span), 0, 1) ** 0.5  # thin at the corners
        lash_a = _LASH_DARKEN * min(1.0, 2.0 * share) * along * np.exp(-((yy - edge + 0.3 * thick) / thick) ** 2)
        out = out + (lash - out) * lash_a[..., None]
        image[y0:y1, x0:x1] = np.clip(out, 0, 255).astype(np.uint8)
