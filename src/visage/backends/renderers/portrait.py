"""The portrait renderer: one photo, animated on the CPU by a landmark-driven warp.

The photo's face mesh (from the avatar) and rings of anchor points around the head form a mesh. Each
frame, the face model turns blendshapes, gaze and head pose into vertex displacements; the warp pulls
the photo through them; the mouth's inside is painted where the lips part. The head moves with its hair
while the anchors fade the motion out towards the neck, shoulders and background, which stay still.
"""
from __future__ import annotations

import numpy as np

from visage.backends.renderers import registry
from visage.backends.renderers.avatar import Avatar
from visage.backends.renderers.base import DEFAULT_SIZE, SIZES, Renderer
from visage.backends.renderers import photo_expression
from visage.backends.renderers.eyelids import EyeLids
from visage.backends.renderers.glasses import find_rim
from visage.backends.renderers.face_model import FACE_OVAL, LOWER_INNER, MESH_LANDMARKS, UPPER_INNER, FaceMotionModel, face_geometry, head_displacement
from visage.backends.renderers.mouth import MouthInterior, MouthPalette, teeth_texture
from visage.backends.renderers.shading import ExpressionShading
from visage.backends.renderers.warp import MeshWarp
from visage.core.arkit import INDEX
from visage.core.types import FaceFrame
from visage.errors import InputError, require

# Anchor rings around the face oval: (scale of the oval, share of the head's motion they follow).
# Inner rings carry hair and ears with the head; outer ones hold the background still. Below the chin
# the share drops faster, so the neck bends instead of sliding with the head.
_RINGS = ((1.22, 1.0), (1.55, 0.85), (2.0, 0.4), (2.7, 0.0))
_RING_POINTS = 28
_NECK_FOLLOW = 0.3
_WARPED_BLINK = 0.5  # share of a blink done by moving the lid; eyelids.py paints the rest
EXACT_GAP = 0.012  # lips this far apart (share of the face's height) take the warp's exact map
_METRES_PER_FACE_HEIGHT = 0.2  # a head is ~20 cm from brow to chin: converts pose translation


@registry.register("portrait")
class PortraitRenderer(Renderer):
    name = "portrait"

    def __init__(self, avatar: Avatar | None = None, size: int = DEFAULT_SIZE, **_options) -> None:
        if not SIZES[0] <= int(size) <= SIZES[1]:
            raise InputError(f"size must be between {SIZES[0]} and {SIZES[1]} pixels, got {size}")
        self.size = int(size)
        self.avatar = avatar
        self._ready = False

    def load(self) -> None:
        if self._ready:
            return
        cv2 = require("cv2", "portrait renderer", "portrait")
        if self.avatar is None:
            from visage.backends.renderers.avatar_store import default_avatar

            self.avatar = default_avatar()
        avatar = self.avatar
        scale = self.size / avatar.image.shape[0]
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        self.image = cv2.resize(avatar.image, (self.size, self.size), interpolation=interpolation)
        landmarks = avatar.landmarks.astype(np.float32) * scale
        geometry = face_geometry(landmarks)
        # measured here rather than trusted from the saved info, so avatars made before it existed work
        self.photo = photo_expression.measure(self.image, landmarks)
        teeth = teeth_texture(self.image, landmarks) if self.photo.teeth_rgb is not None else None
        self.image = _fill_mouth(self.image, landmarks)
        ids = np.array(MESH_LANDMARKS, int)
        face_points = landmarks[ids]
        anchors, follow = self._anchors(landmarks, geometry)
        rim = find_rim(self.image, landmarks, geometry) if self.photo.glasses else None
        if rim is not None:  # rigid points along the frame's top rim: they follow the head only
            anchors = np.concatenate([anchors, rim.points])
            follow = np.concatenate([follow, np.ones(len(rim.points), np.float32)])
        vertices = np.concatenate([face_points, anchors])
        self.ids = np.concatenate([ids, np.full(len(anchors), -1)])
        self.follow = np.concatenate([np.ones(len(ids), np.float32), follow]).astype(np.float32)[:, None]
        self.vertices = vertices
        warped_blink = 0.0 if self.photo.glasses else _WARPED_BLINK
        self.model = FaceMotionModel(vertices, self.ids, geometry, photo_lift=self.photo.corner_lift,
                                     warped_blink=warped_blink, glasses=self.photo.glasses,
                                     held_brows=rim.held if rim is not None else None)
        self._upper_inner = [self.model.pos[i] for i in UPPER_INNER]
        self._lower_inner = [self.model.pos[i] for i in LOWER_INNER]
        self.warp = MeshWarp(vertices[:, :2], self.size, active=(self.follow[:, 0] > 0) | (self.ids >= 0),
                             layout=_lips_apart(vertices[:, :2], self.model.pos),
                             fine_box=(box := _mouth_box(landmarks, geometry.height)),
                             exact_rows=_exact_rows(landmarks, geometry.height, box))
        skin = avatar.info.get("skin_rgb") or _median_colour(self.image, landmarks, photo_expression.CHEEKS)
        lips = avatar.info.get("lip_rgb") or _median_colour(self.image, landmarks, photo_expression.LIPS)
        source = avatar.info.get("source_face_height")  # the face's height in the original photo
        photo_pixel = geometry.height / float(source) if source else 1.0
        self.mouth = MouthInterior(self.model.pos, geometry.height, MouthPalette.from_face(skin, lips, self.photo.teeth_rgb),
                                   teeth, photo_pixel, rest=vertices[:, :2], photo=self.image)
        self.lids = EyeLids(self.model.pos, self.image, vertices, geometry.height, warped_blink, skin, photo_pixel)
        # the photo the warp pulls through its map carries a fourth, unused channel: cv2.remap samples
        # four channels as one 32-bit load (at 512, 1.7 ms against 2.25 for three), and dropping the
        # fourth afterwards costs 0.04 ms
        self.shading = ExpressionShading(cv2.cvtColor(self.image, cv2.COLOR_RGB2RGBA), landmarks, geometry,
                                         self.model.neutralising)
        self._cv2 = cv2
        chin = landmarks[152]
        self.pivot = np.array([geometry.mouth[0], chin[1] + 0.25 * geometry.height, 0.6 * geometry.height], np.float32)
        self.metres = geometry.height / _METRES_PER_FACE_HEIGHT
        self._ready = True

    def _anchors(self, landmarks: np.ndarray, geometry) -> tuple[np.ndarray, np.ndarray]:
        """Rings of anchors around the face oval, and the image's border, with their follow shares."""
        oval = landmarks[FACE_OVAL, :2]
        centre = oval.mean(axis=0)
        rel = oval - centre
        angles = np.arctan2(rel[:, 1], rel[:, 0])
        radii = np.linalg.norm(rel, axis=1)
        order = np.argsort(angles)
        points, follow = [], []
        for k in range(_RING_POINTS):
            a = -np.pi + 2 * np.pi * k / _RING_POINTS
            r = np.interp(a, angles[order], radii[order], period=2 * np.pi)
            down = max(0.0, np.sin(a)) ** 2  # 1 straight below the chin
            for scale, share in _RINGS:
                p = centre + r * scale * np.array([np.cos(a), np.sin(a)])
                points.append([p[0], p[1], 0.0])
                follow.append(share * (1 - (1 - _NECK_FOLLOW) * down) if share < 1 or down < 0.5 else share * _NECK_FOLLOW)
        edge = np.linspace(0, self.size - 1, 9)
        for e in edge:
            for p in ((e, 0), (e, self.size - 1), (0, e), (self.size - 1, e)):
                points.append([p[0], p[1], 0.0])
                follow.append(0.0)
        points = np.array(points, np.float32)
        inside = (points[:, 0] >= 0) & (points[:, 0] <= self.size - 1) & (points[:, 1] >= 0) & (points[:, 1] <= self.size - 1)
        return points[inside], np.array(follow, np.float32)[inside]

    def render(self, frame: FaceFrame) -> np.ndarray:
        self.load()
        d = self.model.displace(frame.blendshapes, frame.gaze)
        moved = self.vertices.copy()
        moved[:, :2] += d
        d += self.follow * head_displacement(moved, self.pivot, frame.head, self.metres)
        moved = self.vertices[:, :2] + d
        out = self._cv2.cvtColor(self.warp.warp(self.shading.apply(frame.blendshapes), d, self.exact_share(moved)),
                                 self._cv2.COLOR_RGBA2RGB)
        w = frame.blendshapes
        self.mouth.draw(out, moved, tongue_out=float(w[INDEX["tongueOut"]]), blendshapes=w)
        self.lids.draw(out, moved, {"L": float(w[INDEX["eyeBlinkLeft"]]), "R": float(w[INDEX["eyeBlinkRight"]])})
        return out

    def exact_share(self, moved: np.ndarray) -> float:
        """How much of the warp's exact map the mouth's box takes (warp.py `_exact`): all of it once
        the lips part by EXACT_GAP of the face's height, none while they touch. The exact map keeps the
        corners and the lips' edges clean as they part and round (the fixed-point step drew notches and
        light lines there), but where the lips are pressed past each other (the smile taken back) it
        shows the fold that the fixed-point step smooths over."""
        gap = float(np.max(moved[self._lower_inner, 1] - moved[self._upper_inner, 1]))
        return float(np.clip(gap / (EXACT_GAP * self.model.g.height), 0.0, 1.0))


def _mouth_box(landmarks: np.ndarray, height: float) -> tuple[int, int, int, int]:
    """The lips and the room the jaw needs below them: warped at full resolution (warp.py)."""
    lips = landmarks[list(photo_expression.LIPS) + [61, 291], :2]
    (x0, y0), (x1, y1) = lips.min(axis=0), lips.max(axis=0)
    return (int(x0 - 0.1 * height), int(y0 - 0.05 * height), int(x1 + 0.1 * height) + 1, int(y1 + 0.25 * height) + 1)


def _exact_rows(landmarks: np.ndarray, height: float, box: tuple[int, int, int, int]) -> int:
    """The mouth box's rows the warp maps exactly: down to the lower lip and as far again as an open
    jaw carries it (the chin below moves smoothly, and the fixed-point step is right there)."""
    bottom = float(landmarks[list(photo_expression.LIPS) + [61, 291], 1].max())
    return int(bottom + 0.12 * height) - box[1]


def _lips_apart(vertices: np.ndarray, pos: dict[int, int]) -> np.ndarray:
    """The vertices with the inner lip lines drawn towards the outer ones, a third of each lip's
    thickness: triangulated, they give a mesh whose triangles never bridge the lips of a closed mouth."""
    from visage.backends.renderers.face_model import LOWER_INNER, LOWER_OUTER, UPPER_INNER, UPPER_OUTER

    spread = vertices.copy()
    for inner, outer in ((UPPER_INNER, UPPER_OUTER), (LOWER_INNER, LOWER_OUTER)):
        for i, o in zip(inner, outer):
            if i in pos and o in pos:
                spread[pos[i]] += 0.35 * (vertices[pos[o]] - vertices[pos[i]])
    return spread


def _fill_mouth(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """The photo with its mouth opening (teeth, dark gaps, or just the dark line between closed lips)
    filled from the lips around it. The rest pose presses the lips together over this region, and an
    opening mouth stretches what is left of it at the corners: without the fill its dark and white
    pixels would become lines along the lips and at the corners."""
    cv2 = require("cv2", "portrait renderer", "portrait")
    mask = np.zeros(image.shape[:2], np.uint8)
    inner = landmarks[list(photo_expression.INNER_LIPS), :2].copy()
    # out to the corners too: a smile's dark commissures would be stretched into lines as well
    inner[0] += 0.9 * (landmarks[61, :2] - inner[0])
    inner[10] += 0.9 * (landmarks[291, :2] - inner[10])
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 255)
    reach = max(3, int(round(0.008 * float(np.linalg.norm(landmarks[10, :2] - landmarks[152, :2])))) * 2 + 1)
    mask = cv2.dilate(mask, np.ones((reach, reach), np.uint8))
    return cv2.inpaint(image, mask, 3, cv2.INPAINT_TELEA)


def _median_colour(image: np.ndarray, landmarks: np.ndarray, points) -> list[int]:
    """Median RGB around a few landmarks: the colours an old avatar's info may lack."""
    xy = np.clip(np.round(landmarks[list(points), :2]).astype(int), 0, image.shape[0] - 1)
    return [int(v) for v in np.median(image[xy[:, 1], xy[:, 0]], axis=0)]
