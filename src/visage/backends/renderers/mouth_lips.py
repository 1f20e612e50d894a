"""The lips' wet inner sides, cut from the photo's own lips: what the mouth painter (mouth.py) lays
between the lip line and the dark as the lips part, and what the browser face samples (browser_payload).

A painted band of one colour a column read as lipstick; the photo's lips mirrored about the lip line
carry their own colour, lines and highlights into the opening. The strips are 8-bit, made once per
avatar, so both renderers sample the very same pixels.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers.face_model import LOWER_INNER, LOWER_OUTER, UPPER_INNER, UPPER_OUTER, sorted_along
from visage.errors import require

_clip = np.core.umath.clip  # the ufunc itself: np.clip's Python wrapper costs ~20 us a call on small arrays
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)


def mouth_axes(upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The mouth's own axes from its inner lip line, corner to corner: centre, unit axis along it, unit
    axis down, half width (so a tilted head gets the same mouth)."""
    centre = 0.5 * (upper[0] + upper[-1])
    along = upper[-1] - upper[0]
    half_w = max(1.0, 0.5 * float(np.linalg.norm(along)))
    along = along / (2 * half_w)
    return centre, along, np.array([-along[1], along[0]], np.float32), half_w



LIP_ROWS, LIP_COLUMNS = 5, 64  # each lip's strip in lip_texture
LIP_DEPTH = (0.1, 0.6)  # the shares of a lip's thickness, from its inner line out, that its strip spans
LIP_DETAIL = 0.12  # how far the texture strays from each column's median colour, either way
LIP_SPAN = 0.85  # the share of the mouth's half-width the strip's texture spans


def lip_texture(photo: np.ndarray, rest: np.ndarray, pos: dict[int, int], grey: bool = False) -> np.ndarray:
    """The photo's lips as strips for their wet inner sides, (2 * LIP_ROWS, LIP_COLUMNS, 3) uint8: the
    upper lip's rows, then the lower one's. A lip's row r lies LIP_DEPTH[0] + r / (LIP_ROWS - 1) *
    (LIP_DEPTH[1] - LIP_DEPTH[0]) of its thickness out from its inner line, column c at place
    s = -1 + 2c / (LIP_COLUMNS - 1) across the mouth (beyond LIP_SPAN, where the lips thin out into
    the corners' skin and shadow, the texture of LIP_SPAN is repeated).

    Laid mirrored about the lip line (the strip's first row by the line, its last by the dark), the
    inner side continues the lip's own colour and texture, its lines and highlights, instead of a flat
    band of one colour. Each column's colour is the lip's own by its inner line (_lip_colours), and
    the texture the strip's variation around its median, within LIP_DETAIL: a slit's shadow by the lip
    line or a highlight would otherwise be mirrored into the opening as a dark or light band. 8-bit, so
    the browser face samples the very same pixels (browser_payload)."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    soft = cv2.GaussianBlur(np.ascontiguousarray(photo), (0, 0), sigmaX=0.7)
    rest = np.asarray(rest, np.float32)
    centre, along, down, half_w = mouth_axes(rest[[pos[i] for i in [78] + UPPER_INNER + [308]]])
    s = (np.clip(np.linspace(-1.0, 1.0, LIP_COLUMNS, dtype=np.float32), -LIP_SPAN, LIP_SPAN) * half_w)[None, :]
    depth = np.linspace(*LIP_DEPTH, LIP_ROWS, dtype=np.float32)[:, None]
    colours = _lip_colours(photo, rest, pos)
    strips = []
    for k, (inner, outer) in enumerate((([78] + UPPER_INNER + [308], [61] + UPPER_OUTER + [291]),
                                        ([78] + LOWER_INNER + [308], [61] + LOWER_OUTER + [291]))):
        a, b = rest[[pos[i] for i in inner]] - centre, rest[[pos[i] for i in outer]] - centre
        a_u, a_v = sorted_along(a @ along, a @ down)
        b_v = np.interp(s, *sorted_along(b @ along, b @ down)).astype(np.float32)
        line = np.interp(s, a_u, a_v).astype(np.float32)
        v = line + depth * (b_v - line)
        x, y = (centre[c] + s * along[c] + v * down[c] for c in (0, 1))
        strip = cv2.remap(soft, x.astype(np.float32), y.astype(np.float32), cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE).astype(np.float32)
        order = np.argsort(a @ along)
        colour = np.stack([np.interp(s[0], (a @ along)[order], colours[k][order, c]) for c in range(3)], axis=1)
        median = np.maximum(np.median(strip, axis=0), 1.0)
        strips.append(colour * _clip(strip / median, 1.0 - LIP_DETAIL, 1.0 + LIP_DETAIL))
    texture = np.concatenate(strips)
    if grey:  # a grey-scale photo's lips stay grey
        texture = np.repeat((texture @ _LUMA)[..., None], 3, axis=2)
    return np.clip(np.round(texture), 0, 255).astype(np.uint8)


def _lip_colours(photo: np.ndarray, rest: np.ndarray, pos: dict[int, int]) -> np.ndarray:
    """The photo's lips' colours along the mouth, (2, 11, 3) float32: upper and lower lip, at the
    places of the inner lip line's points (corner, 9 points, corner), taken 20-50 % of the way from
    the inner to the outer lip line and blurred."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    soft = cv2.GaussianBlur(photo, (0, 0), sigmaX=2.0).astype(np.float32)
    out = np.empty((2, 11, 3), np.float32)
    for k, (inner, outer) in enumerate((([78] + UPPER_INNER + [308], [61] + UPPER_OUTER + [291]),
                                        ([78] + LOWER_INNER + [308], [61] + LOWER_OUTER + [291]))):
        a, b = rest[[pos[i] for i in inner]].copy(), rest[[pos[i] for i in outer]].copy()
        a[[0, -1]], b[[0, -1]] = a[[1, -2]], b[[1, -2]]  # the corners themselves are skin or shadow
        samples = []
        for share in (0.2, 0.35, 0.5):  # across the lip, the median: a highlight or a dark gap is left out
            xy = (a + share * (b - a)).astype(np.float32)
            samples.append(cv2.remap(soft, xy[None, :, 0], xy[None, :, 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)[0])
        # each lip's own colour by its inner line, smoothed along the mouth (no blotches): mixed with
        # the palette, or pulled towards the two lips' mean brightness, a dark upper lip's inner side
        # came out lighter than the lip and a pale lower lip's darker, an edge along each lip
        colour = np.median(samples, axis=0)
        colour = 0.25 * np.roll(colour, 1, 0) + 0.5 * colour + 0.25 * np.roll(colour, -1, 0)
        colour[[0, -1]] = colour[[1, -2]]  # the roll wraps round at the corners
        out[k] = colour
    return out


# the lips' inner sides' saturation by the lip line and where they meet the dark: a little more than
# the lip's (its wet, thinner skin), never a painted red (1.2 and 1.75 on a flat band read as lipstick)
INNER_SATURATION = (1.22, 1.5)
DEEP_TINT = np.array([1.0, 0.86, 0.88], np.float32)  # deeper in, the wet lip is redder (blood under thin skin)


def saturated(colours: np.ndarray, amount: float) -> np.ndarray:
    """_saturate of every colour in (..., 3) `colours`, in one go (clamped as the browser's shader does)."""
    luma = colours @ _LUMA
    out = colours * np.float32(amount)
    out += ((1.0 - amount) * luma)[..., None]
    return _clip(out, 0.0, 255.0, out=out)
