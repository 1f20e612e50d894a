"""Laying a recorded crop into a base frame without a visible seam, and the measure of a seam.

The crop (a recorded mouth, or closed eyes) is warped into place and mixed in through a feathered
mask. Its colour is matched to the base not by one shift but by a smooth offset field: the difference
between base and crop along the mask's outer feather, spread inwards by a normalised blur (a cheap
stand-in for Poisson blending's membrane, which cv2.seamlessClone solves at ~10x the cost). So a
cheek lit more on one side than in the recorded frame meets the base on both sides.

A seam shows as gradient energy along the blend border that the base frame does not have there:
`seam_ratio` compares the two (1 or below: no seam; a hard paste of the same crop scores ~1.6).
"""
from __future__ import annotations

import numpy as np

MAX_COLOUR_SHIFT = 30.0  # grey levels: a bigger difference is a lighting change the offset would smear
FIELD_SHRINK = 4  # the offset field is computed on a grid this many times coarser than the ROI
FIELD_BLUR = 1 / 6  # blur sigma as a share of the (coarse) ROI width


def lay_in(cv2, out: np.ndarray, crop: np.ndarray, placement, strength: float = 1.0) -> None:
    """Warp a canonical crop into `out` (in place) at `placement` = (ROI, affine, mask): matched in
    colour to the base along the mask's border, mixed in through the mask times `strength`."""
    (y0, y1, x0, x1), matrix, alpha = placement
    h, w = y1 - y0, x1 - x0
    warped = cv2.warpAffine(crop, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    warped = warped.astype(np.float32)
    roi = out[y0:y1, x0:x1].astype(np.float32)
    a = alpha[..., 0]
    border = a * (1 - a) * 4 * (a < 0.5)  # the mask's outer feather, where crop and base must agree
    small = (max(4, w // FIELD_SHRINK), max(4, h // FIELD_SHRINK))
    num = cv2.resize((roi - warped) * border[..., None], small, interpolation=cv2.INTER_AREA)
    den = cv2.resize(border, small, interpolation=cv2.INTER_AREA)
    sigma = small[0] * FIELD_BLUR
    num = cv2.GaussianBlur(num, (0, 0), sigma)
    den = cv2.GaussianBlur(den, (0, 0), sigma)
    offset = num / np.maximum(den, 1e-3)[..., None]
    offset = cv2.resize(np.clip(offset, -MAX_COLOUR_SHIFT, MAX_COLOUR_SHIFT), (w, h), interpolation=cv2.INTER_LINEAR)
    roi += (alpha if strength >= 1 else alpha * np.float32(strength)) * (warped + offset - roi)
    np.clip(roi, 0, 255, out=roi)
    out[y0:y1, x0:x1] = roi.astype(np.uint8)


def seam_ratio(cv2, out: np.ndarray, base: np.ndarray, placement) -> float:
    """Gradient energy along the blend border (the mask's feather) in `out`, over the same in `base`."""
    (y0, y1, x0, x1), _, alpha = placement
    a = alpha[..., 0]
    band = (a > 0.05) & (a < 0.95)

    def energy(image: np.ndarray) -> float:
        grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY).astype(np.float32)
        g = cv2.Sobel(grey, cv2.CV_32F, 1, 0) ** 2 + cv2.Sobel(grey, cv2.CV_32F, 0, 1) ** 2
        return float(g[band].mean())

    return energy(out) / max(energy(base), 1e-6)
