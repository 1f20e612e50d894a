"""A smooth image warp driven by a sparse mesh: vertex displacements in, a remapped image out.

The mesh (face landmarks plus rings of anchors around the head and the image border) is
triangulated once; the barycentric weights of a coarse grid of sample points become one sparse
matrix, so a frame's displacement field is a single sparse product. The field is piecewise linear and
smooth, so it is computed every STEP pixels and interpolated: a quarter of the work for a difference
below a pixel. The image is pulled backwards through the field, with one fixed-point step to invert it
accurately where the face stretches (the open jaw).
"""
from __future__ import annotations

import numpy as np

from visage.errors import require

STEP = 2  # the field is computed every STEP pixels in each direction


class MeshWarp:
    def __init__(self, vertices: np.ndarray, size: int, active: np.ndarray | None = None) -> None:
        """`vertices` (V, 2) in pixels of a size x size image; `active` marks vertices that can move:
        grid points whose triangle has none stay put and cost nothing per frame."""
        from scipy import sparse
        from scipy.spatial import Delaunay

        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.size = size
        n = -(-size // STEP)
        tri = Delaunay(vertices)
        ys, xs = (np.mgrid[0:n, 0:n] * STEP).astype(np.float32)
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)
        simplex = tri.find_simplex(points)
        rows = np.nonzero(simplex >= 0)[0]
        corners = tri.simplices[simplex[rows]]
        if active is not None:
            moving = active[corners].any(axis=1)
            rows, corners = rows[moving], corners[moving]
        transform = tri.transform[simplex[rows]]
        bary2 = np.einsum("nij,nj->ni", transform[:, :2], points[rows] - transform[:, 2])
        bary = np.concatenate([bary2, 1 - bary2.sum(axis=1, keepdims=True)], axis=1)
        self.rows = rows
        self.weights = sparse.csr_matrix(
            (bary.ravel().astype(np.float32), corners.ravel(), np.arange(0, 3 * len(rows) + 1, 3)),
            shape=(len(rows), len(vertices)),
        )
        self.n = n
        self.grid = np.stack([xs, ys], axis=-1)  # coarse sample positions, in image pixels
        self._field = np.zeros((n * n, 2), np.float32)
        fy, fx = np.mgrid[0:size, 0:size].astype(np.float32)
        self.full_grid = np.stack([fx, fy], axis=-1)

    def field(self, displacement: np.ndarray) -> np.ndarray:
        """The (n, n, 2) displacement field on the coarse grid for vertex displacements (V, 2)."""
        self._field[self.rows] = self.weights @ displacement
        return self._field.reshape(self.n, self.n, 2)

    def warp(self, image: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        """`image` moved by the vertex displacements: output(p) = image(q) where q + d(q) = p."""
        cv2 = self.cv2
        d = self.field(displacement)
        # first guess q = p - d(p), then one step q = p - d(p - d(p)): accurate where d varies fast
        guess = (self.grid - d) / STEP
        d2 = cv2.remap(d, guess[..., 0], guess[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # the smooth displacement is upsampled (its sub-pixel resampling offset is harmless); the
        # identity part of the map is exact, so still regions stay pixel-for-pixel the photo
        full = self.full_grid - cv2.resize(d2, (self.size, self.size), interpolation=cv2.INTER_LINEAR)
        return cv2.remap(image, full[..., 0], full[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
