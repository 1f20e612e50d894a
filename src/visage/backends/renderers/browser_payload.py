"""What a browser needs to draw the portrait renderer's face itself: the avatar, once, as JSON.

The page's WebGL renderer (server/static/facegl/) draws the same face as PortraitRenderer, so it gets
the renderer's own precomputed parts rather than the raw avatar: the photo with its mouth filled, the
mesh (rest vertices, depth, the triangles the warp uses, how much of the head's motion each vertex
follows), the per-blendshape displacement basis, the rest pose, the crease relief as one RGBA
texture, the mouth's palette and the eyes' lash colours. Everything the face model tunes is baked in
here, so retuning the Python model changes the browser's face with it; the page only sums the basis
with the frame's weights, adds the head pose and rasterises. Format "visage-face/1" is described in
the README ("Browser drawing").
"""
from __future__ import annotations

import base64
import io

import numpy as np

from visage.backends.renderers.avatar import Avatar
from visage.backends.renderers.base import DEFAULT_SIZE
from visage.backends.renderers import eyelids as eyelids_module
from visage.backends.renderers.mouth_lips import INNER_SATURATION, LIP_COLUMNS, LIP_ROWS
from visage.backends.renderers.shading import DEPTH_STEP, FOLD_DEPTH, MAX_LIGHTEN
from visage.backends.renderers.portrait import EXACT_GAP
from visage.backends.renderers.warp import STEP
from visage.core.arkit import BLENDSHAPE_NAMES
from visage.errors import InputError

FORMAT = "visage-face/1"
WEIGHT_RANGE = (-1.0, 2.0)  # barycentric weights the warp tables hold (extrapolated ones reach ~1.5)
# crease channels of the relief texture: each channel's creases share one weight per frame
_CHANNELS = {"nasolabial Right": 0, "nasolabial Left": 1, "furrow": 2, "forehead": 3}


def browser_payload(avatar: Avatar | None = None, size: int = DEFAULT_SIZE) -> dict:
    """The JSON-ready description of `avatar`'s face at `size` pixels (the default avatar for None)."""
    from visage.backends.renderers import renderer_for
    from visage.backends.renderers.portrait import PortraitRenderer

    if renderer_for(avatar) != "portrait":
        raise InputError(f"avatar {avatar.name!r} is a video avatar: the server draws it (browser drawing is "
                         "for photo avatars)")
    renderer = PortraitRenderer(avatar, size=size)
    renderer.load()
    model = renderer.model
    relief, creases = _relief(renderer)
    mouth, lids = renderer.mouth, renderer.lids
    eyes = {side: {"upper": [int(i) for i in upper], "lower": [int(i) for i in lower], "lash": _rgb(lash),
                   "lid": _rgb(lid)} for side, (upper, lower, lash, lid) in lids.eyes.items()}
    return {
        "format": FORMAT,
        "name": renderer.avatar.name,
        "size": renderer.size,
        "blendshape_names": list(BLENDSHAPE_NAMES),
        "photo": _png(renderer.image),
        "relief": _png(relief),
        "creases": creases,
        "crease_constants": {"fold_depth": FOLD_DEPTH, "max_lighten": MAX_LIGHTEN, "step": DEPTH_STEP},
        "vertices": [round(float(v), 3) for v in renderer.vertices.ravel()],
        "triangles": [int(i) for i in renderer.warp.triangles.ravel()],
        "warp": _warp_tables(renderer.warp, renderer),
        "follow": [round(float(v), 4) for v in renderer.follow[:, 0]],
        "basis": _floats(model.basis),
        "rest": _floats(model.rest),
        "close_lips": _floats(model.close_lips),
        "gaze_basis": _floats(model.gaze_basis),
        "pivot": [float(v) for v in renderer.pivot],
        "metres": float(renderer.metres),
        "mouth": _mouth_tables(mouth),
        "eyes": eyes,
        "lids": _lid_tables(lids),
    }


def _mouth_tables(mouth) -> dict:
    """The mouth painter's geometry (its lip lines, as vertex indices), colours, the lips' own strips
    (mouth_lips.py lip_texture) and the inside's ladder of sprites (mouth_cavity.py: one RGB atlas, rung
    under rung), for facegl's MOUTH_FS. Strips and sprites are the very 8-bit pixels Python resamples."""
    sprites = mouth.sprites
    levels, rows, columns, _ = sprites.images.shape
    ints = lambda ids: [int(i) for i in ids]  # noqa: E731
    return {"upper": ints(mouth.upper), "lower": ints(mouth.lower), "outer_lo": ints(mouth.outer),
            "outer_up": ints(mouth.outer_up), "cover_up": ints(mouth.cover[0]), "cover_lo": ints(mouth.cover[1]),
            "face_height": float(mouth.h), "step": float(mouth.step),
            "palette": {"lip": _rgb(mouth.p.lip)},
            "highlight": _rgb(mouth._colours[1]), "tongue": _rgb(mouth.tongue),
            "lip_texture": {"image": _png(mouth.lip_texture), "rows": LIP_ROWS, "columns": LIP_COLUMNS},
            "inner_saturation": [float(a) for a in INNER_SATURATION], "deep_tint": _rgb(mouth.deep_tint),
            "sprites": {"image": _png(sprites.images.reshape(levels * rows, columns, 3)), "levels": int(levels),
                        "rows": int(rows), "columns": int(columns), "gaps": _rgb(sprites.gaps)}}


def _lid_tables(lids) -> dict:
    """The eyelid painter's settings, for facegl/eyelids.js (its port)."""
    names = ("lid_band", "overshoot", "lash_skip", "lash_darken", "lid_skin", "tone_in", "texture", "detail",
             "ball", "round", "lit_middle", "crease", "crease_at", "crease_width", "margin_shade", "lash_thick",
             "lash_photo")
    constants = {name: float(getattr(eyelids_module, f"_{name.upper()}")) for name in names}
    constants["band"] = constants.pop("lid_band")
    constants["light"] = [float(c) for c in eyelids_module._LIGHT]
    return {"warped": float(lids.warped), "face_height": float(lids.h), "photo_pixel": float(lids.photo_pixel),
            "wide_half": float(lids.wide_half), "constants": constants}


def _warp_tables(warp, renderer) -> dict:
    """The warp's sparse barycentric tables (warp.py): for each grid point the mesh moves, its three
    vertices and weights, on the coarse grid and in the mouth's full-resolution box. The page evaluates
    the same field and the same one-step inversion, so folds (the closed lips) and the slivers by the
    lip corners come out as they do in Python."""

    def table(rows, matrix) -> dict:
        weights = matrix.data.reshape(-1, 3)
        if np.any(np.diff(matrix.indptr) != 3) or matrix.shape[1] > 65535:
            raise ValueError("the browser warp needs three vertices a row and at most 65535 vertices")
        if weights.size and (weights.min() < WEIGHT_RANGE[0] or weights.max() > WEIGHT_RANGE[1]):
            raise ValueError("a warp weight lies outside the range the browser tables hold")
        # rows as runs of consecutive grid points; two weights of three (they sum to 1), 16 bits each
        starts = np.flatnonzero(np.diff(rows, prepend=-2) != 1)
        runs = np.stack([rows[starts], np.diff(np.append(starts, len(rows)))], axis=1)
        span = WEIGHT_RANGE[1] - WEIGHT_RANGE[0]
        quantised = np.round((weights[:, :2] - WEIGHT_RANGE[0]) / span * 65535)
        return {"runs": _typed(runs, "<u4"), "corners": _typed(matrix.indices, "<u2"),
                "weights": _typed(quantised, "<u2"), "weight_range": list(WEIGHT_RANGE)}

    out = {"step": STEP, "n": warp.n, "coarse": table(warp.rows, warp.weights)}
    if warp.fine is not None:
        x0, y0, x1, y1, rows, weights, _ = warp.fine
        out["fine"] = {"box": [int(x0), int(y0), int(x1), int(y1)], **table(rows, weights)}
        # the exact map's inputs (warp.py `_exact`, portrait.py `exact_share`): the triangles in their
        # drawing order, the rest places, the edge's feather, the inner lip lines and the full gap
        out["fine"]["exact"] = {
            "triangles": _typed(warp.fine_triangles.ravel(), "<u2"), "rest": _floats(warp.rest),
            "feather": float(warp.feather), "rows": int(warp.exact_rows), "upper": [int(i) for i in renderer._upper_inner],
            "lower": [int(i) for i in renderer._lower_inner],
            "gap": float(EXACT_GAP * renderer.model.g.height)}
    return out


def _relief(renderer) -> tuple[np.ndarray, list[dict]]:
    """The creases' relief, summed per channel into one RGBA image (value 128 is no relief; 127.5 per
    unit), and each channel's weight recipe (blendshapes and gains, the photo's own offset)."""
    size = renderer.size
    relief = np.zeros((size, size, 4), np.float32)
    recipes: dict[int, dict] = {}
    for crease in renderer.shading.creases:
        key = crease.name if crease.name.startswith("nasolabial") else crease.name.split()[0]
        channel = _CHANNELS[key]
        y0, y1, x0, x1 = crease.box
        relief[y0:y1, x0:x1, channel] += crease.relief[..., 0]
        recipes.setdefault(channel, {"channel": channel, "shapes": [[s, float(g)] for s, g in crease.shapes],
                                     "offset": round(float(crease.offset), 5)})
    encoded = np.clip(np.round(relief * 127.5 + 128.0), 0, 255).astype(np.uint8)
    return encoded, [recipes[c] for c in sorted(recipes)]


def _rgb(colour) -> list[float]:
    return [round(float(c), 3) for c in colour]


def _floats(array: np.ndarray) -> str:
    """Little-endian float32, base64: the page reads it with one Float32Array."""
    return _typed(array, "<f4")


def _typed(array: np.ndarray, dtype: str) -> str:
    return base64.b64encode(np.ascontiguousarray(array, dtype).tobytes()).decode()


def _png(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(image)).save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
