"""The mouth box's exact inverse map: the lips' triangles rasterised at their moved places, each
pixel pulled back through its own triangle's affine map (warp.py says why the box needs it).

A frame's map is drawn as a GPU draws a mesh: the last triangle drawn over a pixel owns it. Drawing
each triangle's six map coefficients as colours (two 4-channel float images, two fills a triangle)
was the first way and is kept as `map_reference`; `map` rasterises only the owner, one int32 image
of triangle numbers (one fill a triangle, in the same order, with the same corners, so the very same
coverage), and gathers the coefficients from a table. A still mouth (rest, a held pose) moves no
corner by a sixteenth of a pixel, and then the owner image of the frame before is still right.
Both evaluate x = a0 gx + a1 gy + a2 with the same float32 operations in the same order: the same
map, bit for bit (tests/test_exact_map.py).
"""
from __future__ import annotations

import numpy as np


class ExactMap:
    def __init__(self, cv2, rest: np.ndarray, triangles: np.ndarray, box: tuple[int, int, int], exact_rows: int,
                 feather: float) -> None:
        """`rest` (V, 2) vertices in image pixels, `triangles` (T, 3) in drawing order (the last
        drawn wins), `box` (x0, y0, x1) the fine box's left, top and right, mapped for its top
        `exact_rows` rows and faded into the fixed-point map over `feather` pixels by its edges."""
        self.cv2 = cv2
        self.triangles = triangles
        self.x0, self.y0, x1 = box
        self.w, self.h = x1 - self.x0, exact_rows
        gy, gx = np.mgrid[0 : self.h, 0 : self.w].astype(np.float32)
        edge = np.minimum(np.minimum(gx, self.w - 1 - gx), np.minimum(gy, self.h - 1 - gy))
        # one weight a pixel, repeated for both coordinates (cv2 multiplies two-channel images
        # element by element; numpy's broadcast over the last axis is ten times slower)
        self.feather = np.ascontiguousarray(np.repeat(np.clip(edge / np.float32(feather), 0.0, 1.0)[..., None], 2, 2))
        self.pixels = (gx, gy)
        corners = rest[triangles].astype(np.float64)
        r1, r2 = corners[:, 0] - corners[:, 2], corners[:, 1] - corners[:, 2]
        self._rest = (corners, r1, r2, r1[:, 0] * r2[:, 1] - r1[:, 1] * r2[:, 0])
        self._coefficients = tuple(np.zeros((self.h, self.w, 4), np.float32) for _ in range(2))  # the reference's
        self._owner = np.zeros((self.h, self.w), np.int32)
        self._table = np.zeros((len(triangles) + 1, 6), np.float32)  # row 0: no triangle
        self._drawn: tuple[np.ndarray, np.ndarray] | None = None  # (kept triangles, their corners) in the owner image

    def map(self, displacement: np.ndarray, stepped: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        """The exact map (rows, columns, 2) for vertex displacements (V, 2) and where it holds (a
        triangle covers the pixel), faded into `stepped` (the fixed-point map) by the box's edges
        and to `share` of it (0..1) elsewhere."""
        keep, corners, affine = self._affine(displacement)
        drawn = self._drawn
        if drawn is None or not (np.array_equal(drawn[0], keep) and np.array_equal(drawn[1], corners)):
            owner = self._owner
            owner.fill(0)
            fill, line = self.cv2.fillConvexPoly, self.cv2.LINE_8
            for k, points in zip((keep + 1).tolist(), corners):
                fill(owner, points, k, line, 4)
            self._drawn = (keep, corners)
        table = self._table
        # float32, as the reference's fill rounds it; the rows of triangles not kept this frame are
        # stale, but no pixel of the owner image names them
        table[keep + 1] = affine
        c = np.take(table, self._owner, axis=0)  # (rows, columns, 6)
        return self._fade(self._evaluate(c[..., :3]), self._evaluate(c[..., 3:]), stepped, share), self._owner > 0

    def map_reference(self, displacement: np.ndarray, stepped: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        """`map` as it was first drawn: each triangle's coefficients filled as colours into two
        4-channel images (x's row, then y's, and 1 where drawn). Kept so tests can prove `map` equal."""
        keep, corners, affine = self._affine(displacement)
        ax, ay = self._coefficients
        ax.fill(0.0)
        ay.fill(0.0)
        fill, line = self.cv2.fillConvexPoly, self.cv2.LINE_8
        for points, a in zip(corners, affine.tolist()):
            fill(ax, points, (a[0], a[1], a[2], 1.0), line, 4)
            fill(ay, points, (a[3], a[4], a[5], 1.0), line, 4)
        return self._fade(self._evaluate(ax), self._evaluate(ay), stepped, share), ax[..., 3] > 0.5

    def _evaluate(self, row: np.ndarray) -> np.ndarray:
        """One coordinate of the map, a0 gx + a1 gy + a2, from per-pixel coefficients (rows,
        columns, >= 3): float32 operations in one order, so both ways give the same bits."""
        gx, gy = self.pixels
        out = row[..., 0] * gx
        out += row[..., 1] * gy
        out += row[..., 2]
        return out

    def _affine(self, displacement: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(kept triangle numbers, their moved corners in sixteenths of a box pixel (K, 3, 2) int32,
        their maps back to the rest place (K, 6) float64: x's row, then y's; drawn as float32)."""
        rest, r1, r2, turn = self._rest  # (T, 3, 2) float64, edges, orientation at rest
        x0, y0 = self.x0, self.y0
        moved = rest + displacement[self.triangles].astype(np.float64)
        e1, e2 = moved[:, 0] - moved[:, 2], moved[:, 1] - moved[:, 2]
        det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
        # a triangle turned over is a fold (the lips pressed past each other): it is not drawn, nor
        # one that lands off the box
        ok = (np.abs(det) > 1e-3) & (det * turn > 0)
        lo, hi = moved.min(axis=1), moved.max(axis=1)
        ok &= (hi[:, 0] >= x0 - 1) & (lo[:, 0] <= x0 + self.w) & (hi[:, 1] >= y0 - 1) & (lo[:, 1] <= y0 + self.h)
        keep = np.flatnonzero(ok)
        moved, e1, e2, r1, r2, det = moved[keep], e1[keep], e2[keep], r1[keep], r2[keep], det[keep]
        corners = np.round((moved - (x0, y0)) * 16).astype(np.int32)
        # rest = r2 + [r0 - r2, r1 - r2] @ inv([m0 - m2, m1 - m2]) @ (p - m2): one 2x3 matrix a triangle
        inv = np.stack([np.stack([e2[:, 1], -e2[:, 0]], 1), np.stack([-e1[:, 1], e1[:, 0]], 1)], 1) / det[:, None, None]
        lin = np.stack([r1, r2], 2) @ inv  # (K, 2, 2)
        shift = rest[keep, 2] - np.einsum("tij,tj->ti", lin, moved[:, 2] - (x0, y0))
        affine = np.concatenate([lin, shift[..., None]], 2).reshape(-1, 6)
        return keep, corners, affine

    def _fade(self, out: np.ndarray, out_y: np.ndarray, stepped: np.ndarray, share: float) -> np.ndarray:
        cv2 = self.cv2
        out = cv2.merge([out, out_y])
        cv2.subtract(out, stepped, dst=out)
        cv2.multiply(out, self.feather if share >= 1.0 else self.feather * np.float32(share), dst=out)
        cv2.add(out, stepped, dst=out)
        return out
