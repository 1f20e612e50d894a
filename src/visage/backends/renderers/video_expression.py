"""The motion engine's expression on a video avatar: brows, eyes, gaze and the mouth corners' lift.

The recording gives the mouth its shape and the idle loop its motion; what the person did not do on
camera (raise the brows in surprise, frown, look aside, smile while talking) comes from the portrait
renderer's own face model (`FaceMotionModel`, the same blendshape bases) and warp (`MeshWarp`), so a
video avatar and a photo avatar show an emotion the same way. Only the face's square box is warped,
with its border held still by anchors, so the cost is one small remap a frame. Mouth shapes are the
recording's (the opening and width are chosen, not warped): of the mouth shapes only the corners' lift
is applied, so a smile or a frown reads without fighting the recorded lips' width. Blinks: the
recording's own closed eyes where it has a blink (video_avatar.py), else the portrait's painted lids
(`EyeLids`) over the warp's half-closed lids.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.eyelids import EyeLids
from visage.backends.renderers.face_model import MESH_LANDMARKS, FaceMotionModel, face_geometry
from visage.backends.renderers.photo_expression import CHEEKS, wears_glasses
from visage.backends.renderers.warp import MeshWarp
from visage.core.arkit import BLENDSHAPE_NAMES, INDEX
from visage.core.types import Gaze

WARPED_BLINK = 0.5  # as the portrait: half the closing by the warp, the rest painted by EyeLids
UPPER = [n for n in BLENDSHAPE_NAMES if n.startswith(("brow", "eyeWide", "eyeSquint", "cheekSquint"))]
CORNER_SHAPES = [f"{n}{side}" for n in ("mouthSmile", "mouthFrown") for side in ("Left", "Right")]
BLINKS = ["eyeBlinkLeft", "eyeBlinkRight"]
MARGIN = 0.1  # face heights of still border around the moving points
ANCHORS_PER_SIDE = 8
STILL = 2e-3  # weights and gaze degrees below this leave the base frame as it is


class VideoExpression:
    """Warps a base frame's face by the engine's upper-face and corner shapes and gaze."""

    def __init__(self, landmarks: np.ndarray, image: np.ndarray, painted_blink: bool) -> None:
        """`landmarks` (478, 3): the idle loop's mean face in output pixels; `image` a base frame of
        the same size; `painted_blink`: the recording has no closed eyes, so blinks are warped and painted."""
        size = image.shape[0]
        ids = np.array(MESH_LANDMARKS, int)
        vertices = landmarks[ids].astype(np.float32)
        geometry = face_geometry(landmarks)
        glasses = wears_glasses(image, landmarks)
        blink_share = WARPED_BLINK if painted_blink and not glasses else 0.0
        model = FaceMotionModel(vertices, ids, geometry, warped_blink=blink_share, glasses=glasses)
        names = UPPER + CORNER_SHAPES + (BLINKS if painted_blink else [])
        self.shapes = np.array([INDEX[n] for n in names])
        basis = model.basis[self.shapes].copy()
        corners = np.isin(names, CORNER_SHAPES)
        along = basis[corners] @ geometry.axis_v.astype(np.float32)  # the corners' lift only, not their width
        basis[corners] = along[..., None] * geometry.axis_v.astype(np.float32)
        self.basis = np.ascontiguousarray(basis.reshape(len(names), -1))
        self.gaze_basis = model.gaze_basis
        moving = (np.abs(basis).sum(axis=(0, 2)) + np.abs(model.gaze_basis).sum(axis=(0, 2))) > 1e-4
        h = geometry.height
        lo = vertices[moving, :2].min(axis=0) - MARGIN * h
        hi = vertices[moving, :2].max(axis=0) + MARGIN * h
        side = int(min(size, np.ceil((hi - lo).max())))
        centre = (lo + hi) / 2
        self.origin = np.clip(np.round(centre - side / 2), 0, size - side).astype(int)
        self.side = side
        local = vertices[:, :2] - self.origin
        inside = np.all((local > 0.04 * h) & (local < side - 0.04 * h), axis=1)
        self.keep = np.flatnonzero(inside)
        edge = np.linspace(0, side - 1, ANCHORS_PER_SIDE + 1)
        anchors = np.unique(np.array([p for e in edge for p in ((e, 0), (e, side - 1), (0, e), (side - 1, e))],
                                     np.float32), axis=0)
        self.warp = MeshWarp(np.concatenate([local[self.keep], anchors]), side)
        self._d = np.zeros((len(self.keep) + len(anchors), 2), np.float32)
        skin = _median_colour(image, landmarks, CHEEKS)
        self.lids = EyeLids(model.pos, image, vertices, h, blink_share, skin) if painted_blink else None
        self.vertices, self.blink_rows = vertices, [names.index(n) for n in BLINKS] if painted_blink else []

    def apply(self, out: np.ndarray, blendshapes: np.ndarray, gaze: Gaze, shift: np.ndarray) -> None:
        """Warp `out` (a base frame with its mouth laid in) in place; `shift` (2,) is where this base
        frame's face sits relative to the mean face the model was built on."""
        w = np.asarray(blendshapes, np.float32)[self.shapes]
        if w.max() < STILL and abs(gaze.yaw) + abs(gaze.pitch) < STILL:
            return
        d = np.einsum("i,ij->j", w, self.basis).reshape(-1, 2)
        d += gaze.yaw * self.gaze_basis[0] + gaze.pitch * self.gaze_basis[1]
        self._d[: len(self.keep)] = d[self.keep]
        size = out.shape[0]
        x0, y0 = np.clip(self.origin + np.round(shift).astype(int), 0, size - self.side)
        roi = out[y0:y0 + self.side, x0:x0 + self.side]
        out[y0:y0 + self.side, x0:x0 + self.side] = self.warp.warp(roi, self._d)
        if self.lids is not None:
            moved = self.vertices[:, :2] + d + np.array([x0, y0]) - self.origin
            self.lids.draw(out, moved, {"L": float(w[self.blink_rows[0]]), "R": float(w[self.blink_rows[1]])})


def _median_colour(image: np.ndarray, landmarks: np.ndarray, points) -> np.ndarray:
    """Median RGB at a few landmarks (the cheeks: the skin a painted lid takes its colour from)."""
    xy = np.clip(np.round(landmarks[list(points), :2]).astype(int), 0, image.shape[0] - 1)
    return np.median(image[xy[:, 1], xy[:, 0]], axis=0).astype(np.float32)
