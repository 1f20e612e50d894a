"""The lid painter alone (eyelids.py), on a flat grey skin with the default portrait's eye landmarks at
1024 px: with no photo texture in the way, what the painter adds is what is measured. A closed lid is
round (lit where the eyeball bulges, darker down into the lashes), has a crease, and its lash line
fades out inside the painted box instead of being cut by it."""
from __future__ import annotations

import numpy as np
import pytest

from visage.backends.renderers.eyelids import EyeLids
from visage.backends.renderers.face_model import EYE_CORNERS, EYE_LOWER, EYE_UPPER, MESH_LANDMARKS

SIZE = 1024
GREY = 170
LUMA = np.array([0.299, 0.587, 0.114])


@pytest.fixture(scope="module")
def flat_eyes(default_avatar):
    """A flat grey image, the mesh's rest vertices at 1024 px, and a painter made for them."""
    landmarks = default_avatar.landmarks.astype(np.float32) * (SIZE / default_avatar.image.shape[0])
    ids = list(MESH_LANDMARKS)
    vertices = landmarks[ids]
    pos = {i: k for k, i in enumerate(ids)}
    image = np.full((SIZE, SIZE, 3), GREY, np.uint8)
    height = float(np.linalg.norm(landmarks[10, :2] - landmarks[152, :2]))
    lids = EyeLids(pos, image, vertices, height, warped_blink=0.0, skin_rgb=(GREY,) * 3)
    # a flat photo has no lashes to take the colour from: give them a dark one, so the lash line shows
    lids.eyes = {side: (up, low, np.full(3, 40.0, np.float32), lid) for side, (up, low, _, lid) in lids.eyes.items()}
    return image, vertices, pos, lids


def closed(flat_eyes, side: str) -> tuple[np.ndarray, np.ndarray, float]:
    """The luminance change a full blink paints on one eye, the eye's middle column (x) and the
    image rows of its upper and lower lid there."""
    image, vertices, pos, lids = flat_eyes
    out = image.copy()
    lids.draw(out, vertices[:, :2], {side: 1.0})
    change = (out.astype(np.float32) - image) @ LUMA
    first, last = (vertices[pos[i], :2] for i in EYE_CORNERS[side])
    x = int(round(0.5 * (first[0] + last[0])))
    upper = min(vertices[pos[i], 1] for i in EYE_UPPER[side])
    lower = max(vertices[pos[i], 1] for i in EYE_LOWER[side])
    return change, np.array([x]), float(upper), float(lower)


@pytest.mark.parametrize("side", ["L", "R"])
def test_a_closed_lid_has_a_crease_above_the_eyeball(flat_eyes, side):
    """Down the middle of the closed lid the painted light first dips (the crease, a dark arc), rises
    over the eyeball's lit top and falls again as the ball turns down into the lash line: three turns,
    where a flat lid has none."""
    change, x, upper, lower = closed(flat_eyes, side)
    column = change[:, x[0] - 2 : x[0] + 3].mean(axis=1)
    rows = np.arange(int(upper) - 30, int(lower) - 4)  # the band above the lid down to above the lashes
    profile = column[rows]
    top = int(0.7 * len(profile))
    low = int(np.argmin(profile[:top]))  # the crease, above the lower part of the lid
    assert 0 < low < top - 1, profile.round(1)
    assert profile[low:].max() - profile[low] >= 6.0, profile.round(1)  # the ball's light below it
    assert profile[: low + 1].max() - profile[low] >= 2.0, profile.round(1)  # lighter skin above it
    peak = low + int(np.argmax(profile[low:]))
    assert profile[peak] - profile[-1] >= 6.0, profile.round(1)  # darker down towards the lashes


@pytest.mark.parametrize("side", ["L", "R"])
def test_the_lash_line_fades_out_inside_the_painted_box(flat_eyes, side):
    """At 1024 px the lash line and the lashes mirrored under it reach further than a few pixels
    below the lower lid: the painted change must die out before the box ends, not stop at a straight
    edge (the lowest changed row changes little)."""
    change, x, upper, lower = closed(flat_eyes, side)
    rows = np.nonzero(np.abs(change).max(axis=1) > 0.5)[0]
    assert len(rows)
    assert np.abs(change[rows[-1]]).max() <= 3.0, (rows[-1], np.abs(change[rows[-1]]).max())


def test_a_turned_away_eye_takes_the_near_eye_s_colours():
    """scikit-image's cameraman is turned 53 degrees: his far eye lies by the face's edge, where the
    band under it is the bright sky behind him. Its closed lid is toned like the near eye's lid, not
    like the sky (it was a light patch brighter than his cheek)."""
    from skimage import data

    from visage.backends.renderers import create_renderer
    from visage.backends.renderers.analysis import analyse_portrait

    renderer = create_renderer("portrait", avatar=analyse_portrait(data.camera(), "turned")[0], size=512)
    renderer.load()
    eyes = renderer.lids.eyes
    skin = float(np.mean(renderer.avatar.info["skin_rgb"]))
    near, far = ("R", "L") if renderer.lids.wide_half == _half(renderer, "R") else ("L", "R")
    assert _half(renderer, far) < 0.7 * _half(renderer, near)
    assert np.array_equal(eyes[far][3], eyes[near][3]) and np.array_equal(eyes[far][2], eyes[near][2])
    assert float(eyes[far][3].mean()) <= skin


def _half(renderer, side: str) -> float:
    first, last = (renderer.vertices[renderer.model.pos[i], :2] for i in EYE_CORNERS[side])
    return 0.5 * float(np.linalg.norm(last - first))
