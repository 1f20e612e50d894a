"""The video avatar's face on top of the recording: the engine's brows, eyes, gaze and emotion through
the portrait renderer's face model and warp, blinks (recorded or painted), and a mouth blended in
without a seam. An independent face-mesh detector (fresh, static) reads the rendered frames."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from motion_helpers import animate_text
from video_helpers import carphone_path, detect_all

from visage.backends.renderers import create_renderer
from visage.backends.renderers.video_analysis import analyse_video, eye_aperture
from visage.backends.renderers.video_blend import seam_ratio
from visage.core.arkit import weights
from visage.core.types import FaceFrame, Gaze, HeadPose


@pytest.fixture(scope="module")
def carphone():
    return analyse_video(carphone_path(), "carphone")[0]


def _render(renderer, shapes: dict, gaze=Gaze()):
    renderer.load()
    renderer.path.reset()
    return renderer.render(FaceFrame(0.0, weights(shapes), HeadPose(), gaze))


def _face(landmarks):
    """(corners, brows, lids) of detected landmarks in face heights: corners below (+) or above (-)
    the lips' centre, brows above the eyes (negative), the lids' gap."""
    m = landmarks
    h = np.linalg.norm(m[10, :2] - m[152, :2])
    corners = (m[[61, 291], 1].mean() - m[[13, 14], 1].mean()) / h
    brows = (m[[105, 334], 1].mean() - m[[159, 386], 1].mean()) / h
    return corners, brows


def test_surprise_lifts_the_brows_and_a_smile_the_corners(carphone):
    renderer = create_renderer("video", avatar=carphone, size=512)
    images = [_render(renderer, s) for s in (
        {}, {"browInnerUp": 0.8, "browOuterUp": 0.8, "eyeWide": 0.7}, {"browDown": 0.8},
        {"mouthSmile": 0.8, "cheekSquint": 0.5}, {"mouthFrown": 0.7, "browInnerUp": 0.75})]
    neutral, surprised, angry, happy, sad = (_face(m) for m in detect_all(images))
    assert surprised[1] < neutral[1] - 0.015, (neutral, surprised)  # brows up
    assert angry[1] > neutral[1] + 0.01, (neutral, angry)  # brows down
    assert happy[0] < neutral[0] - 0.02 and sad[0] > neutral[0] + 0.01, (happy, neutral, sad)


def test_gaze_moves_the_irises(carphone):
    """The dark of each eye (its iris) moves the way the eyes look. Carphone's irises are a few pixels
    of the 176x144 recording, too small for the detector's iris landmarks, so the eyes' boxes come from
    the detector and the iris from the darkest pixels inside them."""
    renderer = create_renderer("video", avatar=carphone, size=512)
    images = [_render(renderer, {}, Gaze(yaw=yaw)) for yaw in (-25.0, 0.0, 25.0)]
    eyes = detect_all(images[1:2])[0]

    def iris_x(image):
        xs = []
        for outer, inner, top, bottom in ((33, 133, 159, 145), (362, 263, 386, 374)):
            x0, x1 = sorted((int(eyes[outer, 0]), int(eyes[inner, 0])))
            y0, y1 = int(eyes[top, 1]) - 2, int(eyes[bottom, 1]) + 3
            grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32)
            dark = np.maximum(np.percentile(grey, 30) - grey, 0)
            xs.append(float((dark.sum(axis=0) * np.arange(x1 - x0)).sum() / dark.sum()) + x0)
        return np.mean(xs)

    left, ahead, right = (iris_x(image) for image in images)
    assert left < ahead - 1.5 and right > ahead + 1.5, (left, ahead, right)


@pytest.mark.parametrize("recorded", [True, False])
def test_blink_closes_the_eyes(carphone, recorded):
    """With the recording's own closed eyes, and with the portrait's painted lids (a recording in
    which the person never blinks)."""
    renderer = create_renderer("video", avatar=carphone, size=512, recorded_blink=recorded)
    open_eyes, closed_eyes = eye_aperture(detect_all([_render(renderer, {}), _render(renderer, {"eyeBlink": 1.0})]))
    assert closed_eyes < 0.7 * open_eyes, (open_eyes, closed_eyes)


def test_the_mouth_is_blended_in_without_a_seam(carphone, espeak):
    """Gradient energy along the blend border, over the base frame's own there: the blend stays near
    1 while a hard paste of the same mouths (no colour match, no feather) shows its edge."""
    renderer = create_renderer("video", avatar=carphone, size=512, head_motion=False)
    frames = animate_text(espeak, "Good morning. We should walk to the old bridge and back.", fps=25).frames
    blended, hard = [], []
    renderer.load()
    for f in frames[::2]:
        out = renderer.render(f)
        k = int(renderer.loop[int(round(f.t * renderer.base_fps)) % len(renderer.loop)])
        (y0, y1, x0, x1), matrix, alpha = placement = renderer.placements[k]
        blended.append(seam_ratio(cv2, out, renderer.base[k], placement))
        pasted = renderer.base[k].copy()
        warped = cv2.warpAffine(renderer.mouths[renderer.last_mouth], matrix, (x1 - x0, y1 - y0))
        pasted[y0:y1, x0:x1] = np.where(alpha > 0.5, warped, pasted[y0:y1, x0:x1])
        hard.append(seam_ratio(cv2, pasted, renderer.base[k], placement))
    assert np.median(blended) < 1.05 and np.percentile(blended, 90) < 1.35, np.percentile(blended, [50, 90])
    assert np.median(hard) > 1.3 * np.median(blended), (np.median(hard), np.median(blended))
