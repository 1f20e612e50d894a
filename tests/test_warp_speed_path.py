"""The mesh warp's fast path (cv2 arithmetic into a kept buffer, the remap writing the output
directly) must give the very pixels of the plain numpy path (`MeshWarp.warp_reference`), for
frames that move everything the warp handles: speech shapes, blinks, the open jaw's fine box and
head turns, at several sizes."""
import numpy as np
import pytest

from visage.backends.renderers import create_renderer
from visage.backends.renderers.portrait import head_displacement
from visage.core.arkit import weights
from visage.core.types import Gaze, HeadPose

POSES = [
    ({}, HeadPose()),
    ({"jawOpen": 1.0, "mouthFunnel": 0.6}, HeadPose(yaw=10, pitch=-4)),
    ({"jawOpen": 0.4, "mouthSmileLeft": 0.8, "mouthSmileRight": 0.8, "eyeBlinkLeft": 1.0}, HeadPose(roll=7)),
    ({"mouthPucker": 1.0, "browInnerUp": 0.9, "eyeBlinkRight": 0.6}, HeadPose(yaw=-14, pitch=8, x=0.01)),
    ({"jawOpen": 0.7, "mouthStretchLeft": 0.5, "mouthLowerDownRight": 0.7}, HeadPose(pitch=10, y=-0.01)),
]


@pytest.mark.parametrize("size", [256, 384, 512])
def test_fast_warp_gives_the_same_pixels_as_the_plain_one(default_avatar, size):
    r = create_renderer("portrait", avatar=default_avatar, size=size)
    r.load()
    moved_any = False
    for shape, head in POSES:
        w = weights(shape)
        d = r.model.displace(w, Gaze())
        moved = r.vertices.copy()
        moved[:, :2] += d
        d = d + r.follow * head_displacement(moved, r.pivot, head, r.metres)
        image = r.shading.apply(w)
        fast = r.warp.warp(image, d)
        plain = r.warp.warp_reference(image, d)
        assert fast.shape == plain.shape and fast.dtype == plain.dtype
        assert int(np.abs(fast.astype(int) - plain).max()) == 0, (size, shape, head)
        # the renderer's photo has an unused fourth channel (a faster remap): the colours are the same
        assert image.shape[2] == 4
        assert np.array_equal(r.warp.warp(np.ascontiguousarray(image[..., :3]), d), fast[..., :3])
        moved_any |= bool(np.abs(fast.astype(int) - image).max() > 20)
    assert moved_any  # the poses really moved the face: the comparison is not of two still photos
