"""The living layer made of rules: blinks, gaze, breathing and idle sway.

Figures come from animation-facts.md ("Blinks, gaze, head") unless a comment names another source.
Every random choice is drawn from a generator seeded by `seed`, one generator per concern, so the same
inputs always give the same motion and a change in one concern leaves the others as they were. The
model keeps its own clock, advanced frame by frame, so a restarted audio clock or a reset never makes
anything jump; the track is read at most LOOKAHEAD seconds beyond the frame.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from visage.core.arkit import INDEX, N_BLENDSHAPES
from visage.core.motion.models import LifeFrame, LifeModel
from visage.core.motion.style import MotionStyle
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, Gaze, HeadPose, Phoneme, Word
from visage.core.motion.easing import smoothstep

S = ConversationState
LOOKAHEAD = 0.2  # seconds of the track beyond t that the model reads
PHRASE_PAUSE = 0.25  # a silence at least this long ends a phrase

# Blinks: ~26/min in conversation and 17 at rest (the style's rate is the conversational one);
# intervals log-normal; ~100 ms closing, faster than the opening; many partial.
BLINK_RATE_GAIN = {S.SPEAKING: 0.92, S.LISTENING: 0.85, S.THINKING: 0.9, S.IDLE: 0.75}
INTERVAL_SIGMA = 0.65  # log-normal spread: mean > median, a long right tail
MIN_INTERVAL = 0.45
PARTIAL_SHARE = 0.2  # partial blinks peak at 0.6-0.9, the rest close fully
DOUBLE_SHARE = 0.07
TURN_BLINK_GAP = 0.6  # no turn-change blink this soon after another blink
PULL_GAP = 1.0  # no blink is pulled onto a phrase end this soon after another
HOLD = 1.2  # a blink due mid-phrase waits this long at most for the phrase to end
EMPHASIS_LIMIT = 0.45  # the lid stays below this during emphasised words
SQUINT_IN_BLINK = 0.15
GAZE_DROP_IN_BLINK = 2.0  # degrees the eyes sink while the lid is down

# Gaze: mutual ~60 % of the time in bouts of ~2 s; looking away at turn starts and while thinking.
# Per state: mean mutual bout (s), mean away bout (s), away |yaw| range and away pitch range (degrees).
GAZE_BOUTS = {
    S.SPEAKING: (2.0, 1.3, (8.0, 15.0), (-3.0, 8.0)),
    S.LISTENING: (3.5, 0.6, (4.0, 8.0), (-3.0, 4.0)),
    S.IDLE: (2.4, 1.4, (5.0, 12.0), (-4.0, 6.0)),
    S.THINKING: (0.6, 2.6, (8.0, 15.0), (3.0, 10.0)),
}
BOUT_SIGMA = 0.4
SHORTEST_GLANCE = 0.4  # seconds: a look away never flickers back sooner
MUTUAL_AT_PHRASE_END = 1.0  # seconds of mutual gaze from a phrase end on
SACCADE_EVERY = (0.7, 1.3)  # mean time between small saccades within a mutual / away bout
GAZE_LIMIT = (25.0, 20.0)  # |yaw|, |pitch| in degrees
EYE_LOOK_PER_DEGREE = 0.035  # +-20 degrees of gaze gives eyeLook* 0.7

# Breathing: 12-18 breaths/min at rest, inhaling ~40 % of each breath; in speech, quick inhales at
# pauses and long exhales. The lungs follow a critically damped spring towards full or empty, so an
# inhale can begin anywhere in an exhale without a jump.
INHALE_S = {"rest": (0.9, 1.9), "speech": (0.3, 0.45)}
EXHALE_S = {"rest": (1.7, 3.5), "speech": (3.0, 5.0)}
SPRING_SETTLE = 4.7  # a critically damped spring covers 95 % of its way in 4.7 / omega seconds
ENOUGH_AIR = 0.8  # above this, no extra inhale before speaking
BREATH_Y = 0.003  # metres of head rise from empty to full lungs
BREATH_PITCH = 0.4  # degrees the head tilts back on a full breath

# Idle sway per channel (yaw, pitch, roll in degrees; x, z in metres), then eye drift (yaw, pitch).
SWAY = np.array([1.2, 0.6, 0.6, 0.002, 0.0015])
EYE_DRIFT = np.array([0.3, 0.2])
SWAY_STATE_GAIN = {S.SPEAKING: 0.5, S.LISTENING: 0.8, S.THINKING: 1.0, S.IDLE: 1.0}
SWAY_TAU = 1.0  # seconds for the sway gain to follow a change of state
_SWAY, _EYE_DRIFT = SWAY.tolist(), EYE_DRIFT.tolist()  # as plain floats for the frame loop


@dataclass
class _Blink:
    """One lid movement on the model's clock: close, hold, open (the hold may be cut short)."""

    start: float
    close: float
    hold_end: float
    open: float
    peak: float

    @property
    def top(self) -> float:
        return min(self.start + self.close, self.hold_end)

    @property
    def end(self) -> float:
        return self.hold_end + self.open

    def weight(self, c: float) -> float:
        if c <= self.start:
            return 0.0
        if c < self.top:
            return self.peak * smoothstep((c - self.start) / self.close)
        if c < self.hold_end:
            return self.peak
        held = self.peak * smoothstep((self.hold_end - self.start) / self.close)
        return held * (1.0 - smoothstep((c - self.hold_end) / self.open))

    def highest(self, a: float, b: float) -> float:
        """The largest weight within [a, b] (the shape rises, holds, falls)."""
        return self.weight(min(max(self.top, a), b))

    def open_now(self, c: float, quick: float = 0.08) -> None:
        if c < self.hold_end:
            self.hold_end, self.open = max(c, self.start), min(self.open, quick)


class _SmoothNoise:
    """Seeded band-limited noise: a uniform cubic B-spline through random knots. It never repeats
    and never jumps; knots are drawn as time moves on and forgotten once passed."""

    def __init__(self, rng: np.random.Generator, spacing: float, dims: int) -> None:
        self._rng, self._spacing, self._dims = rng, spacing, dims
        self._first = -1  # index of the oldest kept knot
        self._knots = list(rng.standard_normal((4, dims)))
        self._window: tuple[int, np.ndarray] | None = None  # the four knots around the last interval

    def at(self, c: float) -> np.ndarray:
        u = c / self._spacing
        i = math.floor(u)
        f = u - i
        while self._first + len(self._knots) < i + 3:
            self._knots.append(self._rng.standard_normal(self._dims))
        drop = i - 1 - self._first
        if drop > 0:
            del self._knots[:drop]
            self._first += drop
        if self._window is None or self._window[0] != i:  # a new interval: its four knots as one array
            self._window = (i, np.array(self._knots[i - 1 - self._first : i + 3 - self._first]))
        w = np.array([(1 - f) ** 3 / 6.0, (3 * f**3 - 6 * f**2 + 4) / 6.0, (-3 * f**3 + 3 * f**2 + 3 * f + 1) / 6.0,
                      f**3 / 6.0])
        return w.dot(self._window[1]) / 0.7  # the spline's spread is ~0.7 of the knots'


class RuleLifeModel(LifeModel):
    """Blinks, gaze, breathing and idle sway from rules and seeded randomness."""

    def __init__(self, style: MotionStyle, fps: float, seed: int = 0) -> None:
        self.style, self.fps = style, float(fps)
        self._rng_blink, self._rng_gaze, self._rng_breath, slow, fast = (
            np.random.default_rng([seed, k]) for k in range(5)
        )
        self._noise = (_SmoothNoise(slow, 2.2, 7), _SmoothNoise(fast, 0.7, 7))
        self._pull = min(1.2, 0.4 * 60.0 / style.blink_rate)  # how early a due blink may be pulled
        self._side = 1.0 if self._rng_gaze.random() < 0.5 else -1.0  # the side this face looks away to
        self._t: float | None = None
        self._c = 0.0  # the model's own clock
        self._state: ConversationState | None = None
        self._reset = False
        # blinks
        self._blinks: list[_Blink] = []
        self._last_blink = -10.0
        self._due = self._planned = self._interval(S.IDLE)  # when the next blink comes, when it was meant to
        # gaze: a saccade from `_from` to `_to` starting at `_s0`, within a bout ending at `_bout_end`
        self._away = False
        self._anchor = (0.0, 0.0)
        self._from = self._to = (0.0, 0.0)
        self._s0, self._sdur = 0.0, 1.0
        self._bout_start = self._bout_end = self._next_saccade = 0.0
        # breathing and sway
        self._lungs, self._lungs_v = float(self._rng_breath.random()), 0.0
        self._inhaling, self._omega = True, SPRING_SETTLE / INHALE_S["rest"][1]
        self._inhale_at = math.inf  # when the next pause in speech begins
        self._last_talk = -math.inf
        self._sway_gain = 1.0

    def reset(self) -> None:
        """Back to rest: the next frame drops planned blinks and saccades home; nothing jumps."""
        self._reset = True

    # -- the frame --------------------------------------------------------------------------------
    def frame(self, t: float, track: SpeechTrack, state: ConversationState) -> LifeFrame:
        dt = 0.0 if self._t is None else t - self._t
        if not 0.0 <= dt <= 1.0:  # a restarted or jumping audio clock: carry on as if one frame passed
            dt = 1.0 / self.fps
        self._t, self._c = t, self._c + dt
        c, off = self._c, t - self._c
        if self._reset:
            self._reset = False
            self._blinks = [b for b in self._blinks if b.start < c]
            self._due = self._planned = c + self._interval(S.IDLE)
            self._state, self._inhale_at = S.IDLE, math.inf
            self._start_bout(c, S.IDLE, away=False)
        first, changed = self._state is None, state != self._state
        self._state = state

        emphasised = [w for w in track.words_between(t, t + LOOKAHEAD) if w.emphasised]
        # phones starting within the look-ahead, read whole (a pause's length tells a phrase end)
        near = track.phonemes_between(t, t + LOOKAHEAD + PHRASE_PAUSE)
        talking = any(p.symbol != "_" and p.start <= t for p in near)
        if talking:
            self._last_talk = c
        # speech about to begin after a silence (pauses within speech are phrase ends)
        onset = c - self._last_talk > PHRASE_PAUSE and any(p.symbol != "_" and p.start < t + LOOKAHEAD for p in near)
        phrase_end = _phrase_end(track, near, t, t + LOOKAHEAD)
        lid = self._blink(c, off, state, changed and not first, talking, emphasised, phrase_end)
        yaw, pitch = self._gaze(c, state, changed, phrase_end)
        # breathe in before speech: as it is about to begin, and in each pause while speaking
        if state == S.SPEAKING and phrase_end is not None:
            self._inhale_at = phrase_end - off
        inhale_now = onset or c >= self._inhale_at
        if inhale_now:
            self._inhale_at = math.inf
        head, drift = self._body(c, dt, state, changed, inhale_now)
        yaw = _clamp(yaw + drift[0], GAZE_LIMIT[0])
        pitch = _clamp(pitch + drift[1] - GAZE_DROP_IN_BLINK * lid, GAZE_LIMIT[1])
        return LifeFrame(_eye_shapes(lid, yaw, pitch), Gaze(yaw=yaw, pitch=pitch), head)

    # -- blinks -----------------------------------------------------------------------------------
    def _interval(self, state: ConversationState) -> float:
        mean = 60.0 * (1.0 + DOUBLE_SHARE) / (self.style.blink_rate * BLINK_RATE_GAIN[state])
        mu = math.log(mean) - INTERVAL_SIGMA**2 / 2  # so that the mean, not the median, is `mean`
        return max(MIN_INTERVAL, float(self._rng_blink.lognormal(mu, INTERVAL_SIGMA)))

    def _new_blink(self, start: float, full: bool = False) -> _Blink:
        rng = self._rng_blink
        close = float(np.clip(rng.normal(0.095, 0.012), 0.07, 0.13))
        hold = max(1.05 / self.fps, float(rng.uniform(0.02, 0.08)))  # at least one frame fully closed
        opening = float(np.clip(rng.normal(0.16, 0.025), 0.11, 0.24))
        partial = not full and rng.random() < PARTIAL_SHARE
        peak = float(rng.uniform(0.6, 0.9) if partial else rng.uniform(0.95, 1.0))
        return _Blink(start, close, start + close + hold, opening, peak)

    def _blink(self, c: float, off: float, state: ConversationState, changed: bool, talking: bool,
               emphasised: list[Word], phrase_end: float | None) -> float:
        rng = self._rng_blink
        if changed and state in (S.SPEAKING, S.LISTENING) and c - self._last_blink > TURN_BLINK_GAP:
            self._due = self._planned = c + float(rng.uniform(0.03, 0.12))  # blinks mark turn changes
        elif changed:
            self._due = self._planned = min(self._due, c + self._interval(state))
        if phrase_end is not None and c - self._last_blink > PULL_GAP:
            at = max(c, phrase_end - off)
            if self._due <= at + self._pull:  # a blink due soon moves onto the phrase end
                self._due = at + float(rng.uniform(0.0, 0.05))
        held = talking and c - self._due < HOLD  # speakers blink at phrase ends: wait for one
        if c >= self._due and not held:
            blink = self._new_blink(c)
            clash = [w for w in emphasised if blink.highest(w.start - off, w.end - off) >= EMPHASIS_LIMIT]
            if clash:  # never during an emphasised word: wait until it is over
                self._due = max(w.end for w in clash) - off + 0.03
            else:
                self._blinks.append(blink)
                if rng.random() < DOUBLE_SHARE:
                    self._blinks.append(self._new_blink(blink.hold_end + 0.7 * blink.open, full=True))
                # paced from when this one was planned, so moving blinks onto phrase ends keeps the rate
                self._planned += self._interval(state)
                self._last_blink, self._due = c, max(c + MIN_INTERVAL, self._planned)
        for w in emphasised:  # an emphasised word seen late: open the lid in time, drop what is planned
            for b in list(self._blinks):
                if b.highest(w.start - off, w.end - off) >= EMPHASIS_LIMIT:
                    if b.start >= c:
                        self._blinks.remove(b)
                    else:
                        b.open_now(c)
        self._blinks = [b for b in self._blinks if b.end > c]
        return max((b.weight(c) for b in self._blinks), default=0.0)

    # -- gaze -------------------------------------------------------------------------------------
    def _gaze_now(self, c: float) -> tuple[float, float]:
        k = smoothstep((c - self._s0) / self._sdur)
        return tuple(a + (b - a) * k for a, b in zip(self._from, self._to))

    def _saccade(self, c: float, target: tuple[float, float]) -> None:
        """Eyes jump fast: ~25 ms + 2.5 ms per degree (the main sequence), at most two frames."""
        self._from = self._gaze_now(c)
        size = math.hypot(target[0] - self._from[0], target[1] - self._from[1])
        self._to, self._s0 = target, c
        self._sdur = min(2.0 / self.fps, 0.025 + 0.0025 * size)

    def _start_bout(self, c: float, state: ConversationState, away: bool, least: float = 0.0) -> None:
        rng, (mutual, averted, yaws, pitches) = self._rng_gaze, GAZE_BOUTS[state]
        mean = averted if away else mutual
        length = float(rng.lognormal(math.log(mean) - BOUT_SIGMA**2 / 2, BOUT_SIGMA))
        self._away, self._bout_start, self._bout_end = away, c, c + max(least, length)
        if away:  # mostly to this face's own side, often up
            side = self._side if rng.random() < 0.7 else -self._side
            gain = self.style.gaze_aversion
            self._anchor = (side * float(rng.uniform(*yaws)) * gain, float(rng.uniform(*pitches)) * min(gain, 1.5))
        else:
            self._anchor = (0.0, 0.0)
        self._small_saccade(c)

    def _small_saccade(self, c: float) -> None:
        """To a point near the bout's anchor (in mutual gaze: the listener's eyes and mouth)."""
        rng = self._rng_gaze
        yaw = self._anchor[0] + float(np.clip(rng.normal(0.0, 1.0), -2.0, 2.0))
        pitch = self._anchor[1] + float(rng.uniform(-2.5, 0.5) if not self._away else rng.normal(0.0, 1.0))
        self._saccade(c, (yaw, pitch))
        mean = SACCADE_EVERY[self._away]
        self._next_saccade = c + max(0.25, float(rng.lognormal(math.log(mean) - 0.18, 0.6)))

    def _gaze(self, c: float, state: ConversationState, changed: bool, phrase_end: float | None):
        if changed:  # a new turn: speakers and thinkers look away, listeners look at the speaker
            away = state in (S.SPEAKING, S.THINKING) and self.style.gaze_aversion > 0
            self._start_bout(c, state, away=away, least=0.8 if away else 0.0)
        elif state == S.SPEAKING and phrase_end is not None:  # the listener is looked at as a phrase ends
            if not self._away:
                self._bout_end = max(self._bout_end, c + MUTUAL_AT_PHRASE_END)
            elif c - self._bout_start >= SHORTEST_GLANCE:
                self._start_bout(c, state, away=False, least=MUTUAL_AT_PHRASE_END)
            else:
                self._bout_end = min(self._bout_end, self._bout_start + SHORTEST_GLANCE)
        if c >= self._bout_end:
            away = not self._away or (state == S.THINKING and self._rng_gaze.random() < 0.5)
            self._start_bout(c, state, away=away)
        elif c >= self._next_saccade:
            self._small_saccade(c)
        return self._gaze_now(c)

    # -- breathing and sway -----------------------------------------------------------------------
    def _breathe(self, dt: float, speech: bool, inhale_now: bool) -> float:
        """Advance the lungs (0 empty, 1 full); an inhale asked for before speech starts at once."""
        rng, kind = self._rng_breath, "speech" if speech else "rest"
        if inhale_now and not self._inhaling and self._lungs < ENOUGH_AIR:
            self._inhaling, self._omega = True, SPRING_SETTLE / float(rng.uniform(*INHALE_S["speech"]))
        elif self._inhaling and self._lungs > 0.95:
            self._inhaling, self._omega = False, SPRING_SETTLE / float(rng.uniform(*EXHALE_S[kind]))
        elif not self._inhaling and self._lungs < 0.05:
            self._inhaling, self._omega = True, SPRING_SETTLE / float(rng.uniform(*INHALE_S[kind]))
        w, x, v = self._omega, self._lungs - float(self._inhaling), self._lungs_v
        decay = math.exp(-w * dt)  # the exact step of a critically damped spring
        self._lungs = float(self._inhaling) + (x + (v + w * x) * dt) * decay
        self._lungs_v = (v - w * (v + w * x) * dt) * decay
        return self._lungs

    def _body(self, c: float, dt: float, state: ConversationState, changed: bool,
              inhale_now: bool) -> tuple[HeadPose, tuple[float, float]]:
        lungs = self._breathe(dt, state == S.SPEAKING, inhale_now or (changed and state in (S.SPEAKING, S.THINKING)))

        target = SWAY_STATE_GAIN[state] * self.style.idle_amplitude
        self._sway_gain += (target - self._sway_gain) * (1.0 - math.exp(-dt / SWAY_TAU))
        n = (self._noise[0].at(c) + 0.35 * self._noise[1].at(c)).tolist()
        g = self._sway_gain
        sway = [k * g * x for k, x in zip(_SWAY, n)]
        breath = (lungs - 0.5) * self.style.idle_amplitude
        head = HeadPose(pitch=sway[1] - BREATH_PITCH * breath, yaw=sway[0], roll=sway[2],
                        x=sway[3], y=BREATH_Y * breath, z=sway[4])
        return head, (_EYE_DRIFT[0] * n[5], _EYE_DRIFT[1] * n[6])


def _phrase_end(track: SpeechTrack, near: list[Phoneme], a: float, b: float) -> float | None:
    """The first phrase end in [a, b): where a sentence ends or a pause of PHRASE_PAUSE begins
    (`near` holds the phones from `a` until PHRASE_PAUSE after `b`)."""
    ends = [s.end for s in track.sentences if s.end is not None and a <= s.end < b]
    known = max([track.horizon] + [p.end for p in near])
    for p in near:
        x = p.start if p.symbol == "_" else p.end
        if not a <= x < b:
            continue
        sounding = any(q.symbol != "_" and q.start < x + PHRASE_PAUSE and q.end > x for q in near)
        if not sounding and (track.ended or known >= x + PHRASE_PAUSE - 1e-6):
            ends.append(x)
            break
    return min(ends, default=None)


def _clamp(value: float, limit: float) -> float:
    return -limit if value < -limit else (limit if value > limit else value)


_LOOK_LEFT = [INDEX["eyeLookOutLeft"], INDEX["eyeLookInRight"]]  # looking to its left: left eye out, right in
_LOOK_RIGHT = [INDEX["eyeLookInLeft"], INDEX["eyeLookOutRight"]]
_LIDS = [INDEX[n] for n in ("eyeBlinkLeft", "eyeBlinkRight", "eyeSquintLeft", "eyeSquintRight")]
_UP = [INDEX["eyeLookUpLeft"], INDEX["eyeLookUpRight"]]
_DOWN = [INDEX["eyeLookDownLeft"], INDEX["eyeLookDownRight"]]
_EYE_INDEX = {(left, up): np.array((_LOOK_LEFT if left else _LOOK_RIGHT) + _LIDS + (_UP if up else _DOWN))
              for left in (False, True) for up in (False, True)}


def _eye_shapes(lid: float, yaw: float, pitch: float) -> np.ndarray:
    """Blink, squint and eyeLook* weights consistent with the gaze (yaw + to the avatar's left): the
    eye turned out on the side looked to, the other in, both up or down, the lids and their squint."""
    out = np.zeros(N_BLENDSHAPES, np.float32)
    side = EYE_LOOK_PER_DEGREE * abs(yaw)
    vertical = EYE_LOOK_PER_DEGREE * abs(pitch)
    squint = SQUINT_IN_BLINK * lid
    values = [side, side, lid, lid, squint, squint, vertical, vertical]
    out[_EYE_INDEX[yaw > 0, pitch > 0]] = [0.0 if v < 0.0 else (1.0 if v > 1.0 else v) for v in values]
    return out
