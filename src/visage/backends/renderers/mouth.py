"""The inside of the mouth: what shows between the lips when they part.

A warp can only move the photo's lips; the cavity, teeth and tongue behind them must be drawn, and
they are drawn only inside the inner lip contour, so the lips themselves stay the photo's. Every
colour comes from the face (MouthPalette): the cavity is the lips' colour in shadow, warm and never
black; the teeth are the photo's own when it shows them. Everything is shaded the way a mouth lit
from the front is: the upper lip shades the teeth under it, the row of teeth curves back so it is lit
in the middle and dark at the sides, the corners fade into the lips. Coordinates are the mouth's: the
opening's top and bottom at each place along the mouth (in the mouth's own axes, so a tilted head
gets the same mouth), and the place across the mouth s in [-1, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.backends.renderers.face_model import LOWER_INNER, UPPER_INNER, sorted_along
from visage.errors import require

_SUB = 4  # sub-pixel bits for cv2's anti-aliased polygons
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_IVORY = np.array([236, 226, 208], np.float32)  # teeth in daylight, when the photo shows none
_TYPICAL_CHROMA = 45.0  # lip chroma (max - min of RGB) of a colour portrait; grey photos have ~0
# Tooth boundaries along the arch, as angles (radians) from the midline: central incisors, laterals,
# canines, premolars (widths about 8.5, 6.5, 7.5 and 7 mm on a ~25 mm radius arch); the row turns away
# from the camera, so seen from the front the teeth narrow towards the sides.
_TOOTH_EDGES = np.array([0.0, 0.34, 0.60, 0.88, 1.12], np.float32)
_ARCH_SPAN = 1.25  # angle at the mouth corners
MOUTH_POINTS = (61, 291, 0, 17)  # lip corners, top and bottom of the outer lip line (face-mesh indices)


def mouth_box(landmarks: np.ndarray, side: float) -> tuple[float, float, float, float]:
    """Where the mouth is in a portrait of `side` pixels, as fractions of its width and height
    (x0, y0, x1, y1), padded to hold the lips' motion: a client samples that region to see when the
    lips move (the page's A/V offset measurement)."""
    points = np.asarray(landmarks)[list(MOUTH_POINTS), :2] / float(side)
    (x0, y0), (x1, y1) = points.min(axis=0), points.max(axis=0)
    pad_x, pad_y = 0.15 * (x1 - x0), 0.6 * (y1 - y0)
    box = (max(0.0, x0 - pad_x), max(0.0, y0 - pad_y), min(1.0, x1 + pad_x), min(1.0, y1 + pad_y))
    return tuple(round(float(v), 4) for v in box)


def _saturate(colour: np.ndarray, amount: float) -> np.ndarray:
    luma = float(colour @ _LUMA)
    return np.clip(luma + (colour - luma) * amount, 0, 255).astype(np.float32)


def _at_least(colour: np.ndarray, luma: float) -> np.ndarray:
    """The colour scaled up to a brightness of at least `luma`: the back of a mouth is dark, but a
    mouth lit from the front is never black."""
    return np.clip(colour * max(1.0, luma / max(1.0, float(colour @ _LUMA))), 0, 255).astype(np.float32)


@dataclass(frozen=True)
class MouthPalette:
    """The mouth's colours (float32 RGB), all derived from the face's own skin, lips and teeth."""

    cavity: np.ndarray  # just behind the lips
    deep: np.ndarray  # the back of the mouth and the corners
    gum: np.ndarray
    teeth: np.ndarray
    tongue: np.ndarray

    @classmethod
    def from_face(cls, skin_rgb, lip_rgb, teeth_rgb=None) -> MouthPalette:
        skin = np.asarray(skin_rgb, np.float32)
        lip = np.asarray(lip_rgb, np.float32)
        chroma = max(float(np.ptp(skin)), float(np.ptp(lip)))
        colour = float(np.clip(chroma / _TYPICAL_CHROMA, 0.0, 1.0))  # 0 for a grey-scale photo
        exposure = float(np.clip((skin @ _LUMA) / 190.0, 0.45, 1.1))
        if teeth_rgb is not None:
            teeth = np.asarray(teeth_rgb, np.float32)
        else:  # ivory, in the photo's exposure and colour cast (the skin carries both)
            teeth = _IVORY * exposure * 0.75 + skin * 0.3
        red_lip = _saturate(lip, 1.3)
        palette = dict(
            cavity=_at_least(_saturate(red_lip * 0.3, 1.4), 34.0), deep=_at_least(_saturate(red_lip * 0.14, 1.4), 25.0),
            gum=_saturate(red_lip * 0.75, 1.1), teeth=teeth, tongue=_saturate(red_lip * 0.72, 0.85),
        )
        return cls(**{k: _saturate(v, colour) for k, v in palette.items()})


@dataclass(frozen=True)
class TeethTexture:
    """The photo's own teeth, resampled into the mouth's axes once per avatar: `rgb` (rows, columns, 3)
    and `valid` (rows, columns), row r lying r * `step` pixels below the upper inner lip, column c at
    place s = -1 + 2c / (columns - 1) across the mouth."""

    rgb: np.ndarray
    valid: np.ndarray
    step: float


def teeth_texture(image: np.ndarray, landmarks: np.ndarray, rows: int = 24, columns: int = 96) -> TeethTexture | None:
    """The teeth a photo shows between its lips (call before the opening is filled), or None when
    its lips are closed."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    upper = landmarks[[78] + UPPER_INNER + [308], :2].astype(np.float32)
    lower = landmarks[[78] + LOWER_INNER + [308], :2].astype(np.float32)
    centre, along, down, half_w = _mouth_axes(upper)
    up_u, up_v = sorted_along((upper - centre) @ along, (upper - centre) @ down)
    lo_u, lo_v = sorted_along((lower - centre) @ along, (lower - centre) @ down)
    s = np.linspace(-1.0, 1.0, columns, dtype=np.float32)[None, :] * half_w
    top, bottom = np.interp(s, up_u, up_v), np.interp(s, lo_u, lo_v)
    gap = float((bottom - top).max())
    if gap < 2.0:
        return None
    step = gap / (rows - 1)
    d = np.arange(rows, dtype=np.float32)[:, None] * step
    xy_x = (centre[0] + s * along[0] + (top + d) * down[0]).astype(np.float32)
    xy_y = (centre[1] + s * along[1] + (top + d) * down[1]).astype(np.float32)
    rgb = cv2.remap(np.ascontiguousarray(image), xy_x, xy_y, cv2.INTER_LINEAR,
                    borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
    valid = ((top + d) < bottom - 0.5 * step).astype(np.float32)
    return TeethTexture(rgb, valid, step)


def _mouth_axes(upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The mouth's own axes from its inner lip line, corner to corner: centre, unit axis along it, unit
    axis down, half width (so a tilted head gets the same mouth)."""
    centre = 0.5 * (upper[0] + upper[-1])
    along = upper[-1] - upper[0]
    half_w = max(1.0, 0.5 * float(np.linalg.norm(along)))
    along = along / (2 * half_w)
    return centre, along, np.array([-along[1], along[0]], np.float32), half_w


class MouthInterior:
    def __init__(self, landmark_pos: dict[int, int], face_height: float, palette: MouthPalette,
                 photo_teeth: TeethTexture | None = None, photo_pixel: float = 1.0) -> None:
        """`photo_teeth`: the photo's own teeth (teeth_texture), laid where the upper teeth show;
        `photo_pixel`: the size of one of the original photo's pixels here, what is painted is blurred
        to match an enlarged photo."""
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.photo_teeth = photo_teeth
        self.soft = 0.45 * max(0.0, float(photo_pixel) - 1.0)
        self.upper = [landmark_pos[i] for i in [78] + UPPER_INNER + [308]]
        self.lower = [landmark_pos[i] for i in [78] + LOWER_INNER + [308]]
        self.h = face_height
        self.p = palette

    def draw(self, image: np.ndarray, vertices: np.ndarray, tongue_out: float = 0.0) -> None:
        """Paint the mouth's inside into `image` (in place) for deformed vertex positions (V, 2)."""
        cv2, p, H = self.cv2, self.p, self.h
        upper, lower = vertices[self.upper].astype(np.float32), vertices[self.lower].astype(np.float32)
        # the mouth's own axes (corner to corner, and down), so a tilted head gets the same mouth
        centre, along, down, half_w = _mouth_axes(upper)
        up_u, up_v = (upper - centre) @ along, (upper - centre) @ down
        lo_u, lo_v = (lower - centre) @ along, (lower - centre) @ down
        # lips pressed past each other close the mouth; they never open a hole on the other side
        lo_v = np.maximum(lo_v, np.interp(lo_u, up_u, up_v))
        lower = centre + np.outer(lo_u, along) + np.outer(lo_v, down)
        gap = float(np.max(lo_v[1:-1] - np.interp(lo_u[1:-1], up_u, up_v)))
        if gap < 0.6:
            return
        outline = np.concatenate([upper, lower[::-1][1:-1]])
        x0, y0 = np.floor(outline.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 3
        h, w = image.shape[:2]
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 < 3 or y1 - y0 < 2:
            return
        roi_w, roi_h = x1 - x0, y1 - y0
        origin = np.array([x0, y0], np.float32)
        mask = np.zeros((roi_h, roi_w), np.uint8)
        cv2.fillPoly(mask, [np.round((outline - origin) * (1 << _SUB)).astype(np.int32)], 255, cv2.LINE_AA, _SUB)

        gx = np.arange(roi_w, dtype=np.float32)[None, :] + (x0 - centre[0])
        gy = np.arange(roi_h, dtype=np.float32)[:, None] + (y0 - centre[1])
        across, depth = gx * along[0] + gy * along[1], gx * down[0] + gy * down[1]  # per pixel, mouth axes
        top = np.interp(across, up_u, up_v).astype(np.float32)
        bottom = np.interp(across, lo_u, lo_v).astype(np.float32)
        local_gap = np.maximum(bottom - top, 0.0)
        s = np.clip(across / half_w, -1.0, 1.0)
        below_top, above_bottom = depth - top, bottom - depth

        # the cavity: lips' colour in shadow, darker towards the corners and the back
        back = np.clip(0.35 + 0.65 * np.abs(s) ** 1.5, 0, 1) * np.clip(1.0 - above_bottom / (local_gap + 1), 0.3, 1)
        colour = p.cavity + (p.deep - p.cavity) * back[..., None]

        # the tongue: a dome resting on the floor of the mouth, its top lit, its back and sides in shadow
        tongue_h = min(0.5 * gap, 0.06 * H) * (1.0 + tongue_out)
        if tongue_h > 0.8:
            dome = tongue_h * np.clip(1.0 - (s / 0.78) ** 2, 0.0, 1.0) ** 0.8  # higher in the middle
            into = above_bottom - 0.1 * tongue_h  # the lower lid hides its base
            inside = np.clip((dome - into) / max(1.5, 0.25 * tongue_h), 0.0, 1.0)  # a soft top edge
            height = np.clip(into / (dome + 1e-3), 0.0, 1.0)  # 0 at the front, 1 at the far edge
            shade = (0.6 + 0.4 * np.sin(np.pi * np.clip(0.2 + 0.6 * height, 0, 1))) * (1.0 - 0.45 * (s / 0.78) ** 2)
            shade = shade * (1.0 - 0.35 * height ** 3) * (1.0 - 0.05 * np.exp(-(s / 0.04) ** 2))
            colour = colour + (p.tongue * shade[..., None] - colour) * inside[..., None]

        # upper teeth: a curved row hanging from behind the upper lip, which covers their roots and the
        # gum but when it rises; seen from the front only the front six catch the light, the rest turn
        # into the dark of the cheeks. Each tooth is rounded (lit across its middle, shaded at its sides),
        # the seams between them dark, the biting edge scalloped and a little translucent.
        width_px = 2 * half_w
        length = np.minimum(0.36 * local_gap, 0.11 * width_px) * (1.0 - 0.5 * s ** 2)
        theta = np.arcsin(s * np.sin(_ARCH_SPAN))  # where on the arch each column looks
        edge_px = (np.sin(_TOOTH_EDGES) / np.sin(_ARCH_SPAN))[:, None] * half_w  # boundaries, px from the middle
        reach = np.abs(across)
        dx = np.abs(reach - edge_px[0, None])
        for e in edge_px[1:, None]:
            dx = np.minimum(dx, np.abs(reach - e))
        seam = np.exp(-(dx / max(0.5, 0.002 * H)) ** 2)
        edges = edge_px[:, 0]  # the width of the tooth each column is in
        tooth_w = np.maximum(np.interp(reach, 0.5 * (edges[1:] + edges[:-1]), np.diff(edges)), 1.0)
        rounded = 0.82 + 0.18 * np.sin(0.5 * np.pi * np.clip(2.0 * dx / tooth_w, 0.0, 1.0))  # 1 mid-tooth
        tip = length * (1.0 - 0.2 * seam)  # rounded tooth corners: a scalloped biting edge
        gum_h = np.clip(0.1 * local_gap - 0.008 * H, 0.0, 0.015 * H) * (1.0 + 0.8 * seam)
        sides = np.clip((0.85 - np.abs(s)) / 0.3, 0.0, 1.0)
        teeth_a = np.clip((tip - below_top) + 0.5, 0, 1) * sides
        gum_a = np.clip((gum_h - below_top) + 0.5, 0, 1)
        lit = np.exp(-(s / 0.55) ** 2) * (0.35 + 0.65 * np.clip(below_top / (0.45 * length + 1), 0, 1)) * rounded
        lit = 1.05 * lit * (1.0 - 0.25 * seam) * (1.0 - 0.25 * np.abs(theta))
        edge_zone = np.clip((below_top - 0.75 * tip) / (0.25 * tip + 1e-3), 0.0, 1.0)  # the translucent edge
        teeth = p.teeth * lit[..., None]
        if self.photo_teeth is not None:  # the photo's own teeth where it showed them, shaded the same way
            t = self.photo_teeth
            cols = ((s + 1.0) * 0.5 * (t.rgb.shape[1] - 1)).astype(np.float32)
            rows = (np.maximum(below_top, 0.0) / t.step).astype(np.float32)
            own = cv2.remap(t.rgb, cols, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            ok = cv2.remap(t.valid, cols, rows, cv2.INTER_LINEAR, borderValue=0.0, borderMode=cv2.BORDER_CONSTANT)
            side_lit = (np.exp(-(s / 0.55) ** 2) * (0.55 + 0.45 * np.clip(below_top / (0.45 * length + 1), 0, 1)))[..., None]
            teeth = teeth + (own * (0.45 + 0.55 * side_lit) - teeth) * (0.9 * ok)[..., None]
        teeth = teeth + (colour - teeth) * (0.3 * edge_zone)[..., None]
        teeth = teeth + (p.gum * (0.7 + 0.3 * (1 - s ** 2))[..., None] - teeth) * gum_a[..., None]
        colour = colour + (teeth - colour) * teeth_a[..., None]

        # lower teeth: behind the lower lip, only the edges of the front few when the jaw is well down
        low = np.clip(0.08 * local_gap - 0.012 * H, 0.0, 0.012 * H) * np.clip(1.0 - (s / 0.45) ** 2, 0, 1) * (1.0 - 0.3 * seam)
        low_a = np.clip(low - above_bottom + 0.5, 0, 1) * (low > 0.3)
        colour = colour + (p.teeth * 0.55 * (1.0 - 0.8 * s ** 2)[..., None] * rounded[..., None] - colour) * low_a[..., None]

        # soft occlusion: the lips shade what is just behind them, the upper one more (light from above)
        sigma = max(1.0, 0.012 * H)
        occlusion = 1.0 - 0.45 * np.exp(-np.maximum(below_top, 0) / sigma) - 0.25 * np.exp(-np.maximum(above_bottom, 0) / sigma)
        colour = colour * occlusion[..., None]

        # the corners fade into the lips instead of ending in a hard dark sliver
        soft = 2 * int(max(1, round(0.003 * H))) + 1  # the lips' wet inner edge, not a cut
        alpha = cv2.GaussianBlur(mask, (soft, soft), 0).astype(np.float32) / 255.0
        alpha = alpha * np.clip((1.0 - np.abs(s)) / 0.12, 0.0, 1.0) ** 0.7
        if self.soft > 0.4:  # an enlarged photo is soft: so is what is painted into it
            colour = cv2.GaussianBlur(colour.astype(np.float32), (0, 0), sigmaX=self.soft)
        roi = image[y0:y1, x0:x1].astype(np.float32)
        image[y0:y1, x0:x1] = (roi + (colour - roi) * alpha[..., None]).astype(np.uint8)
