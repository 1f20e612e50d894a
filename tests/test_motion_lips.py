"""Lips and expression, measured on real speech through the real motion engine."""
import numpy as np
import pytest

from motion_helpers import animate_text, best_lag
from visage.core.arkit import BLENDSHAPE_NAMES, INDEX, MOUTH
from visage.core.motion.engine import LOOK_AHEAD, MotionEngine
from visage.core.motion.visemes import viseme_of
from visage.core.types import ConversationState, Emotion

BILABIAL_TEXT = ("Bob met a pretty puppy by the map. My mom bought apples, bananas and plums! Maybe both "
                 "of them. Please pass the bread, Ben. It's impossible to be simple. Bring me more paper, "
                 "maybe ten pages, by Monday morning.")
MANDARIN_BILABIAL = "爸爸妈妈不怕。明天买苹果，八百本书。"


def closed(frame) -> bool:
    b = frame.blendshapes
    return b[INDEX["jawOpen"]] < 0.08 and max(b[INDEX["mouthPressLeft"]], b[INDEX["mouthClose"]]) > 0.25


@pytest.mark.parametrize("language,text", [("en", BILABIAL_TEXT), ("zh", MANDARIN_BILABIAL)])
def test_lips_close_on_p_b_m(espeak, language, text):
    a = animate_text(espeak, text, language=language)
    bilabials = [p for p in a.phonemes if viseme_of(p.symbol) == "PP"]
    assert len(bilabials) >= (30 if language == "en" else 8)
    hits = [closed(a.frame_at(0.5 * (p.start + p.end))) for p in bilabials]
    assert np.mean(hits) >= 0.95, f"{sum(hits)}/{len(hits)} bilabials closed"


def silences(phonemes, longer_than):
    """Runs of adjacent pauses (a sentence's last and the next one's first are one silence)."""
    runs = []
    for p in phonemes:
        if p.symbol != "_":
            continue
        if runs and abs(runs[-1][1] - p.start) < 1e-3:
            runs[-1][1] = p.end
        else:
            runs.append([p.start, p.end])
    return [(a, b) for a, b in runs if b - a > longer_than]


def test_mouth_rests_in_long_pauses(espeak):
    # slow, sad speech has long pauses between its sentences
    a = animate_text(espeak, "I see. Well, then. Let me think about it. Right.", emotion=Emotion.SAD,
                     intensity=1.0)
    pauses = silences(a.phonemes, 0.35)
    assert len(pauses) >= 2
    # shapes only speech makes (sadness itself presses the lips a little)
    speech = [INDEX[n] for n in ("jawOpen", "mouthFunnel", "mouthPucker", "mouthRollLower", "mouthRollUpper")]
    for start, end in pauses:
        b = a.frame_at(0.5 * (start + end)).blendshapes
        assert b[speech].max() < 0.08, (start, end, b[speech])


def test_mouth_opening_follows_loudness_within_one_frame(espeak):
    a = animate_text(espeak, "Once upon a time, in a land far away, there lived a curious old clockmaker. "
                             "Every morning he opened his shop and wound a hundred clocks.")
    lag, confidence = best_lag(a.loudness_at_frames(), a.channel("jawOpen"))
    assert abs(lag) <= 1 and confidence > 0.3, (lag, confidence)
    shifted = np.roll(a.channel("jawOpen"), 4)  # the test can fail: a 160 ms delay is caught
    assert abs(best_lag(a.loudness_at_frames(), shifted)[0]) > 1


def test_no_flicker_shorter_than_a_mouth_shape_can_register(espeak):
    a = animate_text(espeak, "The quick brown fox jumps over the lazy dog, and then it runs away.")
    jaw = a.channel("jawOpen")
    turns = np.sum(np.diff(np.sign(np.diff(jaw))) != 0)
    duration = a.t[-1]
    # syllables come at 3-4 Hz (animation-facts.md): an open and a close each, plus some wiggle room
    assert turns / duration < 12


def test_weights_are_52_and_within_unit_range(espeak):
    a = animate_text(espeak, "Wow! That is absolutely AMAZING!", emotion=Emotion.SURPRISED, intensity=1.0,
                     style="lively")
    b = np.array([f.blendshapes for f in a.frames])
    assert b.shape[1] == len(BLENDSHAPE_NAMES) == 52
    assert b.min() >= 0.0 and b.max() <= 1.0


def test_emotions_show_on_the_face(espeak):
    text = "I have something to tell you about the weather tomorrow."

    def mean_of(emotion, *names):
        a = animate_text(espeak, text, emotion=emotion, intensity=0.9)
        return float(a.channel(*names).mean())

    assert mean_of(Emotion.HAPPY, "mouthSmileLeft") > mean_of(Emotion.NEUTRAL, "mouthSmileLeft") + 0.2
    assert mean_of(Emotion.SAD, "mouthFrownLeft") > mean_of(Emotion.NEUTRAL, "mouthFrownLeft") + 0.15
    assert mean_of(Emotion.SAD, "browInnerUp") > mean_of(Emotion.NEUTRAL, "browInnerUp") + 0.2
    assert mean_of(Emotion.ANGRY, "browDownLeft") > 0.4
    assert mean_of(Emotion.SURPRISED, "eyeWideLeft") > 0.3
    assert mean_of(Emotion.DISGUSTED, "noseSneerLeft") > 0.3


def test_emotion_cross_fades_and_mouth_is_softened_while_speaking(espeak):
    b = animate_text(espeak, "I am so happy today. I am so sad today.", emotion=Emotion.HAPPY, intensity=1.0)
    smile = b.channel("mouthSmileLeft")
    assert np.max(np.abs(np.diff(smile))) < 0.15  # no jump: a cross-fade over ~400 ms
    sad = animate_text(espeak, "I have nothing more to say about the matter, nothing at all.",
                       emotion=Emotion.SAD, intensity=1.0)
    frown = sad.channel("mouthFrownLeft")
    speaking = np.array([any(p.start <= t < p.end and p.symbol != "_" for p in sad.phonemes) for t in sad.t])
    settled = sad.t > 0.6  # after the cross-fade in
    after = sad.t > sad.sentences[-1].end + 0.4
    assert frown[settled & speaking].mean() < 0.6 * frown[after].mean()  # softened while talking
    assert frown[after].mean() > 0.4  # and fully there when the mouth is free


def test_streaming_needs_only_bounded_look_ahead(espeak):
    """Each frame is made as soon as LOOK_AHEAD seconds of timed speech past it are known, and its mouth
    equals the mouth made with all speech known up front."""
    from visage.backends.tts.narration import narrate, requests_for_text

    items = list(narrate(espeak, requests_for_text("Streaming must not change the result. Frames depend "
                                                   "only on what is near them!", emphasis=["only"])))
    streaming, streamed, look_ahead = MotionEngine(), [], []
    for item in items:
        streaming.push(item)
        for f in streaming.frames():
            streamed.append(f)
            look_ahead.append(streaming.track.events_horizon - f.t)
    whole_engine = MotionEngine()
    for item in items:
        whole_engine.push(item)
    whole = whole_engine.frames()
    assert len(whole) >= len(streamed) > 50
    assert min(look_ahead) >= LOOK_AHEAD - 1e-9
    assert np.median(look_ahead) < LOOK_AHEAD + 0.1  # frames are not held back longer than needed
    # the mouth is local: it is the same whether the future is known or not
    for s, w in zip(streamed, whole):
        assert np.allclose(s.blendshapes[MOUTH], w.blendshapes[MOUTH], atol=1e-4), s.t


def test_interruption_returns_smoothly_to_rest(espeak):
    from visage.backends.tts.narration import narrate, requests_for_text

    engine = MotionEngine()
    frames = []
    for item in narrate(espeak, requests_for_text("This is a long answer that the user will interrupt midway "
                                                  "through, because they have heard enough of it already.")):
        engine.push(item)
        frames += engine.frames()
        if engine.next_time > 1.5:
            break
    engine.clear()
    frames += engine.frames()
    frames += engine.frames_until(engine.next_time + 1.0)
    jaw = np.array([f.blendshapes[INDEX["jawOpen"]] for f in frames])
    assert jaw[-10:].max() < 0.02  # back to rest
    mouth = np.array([f.blendshapes[MOUTH] for f in frames])
    assert np.abs(np.diff(mouth, axis=0)).max() < 0.7  # no single-frame snap to rest
    assert engine.state == ConversationState.LISTENING


def test_listening_and_thinking_faces_differ(espeak):
    def face(state):
        engine = MotionEngine(seed=3)
        engine.set_state(state)
        frames = engine.frames_until(3.0)
        return np.mean([f.blendshapes for f in frames[-25:]], axis=0)

    listening, thinking = face(ConversationState.LISTENING), face(ConversationState.THINKING)
    assert listening[INDEX["browInnerUp"]] > thinking[INDEX["browInnerUp"]] - 0.05
    assert thinking[INDEX["browDownLeft"]] > listening[INDEX["browDownLeft"]] + 0.1


def test_intensity_reaches_the_face(espeak):
    """The same sad sentence, the same audio, only the tag's intensity differs: the face must show it
    (dropping intensity from the expression layer leaves the voice tests green, not this one)."""
    from dataclasses import replace

    from visage.backends.tts.narration import narrate, requests_for_text
    from visage.core.types import FaceFrame, Sentence

    items = list(narrate(espeak, requests_for_text("I have something to tell you about the weather tomorrow.",
                                                   emotion=Emotion.SAD, intensity=0.5)))

    def mean_of(intensity, name):
        retagged = [replace(i, intensity=intensity) if isinstance(i, Sentence) else i for i in items]
        frames = [f for f in MotionEngine().run(retagged) if isinstance(f, FaceFrame)]
        return float(np.mean([f.blendshapes[INDEX[name]] for f in frames]))

    for name in ("mouthFrownLeft", "browInnerUp"):
        weak, strong = mean_of(0.2, name), mean_of(0.9, name)
        print(f"{name}: intensity 0.2 -> {weak:.3f}, 0.9 -> {strong:.3f}")
        assert strong > weak + 0.1 and strong > 2.0 * weak, name
