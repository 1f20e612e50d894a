"""Closing eyelids: the part of a blink the warp cannot do.

The warp brings the upper lid half way down (FaceMotionModel.warped_blink; not at all behind glasses,
whose frame would bend); squeezing the eye flatter than that cannot be inverted cleanly, and the
squeezed white and iris would still show. So the rest of the closing is painted, in the eye's own axes
(corner to corner, and across), so a tilted or turned head closes its eyes the same way: the band of
lid skin above the lid's edge (the photo's own lid, above its lashes) is stretched across the eye down
to where the lid should be, toned towards the colour of the photo's own lid skin, shaded as a lid is
(the eyeball under it catches the light in the middle, the corners and the lid's margin are darker),
and the lash line is drawn where the lids meet in the photo's own lash colour. Only the eye's small box
is touched, so the cost is a few thousand pixels per eye.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.face_model import EYE_CORNERS, EYE_LOWER, EYE_UPPER, sorted_along
from visage.errors import require

_OVERSHOOT = 1.08  # a full blink brings the lid slightly past the lower lid's edge, so nothing shows
_LID_BAND = 0.45  # height of the lid skin that is stretched, in half eye widths
_LASH_SKIP = 0.45  # share of the band just above the lid's edge that holds the lashes (not stretched)
_LID_SKIN = 0.9  # how far a closed lid takes the lid's tone (the stretched band is streaky and shadowed)
_TO_SKIN = 0.45
_LID_LIGHT = 0.93  # a closed lid is at least this light, relative to the cheeks
_TONE_IN = 0.3  # share of the lid over which its tone goes from the skin above it to its own
_TEXTURE = 0.8  # share of the under-eye skin's texture laid on the closed lid
_DETAIL = 0.3  # share of the band's fine texture kept on the closed lid
# the eyeball under a closed lid: the lid wraps a sphere (radius _BALL half eye widths, about the
# opening's middle), lit from the camera a little above, so its middle is lit and it darkens towards
# the corners and down into the lash line, by _ROUND of the sphere's shading (Lambert, n . l)
_BALL = 1.2
_ROUND = 0.25
_LIGHT = np.array([0.0, -0.35, 1.0], np.float32) / np.float32(np.hypot(0.35, 1.0))
_LIT_MIDDLE = 0.92  # the light at which the lid keeps its sampled tone: the ball's lit top is lighter
_CREASE = 0.12  # the lid's crease (supratarsal fold): a soft dark arc, with a fold's light edge below it
_CREASE_AT = 0.28  # its place, as a share of the closed lid from the band's top to the lid's edge
_CREASE_WIDTH = 0.0045  # its half width, in face heights
_MARGIN_SHADE = 0.22  # the lid's margin above the lashes turns under, into shadow
_LASH_DARKEN = 0.75
_LASH_THICK = 0.008  # the lash line's half thickness, in face heights (the middle; thinner to the corners)
_LASH_PHOTO = 0.8  # ... and at least this many of the photo's own pixels (an enlarged photo's lashes are broad)
_FORESHORTENED = 0.7  # an eye narrower than this share of the other is turned away (its colours are the other's)
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


class EyeLids:
    def __init__(self, landmark_pos: dict[int, int], image: np.ndarray, vertices: np.ndarray, face_height: float,
                 warped_blink: float = 0.5, skin_rgb=(200, 160, 140), photo_pixel: float = 1.0) -> None:
        """`vertices` are the rest positions (pixels of `image`) of the mesh, indexed by `landmark_pos`;
        `warped_blink` the share of a blink the warp does (0 behind glasses: the frame stays rigid).
        `photo_pixel` is the size of one of the original photo's pixels here (above 1 for an enlarged
        face): what is painted is blurred to match. The lashes' and the lid skin's colours are read
        from the photo here, once per avatar."""
        self.cv2 = require("cv2", "portrait renderer", "portrait")
        self.h = face_height
        self.warped = warped_blink
        self.photo_pixel = float(photo_pixel)
        self.soft = 0.45 * max(0.0, float(photo_pixel) - 1.0)  # sigma of the photo's own blur, about
        skin = np.asarray(skin_rgb, np.float32)
        # the eye facing the camera more: its width is the eyeball's (a turned eye is foreshortened)
        self.wide_half = max(0.5 * float(np.linalg.norm(vertices[landmark_pos[a], :2] - vertices[landmark_pos[z], :2]))
                             for a, z in EYE_CORNERS.values())
        self.eyes = {}
        for side in "LR":
            first, last = EYE_CORNERS[side]
            upper = [landmark_pos[i] for i in [first] + EYE_UPPER[side] + [last]]
            lower = [landmark_pos[i] for i in [first] + EYE_LOWER[side] + [last]]
            up, lo = vertices[upper, :2], vertices[lower, :2]
            lash, lid = self._photo_colours(image, up, lo)
            # the lid's skin: the photo's, pulled towards the face's skin (a band in shadow under a brow
            # or behind a lens is darker than a closed lid, which faces the light as a cheek does)
            lid = (1.0 - _TO_SKIN) * lid + _TO_SKIN * skin
            lid *= max(1.0, _LID_LIGHT * float(skin @ _LUMA) / max(1.0, float(lid @ _LUMA)))
            self.eyes[side] = (upper, lower, lash, lid)
        # a foreshortened eye (a head turned well away) lies by the face's edge: the bands its colours
        # are read from run off the face, into hair or background, so it takes the other eye's
        halves = {side: 0.5 * float(np.linalg.norm(vertices[self.eyes[side][0][-1], :2] - vertices[self.eyes[side][0][0], :2]))
                  for side in "LR"}
        for side, other in (("L", "R"), ("R", "L")):
            if halves[side] < _FORESHORTENED * halves[other]:
                self.eyes[side] = self.eyes[side][:2] + self.eyes[other][2:]

    def _photo_colours(self, image: np.ndarray, upper: np.ndarray, lower: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The lashes' colour (the darkest fifth of the pixels along the upper lid's edge) and the lid
        skin's (the median of the band above the lashes, over the middle of the eye)."""
        centre, along, down = _axes(upper)
        half = 0.5 * float(np.linalg.norm(upper[-1] - upper[0]))
        up_u, up_v = sorted_along((upper - centre) @ along, (upper - centre) @ down)
        u = np.linspace(-0.9 * half, 0.9 * half, 24)
        band = _LID_BAND * half

        def sample(offsets, span):
            uu = np.repeat(u[None, :] * span, len(offsets), 0)
            vv = np.interp(uu, up_u, up_v) + np.asarray(offsets, np.float32)[:, None]
            xy = centre + uu.reshape(-1, 1) * along + vv.reshape(-1, 1) * down
            px = np.clip(np.round(xy).astype(int), 0, np.array(image.shape[1::-1]) - 1)
            return image[px[:, 1], px[:, 0]].astype(np.float32)

        edge = sample((-1.0, 0.0, 1.0), 1.0)
        luma = edge @ _LUMA
        lash = edge[luma <= np.percentile(luma, 20)].mean(axis=0)
        lid = np.median(sample(np.linspace(-band, -_LASH_SKIP * band, 4), 0.6), axis=0)
        # under the lower lid: lit as a closed lid is (both face forward); the band above the lashes
        # is often in the brow's shadow, and on some faces the brow itself
        lo_u, lo_v = sorted_along((lower - centre) @ along, (lower - centre) @ down)
        uu = np.repeat(u[None, :] * 0.6, 4, 0)
        vv = np.interp(uu, lo_u, lo_v) + np.linspace(0.3 * band, 0.7 * band, 4)[:, None]
        xy = centre + uu.reshape(-1, 1) * along + vv.reshape(-1, 1) * down
        px = np.clip(np.round(xy).astype(int), 0, np.array(image.shape[1::-1]) - 1)
        under = np.median(image[px[:, 1], px[:, 0]].astype(np.float32), axis=0)
        return lash, (0.5 * lid + 0.5 * under).astype(np.float32)

    def draw(self, image: np.ndarray, vertices: np.ndarray, blink: dict[str, float]) -> None:
        """Close the lids over the eyes in `image` (in place) for deformed vertices and blink weights."""
        for side, (upper_ids, lower_ids, lash, lid) in self.eyes.items():
            b = float(blink.get(side, 0.0))
            if b > 0.05:
                self._close(image, vertices[upper_ids], vertices[lower_ids], b, lash, lid)

    def _close(self, image, upper, lower, b, lash, lid) -> None:
        cv2 = self.cv2
        # where the lid edge should be, as a share of the eye's current opening (the warp did warped * b)
        reach = min(_OVERSHOOT * b, _OVERSHOOT)
        share = max(0.0, (reach - self.warped * b) / max(1e-3, 1.0 - self.warped * b))
        if share <= 0.0:
            return
        centre, along, down = _axes(upper)
        up_u, up_v = sorted_along((upper - centre) @ along, (upper - centre) @ down)
        lo_u, lo_v = sorted_along((lower - centre) @ along, (lower - centre) @ down)
        u0, u1 = float(up_u[0]), float(up_u[-1])
        half = 0.5 * (u1 - u0)
        if half < 1.5:
            return
        band = _LID_BAND * half
        # the eye's box in its own axes, then in the image
        # below the lower lid, room for the lash line and the lashes mirrored under it (a box cut
        # short shows as a straight edge under the lashes at 1024 px)
        lash_room = max(2.5, 2.0 * self._lash_half(), 1.2 * _LASH_SKIP * band)
        v_top, v_bottom = float(up_v.min()) - band - 1.5, float(max(lo_v.max(), up_v.max())) + lash_room
        corners = centre + np.array([[u0 - 2, v_top], [u1 + 2, v_top], [u0 - 2, v_bottom], [u1 + 2, v_bottom]]) @ np.stack([along, down])
        h, w = image.shape[:2]
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int) + 1, (w, h))
        if x1 - x0 < 3 or y1 - y0 < 3:
            return
        gx = np.arange(x0, x1, dtype=np.float32)[None, :] - centre[0]
        gy = np.arange(y0, y1, dtype=np.float32)[:, None] - centre[1]
        u = gx * along[0] + gy * along[1]
        v = gx * down[0] + gy * down[1]
        top = np.interp(u, up_u, up_v).astype(np.float32)
        bottom = np.maximum(np.interp(u, lo_u, lo_v).astype(np.float32), top)
        edge = top + share * (bottom - top) + (share >= 1.0) * 0.8  # the lid's new edge
        start = top - band
        # rows from `start` to `edge` show the lid band (start .. above the lashes) stretched; the
        # lashes would smear into dark streaks, so they are drawn again at the new edge
        skin_end = top - _LASH_SKIP * band
        stretch = (skin_end - start) / np.maximum(edge - start, 1e-3)
        inside = (v >= start) & (v <= edge)
        src_v = np.where(inside, start + (v - start) * stretch, v)
        # beyond the corners the lid folds into the skin: no change a pixel past them
        fade = np.clip(np.minimum(u - u0, u1 - u) / 1.5 + 1.0, 0.0, 1.0)
        src_v = v + (src_v - v) * fade
        map_x = (centre[0] + u * along[0] + src_v * down[0] - x0).astype(np.float32)
        map_y = (centre[1] + u * along[1] + src_v * down[1] - y0).astype(np.float32)
        roi = image[y0:y1, x0:x1]
        moved = cv2.remap(roi, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        # a closed lid is smooth skin in one tone: the stretched band keeps its fine texture (its creases
        # and pores, softened) but its tone, often the shadow under a brow, becomes the lid's; both ramp
        # in from the band's top so the lid meets the brow without a seam
        sigma = max(0.5, 0.004 * self.h)  # stretched columns would show as streaks: smoothed along the eye
        fine = cv2.GaussianBlur(moved, (0, 0), sigmaX=2.5 * sigma, sigmaY=0.5 * sigma)
        broad = cv2.GaussianBlur(moved, (0, 0), sigmaX=max(1.0, 0.3 * band))
        # the skin where the band starts, per place along the eye (blurred along it): the closed lid's
        # tone starts there, so it meets the brow's skin without a seam
        start_x = (centre[0] + u * along[0] + (start - 0.5) * down[0] - x0).astype(np.float32)
        start_y = (centre[1] + u * along[1] + (start - 0.5) * down[1] - y0).astype(np.float32)
        above = cv2.remap(roi, start_x, start_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        above = cv2.GaussianBlur(above, (0, 0), sigmaX=max(1.0, 0.15 * half), sigmaY=0.1).astype(np.float32)
        depth = np.clip((v - start) / np.maximum(edge - start, 1e-3), 0.0, 1.0)  # 0 at the band's top, 1 at the edge
        across = np.clip(u / half, -1.0, 1.0)
        # shading: the eyeball under the lid (lit in the middle, darker to the corners and the lashes),
        # the lid's margin rolling under above the lashes, and its crease
        margin = _MARGIN_SHADE * np.exp(-((edge - v) / max(1.0, 0.18 * band)) ** 2)
        light = (self._roundness(u, v, up_u, up_v, lo_u, lo_v, half, b) - margin - self._crease(v, start, edge, across)) * min(1.0, share)
        # the tone runs from the skin the band starts at (no seam under the brow) to the lid's own
        k = (_LID_SKIN * _smooth(depth / _TONE_IN))[..., None]
        tone = (above + (lid - above) * k) * (1.0 + light)[..., None]
        # the skin's texture (pores, fine lines) from under the lower lid, mirrored up onto the lid: a
        # stretched band has none left, and a lid without it reads as a painted patch
        tex_v = bottom + 0.15 * band + np.clip(bottom - v, 0.0, None) * 0.7
        tex_x = (centre[0] + u * along[0] + tex_v * down[0] - x0).astype(np.float32)
        tex_y = (centre[1] + u * along[1] + tex_v * down[1] - y0).astype(np.float32)
        tex = cv2.remap(image, tex_x + x0, tex_y + y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        tex = tex - cv2.GaussianBlur(tex, (0, 0), sigmaX=max(1.0, 0.2 * band))
        closed = tone + _DETAIL * (fine - broad) + _TEXTURE * tex
        ramp = _smooth(depth / 0.3)[..., None]
        moved = moved + (closed - moved) * ramp
        alpha = np.clip(edge + 0.7 - v, 0.0, 1.0) * np.clip(v - start + 1.0, 0.0, 1.0) * fade
        roi = roi.astype(np.float32)
        out = roi * (1 - alpha[..., None]) + moved * alpha[..., None]
        # the lashes: the photo's own (the strip just above the lid's edge, which the warp brought down
        # with the lid) moved to the new edge and mirrored below it, as a closed eye's lashes point down,
        # where they darken the lid; over them a soft line in their colour holds the lids' meeting
        thick = self._lash_half() * (0.45 + 0.55 * np.sqrt(np.clip(1.0 - across ** 2, 0.0, 1.0)))
        reach_v = _LASH_SKIP * band
        off = v - edge
        strip_v = top - 0.5 - np.abs(off)
        strip_x = (centre[0] + u * along[0] + strip_v * down[0] - x0).astype(np.float32)
        strip_y = (centre[1] + u * along[1] + strip_v * down[1] - y0).astype(np.float32)
        strip = cv2.remap(image, strip_x + x0, strip_y + y0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        darker = np.clip(((out - strip) @ _LUMA) / 30.0, 0.0, 1.0)
        near = np.exp(-(off / max(1.0, 0.6 * reach_v)) ** 2) * (off > -reach_v) * fade * min(1.0, 1.5 * share)
        out = out + (strip - out) * (darker * near)[..., None]
        lash_a = _LASH_DARKEN * min(1.0, 1.5 * share) * fade * np.exp(-((off + 0.4 * thick) / thick) ** 2)
        out = out + (lash - out) * lash_a[..., None]
        if self.soft > 0.4:  # a soft photo's lid is as soft as the rest of it: no crisp painted lines
            painted = np.clip(np.maximum(alpha, lash_a) * 2.0, 0.0, 1.0)
            painted = cv2.GaussianBlur(painted, (0, 0), sigmaX=self.soft)[..., None]
            out = roi + (cv2.GaussianBlur(out, (0, 0), sigmaX=self.soft) - roi) * painted
        image[y0:y1, x0:x1] = np.clip(out, 0, 255).astype(np.uint8)

    def _lash_half(self) -> float:
        """The lash line's half thickness in the middle of the eye, in pixels: a share of the face's
        height (so it scales with the resolution), never under a pixel nor finer than the photo's own."""
        return max(1.0, _LASH_THICK * self.h, _LASH_PHOTO * self.photo_pixel)

    def _roundness(self, u, v, up_u, up_v, lo_u, lo_v, half, b):
        """The closed lid's light from the eyeball it wraps, relative to its lit middle: a sphere
        about the open eye's middle, as wide as the eye across and as tall as an eye facing the camera
        (a turned eye is narrower, not shorter), shaded by Lambert's n . l."""
        t0, b0 = float(np.interp(0.0, up_u, up_v)), float(np.interp(0.0, lo_u, lo_v))
        opening = max(0.0, b0 - t0) / max(1e-3, 1.0 - self.warped * b)  # the open eye's, at its middle
        centre = b0 - 0.5 * opening
        ru, rv = _BALL * half, _BALL * max(half, self.wide_half)
        nx, ny = u / ru, (v - centre) / rv
        nz = np.sqrt(np.clip(1.0 - nx * nx - ny * ny, 0.0025, 1.0))
        lit = np.clip(nx * _LIGHT[0] + ny * _LIGHT[1] + nz * _LIGHT[2], 0.0, None)
        return _ROUND * (lit - _LIT_MIDDLE)

    def _crease(self, v, start, edge, across):
        """The lid's crease: a soft dark arc along the lid, a share of the way down from the band's
        top, with the light edge of the fold just below it; both fade into the eye's corners."""
        width = max(0.7, _CREASE_WIDTH * self.h)
        at = start + _CREASE_AT * (edge - start)
        off = (v - at) / width
        corners = np.sqrt(np.clip(1.0 - across ** 2, 0.0, 1.0))
        return _CREASE * corners * (np.exp(-off ** 2) - 0.35 * np.exp(-((off - 2.0) / 1.5) ** 2))


def _axes(upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The eye's centre (between its corners), its unit axis from the first corner to the last and
    the unit axis across it pointing down the face (image y grows downwards)."""
    centre = 0.5 * (upper[0] + upper[-1])
    along = (upper[-1] - upper[0]).astype(np.float32)
    along /= max(1e-6, float(np.linalg.norm(along)))
    down = np.array([-along[1], along[0]], np.float32)
    if down[1] < 0:
        down = -down
    return centre.astype(np.float32), along, down


def _smooth(x: np.ndarray) -> np.ndarray:
    """Smoothstep: 0 below 0, 1 above 1, with no kink at either end."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)
