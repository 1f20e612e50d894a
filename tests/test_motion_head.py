"""The rule-based head model, driven by real espeak speech through a SpeechTrack, frame by frame."""
import numpy as np
import pytest

from visage.backends.tts.narration import narrate, requests_for_text
from visage.core.motion.head import MAX_ACCEL, MAX_JERK, MAX_VELOCITY, MAX_SHIFT, RuleHeadPoseModel
from visage.core.motion.style import MotionStyle, load_style, style_names
from visage.core.motion.track import SpeechTrack
from visage.core.types import ConversationState, Emotion, Sentence, SpeechChunk, Word

FPS = 25
SPEAKING, LISTENING = ConversationState.SPEAKING, ConversationState.LISTENING
THINKING, IDLE = ConversationState.THINKING, ConversationState.IDLE
TEXT = ("I really think this is the best plan we have. We should leave early tomorrow morning. "
        "The old bridge is closed, so we take the northern road. It is longer, but much safer. "
        "Bring warm clothes and plenty of water. Do you understand why this matters? "
        "Nobody else knows the way through the mountains. This is our only chance!")
EMPHASIS = ["best", "early", "closed", "northern", "safer", "warm", "water", "why", "Nobody", "mountains",
            "only", "chance"]


def feed(track, items):
    for item in items:
        (track.add_sentence if isinstance(item, Sentence) else track.add_chunk)(item)


def speech(espeak, text, emphasis=(), **tags):
    track = SpeechTrack()
    feed(track, narrate(espeak, requests_for_text(text, emphasis=emphasis, **tags)))
    track.end()
    return track


def run(model, track, seconds, state=SPEAKING, fps=FPS):
    """Poses (n, 6: pitch, yaw, roll, x, y, z) at each frame; `state` may be a function of t."""
    states = state if callable(state) else (lambda t: state)
    return np.array([list(vars(model.pose(k / fps, track, states(k / fps))).values())
                     for k in range(int(seconds * fps))])


def stress_time(track, word):
    for p in track.phonemes_between(word.start, word.end):
        if p.stressed and word.start <= p.start < word.end:
            return p.start
    return word.start + (word.end - word.start) / 3


def nod_hits(poses, track, prominence=2.0, window=0.15, fps=FPS):
    """For each emphasised word: is there a nod (a local maximum of pitch, at least `prominence` degrees
    above the lowest pitch of the 250 ms before it) within `window` s of its stressed syllable?"""
    pitch, hits = poses[:, 0], []
    peaks = [k for k in range(1, len(pitch) - 1) if pitch[k] >= pitch[k - 1] and pitch[k] > pitch[k + 1]
             and pitch[k] - pitch[max(0, k - int(0.25 * fps)):k].min() >= prominence]
    for w in (w for w in track.words if w.emphasised):
        hits.append(any(abs(k / fps - stress_time(track, w)) <= window for k in peaks))
    return hits


def derivatives(poses, fps=FPS):
    v = np.diff(poses, axis=0) * fps
    a = np.diff(v, axis=0) * fps
    return v, a, np.diff(a, axis=0) * fps


@pytest.fixture(scope="module")
def story(espeak):
    return speech(espeak, TEXT, EMPHASIS)


def test_emphasised_words_get_a_nod_at_their_stress(story):
    assert sum(w.emphasised for w in story.words) >= 10
    poses = run(RuleHeadPoseModel(load_style("friendly"), FPS), story, story.horizon + 1)
    hits = nod_hits(poses, story)
    without = nod_hits(run(RuleHeadPoseModel(MotionStyle(nod_strength=0), FPS), story, story.horizon + 1), story)
    print(f"nod hit rate {np.mean(hits):.2f} (without nods {np.mean(without):.2f})")
    assert np.mean(hits) >= 0.8
    assert np.mean(without) < 0.5, "the measure sees the nods, not the voice-driven motion"


def test_nods_arrive_on_time_while_streaming(espeak, story):
    """Fed as a live engine would (input known to t + 0.2 s only), where words are reported late."""
    items = list(narrate(espeak, requests_for_text(TEXT, emphasis=EMPHASIS)))
    track, model, poses = SpeechTrack(), RuleHeadPoseModel(load_style("friendly"), FPS), []
    for k in range(int((story.horizon + 1) * FPS)):
        t = k / FPS
        while items and track.horizon < t + 0.2:
            feed(track, [items.pop(0)])
        if not items and not track.ended:
            track.end()
        poses.append(list(vars(model.pose(t, track, SPEAKING)).values()))
    hits = nod_hits(np.array(poses), story)
    print(f"streaming nod hit rate {np.mean(hits):.2f}")
    assert np.mean(hits) >= 0.8


def test_nod_rate_sets_the_share_of_nodded_words(story):
    half = [np.mean(nod_hits(run(RuleHeadPoseModel(MotionStyle(nod_rate=0.5), FPS, seed=seed), story,
                                 story.horizon + 1), story)) for seed in range(4)]
    print(f"nod_rate 0.5: nodded {np.mean(half):.2f} of the emphasised words")
    assert 0.25 <= np.mean(half) <= 0.75
    assert len(set(half)) > 1, "each seed picks its own words"
    none = run(RuleHeadPoseModel(MotionStyle(nod_rate=0.0), FPS), story, story.horizon + 1)
    assert np.mean(nod_hits(none, story)) < 0.3


def test_shake_means_yes_turns_nods_sideways(story):
    nodder = run(RuleHeadPoseModel(MotionStyle(), FPS), story, story.horizon)
    shaker = run(RuleHeadPoseModel(MotionStyle(shake_means_yes=True), FPS), story, story.horizon)
    assert np.ptp(np.diff(shaker[:, 1])) > 1.5 * np.ptp(np.diff(nodder[:, 1]))
    assert np.mean(nod_hits(shaker, story)) < 0.5


def test_questions_end_with_the_head_higher(espeak):
    ends = {}
    for mark in "?.":
        track = speech(espeak, f"So you are coming with us to the station tonight{mark}")
        last = track.words[-1].end
        poses = run(RuleHeadPoseModel(load_style("friendly"), FPS), track, last + 0.1)
        ends[mark] = poses[int((last - 0.3) * FPS):].mean(axis=0)
    print(f"end pitch: question {ends['?'][0]:.1f}, statement {ends['.'][0]:.1f} deg")
    assert ends["?"][0] < ends["."][0] - 2.0, "raised (pitch up is negative)"
    assert abs(ends["?"][2]) > abs(ends["."][2]) + 1.0, "and tilted"


def test_emotions_bias_the_head(espeak):
    mean = {}
    for emotion in (Emotion.SAD, Emotion.HAPPY, Emotion.SURPRISED, Emotion.ANGRY, Emotion.NEUTRAL):
        track = speech(espeak, "I have some news about the project for you.", emotion=emotion, intensity=1.0)
        mean[emotion] = run(RuleHeadPoseModel(MotionStyle(), FPS), track, track.horizon).mean(axis=0)
    assert mean[Emotion.SAD][0] > mean[Emotion.NEUTRAL][0] + 1.5, "sad droops"
    assert mean[Emotion.HAPPY][0] < mean[Emotion.NEUTRAL][0] < mean[Emotion.SAD][0]
    assert mean[Emotion.SURPRISED][0] < mean[Emotion.NEUTRAL][0] - 1.0, "surprise lifts"
    assert mean[Emotion.ANGRY][5] > mean[Emotion.NEUTRAL][5] + 0.004, "anger leans forward"


def test_intensity_scales_the_heads_emotion_bias(espeak):
    """Same audio, same seed, only the sentence tag's intensity differs: the sad droop and the angry
    lean must grow with it (the head's bias reads intensity, not just the emotion)."""
    from dataclasses import replace

    def mean_pose(emotion, intensity):
        items = narrate(espeak, requests_for_text("I have some news about the project for you.", emotion=emotion))
        track = SpeechTrack()
        feed(track, [replace(i, intensity=intensity) if isinstance(i, Sentence) else i for i in items])
        track.end()
        return run(RuleHeadPoseModel(MotionStyle(), FPS), track, track.horizon).mean(axis=0)

    weak, strong = mean_pose(Emotion.SAD, 0.2), mean_pose(Emotion.SAD, 0.9)
    print(f"sad pitch: intensity 0.2 -> {weak[0]:.2f}, 0.9 -> {strong[0]:.2f} deg")
    assert strong[0] > weak[0] + 1.5, "a stronger sadness droops more"
    weak, strong = mean_pose(Emotion.ANGRY, 0.2), mean_pose(Emotion.ANGRY, 0.9)
    assert strong[5] > weak[5] + 0.004, "a stronger anger leans further forward"


def extreme_track(espeak):
    """Shouted surprise with every word emphasised, then a loud siren with a word every 150 ms."""
    text = "What! Really? Why now? Stop it right now! Are you absolutely sure? No, no, no, never again!"
    track = SpeechTrack()
    words = [w for w in text.replace(",", "").replace("!", "").replace("?", "").split()]
    feed(track, narrate(espeak, requests_for_text(text, emphasis=words, emotion=Emotion.SURPRISED,
                                                   intensity=1.0)))
    rate, start = 22050, track.horizon
    t = np.arange(int(4 * rate)) / rate
    siren = np.sign(np.sin(2 * np.pi * 3 * t)) * np.sin(2 * np.pi * (150 + 400 * np.sin(2 * np.pi * 2 * t)) * t)
    shouts = tuple(Word("no", 0, 2, start + s, start + s + 0.1, emphasised=True) for s in np.arange(0, 4, 0.15))
    track.add_sentence(Sentence(99, "no " * len(shouts), start, None, emotion=Emotion.ANGRY, intensity=1.0))
    track.add_chunk(SpeechChunk(siren.astype(np.float32), rate, start, words=shouts))
    track.end()
    return track


@pytest.mark.parametrize("style", [*style_names(), "extreme"])
def test_limits_are_never_exceeded(espeak, style):
    if style == "extreme":
        style = MotionStyle(name="extreme", head_amplitude=3, nod_strength=3, idle_amplitude=3, max_pitch=3,
                            max_yaw=4, max_roll=2)
    else:
        style = load_style(style)
    track = extreme_track(espeak)
    states = list(ConversationState)
    for fps in (25, 60):
        poses = run(RuleHeadPoseModel(style, fps), track, track.horizon + 2,
                    lambda t: states[int(t / 0.7) % 4] if int(t / 2.1) % 3 == 0 else SPEAKING, fps)
        limits = np.array([style.max_pitch, style.max_yaw, style.max_roll])
        assert np.all(np.abs(poses[:, :3]) <= limits + 1e-9)
        assert np.all(np.abs(poses[:, 3:]) <= MAX_SHIFT + 1e-12)
        v, a, j = derivatives(poses[:, :3], fps)
        print(f"{style.name} {fps} fps: max |v| {np.abs(v).max():.0f} deg/s, |a| {np.abs(a).max():.0f} deg/s^2, "
              f"|jerk| {np.abs(j).max():.0f} deg/s^3")
        assert np.abs(v).max() <= MAX_VELOCITY + 1e-6
        assert np.abs(a).max() <= MAX_ACCEL * 1.001
        assert np.abs(j).max() <= MAX_JERK * 1.001


def test_deterministic_for_a_seed(story):
    def poses(seed):
        return run(RuleHeadPoseModel(load_style("friendly"), FPS, seed=seed), story, 8,
                   lambda t: SPEAKING if t < 5 else LISTENING)
    first = poses(0)
    assert np.array_equal(first, poses(0))
    assert np.abs(first - poses(1)).max() > 0.5


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_idle_motion_never_loops(seed):
    yaw = run(RuleHeadPoseModel(load_style("friendly"), FPS, seed=seed), SpeechTrack(), 60, IDLE)[:, 1]
    y = yaw - yaw.mean()
    n = len(y)
    ac = np.array([np.dot(y[:n - k], y[k:]) / np.sqrt(np.dot(y[:n - k], y[:n - k]) * np.dot(y[k:], y[k:]))
                   for k in range(n // 2)])
    peaks = [ac[k] for k in range(FPS, len(ac) - 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    assert 0.05 < np.std(yaw) < 3, "the idle head drifts a little"
    assert max(peaks, default=0) < 0.9


def test_listening_gives_small_quick_nods():
    poses = run(RuleHeadPoseModel(load_style("friendly"), FPS), SpeechTrack(), 30, LISTENING)[FPS * 2:]
    pitch = poses[:, 0]
    nods = [k for k in range(1, len(pitch) - 1) if pitch[k] >= pitch[k - 1] and pitch[k] > pitch[k + 1]
            and pitch[k] - pitch[max(0, k - 8):k].min() > 0.5]
    assert 6 <= len(nods) <= 16, f"a nod every 2-4 s, got {len(nods)} in 28 s"
    assert np.ptp(pitch) < 5, "and small"
    assert np.abs(poses[:, 2]).mean() > 1.5, "with a slight tilt"


def test_thinking_turns_the_head_aside():
    idle = run(RuleHeadPoseModel(load_style("friendly"), FPS), SpeechTrack(), 5, IDLE)[FPS * 2:]
    thinking = run(RuleHeadPoseModel(load_style("friendly"), FPS), SpeechTrack(), 5, THINKING)[FPS * 2:]
    assert np.abs(thinking[:, 1]).mean() > 4 and np.abs(thinking[:, 1]).mean() > np.abs(idle[:, 1]).mean() + 3
    assert np.abs(idle[:, :3]).max() < 3, "idle stays near rest"


def test_states_never_jump(story):
    rng = np.random.default_rng(5)
    switches = np.cumsum(rng.uniform(0.3, 1.5, 40))
    order = rng.choice(list(ConversationState), 41)
    poses = run(RuleHeadPoseModel(load_style("lively"), FPS), story, 20,
                lambda t: order[np.searchsorted(switches, t)])
    step = np.abs(np.diff(poses[:, :3], axis=0)).max()
    assert step <= MAX_VELOCITY / FPS
    assert np.abs(derivatives(poses[:, :3])[2]).max() <= MAX_JERK * 1.001


@pytest.mark.parametrize("how", ["reset", "starved"])
def test_interruption_eases_back_to_rest(espeak, story, how):
    """Cut off mid-sentence, by a reset or by the speech no longer arriving: no jump, back to rest."""
    items = list(narrate(espeak, requests_for_text(TEXT, emphasis=EMPHASIS)))
    track, model = SpeechTrack(), RuleHeadPoseModel(load_style("lively"), FPS)
    poses, cut = [], 4.3
    for k in range(int(8 * FPS)):
        t = k / FPS
        while items and track.horizon < min(t, cut) + 0.2:
            feed(track, [items.pop(0)])
        if how == "reset" and k == int(cut * FPS):
            track.cut(t)
            model.reset()
        poses.append(list(vars(model.pose(t, track, SPEAKING if t < cut else IDLE)).values()))
    poses = np.array(poses)
    assert np.abs(poses[int((cut - 1) * FPS):int(cut * FPS), :3]).max() > 2, "it was moving"
    assert np.abs(np.diff(poses[:, :3], axis=0)).max() <= MAX_VELOCITY / FPS
    assert np.abs(poses[int((cut + 2) * FPS):, :3]).max() < 2.5, "then rests (but for the drift)"
