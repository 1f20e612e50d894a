"""What the independent face-mesh detector reads on rendered frames, per portrait: blink depth, mouth-
corner lift per emotion, brow lift and drop (the figures in the README and the closing note).

Run: .venv/bin/python scripts/face_figures.py
Units are inter-ocular distances; the portraits are those of scripts/make_stills.py (the turned one left
out: its eyes are too foreshortened to measure).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

from make_stills import frame, portraits  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.photo_expression import corner_lift, face_axes  # noqa: E402
from visage.backends.vision.face_mesh import FaceMeshDetector  # noqa: E402
from visage.core.arkit import weights  # noqa: E402
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
    photo = portraits()[0][1]
    r = create_renderer("portrait", avatar=photo, size=512)
    print(f"\nthe default's own smile: corner lift {corner_lift(photo.landmarks):.3f} in the photo, "
          f"{seen(detector, r.render(frame(weights({}))))['lift']:.3f} seen at rest")


if __name__ == "__main__":
    main()
