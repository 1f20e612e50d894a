"""How a face moves: ARKit blendshapes, gaze and head pose as displacements of face-mesh landmarks.

This is the portrait renderer's model of the face. Each blendshape moves a group of MediaPipe
landmarks by a fraction of the face height H (forehead to chin), along the face's own axes, so the
model fits any photo's scale and roll. The magnitudes are chosen so that a weight of 1 is a full
expression (FACS intensity E); they were tuned by eye on the default portrait and are checked by the
round-trip test, which reads the rendered face back with the landmark detector.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from visage.core.arkit import BLENDSHAPE_NAMES, INDEX, N_BLENDSHAPES
from visage.core.types import Gaze, HeadPose

# MediaPipe face-mesh landmark groups (canonical topology). "R" is the subject's right, on the image's
# left for a portrait facing the camera; ARKit's "Left" shapes act on the subject's left (image right).
UPPER_OUTER = [185, 40, 39, 37, 0, 267, 269, 270, 409]
LOWER_OUTER = [146, 91, 181, 84, 17, 314, 405, 321, 375]
UPPER_INNER = [191, 80, 81, 82, 13, 312, 311, 310, 415]
LOWER_INNER = [95, 88, 178, 87, 14, 317, 402, 318, 324]
CORNERS = [61, 291, 78, 308]  # outer right, outer left, inner right, inner left
EYE_UPPER = {"R": [246, 161, 160, 159, 158, 157, 173], "L": [466, 388, 387, 386, 385, 384, 398]}
EYE_LOWER = {"R": [7, 163, 144, 145, 153, 154, 155], "L": [249, 390, 373, 374, 380, 381, 382]}
EYE_CORNERS = {"R": [33, 133], "L": [263, 362]}
IRIS = {"R": [468, 469, 470, 471, 472], "L": [473, 474, 475, 476, 477]}
BROW_INNER = {"R": [107, 66, 55, 65], "L": [336, 296, 285, 295]}
BROW_MID = {"R": [105, 52], "L": [334, 282]}
BROW_OUTER = {"R": [70, 63, 46, 53], "L": [300, 293, 276, 283]}
FOREHEAD = [10, 151, 9, 108, 337, 69, 299, 67, 297, 109, 338]
NOSE = [1, 4, 5, 195, 197, 6, 168, 2, 98, 327, 129, 358, 49, 279, 64, 294]
CHEEKS = {"R": [50, 205, 101, 117, 123, 187, 147], "L": [280, 425, 330, 346, 352, 411, 376]}
CHIN = [152, 175, 199, 200, 18]
JAW = {"R": [148, 176, 149, 150, 136, 172, 58, 132], "L": [377, 400, 378, 379, 365, 397, 288, 361]}
FACE_OVAL = [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
             148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
NEUTRAL_LIFT_TOLERANCE = 0.02  # corner lifts (inter-ocular distances) below this are left as the photo has them
MAX_NEUTRALISING = 1.6  # the most smile (or frown) the rest pose takes away: beyond it the warp tears
SOFT_SHAPES = [f"{n}{side}" for n in ("mouthSmile", "mouthFrown", "mouthStretch", "mouthDimple", "mouthPress")
               for side in ("Left", "Right")] + ["mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight"]
SOFT_REACH = 0.55  # mouth half-widths over which the skin's share of the lips' motion falls to 1/e
# rounded lips draw the skin around the mouth in with them (the orbicularis oris is a ring): a corner
# moved in alone stretched the skin beside it into light streaks along the warp's triangles
ROUND_REACH = 1.0
# Rounding (FACS AU22 funnel, AU18 pucker): per unit weight, in face heights or mouth half-widths.
# `inward` and `bunch` pull the lips towards the middle by (inward * x + bunch * x**3) half-widths at a
# share x of the way out to the corner: the corners most, so the lips gather into a rounder outline
# instead of the same lens squeezed; `flare` turns the lips out (the outer lines away from the
# midline, most in the middle: lips pushed forward show more of their red), `swell` thickens them
# beside the corners (the gathered lip is round there, not a point), `open_` parts the inner lines
# (a funnel holds an opening, a pucker hardly any). A real o narrows the mouth by about a third, a
# pucker (u) by about half (front-view lip-reading data, e.g. Montgomery and Jackson 1983).
ROUNDING = {"mouthFunnel": (0.35, 0.0, 0.018, 0.012, 0.016), "mouthPucker": (0.40, 0.0, 0.008, 0.010, 0.004)}
UNDER_EYE = {"R": [111, 31, 228, 229, 230, 231, 232], "L": [340, 261, 448, 449, 450, 451, 452]}

MESH_LANDMARKS = sorted(set(
    UPPER_OUTER + LOWER_OUTER + UPPER_INNER + LOWER_INNER + CORNERS + FOREHEAD + NOSE + CHIN + FACE_OVAL
    + [i for side in "RL" for group in (EYE_UPPER, EYE_LOWER, EYE_CORNERS, IRIS, BROW_INNER, BROW_MID,
                                         BROW_OUTER, CHEEKS, JAW, UNDER_EYE) for i in group[side]]
))


@dataclass(frozen=True)
class FaceGeometry:
    """Where the face is in the portrait: its axes, size and key points (image pixels)."""

    centre: np.ndarray  # between the eyes and the mouth
    axis_u: np.ndarray  # unit vector along the eye line, towards the image's right
    axis_v: np.ndarray  # unit vector down the face
    height: float  # forehead (landmark 10) to chin (152)
    mouth: np.ndarray  # centre of the lips
    mouth_half_width: float

    def to_face(self, points: np.ndarray) -> np.ndarray:
        """(u, v) face coordinates of image points, in units of the face height, mouth at the origin."""
        rel = points[:, :2] - self.mouth
        return np.stack([rel @ self.axis_u, rel @ self.axis_v], axis=1) / self.height

    def to_image(self, du: np.ndarray, dv: np.ndarray) -> np.ndarray:
        """Image displacement (pixels) of face-axis displacements given in face heights."""
        return (np.outer(du, self.axis_u) + np.outer(dv, self.axis_v)) * self.height


def face_geometry(landmarks: np.ndarray) -> FaceGeometry:
    eye_r = landmarks[EYE_UPPER["R"] + EYE_LOWER["R"], :2].mean(axis=0)
    eye_l = landmarks[EYE_UPPER["L"] + EYE_LOWER["L"], :2].mean(axis=0)
    axis_u = (eye_l - eye_r) / np.linalg.norm(eye_l - eye_r)
    if axis_u[0] < 0:  # the subject's left eye is on the image's right in a portrait
        axis_u = -axis_u
    axis_v = np.array([-axis_u[1], axis_u[0]])
    mouth = landmarks[[13, 14, 0, 17], :2].mean(axis=0)
    height = float(np.linalg.norm(landmarks[10, :2] - landmarks[152, :2]))
    half = float(np.linalg.norm(landmarks[291, :2] - landmarks[61, :2])) / 2
    centre = (eye_r + eye_l) / 2 * 0.5 + mouth * 0.5
    return FaceGeometry(centre, axis_u, axis_v, height, mouth, half)


# brow shapes behind glasses: the free brow points move this much more (lowering more than raising:
# brows that come down onto a rim have the least room, and read least)
GLASSES_BROW_GAIN = {"up": 1.3, "down": 1.5}


class FaceMotionModel:
    """Precomputed per-vertex displacement bases; `displace` combines them for one frame."""

    def __init__(self, vertices: np.ndarray, landmark_ids: np.ndarray, geometry: FaceGeometry,
                 photo_lift: float = 0.0, warped_blink: float = 0.5, glasses: bool = False,
                 held_brows: tuple[int, ...] | None = None) -> None:
        """`vertices` (V, 3) are the mesh vertices in image pixels (landmarks first, then anchors);
        `landmark_ids[i]` is the MediaPipe index of vertex i, or -1 for an anchor. `photo_lift` is the
        photo's own mouth-corner lift (photo_expression.corner_lift): the rest pose undoes it, so every
        expression starts from a neutral mouth, whatever face the photo was taken with. `warped_blink`
        is the share of a blink done by moving the lid (the rest is painted by eyelids.py): 0 behind
        glasses, whose frame would bend with the lid. With `glasses` the frame, which lies over the
        brows and under the eyes, stays rigid: brow shapes move the forehead above it instead, and the
        brows themselves but for `held_brows` (those on the frame's rim, glasses.find_rim; None: all)
        when rigid vertices along the rim keep it in place."""
        self.warped_blink = warped_blink
        self.vertices = vertices
        self.g = geometry
        self.ids = landmark_ids
        self.pos = {int(lm): i for i, lm in enumerate(landmark_ids) if lm >= 0}
        uv = geometry.to_face(vertices)
        self.u, self.v = uv[:, 0], uv[:, 1]
        n = len(vertices)
        self.basis = np.zeros((N_BLENDSHAPES, n, 2), np.float32)
        self.rest = np.zeros((n, 2), np.float32)
        self.close_lips = np.zeros((n, 2), np.float32)  # scaled by jawOpen * mouthClose
        self.gaze_basis = np.zeros((2, n, 2), np.float32)  # per degree of gaze yaw, pitch
        self._build()
        if glasses:
            self._hold_frame(held_brows)
        self._soften()
        self._flat: np.ndarray | None = None
        self.neutralising = self._neutralise(photo_lift)

    # -- helpers ----------------------------------------------------------------------------------
    def _idx(self, landmarks) -> np.ndarray:
        return np.array([self.pos[i] for i in landmarks if i in self.pos], int)

    def _add(self, shape: str, idx, du, dv) -> None:
        idx = np.atleast_1d(idx)
        disp = self.g.to_image(np.broadcast_to(du, idx.shape).astype(float), np.broadcast_to(dv, idx.shape).astype(float))
        self.basis[INDEX[shape], idx] += disp

    def _side(self, side: str) -> np.ndarray:
        """Landmark vertices on one side of the face (L: the subject's left, the image's right)."""
        lm = self.ids >= 0
        return np.nonzero(lm & ((self.u > 0) if side == "L" else (self.u < 0)))[0]

    # -- the model ----------------------------------------------------------------------------------
    def _build(self) -> None:
        u, v = self.u, self.v
        is_lm = self.ids >= 0
        hw = self.g.mouth_half_width / self.g.height
        lower_lip = self._idx(LOWER_INNER + LOWER_OUTER)
        upper_lip = self._idx(UPPER_INNER + UPPER_OUTER)
        corners = self._idx([61, 291, 78, 308])

        # rest: close the photo's mouth (many portraits smile with parted lips); opening starts from there
        for up, low in zip(UPPER_INNER, LOWER_INNER):
            if up in self.pos and low in self.pos:
                gap = self.vertices[self.pos[low], :2] - self.vertices[self.pos[up], :2]
                # a little past the midline: the photo's teeth hide behind lips that just meet
                self.rest[self.pos[up]] += gap * 0.62
                self.rest[self.pos[low]] -= gap * 0.62
        # the lips' outer lines go along, less towards the corners (a lens, as the opening closes):
        # moved all by the gap at the middle, the upper lip's outline by the corners dropped below the
        # corner and folded there, and the photo's lip line showed past the corners on the skin
        centre_gap = (self.vertices[self.pos[14], :2] - self.vertices[self.pos[13], :2]) if 13 in self.pos else 0
        hw = self.g.mouth_half_width / self.g.height
        for up, low in zip(UPPER_OUTER, LOWER_OUTER):
            for i, sign in ((up, 1.0), (low, -1.0)):
                lens = np.sqrt(max(1.0 - (self.u[self.pos[i]] / hw) ** 2, 0.0))
                self.rest[self.pos[i]] += sign * 0.55 * lens * centre_gap

        # jaw: the lower lip, chin and jaw line drop; less towards the mouth corners and jaw angles
        lateral = np.clip(1.0 - (np.abs(u) - 0.6 * hw) / (2.0 * hw), 0.25, 1.0)
        below = is_lm & (v > 0.03)
        jaw = np.zeros(len(u))
        # the jaw is one bone: the chin goes down with the lower lip (a chin that lags folds the lip over
        # it); only the cheeks beside the mouth follow less
        jaw[below] = lateral[below] * (0.88 + 0.12 * np.clip((v[below] - 0.03) / 0.08, 0.0, 1.0))
        # the lips part as a lens, widest in the middle: a lip that drops evenly makes a box
        inner_half = max(abs(u[self.pos[78]]), abs(u[self.pos[308]])) if 78 in self.pos and 308 in self.pos else hw
        span = np.where(np.isin(np.arange(len(u)), self._idx(LOWER_INNER + UPPER_INNER)), inner_half, hw)
        lens = 0.3 + 0.7 * np.sqrt(np.clip(1.0 - (u / span) ** 2, 0.0, 1.0))
        jaw[lower_lip] = lens[lower_lip]
        jaw[corners] = 0.3
        # the skin under the chin goes along part of the way: a chin that drops alone folds into the neck
        if 152 in self.pos:
            chin_uv = np.array([u[self.pos[152]], v[self.pos[152]]])
            under = ~is_lm & (v > chin_uv[1] - 0.02)
            reach = np.hypot(u - chin_uv[0], v - chin_uv[1])
            jaw[under] = 0.7 * np.exp(-(reach[under] / 0.22) ** 2)
        for i in np.nonzero(jaw)[0]:
            self._add("jawOpen", i, 0.0, 0.2 * jaw[i])
        self._add("jawOpen", upper_lip, 0.0, -0.014 * lens[upper_lip])
        self.close_lips[lower_lip] = self.g.to_image(np.zeros(len(lower_lip)), -0.2 * jaw[lower_lip])

        inner_up, inner_low = self._idx(UPPER_INNER), self._idx(LOWER_INNER)
        outer_up, outer_low = self._idx(UPPER_OUTER), self._idx(LOWER_OUTER)
        # lips pressed, rolled, closed: thinner lips pulled together
        for shape, k in (("mouthPressLeft", 0.5), ("mouthPressRight", 0.5), ("mouthRollLower", 1), ("mouthRollUpper", 1)):
            side = "L" if shape.endswith("Left") else ("R" if shape.endswith("Right") else None)
            keep = (lambda idx: idx[np.isin(idx, self._side(side))]) if side else (lambda idx: idx)
            if shape != "mouthRollLower":
                self._add(shape, keep(outer_up), 0.0, 0.012 * k)
            if shape != "mouthRollUpper":
                self._add(shape, keep(outer_low), 0.0, -0.014 * k)
        for shape, gains in ROUNDING.items():
            self._add_rounding(shape, *gains)
        for side, sign in (("L", 1.0), ("R", -1.0)):
            mouth_side = np.intersect1d(self._idx(UPPER_OUTER + UPPER_INNER + LOWER_OUTER + LOWER_INNER + CORNERS),
                                        self._side(side))
            near_corner = np.clip(np.abs(u[mouth_side]) / hw, 0, 1) ** 2
            corner = np.intersect1d(corners, self._side(side))
            cheeks = self._idx(CHEEKS[side])
            self._add(f"mouthSmile{'Left' if side == 'L' else 'Right'}", mouth_side, sign * 0.035 * near_corner, -0.045 * near_corner)
            self._add(f"mouthSmile{'Left' if side == 'L' else 'Right'}", cheeks, sign * 0.008, -0.02)
            self._add(f"mouthFrown{'Left' if side == 'L' else 'Right'}", mouth_side, -sign * 0.006 * near_corner, 0.055 * near_corner)
            self._add(f"mouthStretch{'Left' if side == 'L' else 'Right'}", mouth_side, sign * 0.04 * near_corner, 0.008 * near_corner)
            self._add(f"mouthDimple{'Left' if side == 'L' else 'Right'}", corner, sign * 0.015, 0.0)
            self._add(f"mouthLowerDown{'Left' if side == 'L' else 'Right'}", np.intersect1d(outer_low, self._side(side)), 0.0, 0.03)
            self._add(f"mouthLowerDown{'Left' if side == 'L' else 'Right'}", np.intersect1d(inner_low, self._side(side)), 0.0, 0.03)
            self._add(f"mouthUpperUp{'Left' if side == 'L' else 'Right'}", np.intersect1d(outer_up, self._side(side)), 0.0, -0.025)
            self._add(f"mouthUpperUp{'Left' if side == 'L' else 'Right'}", np.intersect1d(inner_up, self._side(side)), 0.0, -0.025)
            self._add(f"cheekSquint{'Left' if side == 'L' else 'Right'}", cheeks, 0.0, -0.02)
            self._add(f"cheekSquint{'Left' if side == 'L' else 'Right'}", self._idx(UNDER_EYE[side]), 0.0, -0.012)
            self._add(f"noseSneer{'Left' if side == 'L' else 'Right'}", self._idx([98, 129, 64, 49] if side == "R" else [327, 358, 294, 279]), 0.0, -0.018)
            self._add(f"noseSneer{'Left' if side == 'L' else 'Right'}", np.intersect1d(outer_up, self._side(side)), 0.0, -0.01)
            self._build_eye(side)
            self._build_brow(side)
        mouth_all = self._idx(UPPER_OUTER + UPPER_INNER + LOWER_OUTER + LOWER_INNER + CORNERS)
        self._add("mouthLeft", mouth_all, 0.03, 0.0)
        self._add("mouthRight", mouth_all, -0.03, 0.0)
        self._add("mouthShrugLower", np.concatenate([outer_low, inner_low]), 0.0, -0.015)
        self._add("mouthShrugUpper", np.concatenate([outer_up, inner_up]), 0.0, -0.01)
        chin = self._idx(CHIN + JAW["R"][:3] + JAW["L"][:3])
        self._add("jawLeft", np.concatenate([chin, lower_lip]), 0.03, 0.0)
        self._add("jawRight", np.concatenate([chin, lower_lip]), -0.03, 0.0)
        self._add("jawForward", chin, 0.0, 0.01)
        for side, sign in (("L", 1.0), ("R", -1.0)):
            self._add("cheekPuff", self._idx(CHEEKS[side]), sign * 0.02, 0.0)

    def _add_rounding(self, shape: str, inward: float, bunch: float, flare: float, swell: float, open_: float) -> None:
        """One rounding shape's lip motion (ROUNDING): the lips drawn towards the middle, the corners
        most, turned out and swollen beside the corners, the inner lines parted into a round hole."""
        u = self.u
        hw = self.g.mouth_half_width / self.g.height
        lips = self._idx(UPPER_OUTER + UPPER_INNER + LOWER_OUTER + LOWER_INNER + CORNERS)
        x = np.clip(np.abs(u[lips]) / hw, 0.0, 1.0)
        self._add(shape, lips, -np.sign(u[lips]) * hw * (inward * x + bunch * x ** 3), 0.0)
        for idx, sign, inner in ((self._idx(UPPER_OUTER), -1.0, False), (self._idx(LOWER_OUTER), 1.0, False),
                                 (self._idx(UPPER_INNER), -1.0, True), (self._idx(LOWER_INNER), 1.0, True)):
            x = np.clip(np.abs(u[idx]) / hw, 0.0, 1.0)
            middle = np.sqrt(np.maximum(1.0 - x * x, 0.0))  # most in the middle, none at the corner
            beside = np.sin(np.pi * np.clip(x, 0.0, 1.0)) ** 2  # the gathered lip beside the corner
            if inner:  # the opening: parted in the middle and rounded off towards its ends
                self._add(shape, idx, 0.0, sign * open_ * (0.6 * middle + 0.4 * beside))
            else:
                self._add(shape, idx, 0.0, sign * (flare * middle + swell * beside))

    def _hold_frame(self, held_brows: tuple[int, ...] | None) -> None:
        """Glasses: no shape moves the points a frame covers (the brows on its rim, under the eyes);
        what the brows would do moves the forehead above the frame too, so raised brows read."""
        for side in "LR":
            names = BROW_INNER[side] + BROW_MID[side] + BROW_OUTER[side]
            brows = self._idx(names)
            on_rim = self._idx([i for i in names if held_brows is None or i in held_brows])
            frame = np.concatenate([on_rim, self._idx(UNDER_EYE[side] + [9])]).astype(int)  # 9: above the bridge
            forehead = np.intersect1d(self._idx([i for i in FOREHEAD if i != 9]), self._side(side))  # 9: the bridge's top
            free = np.setdiff1d(brows, on_rim)
            for shape in range(len(self.basis)):
                lift = self.basis[shape, brows].mean(axis=0)
                if np.abs(lift).sum() > 1e-6 and "brow" in BLENDSHAPE_NAMES[shape]:
                    self.basis[shape, forehead] += 0.6 * lift
                    # the brows above the rim carry what those on it cannot
                    self.basis[shape, free] *= GLASSES_BROW_GAIN["down" if "Down" in BLENDSHAPE_NAMES[shape] else "up"]
                self.basis[shape, frame] = 0.0

    def _soften(self) -> None:
        """Let the skin around the mouth follow the lips: a lip corner that moves alone drags a crease
        behind it, and the photo's own smile lines stay where they were. Each mouth shape's lip motion
        spreads to the unmoved face points nearby, fading over about half a mouth width."""
        lips = self._idx(UPPER_OUTER + UPPER_INNER + LOWER_OUTER + LOWER_INNER + CORNERS)
        hw = self.g.mouth_half_width
        xy = self.vertices[:, :2]
        free = np.nonzero(self.ids >= 0)[0]
        free = free[~np.isin(free, lips)]
        r = np.linalg.norm(xy[free, None, :] - xy[None, lips, :], axis=2)
        k = np.exp(-(r / (0.35 * hw)) ** 2)
        share = k / np.maximum(k.sum(axis=1, keepdims=True), 1e-6)
        mixes = {reach: share * np.exp(-(r.min(axis=1) / (reach * hw)) ** 2)[:, None] for reach in (SOFT_REACH, ROUND_REACH)}
        for shape in SOFT_SHAPES:
            mix = mixes[ROUND_REACH if shape in ROUNDING else SOFT_REACH]
            b = self.basis[INDEX[shape]]
            untouched = np.abs(b[free]).sum(axis=1) < 1e-6
            b[free[untouched]] += (mix[untouched] @ b[lips]).astype(np.float32)

    def _neutralise(self, photo_lift: float) -> dict[str, float]:
        """Fold into the rest pose the smile (or frown) that cancels the photo's corner lift, and return
        those weights. The lift one unit of each shape gives is read off the model itself, so the
        correction stays right when the shapes are retuned."""
        corners, centre = self._idx([61, 291]), self._idx([13, 14])
        if len(corners) < 2 or len(centre) < 2 or abs(photo_lift) < NEUTRAL_LIFT_TOLERANCE:
            return {}
        iod = float(np.linalg.norm(self.vertices[self._idx([33, 133]), :2].mean(axis=0)
                                   - self.vertices[self._idx([263, 362]), :2].mean(axis=0)))
        out = {}
        shape = "mouthSmile" if photo_lift > 0 else "mouthFrown"
        unit = self.basis[[INDEX[f"{shape}Left"], INDEX[f"{shape}Right"]]].sum(axis=0)
        lift_per_unit = float(-((unit[corners].mean(axis=0) - unit[centre].mean(axis=0)) @ self.g.axis_v)) / iod
        if abs(lift_per_unit) < 1e-6:
            return {}
        weight = float(np.clip(photo_lift / lift_per_unit, -MAX_NEUTRALISING, MAX_NEUTRALISING))
        for name in (f"{shape}Left", f"{shape}Right"):
            b = self.basis[INDEX[name]]
            # down fully, in by half: a mouth narrowed by the whole smile drags the photo's smile
            # creases after its corners
            across = (b @ self.g.axis_u)[:, None] * self.g.axis_u[None, :]
            self.rest -= weight * (b - 0.5 * across)
            out[name] = -weight
        return out

    def _build_eye(self, side: str) -> None:
        name = "Left" if side == "L" else "Right"
        upper, lower = self._idx(EYE_UPPER[side]), self._idx(EYE_LOWER[side])
        lower_xy = self.vertices[lower, :2]
        order = np.argsort(lower_xy[:, 0])
        for i in upper:  # the upper lid travels down to the lower lid at the same x
            x, y = self.vertices[i, :2]
            target_y = np.interp(x, lower_xy[order, 0], lower_xy[order, 1])
            gap = max(0.0, target_y - y)
            # half way by the warp (squeezing the eye flatter cannot be inverted cleanly); the lid
            # painter (eyelids.py) draws the rest of the closing lid over the eye
            self.basis[INDEX[f"eyeBlink{name}"], i] += self.g.axis_v * gap * self.warped_blink
            self.basis[INDEX[f"eyeSquint{name}"], i] += self.g.axis_v * gap * 0.15
            self.basis[INDEX[f"eyeWide{name}"], i] -= self.g.axis_v * gap * 0.25
        eye_height = 0.035
        self._add(f"eyeBlink{name}", lower, 0.0, -0.06 * eye_height)
        self._add(f"eyeSquint{name}", lower, 0.0, -0.25 * eye_height)
        brows = self._idx(BROW_INNER[side] + BROW_MID[side] + BROW_OUTER[side])
        self._add(f"eyeWide{name}", brows, 0.0, -0.01)
        # gaze: the iris slides inside the eye; about a third of the eye's width at 30 degrees
        corners = self.vertices[self._idx(EYE_CORNERS[side]), :2]
        eye_width = float(np.linalg.norm(corners[0] - corners[1])) / self.g.height
        iris = self._idx(IRIS[side])
        self.gaze_basis[0, iris] = self.g.to_image(np.full(len(iris), eye_width * 0.33 / 30.0), np.zeros(len(iris)))
        self.gaze_basis[1, iris] = self.g.to_image(np.zeros(len(iris)), np.full(len(iris), -eye_height * 0.5 / 20.0))
        # the iris is a mesh vertex too: it sinks with the closing lid and is squeezed out of sight,
        # instead of staying put and holding the eye open in the warp
        for i in iris:
            x, y = self.vertices[i, :2]
            target_y = np.interp(x, lower_xy[order, 0], lower_xy[order, 1])
            self.basis[INDEX[f"eyeBlink{name}"], i] += self.g.axis_v * max(0.0, target_y - y) * self.warped_blink * 0.9

    def _build_brow(self, side: str) -> None:
        name = "Left" if side == "L" else "Right"
        inner, mid, outer = self._idx(BROW_INNER[side]), self._idx(BROW_MID[side]), self._idx(BROW_OUTER[side])
        forehead = np.intersect1d(self._idx(FOREHEAD), self._side(side))
        sign = 1.0 if side == "L" else -1.0
        self._add("browInnerUp", inner, 0.0, -0.055)
        self._add("browInnerUp", mid, 0.0, -0.03)
        self._add("browInnerUp", forehead, 0.0, -0.02)
        self._add(f"browOuterUp{name}", outer, 0.0, -0.05)
        self._add(f"browOuterUp{name}", mid, 0.0, -0.03)
        self._add(f"browDown{name}", np.concatenate([inner, mid, outer]), 0.0, 0.03)
        self._add(f"browDown{name}", inner, -sign * 0.03, 0.018)  # drawn together and down: the corrugator
        self._add(f"browDown{name}", mid, -sign * 0.012, 0.0)

    # -- per frame ------------------------------------------------------------------------------------
    def displace(self, blendshapes: np.ndarray, gaze: Gaze) -> np.ndarray:
        """Vertex displacements (V, 2) in pixels for the expression, before head pose."""
        w = np.asarray(blendshapes, np.float32)
        if self._flat is None:
            self._flat = np.ascontiguousarray(self.basis.reshape(len(self.basis), -1))
        # einsum's own loop, not BLAS: a BLAS call this small costs more in waking its threads (and far
        # more on a busy machine) than the product itself; tensordot's reshuffles cost more still
        d = np.einsum("i,ij->j", w, self._flat).reshape(-1, 2) + self.rest
        d += (w[INDEX["jawOpen"]] * w[INDEX["mouthClose"]]) * self.close_lips
        d += gaze.yaw * self.gaze_basis[0] + gaze.pitch * self.gaze_basis[1]
        return d


def sorted_along(u: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A contour's points (positions u along an axis, offsets v across it) in order along the axis:
    np.interp needs increasing positions, and a lid's or a lip's points may not come in that order."""
    order = np.argsort(u)
    return u[order], v[order]


def head_displacement(points: np.ndarray, pivot: np.ndarray, pose: HeadPose, scale: float) -> np.ndarray:
    """Displacement (N, 2) of 3D points (x, y image pixels, z MediaPipe depth, camera looks along +z)
    rotated rigidly about `pivot` by the head pose, projected orthographically. `scale` converts the
    pose's translation in metres to pixels."""
    yaw, pitch, roll = np.radians([pose.yaw, pose.pitch, pose.roll])
    rel = points - pivot
    x, y, z = rel[:, 0], rel[:, 1], rel[:, 2]
    x1 = x * np.cos(yaw) - z * np.sin(yaw)          # yaw: the nose (z < 0) moves to the avatar's left
    z1 = x * np.sin(yaw) + z * np.cos(yaw)
    y1 = y * np.cos(pitch) - z1 * np.sin(pitch)     # pitch: the nose moves down (a nod)
    x2 = x1 * np.cos(roll) - y1 * np.sin(roll)      # roll: the crown moves to the avatar's left
    y2 = x1 * np.sin(roll) + y1 * np.cos(roll)
    out = np.stack([x2 - x + pose.x * scale, y2 - y - pose.y * scale], axis=1)
    return out.astype(np.float32)
