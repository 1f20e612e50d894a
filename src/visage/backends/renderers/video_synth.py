"""Mouth shapes the recording never showed, made from the nearest one it did.

A short recording may lack a wide-open or a tightly rounded mouth. Rather than show the nearest
recorded mouth as it is, its canonical crop is reshaped towards the wanted shape: the lower lip and
chin pushed down (or drawn up) by the missing opening, the interior between the lips stretched to
fill the gap, and the lips spread or narrowed about the mouth's centre by the missing width. The field
fades out before the crop's feathered edge, so the blend border is the recording's own. Stretches are
capped: a closed mouth stretched into a wide-open one would show smeared lips, not teeth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MAX_OPEN = 0.4  # the most opening added, in mouth half-widths
WIDTH_RANGE = (0.8, 1.2)  # the most narrowing and widening
SYNTH_FROM = 0.08  # normalised opening or width differences below this are left to the recording


@dataclass(frozen=True)
class MouthFrame:
    """Where the mouth sits in the canonical crop: centre between the lips, half width, and pixels per
    eye-corner distance (the unit of the mouth measures)."""

    centre: np.ndarray
    half_width: float
    unit: float


class MouthReshaper:
    def __init__(self, cv2, size: tuple[int, int], mouth: MouthFrame) -> None:
        """`size` (width, height) of the canonical crops."""
        self.cv2, self.mouth = cv2, mouth
        w, h = size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        self.xs, self.ys = xs, ys
        cx, cy = mouth.centre
        hw = mouth.half_width
        # 1 over the mouth and chin, 0 well before the crop's edges (the feather starts at ~0.68 radius)
        a = np.clip(1.6 - np.abs(xs - cx) / hw, 0, 1)
        self.across = a * a * (3 - 2 * a)
        self.down_fade = np.clip((h - 0.08 * h - ys) / (0.35 * h), 0, 1)  # to nothing at the crop's bottom
        self.up_fade = np.clip((ys - (cy - 0.9 * hw)) / (0.5 * hw), 0, 1)  # and above the upper lip

    def reshape(self, crop: np.ndarray, add_open: float, width_scale: float, gap: float) -> np.ndarray:
        """`crop` with its opening changed by `add_open` eye distances and its width scaled by
        `width_scale`; `gap` is the crop's own opening (eye distances)."""
        cv2, m = self.cv2, self.mouth
        cx, cy = m.centre
        hw = m.half_width
        add = float(np.clip(add_open * m.unit, -gap * m.unit, MAX_OPEN * hw))
        scale = float(np.clip(width_scale, *WIDTH_RANGE))
        half_gap = max(1.0, 0.5 * gap * m.unit)
        # vertical: nothing above the upper lip's inner edge, all of `add` from the lower lip down; the
        # opening between them is stretched
        t = np.clip((self.ys - (cy - half_gap)) / (2 * half_gap + max(add, 0) + 1e-3), 0, 1)
        ramp = t * t * (3 - 2 * t)
        dy = add * ramp * self.across * self.down_fade
        # horizontal: scaled about the centre, over the lips and a little beyond
        lips = np.clip(1.0 - np.abs(self.ys - cy) / (1.2 * hw), 0, 1) * self.up_fade * self.down_fade
        dx = (self.xs - cx) * (1 - 1 / scale) * self.across * lips
        return cv2.remap(crop, self.xs - dx, self.ys - dy, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
