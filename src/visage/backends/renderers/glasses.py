"""Where a glasses frame's top rim runs under the brows, so brows can move while the frame stays rigid.

Behind glasses the brows sit on or just above the frame's top rim. Holding the brows still keeps the
frame rigid but leaves surprise and anger unread; moving them bends the rim. So the rim is found in the
photo once per avatar: below each brow point, on the way down to the upper lid, the darkest run of
pixels is the rim, and its top edge is where the moving brow skin must end. Points there become rigid
mesh vertices (they follow the head, never an expression), and a brow point that lies on the rim
itself is held; the skin between the rim and the brows stretches or gathers, as it does on a face.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.backends.renderers.face_model import BROW_INNER, BROW_MID, BROW_OUTER, EYE_UPPER, FaceGeometry
from visage.errors import require

_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_DARK = 0.35  # the rim's top edge: where the brightness is a third of the way from the rim's darkest to the skin's
_ON_RIM = 0.012  # a brow point less than this (face heights) above the rim's top edge lies on the frame
_GAP = 0.01  # rigid points sit this far above the rim's top edge (face heights): closer, they pin the
# brow skin just above the rim and the inner brows, which sit there behind glasses, barely come down
_STRETCH = 0.02  # a brow point whose rigid point would lie closer than this (face heights) below it is
# held too: the skin between could not stretch, and the warp drew the rim's dark pixels above the rim
# (a dark mark by Grace Hopper's temple on surprise: a rigid point 0.8 px under a brow point rising 12 px)
_ABOVE = 0.06  # the search for the rim starts this far above each brow point (face heights)


@dataclass(frozen=True)
class FrameRim:
    """`points` (K, 3): rigid vertices just above the rim's top edge (image pixels, depth 0);
    `held`: the brow landmarks that lie on the rim (their shapes are zeroed)."""

    points: np.ndarray
    held: tuple[int, ...]


def find_rim(image: np.ndarray, landmarks: np.ndarray, geometry: FaceGeometry) -> FrameRim:
    """The frame's top rim under each brow point, from the photo's brightness along the face's
    vertical between the brow and the upper lid."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    grey = cv2.GaussianBlur(np.ascontiguousarray(image).astype(np.float32) @ _LUMA, (0, 0), 0.8)
    h, down = geometry.height, geometry.axis_v
    points, held = [], []
    for side in "LR":
        lids = landmarks[EYE_UPPER[side], :2]
        for i in BROW_INNER[side] + BROW_MID[side] + BROW_OUTER[side]:
            brow = landmarks[i, :2]
            along = (lids - brow) @ geometry.axis_u
            lid = lids[int(np.argmin(np.abs(along)))]
            depth = float((lid - brow) @ down)
            if depth < 0.02 * h:
                continue
            # from a little above the brow to just above the lashes, one sample per pixel
            ts = np.arange(-_ABOVE * h, depth - 0.012 * h, 1.0)
            xy = brow[None, :] + ts[:, None] * down[None, :]
            px = np.clip(np.round(xy).astype(int), 0, np.array(grey.shape[::-1]) - 1)
            profile = grey[px[:, 1], px[:, 0]]
            # the rim is the first run, going down from the brow, nearly as dark as the darkest pixel
            # (the lashes further down can be as dark, so the first run and not the darkest wins)
            start = int(np.count_nonzero(ts < -0.004 * h))
            level = profile.min() + _DARK * (np.median(profile) - profile.min())
            dark = np.nonzero(profile[start:] < level)[0]
            if len(dark) == 0:
                continue
            top = start + int(dark[0])
            while top > 0 and profile[top - 1] < level:
                top -= 1
            edge = float(ts[top])  # the rim's top edge, along the face's vertical from the brow point
            if edge < max(_ON_RIM, _GAP + _STRETCH) * h:  # on the rim, or too near it to move
                held.append(i)
            # a rigid point at the rim's top edge; above a brow point on the rim too (a cat-eye frame's
            # wings rise above the brows' outer ends), where it holds the frame and not a moving brow
            rigid = brow + (edge - _GAP * h) * down
            if edge - _GAP * h > 0.0 or i in held:
                points.append([rigid[0], rigid[1], 0.0])
    return FrameRim(np.asarray(points, np.float32).reshape(-1, 3), tuple(held))
