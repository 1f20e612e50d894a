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

from visage.backends.renderers.face_model import LOWER_INNER, LOWER_OUTER, UPPER_INNER, UPPER_OUTER, sorted_along
from visage.backends.renderers.mouth_cavity import cavity_sprites, tongue_tip
from visage.backends.renderers.mouth_lips import (DEEP_TINT, INNER_SATURATION, LIP_COLUMNS, LIP_ROWS, lip_texture,
                                                  mouth_axes, saturated)
from visage.core.arkit import INDEX
from visage.errors import require

_clip = np.core.umath.clip  # the ufunc itself: np.clip's Python wrapper costs ~20 us a call on these small arrays
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
_IVORY = np.array([236, 226, 208], np.float32)  # teeth in daylight, when the photo shows none
_TYPICAL_CHROMA = 45.0  # lip chroma (max - min of RGB) of a colour portrait; grey photos have ~0
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
    lip: np.ndarray  # the photo's lips: the corners of an opening close with it
    inner: np.ndarray  # the lips' wet inner side, redder and darker than their outside

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
            cavity=_at_least(_saturate(red_lip * 0.3, 1.4), 34.0), deep=_at_least(_saturate(red_lip * 0.09, 1.0), 21.0),
            gum=_saturate(red_lip * 0.75, 1.1), teeth=teeth, tongue=_saturate(red_lip * 0.72, 0.85),
            lip=lip.astype(np.float32), inner=_saturate(lip * 0.8, 1.2),
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
    centre, along, down, half_w = mouth_axes(upper)
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


@dataclass(frozen=True)
class MouthShape:
    """What a frame's blendshapes say about the opening, each 0..1: how far the jaw is down, how round
    the lips are (funnel, pucker), how wide (smile, stretch), how far the upper lip is lifted and the
    lower one rolled in."""

    jaw: float = 0.0
    round: float = 0.0
    wide: float = 0.0
    lift: float = 0.0
    roll: float = 0.0

    @classmethod
    def of(cls, w) -> MouthShape:
        if w is None:
            return cls()

        def mean(*names: str) -> float:
            return sum(float(w[INDEX[n]]) for n in names) / len(names)

        def unit(x: float) -> float:
            return min(max(x, 0.0), 1.0)

        return cls(jaw=unit(mean("jawOpen")), round=unit(mean("mouthFunnel") + mean("mouthPucker")),
                   wide=unit(mean("mouthSmileLeft", "mouthSmileRight") + mean("mouthStretchLeft", "mouthStretchRight")),
                   lift=unit(mean("mouthUpperUpLeft", "mouthUpperUpRight")), roll=unit(mean("mouthRollLower")))

    def bands(self) -> tuple[float, float]:
        """How much of the opening each lip's wet inner side covers, upper and lower (shares of the
        local gap): a dropping jaw rolls the lower lip out, rounded lips push both forward so more of
        their inside shows, a smile stretches them thin, a lifted upper lip shows less of its inside."""
        upper = 0.05 + 0.08 * self.round - 0.03 * self.lift - 0.02 * self.wide
        lower = 0.13 + 0.10 * self.jaw + 0.16 * self.round + 0.10 * self.roll - 0.05 * self.wide
        return max(upper, 0.02), max(lower, 0.05)

    def reach(self) -> float:
        """How far into the lips by the corners the painting reaches (share of the lower lip's
        thickness): an opening jaw stretches the skin by the corners into slivers, which the lips'
        colour covers; rounded lips close their corners themselves, and the painted lip ended there in
        a straight edge across the lower lip."""
        return 0.6 * (1.0 - 0.8 * self.round)

    def ends(self) -> tuple[float, float]:
        """Where the dark of the opening ends (share of the half width: the lips fill the corners
        beyond) and its end's superellipse exponent: round lips make a small round O, a smile a
        long slit, an open jaw a rounded oblong."""
        end = min(max(0.86 - 0.46 * self.round + 0.08 * self.wide, 0.4), 0.95)
        return end, 2.0 + 0.8 * self.jaw * (1.0 - self.round)


def _interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray) -> np.ndarray:
    return np.interp(x, xp, fp).astype(np.float32)


class MouthInterior:
    def __init__(self, landmark_pos: dict[int, int], face_height: float, palette: MouthPalette,
                 photo_teeth: TeethTexture | None = None, photo_pixel: float = 1.0,
                 rest: np.ndarray | None = None, photo: np.ndarray | None = None) -> None:
        """`photo_teeth`: the photo's own teeth (teeth_texture), laid where the upper teeth show;
        `photo_pixel`: the size of one of the original photo's pixels here, what is painted is blurred
        to match an enlarged photo; `rest`: the vertices (V, 2) at rest, for the mouth's width the
        inside is drawn for (mouth_cavity.py); `photo`: the image at rest, whose lips' colours along the
        mouth the lips' inner sides take (without it, the palette's lip colour)."""
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.soft = 0.45 * max(0.0, float(photo_pixel) - 1.0)
        # an enlarged photo is soft, and so must be what is painted into it: the grid is as much
        # coarser, and resampling it into the image softens it (and costs the square less)
        self.step = 1.0 + self.soft
        self.upper = [landmark_pos[i] for i in [78] + UPPER_INNER + [308]]
        self.lower = [landmark_pos[i] for i in [78] + LOWER_INNER + [308]]
        self.outer = [landmark_pos[i] for i in [61] + LOWER_OUTER + [291]]  # the lower lip's outside
        self.outer_up = [landmark_pos[i] for i in [61] + UPPER_OUTER + [291]]  # the upper lip's outside
        # the opening as the lips cover it: the inner lines run out to the outer corners, since as the
        # jaw drops the warp stretches the skin between the inner and outer corners into light slivers
        self.cover = ([landmark_pos[i] for i in [61] + UPPER_INNER + [291]], [landmark_pos[i] for i in [61] + LOWER_INNER + [291]])
        self.h = face_height
        self.p = palette
        half_w = mouth_axes(np.asarray(rest, np.float32)[self.upper])[3] if rest is not None else 0.12 * face_height
        # the lips' wet inner sides: their own lips, mirrored (lip_texture), more saturated and redder
        # deeper in (a lip in shadow turns a deeper red, never grey; a grey-scale photo's lips stay grey)
        grey = float(np.ptp(palette.lip)) < 1.0
        if photo is not None and rest is not None:
            self.lip_texture = lip_texture(photo, rest, landmark_pos, grey)
        else:
            self.lip_texture = np.broadcast_to(np.round(palette.lip).astype(np.uint8), (2 * LIP_ROWS, LIP_COLUMNS, 3)).copy()
        self.deep_tint = np.ones(3, np.float32) if grey else DEEP_TINT
        # saturated once here, not per frame on the grid: the same colours (the saturation is linear),
        # clamped per texel where the browser's shader clamps per pixel (a level at most, at the clip)
        strip = self.lip_texture.astype(np.float32)
        self._lip_near = saturated(strip, INNER_SATURATION[0])
        self._lip_far = saturated(strip * self.deep_tint, INNER_SATURATION[1])
        self._half_w = half_w
        self.tongue = (0.6 * palette.tongue + 0.4 * palette.lip).astype(np.float32)  # lit, out in front of the lips
        self.photo_teeth = photo_teeth  # draws the sprites
        # the two fixed colours mixed in: the wet sheen on the lips' inner sides, the lower lip's highlight
        self._colours = np.stack([np.full(3, 255.0), palette.lip + 0.7 * (255.0 - palette.lip)]).astype(np.float32)

    @property
    def photo_teeth(self) -> TeethTexture | None:
        return self._photo_teeth

    @photo_teeth.setter
    def photo_teeth(self, teeth: TeethTexture | None) -> None:
        """The photo's own teeth; setting them draws the inside again (mouth_cavity.py)."""
        self._photo_teeth = teeth
        self.sprites = cavity_sprites(self.p, self.h, self._half_w, teeth)
        self._sprites = self.sprites.images.astype(np.float32)  # cv2 resamples float faster than 8-bit

    def draw(self, image: np.ndarray, vertices: np.ndarray, tongue_out: float = 0.0, blendshapes=None) -> None:
        """Paint the mouth's inside into `image` (in place) for deformed vertex positions (V, 2) and
        the frame's blendshapes (the opening's shape).

        The work is done on a small grid in the mouth's own axes (a column per pixel across the
        mouth, a row per pixel down it), where most of what is drawn depends on the column only, then
        laid into the image with one affine resampling (premultiplied, so its edges stay clean)."""
        cv2, H = self.cv2, self.h
        upper, lower = vertices[self.upper].astype(np.float32), vertices[self.lower].astype(np.float32)
        centre, along, down, half_w = mouth_axes(upper)
        rel = upper - centre
        up_u, up_v = rel @ along, rel @ down
        rel = lower - centre
        lo_u, lo_v = rel @ along, rel @ down
        # lips pressed past each other close the mouth; they never open a hole on the other side
        lo_v = np.maximum(lo_v, _interp(lo_u, up_u, up_v))
        widest = float(np.max(lo_v[1:-1] - _interp(lo_u[1:-1], up_u, up_v)))
        if widest < 0.6:
            return
        rel = vertices[self.outer].astype(np.float32) - centre
        out_u, out_v = rel @ along, rel @ down
        rel = vertices[self.cover[0]].astype(np.float32) - centre
        cu_u, cu_v = rel @ along, rel @ down
        rel = vertices[self.cover[1]].astype(np.float32) - centre
        cl_u, cl_v = rel @ along, rel @ down
        cl_v = np.maximum(cl_v, _interp(cl_u, cu_u, cu_v))
        rel = vertices[self.outer_up].astype(np.float32) - centre
        ou_u, ou_v = rel @ along, rel @ down
        shape = MouthShape.of(blendshapes)

        # the grid: columns u across the mouth, rows v down it, both in pixels from its centre
        # the painting covers the lips' opening and a little more (see `margin` below)
        margin, outline = max(1.0, 0.004 * H), max(self.step, 0.007 * H)
        spill = int(np.ceil(margin + outline))
        u0, u1 = int(np.floor(min(cu_u[0], cl_u[0]))) - 2 - spill, int(np.ceil(max(cu_u[-1], cl_u[-1]))) + 3 + spill
        step = self.step
        u = (u0 + step * np.arange(int(np.ceil((u1 - u0) / step)))).astype(np.float32)
        top, bottom = _interp(u, up_u, up_v), _interp(u, lo_u, lo_v)
        gap = np.maximum(bottom - top, 0.0)
        lip_top, lip_bottom = _interp(u, cu_u, cu_v), _interp(u, cl_u, cl_v)  # what the painting covers
        lip_t = np.maximum(_interp(u, out_u, out_v) - lip_bottom, 1.0)  # the lower lip's thickness
        # towards the corners the painting reaches into the lips (in their own colour): the warp
        # stretches the skin by the corners into slivers there as the mouth opens
        reach_in = shape.reach() * _clip((np.abs(u) / half_w - 0.55) / 0.45, 0.0, 1.0) * min(1.0, widest / (0.02 * H))
        lip_top = lip_top - reach_in * np.maximum(lip_top - _interp(u, ou_u, ou_v), 0.0)
        lip_bottom = lip_bottom + reach_in * lip_t
        lip_top, lip_bottom = self._rounded(u, lip_top, lip_bottom, _interp(u, ou_u, ou_v), _interp(u, out_u, out_v),
                                            0.5 * (cu_u[0] + cu_u[-1]), 0.5 * (cu_u[-1] - cu_u[0]))
        cover = np.maximum(lip_bottom - lip_top, 0.0)
        v0 = int(np.floor(min(float(lip_top.min()), float(top.min())))) - 2 - spill
        v1 = int(np.ceil(float(np.max(lip_bottom + 0.7 * lip_t)))) + 3
        v = (v0 + step * np.arange(int(np.ceil((v1 - v0) / step)))).astype(np.float32)[:, None]
        s = _clip(u / half_w, -1.0, 1.0)
        a_s = np.abs(s)

        # the opening's dark part: inside the lips' wet inner sides, its ends rounded off, the
        # corners beyond them closed by the lips (a cut-out lens would end in two dark points)
        share_up, share_lo = shape.bands()
        band_up = np.minimum(share_up * gap, 0.02 * H)
        band_lo = np.minimum(share_lo * gap, 0.035 * H)
        ct, cb = top + band_up, bottom - band_lo
        mid, half = 0.5 * (ct + cb), np.maximum(0.5 * (cb - ct), 0.0)
        end, power = shape.ends()
        cap = float(half.max()) * np.maximum(1.0 - np.minimum(a_s / end, 1.0) ** power, 0.0) ** (1.0 / power)
        half = np.minimum(half, cap)
        ct, cb = np.maximum(mid - half, lip_top), np.minimum(mid + half, lip_bottom)
        mid, half = 0.5 * (ct + cb), np.maximum(0.5 * (cb - ct), 0.0)
        ct, cb = mid - half, mid + half
        local_gap = 2.0 * half
        cgap = float(local_gap.max())
        below_top, above_bottom = v - ct, cb - v  # (rows, columns)

        # the inside (mouth_cavity.py): the two rungs of the ladder around this opening, stretched
        # from the upper lip's inner side down to the lower one's
        sprites = self.sprites
        k, f = sprites.rung(cgap)
        _, sprite_rows, sprite_cols, _ = sprites.images.shape
        cols = np.empty(below_top.shape, np.float32)
        cols[:] = (s + 1.0) * (0.5 * (sprite_cols - 1))
        rows = below_top * ((sprite_rows - 1) / np.maximum(local_gap, 0.5))
        # (the rungs are mixed first, then resampled once: the same as mixing two resampled ones)
        rung = cv2.addWeighted(self._sprites[k], 1.0 - f, self._sprites[k + 1], f, 0.0)
        colour = cv2.remap(rung, cols, rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        across_lit = np.exp(-(s / 0.55) ** 2)

        # the lips' wet inner sides around it: the upper one turned away from the light, the lower one
        # facing it, with a moist sheen; where they meet in the corners, a soft dark crease
        edge = max(step, 0.004 * H)
        soft_edge = max(step, 0.009 * H)  # the lips' inner sides turn soft into the dark
        dark = _clip(np.minimum(below_top, above_bottom) * (1.0 / soft_edge) + 0.5, 0.0, 1.0)
        dark *= half > 0.25
        meet = np.where(half > 0.0, mid, 0.5 * (lip_top + lip_bottom))  # where the lips meet: the crease
        lower_side = (v >= meet).astype(np.float32)
        into_up = _clip((v - lip_top) / (np.maximum(ct, lip_top) - lip_top + 0.5), 0.0, 1.0)
        into_lo = _clip((lip_bottom - v) / (lip_bottom - np.minimum(cb, lip_bottom) + 0.5), 0.0, 1.0)
        into = into_up + (into_lo - into_up) * lower_side
        # the crease where they meet beyond the opening, fading out as the lips close towards the corner
        closed = 0.2 * (1.0 - _clip(half / edge, 0.0, 1.0)) * _clip(cover / (0.012 * H + 1.0), 0.0, 1.0)
        crease = 1.0 - closed * np.exp(-((v - meet) * (1.0 / max(0.7, 0.05 * float(gap.max())))) ** 2)
        wet = (0.2 * across_lit) * np.exp(-((into_lo - 0.35) * (1.0 / 0.18)) ** 2) * lower_side

        # and a moist highlight along the lower lip's outside, as it comes off the teeth
        shine = (0.22 * min(1.0, widest / (0.02 * H))) * np.exp(-(s / 0.5) ** 2)
        shine = shine * np.exp(-((v - (lip_bottom + 0.35 * lip_t)) / (0.14 * lip_t + 0.6)) ** 2)
        # the painted inner sides fade into the photo's lips, no drawn edge. Where the lips part, the
        # warp tears the photo between them and fills the tear with a ghost of the face at rest (its
        # inversion is one fixed-point step): skin from under the lower lip or above the upper one,
        # with pixel steps along its edge. Half transparent on the lip lines, the painting showed it as
        # light lines along the lips and notches at the corners; so it is opaque over the opening and
        # `margin` px past its edges and ends, then fades out over `outline` (where the lips meet,
        # nothing is torn, and the edge stays as it was). A tear's square corners beyond the rounded
        # opening (funnel) still show a little: covered, they made straight-sided boxes on o.
        torn = _clip(cover * (1.0 / (2.0 * margin + 1.0)), 0.0, 1.0)
        alpha = np.minimum(v - lip_top, lip_bottom - v) + margin * torn
        beyond = np.minimum(u - cu_u[0], cu_u[-1] - u) + margin
        alpha = _clip(np.minimum(alpha, beyond) * (1.0 / outline) + (np.minimum(0.5, 0.5 * cover) + 0.5 * torn), 0.0, 1.0)

        # premultiplied colour: the inside over the lips' sides over the highlight (the sheen and the
        # highlight as weights of two colours: one small matrix product)
        side = alpha * (1.0 - dark)
        # where the lips just meet (a thin gap, or beyond the dark's ends), no shadow inside: it fades
        # along the mouth, so no column ends it in a seam
        opened = 0.3 + 0.7 * _clip(gap / (0.02 * H + 2.0), 0.0, 1.0) * _clip(1.0 - (a_s - end) / 0.2, 0.0, 1.0)
        deep = into * into * opened  # the shadow gathers by the dark: the lips stay lit by their line
        # by the lip line nearly the lip's own light (0.8 drew a darker rim round a flat patch), turning
        # darker all the way in as the lip curves away from the light
        lit_side = side * (1.0 - wet) * crease * (0.9 - 0.1 * into - deep * (0.32 - 0.1 * lower_side))
        weights = np.empty(alpha.shape + (2,), np.float32)
        weights[..., 0] = 0.0
        weights[..., 1] = (1.0 - alpha) * shine + side * wet  # the sheen: the lip's own highlight colour
        rgba = np.empty(alpha.shape + (4,), np.float32)
        rgba[..., :3] = weights @ self._colours
        # the lips' sides: each lip's own strip (moved with its points), mirrored about the lip line,
        # deeper red the further in
        lip_cols = np.empty(alpha.shape, np.float32)
        lip_cols[:] = (s + 1.0) * (0.5 * (LIP_COLUMNS - 1))
        lip_rows = into * np.float32(LIP_ROWS - 1)
        lip_rows += LIP_ROWS * lower_side
        near = cv2.remap(self._lip_near, lip_cols, lip_rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lip = cv2.remap(self._lip_far, lip_cols, lip_rows, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        lip -= near
        lip *= deep[..., None]
        lip += near
        rgba[..., :3] += lip * lit_side[..., None]
        rgba[..., :3] += colour * (alpha * dark)[..., None]
        rgba[..., :3] += 0.5  # rounded when laid, as a GPU's blend rounds
        rgba[..., 3] = 1.0 - alpha - (1.0 - alpha) * shine  # what is left of the image under it
        out = float(tongue_out) * min(1.0, widest / (0.03 * H))  # a tongue needs an open mouth to come out
        if out > 0.01:  # pushed out over the lower lip, in front of everything else painted
            i = int(np.argmin(np.abs(u)))
            front = float(lip_bottom[i] + (0.15 + 0.45 * out) * lip_t[i])
            back = float(ct[i] + 0.35 * (cb[i] - ct[i]))
            tongue, cover_t = tongue_tip(self.tongue, u, v, out, half_w, front, back, max(step, 0.006 * H))
            rgba[..., :3] += (tongue + 0.5 - rgba[..., :3]) * cover_t[..., None]
            rgba[..., 3] *= 1.0 - cover_t
        self._lay(image, rgba, centre, along, down, (u0, v0), step)

    @staticmethod
    def _rounded(u, lip_top, lip_bottom, outer_top, outer_bottom, u_mid: float, a: float):
        """The painted lips' inner sides kept inside the outer lip lines and within a rounded contour:
        a superellipse from corner to corner around the opening's middle line, as tall as the opening
        at its tallest, so a square warped opening (funnel, pucker) is painted round, never a box."""
        lip_top, lip_bottom = np.maximum(lip_top, outer_top), np.minimum(lip_bottom, outer_bottom)
        middle = 0.5 * (lip_top + lip_bottom)
        b = 0.5 * float(np.max(lip_bottom - lip_top)) + 0.5
        along = _clip(np.abs(u - u_mid) / max(a, 1.0), 0.0, 1.0)
        half = b * np.maximum(1.0 - along ** 2.4, 0.0) ** (1.0 / 2.4)
        return np.maximum(lip_top, middle - half), np.minimum(lip_bottom, middle + half)

    def _lay(self, image: np.ndarray, rgba: np.ndarray, centre, along, down, origin, step: float) -> None:
        """Blend the grid's premultiplied colour over the image, through the mouth's axes (`rgba`'s
        fourth channel is what shows of the image under it: 1 off the grid)."""
        cv2 = self.cv2
        rows, cols = rgba.shape[:2]
        u0, v0 = origin
        u1, v1 = u0 + step * cols, v0 + step * rows
        corners = np.array([[u0, v0], [u1, v0], [u0, v1], [u1, v1]], np.float32)
        xy = centre + corners[:, :1] * along + corners[:, 1:] * down
        h, w = image.shape[:2]
        x0, y0 = (int(max(np.floor(xy[:, k].min()) - 1, 0)) for k in (0, 1))
        x1, y1 = int(min(np.ceil(xy[:, 0].max()) + 2, w)), int(min(np.ceil(xy[:, 1].max()) + 2, h))
        if x1 - x0 < 2 or y1 - y0 < 2:
            return
        # image pixel (x, y) reads grid column ((x - c) . along - u0) / step and row ((x - c) . down - v0) / step
        ox, oy = x0 - float(centre[0]), y0 - float(centre[1])
        m = np.array([[along[0], along[1], ox * along[0] + oy * along[1] - u0],
                      [down[0], down[1], ox * down[0] + oy * down[1] - v0]], np.float32) / step
        laid = cv2.warpAffine(rgba, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                              borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0, 1))
        roi = image[y0:y1, x0:x1].astype(np.float32)
        roi *= laid[..., 3:]
        roi += laid[..., :3]
        image[y0:y1, x0:x1] = roi.astype(np.uint8)
