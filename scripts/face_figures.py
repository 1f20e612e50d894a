"""What the independent face-mesh detector reads on rendered frames, per portrait: blink depth, mouth-
corner lift per emotion, brow lift and drop (the figures in the README and the closing note).

Run: .venv/bin/python scripts/face_figures.py
Units are inter-ocular distances; the portraits are those of scripts/make_stills.py. The turned one is
measured for blinks only, on its near eye (the far one is foreshortened past what the detector reads).
Then the mouth's checks (lips around the open mouth, no near-black or flat region, grey mouth for a grey
photo), the turned photo's warning and the default face's height at 512.
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

from make_stills import frame, portraits  # noqa: E402

import numpy as np  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.analysis import analyse_portrait  # noqa: E402
from visage.backends.renderers.photo_expression import corner_lift, face_axes  # noqa: E402
from visage.backends.vision.face_mesh import FaceMeshDetector  # noqa: E402
from visage.core.arkit import weights  # noqa: E402
from visage.core.motion.visemes import VISEME_SHAPES  # noqa: E402
from visage.core.motion.expression import EXPRESSIONS  # noqa: E402
from visage.core.types import Emotion  # noqa: E402


def seen(detector, image) -> dict[str, float]:
    """Corner lift, eye opening, brow height above the eye corners, inner-end drop of the brows."""
    m = detector.detect(image, max_faces=1)[0]
    down, iod = face_axes(m)
    eye = ((m[145, :2] - m[159, :2]) @ down + (m[374, :2] - m[386, :2]) @ down) / 2 / iod
    brow = -((m[[105, 334, 66, 296, 107, 336], :2].mean(axis=0) - m[[33, 133, 263, 362], :2].mean(axis=0)) @ down) / iod
    slant = ((m[[107, 336, 55, 285], :2].mean(axis=0) - m[[70, 300, 46, 276], :2].mean(axis=0)) @ down) / iod
    return {"lift": corner_lift(m), "eye": float(eye), "brow": float(brow), "slant": float(slant)}


def near_eye(detector, image) -> float:
    """The opening of the eye nearer the camera (the larger one), in inter-ocular distances."""
    m = detector.detect(image, max_faces=1)[0]
    down, iod = face_axes(m)
    width_r, width_l = (float(np.linalg.norm(m[a, :2] - m[b, :2])) for a, b in ((33, 133), (263, 362)))
    upper, lower = (159, 145) if width_r > width_l else (386, 374)
    return float((m[lower, :2] - m[upper, :2]) @ down) / iod


def mouth_checks(r) -> str:
    """Around and inside the open 'a': the lips' colour distance from the photo's lips, redness above
    the skin's, the near-black share and the spread of brightness inside, the largest chroma."""
    import cv2

    from visage.backends.renderers.photo_expression import INNER_LIPS

    image = r.render(frame(VISEME_SHAPES["aa"])).astype(np.float32)
    moved = r.vertices[:, :2] + r.model.displace(np.asarray(VISEME_SHAPES["aa"], np.float32), frame(weights({})).gaze)
    ring = np.array([moved[r.model.pos[i]] for i in INNER_LIPS])
    opening = np.zeros((r.size, r.size), np.uint8)
    cv2.fillPoly(opening, [np.round(ring).astype(np.int32)], 1)
    inside = cv2.erode(opening, np.ones((5, 5), np.uint8)).astype(bool)
    reach = int(round(0.03 * r.model.g.height))
    band = (cv2.dilate(opening, np.ones((2 * reach + 1, 3), np.uint8)) & ~cv2.dilate(opening, np.ones((5, 3), np.uint8))).astype(bool)
    x0, x1 = ring[:, 0].min(), ring[:, 0].max()
    xs = np.arange(r.size)[None, :]
    band &= (xs > x0 + 0.3 * (x1 - x0)) & (xs < x1 - 0.3 * (x1 - x0))
    around = np.median(image[band], axis=0)
    lip, skin = (np.array(r.avatar.info[k], np.float32) for k in ("lip_rgb", "skin_rgb"))
    red = lambda c: c[0] - 0.5 * (c[1] + c[2])  # noqa: E731
    luma = image[inside] @ np.array([0.299, 0.587, 0.114], np.float32)
    chroma = (image.max(axis=2) - image.min(axis=2))[inside | band].max()
    return (f"lips {np.linalg.norm(around - lip):.0f} from the photo's (< 45), redness {red(around) - red(skin):+.0f} vs skin "
            f"(> -5); inside: near-black {np.mean(luma < 20):.1%} (< 5 %), spread {np.std(luma):.0f} (> 12); chroma max {chroma:.0f}")


def main() -> None:
    detector = FaceMeshDetector(static=True)
    print("| photo | blink: eye at peak / open | happy - neutral | neutral - sad | surprise brow lift "
          "| anger brow drop | anger inner-end drop |")
    print("|---|---|---|---|---|---|---|")
    for name, avatar in portraits()[:4]:
        r = create_renderer("portrait", avatar=avatar, size=512)
        look = {e: seen(detector, r.render(frame(EXPRESSIONS[e] * 0.9))) for e in
                (Emotion.NEUTRAL, Emotion.HAPPY, Emotion.SAD, Emotion.ANGRY, Emotion.SURPRISED)}
        n = look[Emotion.NEUTRAL]
        closed = seen(detector, r.render(frame(weights({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0}))))
        print(f"| {name} | {closed['eye'] / n['eye']:.2f} | {look[Emotion.HAPPY]['lift'] - n['lift']:+.3f} "
              f"| {n['lift'] - look[Emotion.SAD]['lift']:+.3f} | {look[Emotion.SURPRISED]['brow'] - n['brow']:+.3f} "
              f"| {n['brow'] - look[Emotion.ANGRY]['brow']:+.3f} | {look[Emotion.ANGRY]['slant'] - n['slant']:+.3f} |")
    people = portraits()
    turned = create_renderer("portrait", avatar=people[4][1], size=512)
    print(f"| {people[4][0]} (near eye) | "
          f"{near_eye(detector, turned.render(frame(weights({'eyeBlinkLeft': 1.0, 'eyeBlinkRight': 1.0})))) / near_eye(detector, turned.render(frame(weights({})))):.2f} | | | | | |")
    print()
    for name, avatar in people[:4]:
        print(f"- {name}: {mouth_checks(create_renderer('portrait', avatar=avatar, size=512))}")
    from skimage import data

    warnings = analyse_portrait(data.camera(), "turned")[1]
    print(f"\nturned photo warned: {any('turned' in w for w in warnings)}")
    photo = people[0][1]
    r = create_renderer("portrait", avatar=photo, size=512)
    print(f"\nthe default's own smile: corner lift {corner_lift(photo.landmarks):.3f} in the photo, "
          f"{seen(detector, r.render(frame(weights({}))))['lift']:.3f} seen at rest")
    r.load()
    print(f"default avatar's face at 512: {r.model.g.height:.0f} px tall (forehead to chin, >= 200)")


if __name__ == "__main__":
    main()
