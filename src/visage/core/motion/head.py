"""Rule-based head motion: the voice moves the head, meaning shapes it, physics keeps it believable.

Three layers are summed into a target pose each frame, then a jerk-limited critically damped spring
follows the target so that the output never jumps, whatever the input does:

* base: loudness beats and the F0 contour (relative to the speaker's median), band-limited to the
  1-2 Hz phrase rhythm, a new phrase gesture after each pause (larger after longer pauses), stillness
  at phrase ends, and a slow aperiodic drift (animation-facts.md, "Blinks, gaze, head");
* semantic: a nod on emphasised words peaking at the stressed syllable, a rising tilt at the end of
  questions, livelier exclamations, emotion biases;
* conversation state: listener nods and a tilt when listening, a turn aside when thinking.

Channels are pitch, yaw, roll (degrees) and x, y, z (metres), as in `HeadPose`.
"""
from __future__ import annotations

import math

import numpy as np

from visage.core.motion.models import HeadPoseModel
from visage.core.motion.style import MotionStyle
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, Emotion, HeadPose, Sentence, SentenceType
from visage.core.motion.easing import smoothstep

# -- physics (per channel: pitch, yaw, roll in degrees; x, y, z in metres) --------------------------
# Conversational nods of 5-10 degrees at 2-3 Hz reach ~50 deg/s, ~700 deg/s^2 and ~12,000 deg/s^3;
# the limits leave room for that and stop anything faster.
MAX_VELOCITY = 120.0  # deg/s
MAX_ACCEL = 1500.0  # deg/s^2
MAX_JERK = 30000.0  # deg/s^3
MAX_SHIFT = 0.02  # m, translation limit on each axis
MAX_SHIFT_VELOCITY, MAX_SHIFT_ACCEL, MAX_SHIFT_JERK = 0.1, 1.5, 30.0  # m/s, m/s^2, m/s^3
SPRING_OMEGA = 22.0  # rad/s: the spring lags a slow target by 2/omega = 90 ms
_SOFT_VELOCITY = 0.85  # the controller aims below the hard velocity limit...
_TARGET_MARGIN = 0.9  # ...and the target stays inside the angle limits,
_WALL, _BRAKE = 0.98, 0.8  # ...and braking, planned at 80 % of the acceleration limit, stops short of them
_SUBSTEP = 0.01  # s: integration step, whatever the frame rate

# -- look-ahead (the engine guarantees input to t + 0.2 s) --------------------------------------------
LOOKAHEAD = 0.2
_BASE_LEAD = 0.08  # voice features are read this far ahead, to offset the filters' lag
_NOD_LEAD = 0.08  # nods are drawn this far ahead, so that the smoothed nod peaks on time

# -- base motion ----------------------------------------------------------------------------------
_SPEECH_LEVEL = 0.05  # loudness above this counts as voice
_BEAT_TAU, _SLOW_TAU = 0.08, 0.6  # s: the fast minus the slow envelope passes ~0.3-2 Hz
_ACTIVITY_TAU = 0.25  # s: how quickly the head stills when a phrase ends
_BEAT_DEG = 4.0  # head pitch per unit of band-passed loudness: down on loud syllables
_F0_PITCH_DEG = 0.25  # pitch per semitone of band-passed F0: nods peak near pitch peaks
_F0_ROLL_DEG = 0.3  # roll per semitone of the smoothed F0 contour
_F0_YAW_DEG = 0.3  # yaw per semitone of band-passed F0
_GESTURE_DEG = np.array([1.2, 3.0, 1.5])  # phrase gesture spread (pitch, yaw, roll) after a pause
_MIN_PAUSE = 0.2  # s of quiet before a new phrase gesture
_EXCLAMATION_GAIN = 1.4
_DRIFT = np.array([0.6, 1.2, 0.5, 0.002, 0.001, 0.002])  # slow drift amplitude per channel
_DRIFT_HZ = (0.03, 0.3)  # drift sines: random, so incommensurate, frequencies in this band

# -- semantic layer -------------------------------------------------------------------------------
_NOD_DEG = 4.0
_NOD_WIDTH = 0.34  # s, the whole nod: down and back
_NOD_PEAK_AFTER_STRESS = 0.03  # s: the nod bottoms just after the stressed vowel's onset
_SHAKE_WIDTH = 0.5  # s, a sideways "yes" (style.shake_means_yes)
_QUESTION_PITCH, _QUESTION_ROLL = 4.0, 4.0  # deg: raise and tilt at a question's end
_QUESTION_FROM = 0.6  # share of the sentence after which the question rise builds
_ENTER, _LEAVE = 0.4, 0.5  # s: sentence tags fade in over ENTER, out with time constant LEAVE
# Emotion biases at intensity 1: pitch, yaw, roll (deg; roll and yaw are signed by the model's side),
# x, y, z (m). Sad droops, surprised and happy lift, angry leans forward, fear and disgust pull back.
_EMOTION_BIAS = {
    Emotion.NEUTRAL: (0, 0, 0, 0, 0, 0),
    Emotion.HAPPY: (-1.5, 0, 1.0, 0, 0.002, 0),
    Emotion.SAD: (4.0, 0, -1.0, 0, -0.004, -0.003),
    Emotion.ANGRY: (1.5, 0, 0, 0, 0, 0.012),
    Emotion.SURPRISED: (-3.0, 0, 0, 0, 0.003, -0.006),
    Emotion.FEARFUL: (1.0, 0, 0, 0, -0.002, -0.008),
    Emotion.DISGUSTED: (-1.0, 3.0, -1.0, 0, 0, -0.006),
}

# -- conversation states --------------------------------------------------------------------------
_STATE_FADE = 0.6  # s to cross-fade between state poses
_STATE_POSE = {  # pitch, yaw, roll, x, y, z; yaw and roll signed by the model's side
    ConversationState.LISTENING: (1.0, 0, 3.0, 0, 0, 0.004),  # slight tilt, leaning in
    ConversationState.THINKING: (-2.0, 7.0, 3.0, 0, 0, 0),  # turned aside, tilted, looking up
}
_LISTEN_NOD_DEG = 1.5
_LISTEN_NOD_WIDTH = 0.3  # s: a quick nod (animation-facts: listener nods are 2.6-6.5 Hz)
_LISTEN_GAP = (2.0, 4.0)  # s between listener nods
_LISTEN_DOUBLE = 0.3  # chance of a second, smaller nod right after

_PUNCTUATION = " .,!?;:…\"'”’)]}。！？；，"


class RuleHeadPoseModel(HeadPoseModel):
    """Head pose from speech, its tags and the conversation state, within `style`'s limits.

    Deterministic for a `seed`: the same calls give the same poses. `pose` must be called in time
    order; `reset` (an interruption) forgets the speech so far and lets the head ease back to rest.
    """

    def __init__(self, style: MotionStyle, fps: float, seed: int = 0) -> None:
        self.style = style
        self.fps = float(fps)
        self.seed = int(seed) & 0xFFFFFFFF
        rng = np.random.default_rng([self.seed, 1])
        self._side = 1.0 if rng.random() < 0.5 else -1.0  # which way this head tilts and turns
        self._drift_hz = rng.uniform(*_DRIFT_HZ, size=(6, 4))
        self._drift_phase = rng.uniform(0, 2 * np.pi, size=(6, 4))
        self._drift_amp = _DRIFT[:, None] * rng.uniform(0.5, 1.0, size=(6, 4)) / 2.0
        # per channel: the four sines' amplitudes, angular frequencies and phases, as plain floats
        self._drift_waves = list(zip(self._drift_amp.tolist(), (2 * np.pi * self._drift_hz).tolist(),
                                     self._drift_phase.tolist()))
        self._limit = [style.max_pitch, style.max_yaw, style.max_roll, MAX_SHIFT, MAX_SHIFT, MAX_SHIFT]
        self._target_limit = [_TARGET_MARGIN * x for x in self._limit]
        # per axis: limit, vmax, amax, jerk, soft speed, braking acceleration, the jerk's two helpers
        self._axes = [(limit, vmax, amax, jerk, _SOFT_VELOCITY * vmax, _BRAKE * amax, 2 * jerk)
                      for limit, vmax, amax, jerk in zip(self._limit, [MAX_VELOCITY] * 3 + [MAX_SHIFT_VELOCITY] * 3,
                                                         [MAX_ACCEL] * 3 + [MAX_SHIFT_ACCEL] * 3,
                                                         [MAX_JERK] * 3 + [MAX_SHIFT_JERK] * 3)]
        # state poses with yaw and roll signed by this head's side
        self._state_poses = {s: [p[0], p[1] * self._side, p[2] * self._side, p[3], p[4], p[5]]
                             for s, p in ((s, [float(v) for v in pose]) for s, pose in _STATE_POSE.items())}
        self._emotion_bias = {e: [b[0], b[1] * self._side, b[2] * self._side, b[3], b[4], b[5]]
                              for e, b in ((e, [float(v) for v in bias]) for e, bias in _EMOTION_BIAS.items())}
        self._nod_draws: dict[int, tuple[float, float]] = {}  # a nod's two seeded draws, by onset in ms
        self._x = [0.0] * 6
        self._v = [0.0] * 6
        self._a = [0.0] * 6
        self._last_t: float | None = None
        self._mute_before = -math.inf
        self._listen_rng = np.random.default_rng([self.seed, 2])
        self._state_w = {s: 0.0 for s in _STATE_POSE}  # cross-fade weights of the state poses
        self._next_listen_nod: float | None = None
        self._listen_nods: list[tuple[float, float]] = []  # (peak time, amplitude)
        self._clear()

    def _clear(self) -> None:
        """Forget what the speech so far set in motion (not the pose, nor the conversation state)."""
        self._beat_fast = self._beat_slow = 0.0
        self._f0_fast = self._f0_slow = 0.0
        self._activity = 0.0
        self._quiet = math.inf
        self._gesture = [0.0, 0.0, 0.0]

    def reset(self) -> None:
        """Interruption: drop the speech heard so far; the pose itself eases back to rest."""
        self._clear()
        if self._last_t is not None:
            self._mute_before = self._last_t

    def pose(self, t: float, track: SpeechTrack, state: ConversationState) -> HeadPose:
        """The head pose at `t`; reads the track up to LOOKAHEAD seconds beyond `t`.

        The six channels are plain floats from here on: numpy on six numbers costs more in calls than
        it saves (a live server asks this 25 times a second for every conversation)."""
        if self._last_t is None:
            dt = 1.0 / self.fps
        else:
            dt = t - self._last_t
            if -0.5 < dt <= 0:  # asked twice for the same frame
                return self._output()
            if dt <= -0.5:  # a new clock started: carry on from the current pose
                dt, self._mute_before = 1.0 / self.fps, -math.inf
        dt = min(dt, 1.0)
        self._last_t = t
        target = [a + b for a, b in zip(self._drift(t), self._state_layer(t, dt, state))]
        gain = self._sentence_layer(t, track, target)
        base = self._base(t, dt, track, gain)
        target[0] += base[0]
        target[1] += base[1]
        target[2] += base[2]
        nods = self._nods(t, track)
        target[0 if not self.style.shake_means_yes else 1] += nods
        target[4] -= 0.0006 * target[0]  # a nod drops the head a little
        for i, hi in enumerate(self._target_limit):
            x = target[i]
            target[i] = -hi if x < -hi else (hi if x > hi else x)
        self._follow(target, dt)
        return self._output()

    # -- physics --------------------------------------------------------------------------------
    def _follow(self, target: list[float], dt: float) -> None:
        """Jerk-limited critically damped spring towards `target`, in fixed small substeps.

        Each of the six axes is its own spring, stepped with plain floats and the stopping distance
        inlined (the same arithmetic as on arrays, several times faster for six numbers)."""
        n = max(1, math.ceil(dt / _SUBSTEP - 1e-9))
        h = dt / n
        w = SPRING_OMEGA
        ww, w2 = w * w, 2 * w
        xs, vs, as_ = self._x, self._v, self._a
        for i, (limit, vmax, amax, jerk, vsoft, brake, jerk2) in enumerate(self._axes):
            goal, x, v, a = target[i], xs[i], vs[i], as_[i]
            step = jerk * h
            wall = _WALL * limit
            for _ in range(n):
                want = ww * (goal - x) - w2 * v
                # the acceleration cannot change at once, so look one step ahead: stop accelerating
                # before the speed limit, and brake while the head can still stop short of the limit
                d = want - a
                a1 = a + (-step if d < -step else (step if d > step else d))
                v1 = v + a1 * h
                peak_v = v1 + a1 * ((a1 if a1 >= 0 else -a1) / jerk2 + h)
                if peak_v > vsoft and want > 0.0:
                    want = 0.0
                if peak_v < -vsoft and want < 0.0:
                    want = 0.0
                if v1 >= 0:
                    ahead, speed, push = 1.0, v1, a1
                else:
                    ahead, speed, push = -1.0, -v1, -a1
                room = wall - ahead * (x + v1 * h)
                # the stopping distance: acceleration turned at the jerk limit into braking, then braking
                ramp = push + brake
                ramp = (ramp if ramp > 0.0 else 0.0) / jerk
                speed_after = speed + push * ramp - jerk * ramp ** 2 / 2
                ramping = speed * ramp + push * ramp ** 2 / 2 - jerk * ramp ** 3 / 6
                if speed_after < 0.0:
                    speed_after = 0.0
                if ramping < 0.0:
                    ramping = 0.0
                if ramping + speed_after ** 2 / (2 * brake) + speed * h >= room:
                    want = -ahead * amax
                if want < -amax:
                    want = -amax
                elif want > amax:
                    want = amax
                d = want - a
                a += -step if d < -step else (step if d > step else d)
                v += a * h
                if v < -vmax:
                    v = -vmax
                elif v > vmax:
                    v = vmax
                x += v * h
            if x > limit or x < -limit:  # last resort: never leave the limits
                x, v, a = (limit if x > 0 else -limit), 0.0, 0.0
            xs[i], vs[i], as_[i] = x, v, a

    def _output(self) -> HeadPose:
        lim = self._limit
        return HeadPose(*(-m if x < -m else (m if x > m else x) for x, m in zip(self._x, lim)))

    # -- layers ---------------------------------------------------------------------------------
    def _drift(self, t: float) -> list[float]:
        """Sum of sines with random (so incommensurate) frequencies: smooth and never repeating."""
        gain = self.style.idle_amplitude * self.style.head_amplitude
        sin = math.sin
        return [gain * (a0 * sin(w0 * t + p0) + a1 * sin(w1 * t + p1) + a2 * sin(w2 * t + p2) + a3 * sin(w3 * t + p3))
                for (a0, a1, a2, a3), (w0, w1, w2, w3), (p0, p1, p2, p3) in self._drift_waves]

    def _base(self, t: float, dt: float, track: SpeechTrack, gain: float) -> list[float]:
        """Pitch, yaw, roll following the voice in the 1-2 Hz phrase rhythm."""
        ts = t + _BASE_LEAD
        s = track.sentence_at(ts)
        live = s is None or s.start >= self._mute_before
        level = track.loudness(ts) if live else 0.0
        f0, median = (track.pitch(ts), track.pitch_reference(t)) if live else (0.0, 0.0)
        voiced = level > _SPEECH_LEVEL
        if voiced and self._quiet > _MIN_PAUSE:  # a phrase begins: a new gesture, larger after long pauses
            rng = np.random.default_rng([self.seed, 3, int(abs(t) * 1000)])
            self._gesture = (_GESTURE_DEG * rng.uniform(-1, 1, 3) * (0.6 + 0.8 * min(self._quiet, 1.0))).tolist()
        self._quiet = 0.0 if voiced else self._quiet + dt
        self._beat_fast += _alpha(dt, _BEAT_TAU) * (level - self._beat_fast)
        self._beat_slow += _alpha(dt, _SLOW_TAU) * (level - self._beat_slow)
        semitones = 12 * math.log2(f0 / median) if f0 > 0 and median > 0 else 0.0
        semitones = -12.0 if semitones < -12 else (12.0 if semitones > 12 else semitones)
        if f0 > 0 or not voiced:  # unvoiced consonants hold the contour; silence lets it settle
            self._f0_fast += _alpha(dt, _BEAT_TAU if f0 > 0 else 1.0) * (semitones - self._f0_fast)
            self._f0_slow += _alpha(dt, _SLOW_TAU) * (self._f0_fast - self._f0_slow)
        self._activity += _alpha(dt, _ACTIVITY_TAU) * ((1.0 if voiced else 0.0) - self._activity)
        beat = self._beat_fast - self._beat_slow
        f0_band = self._f0_fast - self._f0_slow
        g = self._gesture
        scale = (self._activity, gain, self.style.head_amplitude)
        out = []
        for value in (_BEAT_DEG * beat + _F0_PITCH_DEG * f0_band + g[0], self._side * _F0_YAW_DEG * f0_band + g[1],
                      self._side * _F0_ROLL_DEG * self._f0_fast + g[2]):
            out.append(value * scale[0] * scale[1] * scale[2])
        return out

    def _sentence_layer(self, t: float, track: SpeechTrack, target: list[float]) -> float:
        """Add question rises and emotion biases to `target`; return the gain on base motion."""
        bias, weight, lively = [0.0] * 6, 0.0, 0.0
        amplitude = self.style.head_amplitude
        neutral = self._emotion_bias[Emotion.NEUTRAL]
        for s in track.sentences:
            if s.start > t + LOOKAHEAD or s.start < self._mute_before:
                continue
            end = _end_of(s, track, t)
            leave = 1.0 if end is None or t <= end else math.exp(-(t - end) / _LEAVE)
            if leave < 1e-3:
                continue
            w = smoothstep((t - s.start + _ENTER / 2) / _ENTER) * leave
            e = self._emotion_bias.get(s.emotion, neutral)
            k = w * s.intensity
            for i in range(6):
                bias[i] += k * e[i]
            weight += w
            if s.sentence_type == SentenceType.QUESTION:
                rise = smoothstep((_progress(s, track, t) - _QUESTION_FROM) / (1 - _QUESTION_FROM)) * leave
                target[0] -= _QUESTION_PITCH * rise * amplitude
                target[2] += self._side * _QUESTION_ROLL * rise * amplitude
            elif s.sentence_type == SentenceType.EXCLAMATION:
                lively = max(lively, w)
        norm = max(1.0, weight)
        for i in range(6):
            target[i] += bias[i] / norm * amplitude
        return 1.0 + (_EXCLAMATION_GAIN - 1.0) * lively

    def _nods(self, t: float, track: SpeechTrack) -> float:
        """Nods (or sideways yes-shakes) on the emphasised words around `t`, peaking just after each
        word's stressed vowel; known from the word's phones as they are said (SpeechTrack)."""
        width = _SHAKE_WIDTH if self.style.shake_means_yes else _NOD_WIDTH
        gain = _NOD_DEG * self.style.nod_strength * self.style.head_amplitude
        total = 0.0
        for onset, stress in track.emphasis_peaks(t - width, t + LOOKAHEAD + width):
            if onset < self._mute_before:
                continue
            chance, spread = self._nod_draw(onset)
            if chance >= self.style.nod_rate:
                continue
            peak = stress + _NOD_PEAK_AFTER_STRESS
            u = (t + _NOD_LEAD - peak) / width + 0.5  # 0..1 across the nod
            if 0.0 < u < 1.0:
                size = gain * spread
                total += size * (_shake(u) if self.style.shake_means_yes else _bump(u))
        return total

    def _nod_draw(self, onset: float) -> tuple[float, float]:
        """The two draws of the generator seeded by a nod's onset: whether it nods, and its size. Kept
        by onset, since the same word is asked about for every frame it spans."""
        key = _ms(onset)
        draws = self._nod_draws.get(key)
        if draws is None:
            rng = np.random.default_rng([self.seed, 4, key])
            draws = (rng.random(), rng.uniform(0.85, 1.15))
            if len(self._nod_draws) > 256:
                self._nod_draws.clear()
            self._nod_draws[key] = draws
        return draws

    def _state_layer(self, t: float, dt: float, state: ConversationState) -> list[float]:
        """Cross-faded state poses, and listener nods while listening."""
        out = [0.0] * 6
        step = dt / _STATE_FADE
        for s, p in self._state_poses.items():
            goal = 1.0 if s == state else 0.0
            d = goal - self._state_w[s]
            self._state_w[s] += -step if d < -step else (step if d > step else d)
            k = smoothstep(self._state_w[s])
            if k:
                for i in range(6):
                    out[i] += k * p[i]
        amplitude = self.style.head_amplitude
        out[0] *= amplitude
        out[1] *= amplitude
        out[2] *= amplitude
        if state == ConversationState.LISTENING:
            rng = self._listen_rng
            if self._next_listen_nod is None:
                self._next_listen_nod = t + rng.uniform(0.8, 2.0)
            if t + _LISTEN_NOD_WIDTH >= self._next_listen_nod:
                size = _LISTEN_NOD_DEG * rng.uniform(0.7, 1.2) * self.style.nod_strength * self.style.head_amplitude
                self._listen_nods.append((self._next_listen_nod, size))
                if rng.random() < _LISTEN_DOUBLE:
                    self._listen_nods.append((self._next_listen_nod + 1.1 * _LISTEN_NOD_WIDTH, 0.7 * size))
                self._next_listen_nod += rng.uniform(*_LISTEN_GAP)
        else:
            self._next_listen_nod = None
        self._listen_nods = [(p, a) for p, a in self._listen_nods if t - p < _LISTEN_NOD_WIDTH]
        shape = _shake if self.style.shake_means_yes else _bump
        nod = sum(a * shape((t - p) / _LISTEN_NOD_WIDTH + 0.5) for p, a in self._listen_nods)
        out[1 if self.style.shake_means_yes else 0] += nod
        return out


# -- helpers ----------------------------------------------------------------------------------------
def _alpha(dt: float, tau: float) -> float:
    return 1.0 - math.exp(-dt / tau)




def _bump(u: float) -> float:
    """A nod: a raised cosine over u in [0, 1], peak 1 at u = 0.5, zero outside."""
    return 0.5 * (1 - math.cos(2 * math.pi * u)) if 0.0 < u < 1.0 else 0.0


def _shake(u: float) -> float:
    """A sideways yes: one smooth left-right swing over u in [0, 1], peak magnitude 1."""
    return math.sin(2 * math.pi * u) * math.sin(math.pi * u) / 0.7698 if 0.0 < u < 1.0 else 0.0


def _ms(t: float) -> int:
    return int(round(abs(t) * 1000))


def _end_of(s: Sentence, track: SpeechTrack, t: float) -> float | None:
    """A sentence's end; a sentence cut short ends where the speech stopped."""
    if s.end is not None:
        return s.end
    if track.ended or t > track.horizon:
        return track.horizon
    return None


def _progress(s: Sentence, track: SpeechTrack, t: float) -> float:
    """How far into the sentence's text the voice is at `t` (0-1), from the words spoken so far."""
    length = len(s.text.rstrip(_PUNCTUATION))
    said = [w for w in track.words if s.start - 1e-6 <= w.start <= t and (s.end is None or w.start < s.end)]
    if not said or length == 0:
        return 0.0
    w = said[-1]
    along = min(1.0, max(0.0, (t - w.start) / max(w.end - w.start, 1e-3)))
    return min(1.0, (w.char_start + along * (w.char_end - w.char_start)) / length)
