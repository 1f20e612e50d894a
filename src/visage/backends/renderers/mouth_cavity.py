"""The inside of the open mouth, drawn once per avatar: cavity, tongue and teeth as sprites.

What shows behind the lips (mouth.py paints it) depends on the frame only through the opening's
shape, so it is rendered at load for a ladder of openings, in the opening's own normalised
coordinates: column = place s in [-1, 1] across the mouth, row = share t in [0, 1] of the way from the
upper lip's inner side down to the lower one's. A frame picks the two rungs around its opening and
stretches them into its own outline, which costs a few remaps instead of a hundred array operations
per frame (the renderer's budget at 512 px is ~6.7 ms for everything). The sprites are 8-bit, so the
browser face (browser_payload.py) gets the very same pixels as a texture.

Everything is shaded the way a mouth lit from the front is: the cavity is the lips' colour in shadow,
warm and never black; the upper lip shades the teeth under it; the row of teeth curves back, lit in the
middle and dark at the sides; the photo's own teeth are used where it shows them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.errors import require

_clip = np.core.umath.clip  # the ufunc itself: np.clip's Python wrapper costs ~20 us a call
# Tooth boundaries along the arch, as angles (radians) from the midline: central incisors, laterals,
# canines, premolars (widths about 8.5, 6.5, 7.5 and 7 mm on a ~25 mm radius arch); the row turns away
# from the camera, so seen from the front the teeth narrow towards the sides.
_TOOTH_EDGES = np.array([0.0, 0.34, 0.60, 0.88, 1.12], np.float32)
_ARCH_SPAN = 1.25  # angle at the mouth corners
LEVELS = 10  # rungs of the ladder of openings
SMALLEST = 3.0  # px: the narrowest rung's opening (below it the sprite is all shadow anyway)
WIDEST = 0.42  # of the face's height: the widest rung's opening


@dataclass(frozen=True)
class CavitySprites:
    """`images` (LEVELS, rows, columns, 3) uint8: the inside at each rung, whose opening in the middle
    of the mouth is `gaps` (LEVELS,) pixels."""

    images: np.ndarray
    gaps: np.ndarray

    def rung(self, gap: float) -> tuple[int, float]:
        """The rung just below an opening of `gap` pixels and how far towards the next one it is."""
        x = float(np.interp(np.log(max(gap, 1e-3)), np.log(self.gaps), np.arange(len(self.gaps))))
        k = min(int(x), len(self.gaps) - 2)
        return k, x - k


def profile(s: np.ndarray) -> np.ndarray:
    """The opening's height along the mouth, as a share of its middle: the rungs' outline."""
    return np.sqrt(np.maximum(1.0 - s * s, 0.0))


def cavity_sprites(palette, face_height: float, half_width: float, photo_teeth=None) -> CavitySprites:
    """The ladder of insides for a mouth `half_width` pixels wide (corner to middle) in a face
    `face_height` pixels high, coloured from `palette` (mouth.MouthPalette)."""
    H = float(face_height)
    gaps = SMALLEST * (WIDEST * H / SMALLEST) ** (np.arange(LEVELS) / (LEVELS - 1))
    columns = int(np.clip(round(2 * half_width), 48, 256))
    rows = int(np.clip(round(gaps[-1]), 16, 192))
    images = np.stack([_inside(palette, H, half_width, float(g), photo_teeth, rows, columns) for g in gaps])
    return CavitySprites(images, gaps.astype(np.float32))


def _inside(p, H: float, half_w: float, gap: float, photo_teeth, rows: int, columns: int) -> np.ndarray:
    """One rung: the inside for an opening `gap` pixels high in the middle, (rows, columns, 3) uint8."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    s = np.linspace(-1.0, 1.0, columns, dtype=np.float32)
    a_s = np.abs(s)
    local_gap = (gap * profile(s)).astype(np.float32)
    t = np.linspace(0.0, 1.0, rows, dtype=np.float32)[:, None]
    below_top = t * local_gap  # (rows, columns), px below the upper lip's inner side
    above_bottom = local_gap - below_top

    # the cavity: lips' colour in shadow, darker towards the corners and the back, and darkest in the
    # middle of a wide opening, where the throat lies beyond the teeth and no light reaches (the darkest
    # 2 % of carphone's real open mouths: luma 18-21; of an open a here: 28-38 before, 20-21 with it)
    back = _clip(0.35 + 0.65 * a_s ** 1.5, 0.0, 1.0) * _clip(1.0 - above_bottom / (local_gap + 1.0), 0.3, 1.0)
    throat = _clip(np.minimum(below_top, above_bottom) / (0.22 * local_gap + 1.0), 0.0, 1.0)
    back = np.maximum(back, throat * _clip(gap / (0.05 * H), 0.0, 1.0))
    colour = p.cavity + (p.deep - p.cavity) * back[..., None]

    # the tongue: a dome resting on the floor of the mouth, its top lit, its back and sides in shadow
    tongue_h = min(0.5 * gap, 0.06 * H)
    if tongue_h > 0.8:
        s8 = (s / 0.78) ** 2
        dome = tongue_h * _clip(1.0 - s8, 0.0, 1.0) ** 0.8  # higher in the middle
        into = above_bottom - 0.1 * tongue_h  # the lower lip hides its base
        inside = _clip((dome - into) / max(1.5, 0.25 * tongue_h), 0.0, 1.0)  # a soft top edge
        height = _clip(into / (dome + 1e-3), 0.0, 1.0)  # 0 at the front, 1 at the far edge
        shade = (0.6 + 0.4 * np.sin(np.pi * _clip(0.2 + 0.6 * height, 0.0, 1.0))) * (1.0 - 0.45 * s8)
        shade *= (1.0 - 0.35 * height ** 3) * (1.0 - 0.05 * np.exp(-(s / 0.04) ** 2))
        colour += (p.tongue * shade[..., None] - colour) * inside[..., None]

    # upper teeth: a curved row hanging from behind the upper lip, which covers their roots and the
    # gum but when it rises; seen from the front only the front six catch the light, the rest turn
    # into the dark of the cheeks. Each tooth is rounded (lit across its middle, shaded at its sides),
    # the seams between them dark, the biting edge scalloped and a little translucent.
    length = np.minimum(0.36 * local_gap, 0.22 * half_w) * (1.0 - 0.5 * s ** 2)
    theta = np.arcsin(s * np.sin(_ARCH_SPAN))  # where on the arch each column looks
    edges = (np.sin(_TOOTH_EDGES) / np.sin(_ARCH_SPAN)) * half_w  # boundaries, px from the middle
    reach = a_s * half_w
    dx = np.min(np.abs(reach[None, :] - edges[:, None]), axis=0)
    seam = np.exp(-(dx / max(0.5, 0.002 * H)) ** 2)
    tooth_w = np.maximum(np.interp(reach, 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)), 1.0)
    rounded = 0.82 + 0.18 * np.sin(0.5 * np.pi * _clip(2.0 * dx / tooth_w, 0.0, 1.0))  # 1 mid-tooth
    tip = length * (1.0 - 0.2 * seam)  # rounded tooth corners: a scalloped biting edge
    gum_h = _clip(0.1 * local_gap - 0.008 * H, 0.0, 0.015 * H) * (1.0 + 0.8 * seam)
    sides = _clip((0.85 - a_s) / 0.3, 0.0, 1.0)
    teeth_a = _clip((tip - below_top) + 0.5, 0.0, 1.0) * sides
    gum_a = _clip((gum_h - below_top) + 0.5, 0.0, 1.0)
    down_teeth = _clip(below_top / (0.45 * length + 1.0), 0.0, 1.0)
    across_lit = np.exp(-(s / 0.55) ** 2)
    lit = (1.05 * across_lit * rounded * (1.0 - 0.25 * seam) * (1.0 - 0.25 * np.abs(theta))) * (0.35 + 0.65 * down_teeth)
    edge_zone = _clip((below_top - 0.75 * tip) / (0.25 * tip + 1e-3), 0.0, 1.0)  # the translucent edge
    teeth = p.teeth * lit[..., None]
    if photo_teeth is not None:  # the photo's own teeth where it showed them, shaded the same way
        own_cols = np.ascontiguousarray(np.broadcast_to(((s + 1.0) * 0.5 * (photo_teeth.rgb.shape[1] - 1)), below_top.shape), np.float32)
        own_rows = (below_top / photo_teeth.step).astype(np.float32)
        own = cv2.remap(photo_teeth.rgb, own_cols, own_rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        ok = cv2.remap(photo_teeth.valid, own_cols, own_rows, cv2.INTER_LINEAR, borderValue=0.0, borderMode=cv2.BORDER_CONSTANT)
        side_lit = across_lit * (0.55 + 0.45 * down_teeth)
        teeth += (own * (0.45 + 0.55 * side_lit)[..., None] - teeth) * (0.9 * ok)[..., None]
    teeth += (colour - teeth) * (0.3 * edge_zone)[..., None]
    teeth += (p.gum * (0.7 + 0.3 * (1.0 - s ** 2))[:, None] - teeth) * gum_a[..., None]
    colour += (teeth - colour) * teeth_a[..., None]

    # lower teeth: behind the lower lip, only the edges of the front few when the jaw is well down
    low = _clip(0.08 * local_gap - 0.012 * H, 0.0, 0.012 * H) * _clip(1.0 - (s / 0.45) ** 2, 0.0, 1.0) * (1.0 - 0.3 * seam)
    low_a = _clip(low - above_bottom + 0.5, 0.0, 1.0) * (low > 0.3)
    colour += (p.teeth * (0.55 * (1.0 - 0.8 * s ** 2) * rounded)[:, None] - colour) * low_a[..., None]

    # soft occlusion: the lips shade what is just behind them, the upper one more (light from above)
    sigma = max(1.0, 0.012 * H)
    colour *= (1.0 - 0.45 * np.exp(-below_top / sigma) - 0.25 * np.exp(-above_bottom / sigma))[..., None]
    return np.clip(np.round(colour), 0, 255).astype(np.uint8)


def tongue_tip(tongue_rgb: np.ndarray, u: np.ndarray, v: np.ndarray, out: float, half_w: float,
               front: float, back: float, edge: float) -> tuple[np.ndarray, np.ndarray]:
    """The tongue pushed out between the lips (ARKit tongueOut = `out`, 0..1), on the painter's grid
    (columns `u` (C,), rows `v` (R, 1), px in the mouth's axes): its colour (R, C, 3) and cover (R, C).

    It comes forward from the dark, `back` px down the mouth's middle, to its tip at `front` (over the
    lower lip): straight sides ending in a rounded tip a little narrower than the mouth, lit across its
    top and darker at its sides, with a shallow groove down its middle (the median sulcus), turning
    dark back in the mouth where the upper lip and teeth shade it. Drawn here and not in the sprites:
    the sprites' tongue lies on the floor of the mouth, this one lies over the lower lip."""
    a = half_w * (0.3 + 0.12 * out)  # half its width
    length = max(front - back, 1.0)
    tip = max(min(1.2 * a, length), 1.0)  # the rounded tip's length
    y = np.maximum(v - (front - tip), 0.0) / tip
    width = a * np.sqrt(np.maximum(1.0 - y * y, 0.0))  # (R, 1)
    cover = _clip((width - np.abs(u)) / edge + 0.5, 0.0, 1.0) * _clip((front - v) / edge + 0.5, 0.0, 1.0)
    cover = cover * _clip((v - back) / (0.3 * length + edge), 0.0, 1.0)  # out of the dark, no edge there
    across = _clip(np.abs(u) / a, 0.0, 1.0)
    shade = (0.72 + 0.28 * np.cos(0.5 * np.pi * across)) * (1.0 - 0.15 * np.exp(-(u / (0.08 * a + 0.5)) ** 2))
    depth = _clip((front - v) / length, 0.0, 1.0)  # 0 at the tip, 1 where it goes back into the dark
    shade = shade * (1.0 - 0.6 * depth ** 1.5) * (1.0 - 0.25 * y ** 4)  # and its tip's underside turns away
    colour = np.asarray(tongue_rgb, np.float32) * (1.25 * shade)[..., None]  # lit in front of the lips
    return colour.astype(np.float32), (cover * min(1.0, 3.0 * out)).astype(np.float32)
