"""A smooth image warp driven by a sparse mesh: vertex displacements in, a remapped image out.

The mesh (face landmarks plus rings of anchors around the head and the image border) is
triangulated once; every pixel's barycentric weights become one sparse matrix, so a frame's dense
displacement field is a single sparse product. The image is pulled backwards through that field, with
one fixed-point step to invert it accurately where the face stretches (the open jaw).
"""
from __future__ import annotations

import numpy as np

from visage.errors import require


class MeshWarp:
    def __init__(self, vertices: np.ndarray, size: int, active: np.ndarray | None = None) -> None:
        """`vertices` (V, 2) in pixels of a size x size image; `active` marks vertices that can move:
        pixels whose triangle has none stay put and cost nothing per frame."""
        from scipy import sparse
        from scipy.spatial import Delaunay

        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.size = size
        tri = Delaunay(vertices)
        ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
        points = np.stack([xs.ravel(), ys.ravel()], axis=1)
        simplex = tri.find_simplex(points)
        inside = simplex >= 0
        corners = tri.simplices[simplex[inside]]
        if active is not None:
            moving = active[corners].any(axis=1)
            rows = np.nonzero(inside)[0][moving]
            corners, simplex_in = corners[moving], simplex[inside][moving]
        else:
            rows = np.nonzero(inside)[0]
            simplex_in = simplex[inside]
        transform = tri.transform[simplex_in]
        bary2 = np.einsum("nij,nj->ni", transform[:, :2], points[rows] - transform[:, 2])
        bary = np.concatenate([bary2, 1 - bary2.sum(axis=1, keepdims=True)], axis=1)
        self.rows = rows
        self.weights = sparse.csr_matrix(
            (bary.ravel().astype(np.float32), corners.ravel(), np.arange(0, 3 * len(rows) + 1, 3)),
            shape=(len(rows), len(vertices)),
        )
        self.grid_x, self.grid_y = xs, ys
        self._field = np.zeros((size * size, 2), np.float32)

    def field(self, displacement: np.ndarray) -> np.ndarray:
        """The dense (size, size, 2) displacement field for vertex displacements (V, 2)."""
        self._field[self.rows] = self.weights @ displacement
        return self._field.reshape(self.size, self.size, 2)

    def warp(self, image: np.ndarray, displacement: np.ndarray) -> np.ndarray:
        """`image` moved by the vertex displacements: output(p) = image(q) where q + d(q) = p."""
        cv2 = self.cv2
        d = self.field(displacement)
        # first guess q = p - d(p), then one step q = p - d(p - d(p)): accurate where d varies fast
        map_x = self.grid_x - d[..., 0]
        map_y = self.grid_y - d[..., 1]
        d2 = cv2.remap(d, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        map_x = self.grid_x - d2[..., 0]
        map_y = self.grid_y - d2[..., 1]
        return cv2.remap(image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
