"""The mouth box's exact map drawn as an owner image and a table (`ExactMap.map`) must be the map
drawn as colours (`ExactMap.map_reference`, the first way), bit for bit: over speech shapes and head
turns, with the map faded in part way, and when the owner image of the frame before is reused
(corners unchanged to a sixteenth of a pixel) or must be redrawn."""
import numpy as np
import pytest

from visage.backends.renderers import create_renderer
from visage.backends.renderers.portrait import head_displacement
from visage.core.arkit import weights
from visage.core.types import Gaze, HeadPose

POSES = [
    ({}, HeadPose()),
    ({"jawOpen": 1.0, "mouthFunnel": 0.6}, HeadPose(yaw=10, pitch=-4)),
    ({"jawOpen": 0.4, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8}, HeadPose(roll=7)),
    ({"mouthPucker": 1.0, "mouthRollLower": 0.7}, HeadPose(yaw=-14, pitch=8, x=0.01)),
    ({"jawOpen": 0.7, "mouthStretchLeft": 0.5, "mouthLowerDownRight": 0.7}, HeadPose(pitch=10, y=-0.01)),
    ({"mouthSmileLeft": 1.0, "mouthPressLeft": 1.0, "mouthClose": 0.6}, HeadPose()),  # lips pressed: folds
]


def _displacement(r, shape, head):
    w = weights(shape)
    d = r.model.displace(w, Gaze())
    moved = r.vertices.copy()
    moved[:, :2] += d
    return (d + r.follow * head_displacement(moved, r.pivot, head, r.metres)).astype(np.float32)


def _stepped(exact_map, seed):
    """A stand-in for the fixed-point map the exact one fades into: any smooth-ish values do."""
    gx, gy = exact_map.pixels
    noise = np.random.default_rng(seed).normal(0, 0.7, gx.shape + (2,)).astype(np.float32)
    return np.stack([gx + 100, gy + 200], -1) + noise


def _same(a, b):
    (ma, ca), (mb, cb) = a, b
    assert np.array_equal(ca, cb)
    assert ca.any()  # the triangles covered the box: the comparison is not of two empty maps
    assert np.array_equal(ma[ca].view(np.uint32), mb[cb].view(np.uint32))  # bit for bit


@pytest.mark.parametrize("size", [256, 512, 1024])
def test_owner_image_map_is_the_colour_drawn_map(default_avatar, size):
    r = create_renderer("portrait", avatar=default_avatar, size=size)
    r.load()
    exact = r.warp.exact_map
    for k, (shape, head) in enumerate(POSES):
        d = _displacement(r, shape, head)
        stepped = _stepped(exact, k)
        for share in (1.0, 0.37):
            _same(exact.map(d, stepped, share), exact.map_reference(d, stepped, share))


def test_reused_owner_image_follows_sub_pixel_motion(default_avatar):
    r = create_renderer("portrait", avatar=default_avatar, size=512)
    r.load()
    exact = r.warp.exact_map
    d = _displacement(r, {"jawOpen": 0.5}, HeadPose(yaw=3))
    stepped = _stepped(exact, 0)
    exact.map(d, stepped, 1.0)
    drawn = exact._drawn
    # a nudge that moves no corner by a sixteenth of a pixel: the owner image is kept, the maps follow
    corners = exact._affine(d)[1]
    nudged = next(n for n in (d + np.float32(e) for e in (1e-4, 5e-5, 2e-5, 1e-5, -1e-5, -1e-4))
                  if np.array_equal(exact._affine(n)[1], corners))
    fast = exact.map(nudged, stepped, 1.0)
    assert exact._drawn is drawn
    _same(fast, exact.map_reference(nudged, stepped, 1.0))
    assert not np.array_equal(fast[0], exact.map(d, stepped, 1.0)[0])
    # a real move redraws it, and back again
    for pose in ({"jawOpen": 1.0}, {"jawOpen": 0.5}):
        moved = _displacement(r, pose, HeadPose(yaw=3))
        fast = exact.map(moved, stepped, 1.0)
        assert exact._drawn is not drawn
        _same(fast, exact.map_reference(moved, stepped, 1.0))
