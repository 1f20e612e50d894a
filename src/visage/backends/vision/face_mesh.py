"""MediaPipe's face mesh (478 landmarks, irises included) as a small, reusable detector.

The legacy `mediapipe.solutions.face_mesh` graph is used because its models ship inside the wheel: it
runs offline, with nothing to download, in a few milliseconds per image on a CPU. Its face detector only
sees faces taller than about a tenth of the image's long side, so `search` also looks through
overlapping windows, coarse to fine, for the small faces of group photos and full-length shots.

Landmarks come back in pixels of the image given: x right, y down, z on x's scale (negative towards the
camera), as a (478, 3) float32 array per face, largest face first.
"""
from __future__ import annotations

import threading

import numpy as np

from visage.errors import InputError, require

LANDMARKS = 478
FOREHEAD, CHIN = 10, 152  # top of the forehead and bottom of the chin: their distance is the face height
MAX_FACES = 5
SEARCH_SIDE = 1024  # `search` scans a copy no bigger than this; callers refine on a crop of the original
MIN_WINDOW = 96  # the finest search windows: a face must be ~11% of a window, so ~10 px faces at most
SAME_FACE = 0.5  # two hits whose centres are closer than this many face heights are one face


class FaceMeshDetector:
    """Finds faces and their landmarks. One MediaPipe graph is kept per (mode, max faces) and reused,
    because building one costs more than running it; calls are serialised, as a graph is not
    thread-safe. `static=True` treats every image on its own (photos, or frames checked one by one);
    `static=False` tracks a face through a sequence of frames, which is faster and steadier for video.
    """

    def __init__(self, static: bool = True, min_confidence: float = 0.5) -> None:
        self.static = static
        self.min_confidence = min_confidence
        self._meshes: dict[tuple[bool, int], object] = {}
        self._lock = threading.Lock()

    def load(self) -> None:
        """Import MediaPipe and build the graph used by default (otherwise done on first use)."""
        self._mesh(self.static, MAX_FACES)

    def detect(self, image_rgb: np.ndarray, max_faces: int = MAX_FACES, static: bool | None = None) -> list[np.ndarray]:
        """Faces in an RGB image (uint8, HxWx3), largest first, each (478, 3) float32 in its pixels.

        Faces much smaller than the image (under ~11% of its long side) are missed: use `search` then.
        """
        image = as_rgb(image_rgb)
        h, w = image.shape[:2]
        mesh = self._mesh(self.static if static is None else static, max(1, int(max_faces)))
        with self._lock:
            result = mesh.process(image)
        faces = []
        for found in result.multi_face_landmarks or []:
            points = np.array([(p.x, p.y, p.z) for p in found.landmark], dtype=np.float32)
            faces.append(points * np.array([w, h, w], dtype=np.float32))
        faces.sort(key=face_area, reverse=True)
        return faces

    def search(self, image_rgb: np.ndarray, max_faces: int = MAX_FACES) -> list[np.ndarray]:
        """Faces of any size down to ~1/100 of the image: the whole image first, then windows of half,
        a quarter... of its side (overlapping by half), stopping at the first scale that finds a face,
        so a portrait costs one pass and only a photo without a face pays for the full scan (~1 s).

        The scan runs on a copy at most SEARCH_SIDE px, so landmarks are coarse for big photos: crop
        around the face and `detect` again for precise ones.
        """
        cv2 = require("cv2", "portrait", "portrait")
        image = as_rgb(image_rgb)
        scale = min(1.0, SEARCH_SIDE / max(image.shape[:2]))
        if scale < 1.0:
            size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
            image = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        h, w = image.shape[:2]
        side = max(h, w)
        while True:
            hits = []  # (landmarks, margin to the window's inner edges in face heights)
            for y, x, wh, ww in _windows(h, w, side):
                for face in self.detect(image[y : y + wh, x : x + ww], max_faces, static=True):
                    face[:, :2] += (x, y)
                    hits.append((face, _margin(face, (y, x, wh, ww), (h, w))))
            if hits or side // 2 < MIN_WINDOW:
                break
            side //= 2
        faces = _distinct(hits)[:max_faces]
        return [face / np.float32(scale) for face in faces]

    def reset(self) -> None:
        """Forget tracked faces (static=False): the next frame starts a new sequence."""
        self._close(lambda key: not key[0])

    def close(self) -> None:
        """Release the MediaPipe graphs (they are rebuilt if the detector is used again)."""
        self._close(lambda key: True)

    def __enter__(self) -> FaceMeshDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _mesh(self, static: bool, max_faces: int):
        key = (static, max_faces)
        with self._lock:
            if key not in self._meshes:
                mp = require("mediapipe", "portrait", "portrait")
                self._meshes[key] = mp.solutions.face_mesh.FaceMesh(
                    static_image_mode=static, max_num_faces=max_faces, refine_landmarks=True,
                    min_detection_confidence=self.min_confidence, min_tracking_confidence=self.min_confidence,
                )
            return self._meshes[key]

    def _close(self, which) -> None:
        with self._lock:
            for key in [k for k in self._meshes if which(k)]:
                self._meshes.pop(key).close()


_shared: FaceMeshDetector | None = None
_shared_lock = threading.Lock()


def shared_detector() -> FaceMeshDetector:
    """One static-mode detector for the whole process: the graphs are built once, not per photo."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = FaceMeshDetector(static=True)
        return _shared


def as_rgb(image: np.ndarray) -> np.ndarray:
    """`image` as the contiguous HxWx3 uint8 array MediaPipe wants (grey and RGBA are converted)."""
    image = np.asarray(image)
    if image.dtype != np.uint8:
        raise InputError(f"expected an 8-bit image (uint8), got {image.dtype}")
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or min(image.shape[:2]) < 1:
        raise InputError(f"expected an RGB image of shape (height, width, 3), got {image.shape}")
    return np.ascontiguousarray(image[:, :, :3])


def face_height(landmarks: np.ndarray) -> float:
    """Forehead-to-chin distance in pixels: the face's size, steady under turns of the head."""
    return float(np.linalg.norm(landmarks[FOREHEAD, :2] - landmarks[CHIN, :2]))


def face_area(landmarks: np.ndarray) -> float:
    """Area of the landmarks' bounding box in pixels, to rank faces by size."""
    span = landmarks[:, :2].max(axis=0) - landmarks[:, :2].min(axis=0)
    return float(span[0] * span[1])


def _windows(h: int, w: int, side: int):
    """Square windows of `side` (clipped to the image) overlapping by half and covering the image:
    any face smaller than half a window lies wholly inside one of them."""
    wh, ww = min(side, h), min(side, w)
    for y in _starts(h, wh, side // 2):
        for x in _starts(w, ww, side // 2):
            yield y, x, wh, ww


def _starts(length: int, size: int, stride: int) -> list[int]:
    if size >= length:
        return [0]
    count = -(-(length - size) // max(1, stride)) + 1
    return sorted({round(i * (length - size) / (count - 1)) for i in range(count)})


def _margin(face: np.ndarray, window: tuple[int, int, int, int], shape: tuple[int, int]) -> float:
    """How far the face stays from the window's edges inside the image, in face heights: a face cut
    by a window edge gets guessed landmarks, so among repeated hits the most central one is kept."""
    y, x, wh, ww = window
    (x0, y0), (x1, y1) = face[:, :2].min(axis=0), face[:, :2].max(axis=0)
    gaps = [np.inf]
    if x > 0:
        gaps.append(x0 - x)
    if y > 0:
        gaps.append(y0 - y)
    if x + ww < shape[1]:
        gaps.append(x + ww - x1)
    if y + wh < shape[0]:
        gaps.append(y + wh - y1)
    return float(min(gaps)) / max(face_height(face), 1.0)


def _distinct(hits: list[tuple[np.ndarray, float]]) -> list[np.ndarray]:
    """One face per person: the overlapping windows find the same face several times."""
    kept: list[np.ndarray] = []
    for face, _ in sorted(hits, key=lambda hit: -hit[1]):
        centre, size = face[:, :2].mean(axis=0), face_height(face)
        if all(np.linalg.norm(centre - k[:, :2].mean(axis=0)) > SAME_FACE * max(size, face_height(k)) for k in kept):
            kept.append(face)
    kept.sort(key=face_area, reverse=True)
    return kept
