"""The video-avatar renderer: the person's own recorded mouths pasted onto their own recorded idle loop.

Per frame: the idle loop gives the base picture (played forwards then backwards, so the head's natural
motion never jumps); the motion engine's blendshapes give the wanted mouth shape; `MouthPath` picks the
recorded mouth that fits it and the previous pick; that canonical crop is warped onto the base frame's
mouth by a similarity from the steady upper face (eye corners, nose), matched to the base frame's
colour along its border and laid in through a feathered mask (video_blend.py). On top, as the portrait
renderer does: the engine's brows, eyes, gaze and the corners' lift of a smile or frown through the
portrait's face model and mesh warp on the face's box (video_expression.py); blinks with the
recording's own closed eyes (its deepest blink), or the portrait's painted lids where it never blinks;
the engine's head pose moves the head (not the room) on top of the loop's own motion, through a smooth
field like the portrait renderer's (its head_displacement, fading out).
"""
from __future__ import annotations

import io

import numpy as np

from visage.backends.renderers import registry
from visage.backends.renderers.avatar import Avatar
from visage.backends.renderers.base import DEFAULT_SIZE, SIZES, Renderer
from visage.backends.renderers.face_model import FACE_OVAL, head_displacement
from visage.backends.renderers.video_analysis import STEADY, compose, similarity
from visage.backends.renderers.video_blend import lay_in
from visage.backends.renderers.video_expression import VideoExpression
from visage.backends.renderers.video_index import (CLOSE_MATCH, SYNTH_WEIGHTS, MouthPath, ShapeSpace, shape_distance,
                                                   wanted_shape)
from visage.backends.renderers.video_media import decode_clip
from visage.backends.renderers.video_phonemes import wanted_group
from visage.backends.renderers.video_synth import SYNTH_FROM, MouthFrame, MouthReshaper
from visage.core.arkit import INDEX
from visage.core.types import FaceFrame
from visage.errors import InputError, require

FEATHER = 0.16  # the mask fades over this share of the mouth crop's width
BLINK = (INDEX["eyeBlinkLeft"], INDEX["eyeBlinkRight"])
INDEX_KEYS = {"shapes", "next_of", "frames", "turns", "base_turns", "base_landmarks", "ref", "box_to_canvas",
              "eyes_closed", "eyes_to_canvas", "has_blink"}
HEAD_GRID = 33  # the head-pose field is computed on this many points a side and interpolated
HEAD_REACH = (1.25, 1.9)  # head-pose weight: 1 inside this many oval radii, 0 beyond the second
PIVOT_DEPTH = 0.6  # the head turns about a point this many face heights behind the face (as the portrait does)
METRES_PER_FACE_HEIGHT = 0.2


@registry.register("video")
class VideoAvatarRenderer(Renderer):
    name = "video"

    def __init__(self, avatar: Avatar | None = None, size: int = DEFAULT_SIZE, head_motion: bool = True,
                 recorded_blink: bool = True, synthesis: bool = True, **_options) -> None:
        """`recorded_blink`: blink with the recording's own closed eyes where it has them (else, and
        when False, the portrait renderer's warped and painted lids). `synthesis`: reshape the chosen
        mouth towards a wanted shape the recording lacks (video_synth.py)."""
        if not SIZES[0] <= int(size) <= SIZES[1]:
            raise InputError(f"size must be between {SIZES[0]} and {SIZES[1]} pixels, got {size}")
        if avatar is None or avatar.info.get("kind") != "video":
            raise InputError("the video renderer needs a video avatar: visage avatar create --video CLIP --name NAME")
        self.avatar, self.size, self.head_motion = avatar, int(size), bool(head_motion)
        self.recorded_blink, self.synthesis = bool(recorded_blink), bool(synthesis)
        self.last_synthesised = False  # whether the last frame's mouth was reshaped (for checks)
        self.last_mouth = -1  # index of the recorded mouth used by the last frame (for checks)
        self._ready = False

    def load(self) -> None:
        if self._ready:
            return
        cv2 = require("cv2", "video avatar", "portrait")
        info, files = self.avatar.info, self.avatar.files
        try:
            index = np.load(io.BytesIO(files["index.npz"]), allow_pickle=False)
            base = decode_clip(files["base.mp4"])
            self.mouths = decode_clip(files["mouths.mp4"])
        except (KeyError, ValueError, OSError) as exc:
            raise InputError(f"the video avatar {self.avatar.name!r} is damaged ({exc}); create it again") from None
        missing = sorted(INDEX_KEYS - set(index.files))
        if missing:
            raise InputError(f"the video avatar {self.avatar.name!r} was made by an older visage (its index lacks "
                             f"{', '.join(missing)}); create it again from the recording")
        self.frames = index["frames"]  # source frame number of each mouth
        if len(self.mouths) != len(self.frames):
            raise InputError(f"the video avatar {self.avatar.name!r} is damaged (mouths and index disagree)")
        self.space = ShapeSpace.from_json(info["shape_space"])
        groups = index["visemes"] if "visemes" in index.files else None  # older avatars: shape alone
        self.path = MouthPath(index["shapes"], index["next_of"], index["turns"], groups)
        self.base_turns = index["base_turns"]
        self.base_fps = float(info["base"]["fps"])
        s, side = self.size, base.shape[1]
        interpolation = cv2.INTER_AREA if s < side else cv2.INTER_CUBIC
        self.base = np.stack([cv2.resize(b, (s, s), interpolation=interpolation) for b in base])
        n = len(self.base)
        self.loop = np.r_[np.arange(n), np.arange(n - 2, 0, -1)] if n > 2 else np.arange(n)
        landmarks = index["base_landmarks"] * np.float32(s / side)
        ch, cw = self.mouths.shape[1:3]
        self.reshaper = MouthReshaper(cv2, (cw, ch), _mouth_frame(index["ref"], index["box_to_canvas"]))
        self.alpha = _feathered_ellipse(cw, ch)
        canvas_to_ref = cv2.invertAffineTransform(index["box_to_canvas"])
        self.placements = [self._placement(cv2, landmarks[k], index["ref"], canvas_to_ref, self.alpha, k)
                           for k in range(n)]
        self.closed_eyes = index["eyes_closed"] if bool(index["has_blink"]) and self.recorded_blink else None
        if self.closed_eyes is not None:
            eh, ew = self.closed_eyes.shape[:2]
            self.eye_alpha = _two_eyes(ew, eh)
            eyes_to_ref = cv2.invertAffineTransform(index["eyes_to_canvas"])
            self.eye_placements = [self._placement(cv2, landmarks[k], index["ref"], eyes_to_ref, self.eye_alpha, k)
                                   for k in range(n)]
        mean_face = landmarks.mean(axis=0)
        self._head_field(mean_face)
        self.expression = VideoExpression(mean_face, self.base[0], painted_blink=self.closed_eyes is None)
        self.face_shift = landmarks[:, STEADY, :2].mean(axis=1) - mean_face[STEADY, :2].mean(axis=0)
        self._last_t = -np.inf
        self._ready = True

    def _head_field(self, landmarks: np.ndarray) -> None:
        """What the motion engine's head pose moves: a coarse grid of points with a weight that is 1 on
        the head and fades out over the neck and background, so the recorded room stays put."""
        s, n = self.size, HEAD_GRID
        oval = landmarks[FACE_OVAL, :2]
        centre, half = oval.mean(axis=0), (oval.max(axis=0) - oval.min(axis=0)) / 2
        height = float(np.linalg.norm(landmarks[10, :2] - landmarks[152, :2]))
        ys, xs = np.mgrid[0:n, 0:n].astype(np.float32) * np.float32((s - 1) / (n - 1))
        self.grid = np.stack([xs.ravel(), ys.ravel(), np.zeros(n * n, np.float32)], axis=1)
        r = np.sqrt(((self.grid[:, 0] - centre[0]) / half[0]) ** 2 + ((self.grid[:, 1] - centre[1]) / half[1]) ** 2)
        t = np.clip((HEAD_REACH[1] - r) / (HEAD_REACH[1] - HEAD_REACH[0]), 0, 1)
        self.follow = (t * t * (3 - 2 * t)).astype(np.float32)[:, None]
        chin = landmarks[152]
        self.pivot = np.array([centre[0], chin[1] + 0.25 * height, PIVOT_DEPTH * height], np.float32)
        self.metres = height / METRES_PER_FACE_HEIGHT
        moving = self.follow[:, 0].reshape(n, n) > 0.01
        rows, cols = np.flatnonzero(moving.any(axis=1)), np.flatnonzero(moving.any(axis=0))
        step = (s - 1) / (n - 1)
        y0, y1 = int(max(0, (rows[0] - 1) * step)), int(min(s, (rows[-1] + 1) * step + 1))
        x0, x1 = int(max(0, (cols[0] - 1) * step)), int(min(s, (cols[-1] + 1) * step + 1))
        self.head_roi = (y0, y1, x0, x1)  # only pixels here can move: the rest is not remapped
        self.pixels = np.dstack(np.mgrid[y0:y1, x0:x1][::-1]).astype(np.float32)  # (x, y) of each ROI pixel

    def _move_head(self, cv2, image: np.ndarray, pose) -> np.ndarray:
        """The engine's head pose on top of the recording's own: a smooth field, pulled backwards."""
        if max(abs(pose.yaw), abs(pose.pitch), abs(pose.roll)) < 0.05 and abs(pose.x) + abs(pose.y) < 1e-4:
            return image
        n, (y0, y1, x0, x1) = HEAD_GRID, self.head_roi
        d = (self.follow * head_displacement(self.grid, self.pivot, pose, self.metres)).reshape(n, n, 2)
        field = cv2.resize(d, (self.size, self.size), interpolation=cv2.INTER_LINEAR)[y0:y1, x0:x1]
        # remap reads the whole frame and returns a new ROI, so writing it back into the frame is safe
        image[y0:y1, x0:x1] = cv2.remap(image, self.pixels - field, None, interpolation=cv2.INTER_LINEAR,
                                        borderMode=cv2.BORDER_REPLICATE)
        return image

    def _placement(self, cv2, landmarks, ref, canvas_to_ref, mask, k):
        """Where a canonical crop lands on base frame k: (ROI, affine into it, warped mask)."""
        to_out = compose(similarity(ref[STEADY, :2], landmarks[STEADY, :2]), canvas_to_ref)
        ch, cw = mask.shape
        corners = np.array([[0, 0], [cw, 0], [0, ch], [cw, ch]], np.float32) @ to_out[:, :2].T + to_out[:, 2]
        x0, y0 = np.maximum(np.floor(corners.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(corners.max(axis=0)).astype(int), self.size)
        matrix = to_out.copy()
        matrix[:, 2] -= (x0, y0)
        alpha = cv2.warpAffine(mask, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR)[..., None]
        return (y0, y1, x0, x1), matrix, alpha

    def render(self, frame: FaceFrame) -> np.ndarray:
        self.load()
        cv2 = require("cv2", "video avatar", "portrait")
        if frame.t < self._last_t:
            self.path.reset()  # a new utterance or stream: no smoothness owed to the old one
        self._last_t = frame.t
        k = int(self.loop[int(round(frame.t * self.base_fps)) % len(self.loop)])
        group = wanted_group(frame.blendshapes) if self.path.groups is not None else -1
        wanted = wanted_shape(frame.blendshapes, self.space.rest)
        j = self.path.choose(wanted, float(self.base_turns[k]), group)
        if self.synthesis and shape_distance(wanted, self.path.shapes[j]) > CLOSE_MATCH:
            j = self.path.choose_again(wanted, float(self.base_turns[k]), group, SYNTH_WEIGHTS)
        self.last_mouth = j
        out = self.base[k].copy()
        lay_in(cv2, out, self._mouth(j, wanted), self.placements[k])
        self.expression.apply(out, frame.blendshapes, frame.gaze, self.face_shift[k])
        if self.closed_eyes is not None:
            lid = 0.5 * float(frame.blendshapes[BLINK[0]] + frame.blendshapes[BLINK[1]])
            closed = float(np.clip((lid - 0.35) / 0.5, 0, 1))
            if closed > 0.01:  # the recorded closed eyes, faded in as the lids come down
                strength = closed * closed * (3 - 2 * closed)
                lay_in(cv2, out, self.closed_eyes, self.eye_placements[k], strength)
        return self._move_head(cv2, out, frame.head) if self.head_motion else out


    def _mouth(self, j: int, wanted: np.ndarray) -> np.ndarray:
        """Recorded mouth j, reshaped towards the wanted opening and width where it misses them."""
        have = self.path.shapes[j]
        miss = np.abs(wanted[:2] - have[:2]) > SYNTH_FROM
        # only where the recording has nothing close: a close match is shown as it was recorded
        self.last_synthesised = bool(self.synthesis and miss.any() and shape_distance(wanted, have) > CLOSE_MATCH)
        if not self.last_synthesised:
            return self.mouths[j]
        span = self.space.high - self.space.low
        raw_want, raw_have = self.space.low + wanted * span, self.space.low + have * span
        add_open = float(raw_want[0] - raw_have[0]) if miss[0] else 0.0
        width = float(raw_want[1] / max(raw_have[1], 1e-3)) if miss[1] else 1.0
        return self.reshaper.reshape(self.mouths[j], add_open, width, float(raw_have[0]))


def _mouth_frame(ref: np.ndarray, box_to_canvas: np.ndarray) -> MouthFrame:
    """The mouth's centre, half width and the eye-corner distance in the canonical crop's pixels."""
    def at(i: int) -> np.ndarray:
        return ref[i, :2] @ box_to_canvas[:, :2].T + box_to_canvas[:, 2]

    return MouthFrame((at(13) + at(14)) / 2, float(np.linalg.norm(at(291) - at(61))) / 2,
                      float(np.linalg.norm(at(263) - at(33))))


def _two_eyes(width: int, height: int) -> np.ndarray:
    """A mask over the eye crop: a feathered ellipse around each eye, nothing over the nose bridge."""
    half = width // 2
    mask = np.zeros((height, width), np.float32)
    mask[:, :half] = _feathered_ellipse(half, height)
    mask[:, width - half:] = np.maximum(mask[:, width - half:], _feathered_ellipse(half, height))
    return mask


def _feathered_ellipse(width: int, height: int) -> np.ndarray:
    """A mask over the mouth crop: 1 inside an ellipse, falling smoothly to 0 at the crop's edges."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = np.sqrt(((x + 0.5) / width * 2 - 1) ** 2 + ((y + 0.5) / height * 2 - 1) ** 2)
    inner = 1 - 2 * FEATHER
    t = np.clip((1 - r) / (1 - inner), 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)
