"""The portrait renderer, checked the way a person would: an independent landmark detector reads the
rendered face back, and what was meant must be what is seen."""
import numpy as np
import pytest

from motion_helpers import animate_text, best_lag
from visage.backends.renderers import create_renderer
from visage.backends.vision.face_mesh import FaceMeshDetector
from visage.core.arkit import weights
from visage.core.motion.visemes import viseme_of
from visage.core.types import FaceFrame, Gaze, HeadPose
from visage.errors import InputError

SPEECH = "Bob bought a big map. Please, maybe pass the pepper to me. What a wonderful morning it was."


@pytest.fixture(scope="module")
def renderer(default_avatar):
    r = create_renderer("portrait", avatar=default_avatar, size=384)
    r.load()
    return r


@pytest.fixture(scope="module")
def detector():
    return FaceMeshDetector(static=False)


def read_back(renderer, detector, frames):
    """Landmarks of each rendered frame, and the face height per frame."""
    marks = []
    for f in frames:
        faces = detector.detect(renderer.render(f), max_faces=1)
        assert faces, f"no face found in the rendered frame at {f.t:.2f} s"
        marks.append(faces[0])
    marks = np.array(marks)
    return marks, np.linalg.norm(marks[:, 10, :2] - marks[:, 152, :2], axis=1)


@pytest.fixture(scope="module")
def spoken(espeak, renderer, detector):
    a = animate_text(espeak, SPEECH)
    marks, height = read_back(renderer, detector, a.frames)
    return a, marks, height


def test_seen_mouth_opening_follows_the_voice_within_one_frame(spoken):
    a, marks, height = spoken
    opening = (marks[:, 14, 1] - marks[:, 13, 1]) / height
    lag, confidence = best_lag(a.loudness_at_frames(), opening)
    assert abs(lag) <= 1 and confidence > 0.3, (lag, confidence)


def test_seen_lips_close_on_p_b_m(spoken):
    a, marks, height = spoken
    opening = (marks[:, 14, 1] - marks[:, 13, 1]) / height
    at = lambda p: opening[int(round(0.5 * (p.start + p.end) * a.fps))]  # noqa: E731
    bilabial = [at(p) for p in a.phonemes if viseme_of(p.symbol) == "PP"]
    vowels = [at(p) for p in a.phonemes if viseme_of(p.symbol) in ("aa", "E", "O")]
    assert len(bilabial) >= 10
    assert np.median(bilabial) < 0.25 * np.median(vowels)
    assert np.mean(np.array(bilabial) < 0.3 * np.median(vowels)) >= 0.9


def test_seen_blinks(spoken):
    a, marks, height = spoken
    lids = ((marks[:, 145, 1] - marks[:, 159, 1]) + (marks[:, 374, 1] - marks[:, 386, 1])) / 2 / height
    closed = a.channel("eyeBlinkLeft") > 0.8
    assert closed.any(), "the motion has a blink in this speech"
    assert lids[closed].mean() < 0.8 * np.median(lids[a.channel("eyeBlinkLeft") < 0.05])


def test_seen_emotions_move_mouth_corners_and_brows(renderer):
    detector = FaceMeshDetector(static=True)

    def measure(shape):
        img = renderer.render(FaceFrame(0.0, shape, HeadPose(), Gaze()))
        m = detector.detect(img, max_faces=1)[0]
        h = np.linalg.norm(m[10, :2] - m[152, :2])
        corners = (m[[61, 291], 1].mean() - m[[13, 14], 1].mean()) / h  # negative: corners above the lips' centre
        brows = (m[[105, 334], 1].mean() - m[[159, 386], 1].mean()) / h  # negative: brows above the eyes
        return corners, brows

    neutral = measure(weights({}))
    happy = measure(weights({"mouthSmile": 0.8, "cheekSquint": 0.5}))
    sad = measure(weights({"browInnerUp": 0.75, "browDown": 0.3, "mouthFrown": 0.7, "mouthShrugLower": 0.3}))
    surprised = measure(weights({"browInnerUp": 0.8, "browOuterUp": 0.8, "eyeWide": 0.7}))
    assert happy[0] < neutral[0] - 0.005 < sad[0] - 0.01, (happy, neutral, sad)  # corners up, then down
    assert surprised[1] < neutral[1] - 0.01  # brows up


def test_head_moves_while_background_and_shoulders_stay(renderer):
    rest = renderer.render(FaceFrame(0.0, weights({}), HeadPose(), Gaze())).astype(int)
    turned = renderer.render(FaceFrame(0.0, weights({}), HeadPose(yaw=12, pitch=6, roll=6), Gaze())).astype(int)
    s = renderer.size
    corners = np.concatenate([rest[:20, :20].ravel() - turned[:20, :20].ravel(),
                              rest[-20:, -20:].ravel() - turned[-20:, -20:].ravel()])
    assert np.abs(corners).max() <= 2  # background and shoulders: unchanged
    face = np.abs(rest[s // 4 : s // 2, s // 3 : 2 * s // 3] - turned[s // 4 : s // 2, s // 3 : 2 * s // 3]).mean()
    assert face > 8  # the face itself moved


def test_output_is_a_clean_image_for_any_size(default_avatar):
    for size in (256, 1024):
        r = create_renderer("portrait", avatar=default_avatar, size=size)
        img = r.render(FaceFrame(0.0, weights({"jawOpen": 1.0, "mouthFunnel": 1.0, "eyeBlinkLeft": 1.0}),
                                 HeadPose(yaw=15, pitch=-10, roll=8), Gaze(25, -20)))
        assert img.shape == (size, size, 3) and img.dtype == np.uint8
    with pytest.raises(InputError, match="between 256 and 1024"):
        create_renderer("portrait", avatar=default_avatar, size=100)
