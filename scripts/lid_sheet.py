"""Close-ups of the painted lids at 1024 px, to look at as a viewer would (the README shows it).

    docs/lids.png   the smiling, the glasses and the grey glasses portraits of scripts/make_stills.py
                    (the small soft and the turned ones are enlarged 4x: a 1024 px close-up shows only
                    blur): both eyes open, half closed and closed, cropped to the eyes

Run: .venv/bin/python scripts/lid_sheet.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402

from make_stills import DOCS, frame, label, portraits  # noqa: E402
from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.face_model import EYE_LOWER, EYE_UPPER  # noqa: E402
from visage.core.arkit import weights  # noqa: E402
from visage.errors import require  # noqa: E402

WIDTH = 440  # of one tile (both eyes, from a 1024 px render)


def eyes_tile(renderer, blink: float) -> np.ndarray:
    cv2 = require("cv2", "stills", "portrait")
    g = renderer.model.g
    pts = renderer.vertices[[renderer.model.pos[i] for s in "LR" for i in EYE_UPPER[s] + EYE_LOWER[s]], :2]
    cx, cy = pts.mean(axis=0)
    half_w, half_h = int(0.36 * g.height), int(0.11 * g.height)
    image = renderer.render(frame(weights({"eyeBlinkLeft": blink, "eyeBlinkRight": blink})))
    crop = image[max(0, int(cy) - half_h): int(cy) + half_h, max(0, int(cx) - half_w): int(cx) + half_w]
    return cv2.resize(crop, (WIDTH, int(WIDTH * half_h / half_w)), interpolation=cv2.INTER_AREA)


def main() -> None:
    cv2 = require("cv2", "stills", "portrait")
    rows = []
    for name, avatar in portraits()[:3]:
        renderer = create_renderer("portrait", avatar=avatar, size=1024)
        renderer.load()
        tiles = [label(eyes_tile(renderer, b), f"{name}: blink {b:.1f}") for b in (0.0, 0.6, 1.0)]
        rows.append(np.concatenate(tiles, axis=1))
    sheet = np.concatenate(rows, axis=0)
    path = os.path.join(DOCS, "lids.png")
    cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
