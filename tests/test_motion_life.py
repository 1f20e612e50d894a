"""The living layer on real espeak speech: blink statistics and timing, gaze, breathing and sway.

Each scenario (a style, a state script, a seed) is run once at 25 fps and shared between tests.
"""
import copy
from functools import lru_cache

import numpy as np
import pytest

from visage.backends.tts.narration import narrate, requests_for_text
from visage.core.arkit import INDEX
from visage.core.motion.life import RuleLifeModel
from visage.core.motion.style import load_style
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState as S
from visage.core.types import Sentence

FPS = 25.0
TEXT = (
    "The weather today is really quite pleasant. We could walk along the river, if you like. "
    "I think the museum opens at ten, but the cafe is open already. Would you rather go now, or wait? "
    "Honestly, either plan sounds good to me. Last year we tried the northern path, and it was far too "
    "steep for both of us. This time, let us take the easy road and stop for lunch by the old bridge. "
    "Yes. The bakery there sells a wonderful apple cake, and the owner remembers everyone who visits. "
    "If it rains, we can always shelter in the library until the clouds pass. "
)
EMPHASIS = ["really", "museum", "now", "good", "northern", "steep", "easy", "bridge", "wonderful", "rains"]
SPEECH_SECONDS = 300.0


@pytest.fixture(scope="module")
def speech(espeak):
    """About five minutes of narrated speech in one ended track."""
    track = SpeechTrack()
    repeats = 1
    while True:  # one pass tells how long the text takes to say
        items = list(narrate(espeak, requests_for_text(TEXT * repeats, emphasis=EMPHASIS)))
        length = items[-1].end  # the last sentence, announced again as it ends
        if length >= SPEECH_SECONDS:
            break
        repeats = int(np.ceil(SPEECH_SECONDS / length * repeats))
    for item in items:
        (track.add_sentence if isinstance(item, Sentence) else track.add_chunk)(item)
    track.end()
    return track


def _run(track, style, script, seconds, seed=0, reset_at=None):
    """Frames of a RuleLifeModel over `track` with state script(t); the track is thinned as the engine
    would (keeping a little history), so every frame reads only what lies near it."""
    model = RuleLifeModel(load_style(style), FPS, seed)
    track = copy.deepcopy(track)
    shapes, gaze, head = [], [], []
    for i in range(int(seconds * FPS)):
        t = i / FPS
        if i % 50 == 0:
            track.forget_before(t - 2.0)
        if reset_at is not None and i == int(reset_at * FPS):
            model.reset()
        frame = model.frame(t, track, script(t))
        shapes.append(frame.blendshapes)
        gaze.append((frame.gaze.yaw, frame.gaze.pitch))
        h = frame.head_offset
        head.append((h.pitch, h.yaw, h.roll, h.x, h.y, h.z))
    return {"t": np.arange(len(shapes)) / FPS, "shapes": np.array(shapes), "gaze": np.array(gaze),
            "head": np.array(head), "blink": np.array(shapes)[:, INDEX["eyeBlinkLeft"]]}


_SILENCE = SpeechTrack()
_SILENCE.end()


@pytest.fixture(scope="module")
def runs(speech):
    @lru_cache(maxsize=None)
    def get(style, kind, seed=0):
        if kind == "speaking":
            return _run(speech, style, lambda t: S.SPEAKING, SPEECH_SECONDS, seed)
        if kind == "quiet":  # 2.5 minutes idle, then 2.5 minutes listening
            return _run(_SILENCE, style, lambda t: S.IDLE if t < 150 else S.LISTENING, 300.0, seed)
        if kind == "thinking-listening":
            return _run(_SILENCE, style, lambda t: S.THINKING if t < 60 else S.LISTENING, 120.0, seed)
        raise ValueError(kind)

    return get


def _episodes(blink, threshold=0.05):
    """(first, last) frame index of each run of frames with the lid above `threshold`."""
    above = np.concatenate([[False], blink > threshold, [False]])
    edges = np.flatnonzero(np.diff(above.astype(int)))
    return list(zip(edges[::2], edges[1::2] - 1))


def _blinks_per_minute(run):
    closed = run["blink"] >= 0.5
    return np.count_nonzero(closed[1:] & ~closed[:-1]) / (len(closed) / FPS / 60.0)


def test_blink_rate_is_conversational_and_follows_the_style(runs):
    rates = {(style, kind): _blinks_per_minute(runs(style, kind))
             for style in ("calm", "friendly", "lively") for kind in ("quiet", "speaking")}
    print("blinks/min", {k: round(v, 1) for k, v in rates.items()})
    for (style, kind), rate in rates.items():
        assert 10.5 <= rate <= 32.5, (style, kind, rate)
        assert 0.65 <= rate / load_style(style).blink_rate <= 1.2, (style, kind, rate)
    for kind in ("quiet", "speaking"):
        assert rates["calm", kind] < rates["friendly", kind] < rates["lively", kind]


def test_blink_intervals_are_right_skewed_and_lids_close_faster_than_they_open(runs):
    run = runs("friendly", "quiet")
    closed = run["blink"] >= 0.5
    starts = np.flatnonzero(closed[1:] & ~closed[:-1]) / FPS
    intervals = np.diff(starts)
    print("intervals mean %.2f median %.2f" % (intervals.mean(), np.median(intervals)))
    assert intervals.mean() > 1.05 * np.median(intervals)
    closing, opening = [], []
    for first, last in _episodes(run["blink"]):
        b = run["blink"][first : last + 1]
        top = np.flatnonzero(b >= b.max() - 0.02)
        closing.append(top[0] + 1)  # frames from rest to closed
        opening.append(len(b) - top[-1])  # frames from closed to rest
    print("closing %.2f frames, opening %.2f frames" % (np.mean(closing), np.mean(opening)))
    assert np.mean(closing) < np.mean(opening)


def test_blinks_are_visible_at_25_fps_mostly_full_some_partial(runs):
    run = runs("friendly", "speaking")
    peaks = np.array([run["blink"][a : b + 1].max() for a, b in _episodes(run["blink"])])
    full, partial = np.mean(peaks >= 0.95), np.mean((peaks >= 0.55) & (peaks <= 0.92))
    print("full %.2f partial %.2f of %d" % (full, partial, len(peaks)))
    assert full >= 0.6 and 0.05 <= partial <= 0.35
    shapes = run["shapes"]
    squint = shapes[:, INDEX["eyeSquintLeft"]]
    assert np.all(squint[run["blink"] > 0.9] > 0.05) and squint.max() < 0.3


def test_no_blink_during_emphasised_words_and_blinks_cluster_at_sentence_ends(speech, runs):
    run = runs("friendly", "speaking")
    t, blink = run["t"], run["blink"]
    emphasised = [w for w in speech.words if w.emphasised]
    assert len(emphasised) > 80
    for w in emphasised:
        assert blink[(t >= w.start) & (t < w.end)].max(initial=0.0) < 0.5, w
    # a sentence ends where its last word does; a blink starts when the lid first moves
    ends = np.array(sorted({max(w.end for w in speech.words if w.sentence == s.index) for s in speech.sentences}))
    starts = np.array([t[a] for a, _ in _episodes(blink)])

    def after_an_end(x):
        k = np.searchsorted(ends, x, side="right") - 1
        return (k >= 0) & (x - ends[np.maximum(k, 0)] < 0.3)

    share, chance = after_an_end(starts).mean(), after_an_end(t).mean()
    print("blinks within 300 ms after a sentence end: %.2f, chance %.2f, ratio %.1f" % (share, chance, share / chance))
    assert share > 2.5 * chance


def test_outputs_stay_in_range_and_follow_the_seed(speech, runs):
    for run in (runs("lively", "speaking"), runs("lively", "quiet"), runs("calm", "thinking-listening")):
        assert run["shapes"].min() >= 0.0 and run["shapes"].max() <= 1.0
        assert np.abs(run["gaze"]).max() <= 25.0
    again = _run(speech, "friendly", lambda t: S.SPEAKING, 30.0, seed=0)
    other = _run(speech, "friendly", lambda t: S.SPEAKING, 30.0, seed=1)
    first = runs("friendly", "speaking")
    n = len(again["t"])
    for key in ("shapes", "gaze", "head"):
        np.testing.assert_array_equal(again[key], first[key][:n])
        assert not np.allclose(other[key], first[key][:n])


def test_eye_shapes_follow_the_gaze(runs):
    run = runs("lively", "thinking-listening")
    yaw, pitch, shapes = run["gaze"][:, 0], run["gaze"][:, 1], run["shapes"]
    left = yaw > 3  # the avatar looks to its left: left eye out, right eye in
    assert np.all(shapes[left, INDEX["eyeLookOutLeft"]] > 0) and np.all(shapes[left, INDEX["eyeLookInRight"]] > 0)
    assert np.all(shapes[left, INDEX["eyeLookInLeft"]] == 0)
    right = yaw < -3
    assert np.all(shapes[right, INDEX["eyeLookInLeft"]] > 0) and np.all(shapes[right, INDEX["eyeLookOutRight"]] > 0)
    side = shapes[:, INDEX["eyeLookOutLeft"]] + shapes[:, INDEX["eyeLookInLeft"]]
    assert 0.6 <= np.median(side[np.abs(yaw) > 5] / np.abs(yaw[np.abs(yaw) > 5])) * 20 <= 0.8
    up = pitch > 3
    assert np.all(shapes[up, INDEX["eyeLookUpLeft"]] > 0) and np.all(shapes[up, INDEX["eyeLookDownRight"]] == 0)


def test_thinking_looks_away_more_than_listening(runs):
    run = runs("friendly", "thinking-listening")
    yaw, t = np.abs(run["gaze"][:, 0]), run["t"]
    thinking, listening = yaw[t < 60].mean(), yaw[t >= 61].mean()
    mutual = np.mean(np.abs(runs("friendly", "speaking")["gaze"][:, 0]) < 4)
    print("mean |yaw| thinking %.1f listening %.1f; mutual gaze while speaking %.2f" % (thinking, listening, mutual))
    assert thinking > 2 * listening
    assert 0.45 <= mutual <= 0.8


def test_saccades_take_at_most_two_frames(runs):
    yaw = runs("friendly", "speaking")["gaze"][:, 0]
    step = np.abs(np.diff(yaw))
    big = np.flatnonzero(step > 3)
    assert len(big) > 20
    # a large move never spreads over three consecutive frames
    assert not np.any((step[big[big < len(step) - 2] + 1] > 1) & (step[big[big < len(step) - 2] + 2] > 1))


def _autocorrelation_peak(x, min_lag):
    x = x - x.mean()
    n = len(x)
    r = np.array([np.dot(x[: n - k], x[k:]) / (n - k) for k in range(n // 2)]) / x.var()
    inner = np.arange(min_lag, len(r) - 1)
    peaks = inner[(r[inner] >= r[inner - 1]) & (r[inner] >= r[inner + 1])]
    return r[peaks].max(initial=0.0)


def test_gaze_and_sway_never_loop(runs):
    run = runs("friendly", "quiet")
    window = slice(0, int(120 * FPS))
    signals = {"gaze yaw": run["gaze"][window, 0], "sway yaw": run["head"][window, 1],
               "sway roll": run["head"][window, 2], "breath y": run["head"][window, 4]}
    peaks = {name: _autocorrelation_peak(x, int(FPS)) for name, x in signals.items()}
    print("autocorrelation peaks beyond 1 s", {k: round(v, 2) for k, v in peaks.items()})
    assert max(peaks.values()) < 0.9


def test_breathing_pace_and_an_inhale_before_speech(speech, runs):
    y = runs("friendly", "quiet")["head"][:, 4]
    rising = np.flatnonzero((y[1:] > 0) & (y[:-1] <= 0))
    per_minute = len(rising) / (len(y) / FPS / 60)
    print("breaths/min %.1f" % per_minute)
    assert 12 <= per_minute <= 18
    assert 0.001 <= y.max() - y.min() <= 0.006  # a few millimetres
    run = runs("friendly", "speaking")
    y, t = run["head"][:, 4], run["t"]
    onsets = sorted({min(w.start for w in speech.words if w.sentence == s.index) for s in speech.sentences})[1:]
    k = np.searchsorted(t, [x for x in onsets if x < t[-1]])
    inhaling = np.mean(y[k] > y[k - 5])  # the head rose over the 200 ms before the voice began
    print("inhaling as speech begins: %.2f" % inhaling)
    assert inhaling > 0.6


def test_reset_returns_smoothly(speech):
    run = _run(speech, "lively", lambda t: S.SPEAKING if t < 10 else S.IDLE, 14.0, reset_at=10.0)
    k = int(10 * FPS)
    head_step = np.abs(np.diff(run["head"], axis=0))[k - 1]
    assert head_step[1] < 0.3 and head_step[4] < 0.0005  # yaw in degrees, y in metres
    assert abs(run["blink"][k] - run["blink"][k - 1]) < 0.5
    assert np.abs(run["gaze"][k + 3 :, 0]).mean() < 6  # the eyes come home to the listener
