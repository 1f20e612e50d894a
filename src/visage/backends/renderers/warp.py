"""A smooth image warp driven by a sparse mesh: vertex displacements in, a remapped image out.

The mesh (face landmarks plus rings of anchors around the head and the image border) is
triangulated once; the barycentric weights of a coarse grid of sample points become one sparse
matrix, so a frame's displacement field is a single sparse product. The field is piecewise linear and
smooth, so it is computed every STEP pixels and interpolated: a quarter of the work for a difference
below a pixel. The image is pulled backwards through the field, with one fixed-point step to invert it
accurately where the face stretches (the open jaw).

Around the mouth the field is not smooth: the lips of a closed mouth lie a pixel apart, and as the
jaw drops one moves and the other does not. A coarse grid blurs that step into specks along the lips,
so a box around the mouth (`fine_box`) gets its own full-resolution weights and inversion. There the
one fixed-point step is not enough: by the lip corners the field steps where triangles overlap at rest
(the lips' spread layout), and the step's answer showed as notches and light lines at the corners and
above the upper lip on rounded lips. So the box's map is exact wherever a moved triangle covers it: the
triangles are rasterised at their moved places and each pixel is pulled from the rest place its
triangle's affine map gives, as a GPU draws a mesh (the tear between parting lips then maps onto the
closed slit, the lips' own pixels, instead of skin); the fixed-point answer stands only where no
triangle lands.

Speed (one core, 512 px: ~150+ fps for the whole renderer): only the box of grid points that can
move is computed (outside it the output is the photo); the sparse product runs once per coordinate
(twice as fast as one two-column product); maps stay two-channel arrays that cv2.remap reads as
they are, and the per-frame arithmetic runs in place.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.exact_map import ExactMap
from visage.errors import require

STEP = 2  # the field is computed every STEP pixels in each direction


class MeshWarp:
    def __init__(self, vertices: np.ndarray, size: int, active: np.ndarray | None = None,
                 layout: np.ndarray | None = None, fine_box: tuple[int, int, int, int] | None = None,
                 exact_rows: int | None = None) -> None:
        """`vertices` (V, 2) in pixels of a size x size image; `active` marks vertices that can move:
        grid points whose triangle has none stay put and cost nothing per frame. The triangles are
        those of the Delaunay triangulation of `layout` (default: `vertices`): the portrait passes
        its vertices with the lips drawn apart, so that no triangle bridges a closed mouth from one
        lip to the other and an opening jaw carries the whole lower lip with it. `fine_box`
        (x0, y0, x1, y1) is warped at full resolution, and its top `exact_rows` rows (all by default:
        the lips, not the chin below them, where the field is smooth) with the exact map."""
        from scipy.spatial import Delaunay

        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.size = size
        self.rest = np.asarray(vertices, np.float32)[:, :2]
        simplices = Delaunay(vertices if layout is None else layout).simplices
        mesh = _Mesh(self.cv2, vertices, simplices, layout)
        self.triangles = simplices[mesh.drawn]  # the ones drawn: what a GPU rasteriser draws too (browser_payload)
        n = -(-size // STEP)
        self.n = n
        rows, weights = mesh.weights(0, 0, STEP, n, n, active)
        self.rows, self.weights = rows, weights  # the tables as built (browser_payload ships them)
        # only a box around the grid points that can move is computed each frame: outside it the
        # field is zero and the output is the photo, pixel for pixel (the identity map is exact)
        fine = None
        if fine_box is not None:
            fx0, fy0, fx1, fy1 = (int(np.clip(v, 0, size)) for v in fine_box)
            if fx1 - fx0 > 4 and fy1 - fy0 > 4:
                fine = (fx0, fy0, fx1, fy1)
        self.box = _moving_box(rows, n, size, fine)
        cx0, cy0, cx1, cy1 = self.box
        self._weights = _reindex(weights, rows, n, self.box)
        ys, xs = (np.mgrid[cy0:cy1, cx0:cx1] * STEP).astype(np.float32)
        # coarse sample positions, in grid cells of the box (the inversion's map is read there)
        self.cells = np.stack([xs, ys], axis=-1) / STEP - np.array([cx0, cy0], np.float32)
        x0, y0 = cx0 * STEP, cy0 * STEP
        x1, y1 = (size, size) if (cx1, cy1) == (n, n) else (cx1 * STEP, cy1 * STEP)
        self.full_box = (x0, y0, x1, y1)
        fy, fx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        self.full_grid = np.stack([fx, fy], axis=-1)
        self._map = np.empty_like(self.full_grid)  # the full-resolution map, rewritten each frame
        # ... and as remap's fixed point: whole pixels (int16 pairs), 1/32 fractions (uint16 table rows)
        self._whole = np.empty(self.full_grid.shape, np.int16)
        self._fraction = np.empty(self.full_grid.shape[:2], np.uint16)
        self.fine = self._fine = self.exact_map = None
        if fine is not None:
            fx0, fy0, fx1, fy1 = fine
            f_rows, f_weights = mesh.weights(fx0, fy0, 1, fx1 - fx0, fy1 - fy0, None)
            self.fine = (fx0, fy0, fx1, fy1, f_rows, f_weights, None)  # image pixels, the tables as built
            boxed = _reindex(f_weights, f_rows, fx1 - fx0, (0, 0, fx1 - fx0, fy1 - fy0))
            # what a frame uses: the fine box in the coordinates of the full-resolution box
            # the box's pixel positions relative to its corner, where the inversion's first guess is read
            local = np.ascontiguousarray(self.full_grid[fy0 - y0 : fy1 - y0, fx0 - x0 : fx1 - x0] - (fx0, fy0), np.float32)
            self._fine = (fx0 - x0, fy0 - y0, fx1 - x0, fy1 - y0, boxed, local)
            # the drawn triangles that can reach the box (a vertex within a box's size of it), in
            # drawing order: rasterised at their moved places each frame (`_exact`)
            reach = 0.5 * max(fx1 - fx0, fy1 - fy0)  # a lip moves by a tenth of the face: a quarter of the box
            c = self.rest[self.triangles]
            near = ((c[..., 0].max(1) >= fx0 - reach) & (c[..., 0].min(1) <= fx1 + reach)
                    & (c[..., 1].max(1) >= fy0 - reach) & (c[..., 1].min(1) <= fy1 + reach))
            # from the bottom up: where the lips are pressed past each other (a fold), the upper lip is
            # drawn over the lower one, as it lies in front of it on a real closed mouth
            tri = self.triangles[near]
            self.fine_triangles = tri[np.argsort(-self.rest[tri][..., 1].mean(axis=1), kind="stable")]
            # the exact map fades into the fixed-point one by the box's edges, where both are smooth
            # (a hard edge showed as a line across the face at the box's top)
            self.feather = max(2.0, 0.03 * (fx1 - fx0))
            self.exact_rows = fy1 - fy0 if exact_rows is None else int(np.clip(exact_rows, 4, fy1 - fy0))
            self.exact_map = ExactMap(self.cv2, self.rest, self.fine_triangles, (fx0, fy0, fx1), self.exact_rows, self.feather)

    def field(self, displacement: np.ndarray) -> np.ndarray:
        """The displacement field (rows, columns, 2) on the coarse grid points of the moving box
        (`box`, in grid cells) for vertex displacements (V, 2)."""
        cx0, cy0, cx1, cy1 = self.box
        return _product(self._weights, displacement, cy1 - cy0, cx1 - cx0)

    def warp(self, image: np.ndarray, displacement: np.ndarray, exact: float = 1.0) -> np.ndarray:
        """`image` moved by the vertex displacements: output(p) = image(q) where q + d(q) = p.

        The full-resolution map is written into a buffer kept between frames (a fresh 2 MB array
        each frame costs its page faults), the arithmetic runs through cv2 (the same IEEE float32
        operations as numpy, so the same pixels: `warp_reference` is the plain version the tests
        compare against), and when the moving box is the whole image the remap writes the output
        directly instead of into a copy of the photo. `exact` (0..1): how much of the fine box's exact
        map is used (`_exact`): the renderer fades it in as the lips part."""
        cv2 = self.cv2
        displacement = np.asarray(displacement, np.float32)
        d = self.field(displacement)
        # first guess q = p - d(p), then one step q = p - d(p - d(p)): accurate where d varies fast
        guess = cv2.scaleAdd(d, -1.0 / STEP, self.cells)
        d2 = cv2.remap(d, guess, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # the smooth displacement is upsampled (its sub-pixel resampling offset is harmless); the
        # identity part of the map is exact, so still regions stay pixel-for-pixel the photo
        x0, y0, x1, y1 = self.full_box
        full = self._map
        cv2.resize(d2, (x1 - x0, y1 - y0), dst=full, interpolation=cv2.INTER_LINEAR)
        cv2.subtract(self.full_grid, full, dst=full)
        if self._fine is not None:
            bx0, by0, bx1, by1, weights, local = self._fine
            fd = _product(weights, displacement, by1 - by0, bx1 - bx0)
            guess = cv2.subtract(local, fd)
            inside = cv2.remap(fd, guess, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            # where the first guess leaves the box, the coarse answer stands (cv2.copyTo with a mask:
            # numpy's masked copy over two channels took 30 times as long)
            keep = cv2.inRange(guess, (0.0, 0.0), (float(bx1 - bx0 - 1), float(by1 - by0 - 1)))
            cv2.subtract(self.full_grid[by0:by1, bx0:bx1], inside, dst=inside)
            cv2.copyTo(inside, keep, full[by0:by1, bx0:bx1])
            if exact > 0.0:
                ey1 = by0 + self.exact_rows
                exact, covered = self._exact(displacement, full[by0:ey1, bx0:bx1], exact)
                cv2.copyTo(exact, covered.view(np.uint8), full[by0:ey1, bx0:bx1])
        # remap turns a float map into whole pixels and 1/32 fractions before it samples; done
        # here, once, into buffers kept between frames, the sampling itself is a quarter faster and
        # gives the same pixels (tests/test_warp_speed_path.py compares with warp_reference)
        whole, fraction = cv2.convertMaps(full, None, cv2.CV_16SC2, dstmap1=self._whole, dstmap2=self._fraction)
        if (x0, y0, x1, y1) == (0, 0) + image.shape[1::-1]:
            return cv2.remap(image, whole, fraction, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        result = image.copy()
        cv2.remap(image, whole, fraction, cv2.INTER_LINEAR, dst=result[y0:y1, x0:x1], borderMode=cv2.BORDER_REPLICATE)
        return result

    def warp_reference(self, image: np.ndarray, displacement: np.ndarray, exact: float = 1.0) -> np.ndarray:
        """The plain numpy version of `warp` (fresh arrays each frame): kept so tests can prove the
        fast one gives the same pixels."""
        cv2 = self.cv2
        displacement = np.asarray(displacement, np.float32)
        d = self.field(displacement)
        guess = np.multiply(d, -1.0 / STEP)
        guess += self.cells
        d2 = cv2.remap(d, guess, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        x0, y0, x1, y1 = self.full_box
        full = cv2.resize(d2, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
        np.subtract(self.full_grid, full, out=full)
        if self._fine is not None:
            bx0, by0, bx1, by1, weights, local = self._fine
            fd = _product(weights, displacement, by1 - by0, bx1 - bx0)
            here = self.full_grid[by0:by1, bx0:bx1]
            guess = local - fd
            inside = cv2.remap(fd, guess, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            keep = (guess[..., 0] >= 0) & (guess[..., 1] >= 0) & (guess[..., 0] <= bx1 - bx0 - 1) & (guess[..., 1] <= by1 - by0 - 1)
            np.subtract(here, inside, out=inside)
            np.copyto(full[by0:by1, bx0:bx1], inside, where=keep[..., None])
            if exact > 0.0:
                ey1 = by0 + self.exact_rows
                exact, covered = self.exact_map.map_reference(displacement, full[by0:ey1, bx0:bx1], exact)
                full[by0:ey1, bx0:bx1][covered] = exact[covered]
        result = image.copy()
        result[y0:y1, x0:x1] = cv2.remap(image, full, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        return result

    def _exact(self, displacement: np.ndarray, stepped: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        """The fine box's exact inverse map (rows, columns, 2) and where it holds: each pixel's
        moved triangle (the last drawn wins, as on a GPU), its affine map back to the rest place,
        faded into `stepped` (the fixed-point map) by the box's edges, `share` of it elsewhere
        (exact_map.py)."""
        return self.exact_map.map(displacement, stepped, share)


def _product(weights, displacement: np.ndarray, rows: int, columns: int) -> np.ndarray:
    """The field (rows, columns, 2) that `weights` give `displacement` (V, 2): one sparse
    product per coordinate, merged (half the time of one product with two columns)."""
    planes = [(weights @ np.ascontiguousarray(displacement[:, k])).astype(np.float32, copy=False).reshape(rows, columns)
              for k in (0, 1)]
    return require("cv2", "portrait renderer", "portrait").merge(planes)


def _moving_box(rows: np.ndarray, n: int, size: int, fine: tuple[int, int, int, int] | None) -> tuple[int, int, int, int]:
    """(x0, y0, x1, y1) in grid cells: the grid points that can move, two cells of still field
    around them (the inversion and the upsampling read one neighbour) and the fine box. The whole
    grid when the image is not a whole number of cells (the upsampling's scale would change)."""
    if size % STEP or len(rows) == 0:
        return (0, 0, n, n)
    ys, xs = np.divmod(rows, n)
    x0, y0, x1, y1 = xs.min() - 2, ys.min() - 2, xs.max() + 3, ys.max() + 3
    if fine is not None:
        x0, y0 = min(x0, fine[0] // STEP - 2), min(y0, fine[1] // STEP - 2)
        x1, y1 = max(x1, -(-fine[2] // STEP) + 2), max(y1, -(-fine[3] // STEP) + 2)
    return (int(max(x0, 0)), int(max(y0, 0)), int(min(x1, n)), int(min(y1, n)))


def _reindex(matrix, rows: np.ndarray, n: int, box: tuple[int, int, int, int]):
    """The weights of `rows` (grid points of an n-wide grid) as a matrix with one row per point of
    `box`, empty where nothing moves: its product is the box's field, with no scatter per frame."""
    from scipy import sparse

    x0, y0, x1, y1 = box
    m = matrix.tocoo()
    ys, xs = np.divmod(rows[m.row], n)
    local = (ys - y0) * (x1 - x0) + (xs - x0)
    return sparse.csr_matrix((m.data.astype(np.float32), (local, m.col)), shape=((y1 - y0) * (x1 - x0), matrix.shape[1]))


class _Mesh:
    """Point location and barycentric weights for regular grids of sample points."""

    def __init__(self, cv2, vertices: np.ndarray, simplices: np.ndarray, layout: np.ndarray | None) -> None:
        from scipy.spatial import Delaunay

        self.cv2, self.vertices, self.simplices = cv2, vertices, simplices
        self.plain = Delaunay(vertices)
        area = _signed_area(vertices[simplices].astype(np.float64))
        if layout is not None:  # a triangle the spread layout turned over folds at the real places: skip it
            area = area * np.sign(_signed_area(layout[simplices].astype(np.float64)))
        self.drawn = np.nonzero(area > 1e-3)[0]

    def weights(self, x0: int, y0: int, step: int, nx: int, ny: int, active: np.ndarray | None):
        """(rows, sparse matrix): which of the nx * ny grid points (x0 + i * step, y0 + j * step) lie in
        the mesh, and their barycentric weights over the vertices."""
        from scipy import sparse

        cv2, vertices, simplices = self.cv2, self.vertices, self.simplices
        ys, xs = np.mgrid[0:ny, 0:nx].astype(np.float32)
        points = np.stack([x0 + xs.ravel() * step, y0 + ys.ravel() * step], axis=1)
        # which triangle each grid point lies in, by rasterising the triangles at their real places
        owner = np.full((ny, nx), -1, np.int32)
        corners_xy = (vertices[simplices] - (x0, y0)) / step
        for k in self.drawn:
            cv2.fillConvexPoly(owner, np.round(corners_xy[k] * 16).astype(np.int32), int(k), cv2.LINE_8, 4)
        # a point that no triangle covered (rounding along shared edges) takes a neighbour's triangle,
        # whose weights extend a little past its edge; the plain triangulation is the last resort
        for _ in range(3):
            missing = owner < 0
            if not missing.any():
                break
            for shift in ((0, 1), (0, -1), (1, 0), (-1, 0)):
                near = np.roll(owner, shift, axis=(0, 1))
                take = (owner < 0) & missing & (near >= 0)
                owner[take] = near[take]
        owner = owner.ravel()
        inside = self.plain.find_simplex(points)
        corners = simplices[np.maximum(owner, 0)]
        bary = _barycentric(vertices, corners, points)
        bad = (owner < 0) | ~np.isfinite(bary).all(axis=1) | (bary.min(axis=1) < -0.5)
        fix = np.nonzero(bad & (inside >= 0))[0]
        corners[fix] = self.plain.simplices[inside[fix]]
        bary[fix] = _barycentric(vertices, corners[fix], points[fix])
        rows = np.nonzero(~bad | (inside >= 0))[0]
        corners, bary = corners[rows], bary[rows]
        if active is not None:
            moving = active[corners].any(axis=1)
            rows, corners, bary = rows[moving], corners[moving], bary[moving]
        matrix = sparse.csr_matrix(
            (bary.ravel().astype(np.float32), corners.ravel(), np.arange(0, 3 * len(rows) + 1, 3)),
            shape=(len(rows), len(vertices)),
        )
        return rows, matrix


def _signed_area(xy: np.ndarray) -> np.ndarray:
    return np.cross(xy[:, 1] - xy[:, 0], xy[:, 2] - xy[:, 0]) / 2


def _barycentric(vertices: np.ndarray, corners: np.ndarray, points: np.ndarray) -> np.ndarray:
    """(N, 3) barycentric coordinates of `points` in the triangles `corners` (N, 3) of `vertices`;
    NaN for a flat triangle."""
    a, b, c = (vertices[corners[:, i]].astype(np.float64) for i in range(3))
    m = np.stack([a - c, b - c], axis=2)
    ok = np.abs(np.linalg.det(m)) > 1e-6
    out = np.full((len(points), 3), np.nan)
    if ok.any():
        two = np.linalg.solve(m[ok], (points[ok] - c[ok])[..., None])[..., 0]
        out[ok] = np.concatenate([two, 1 - two.sum(axis=1, keepdims=True)], axis=1)
    return out
