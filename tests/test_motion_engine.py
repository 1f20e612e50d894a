"""The engine's streaming loop: the voice's items come back in order, interleaved with the frames they
allow, then the end of speech and the tail; the frames are those of the push/frames loop it replaces."""
import numpy as np

from visage.backends.tts.narration import narrate, requests_for_text
from visage.core.motion.engine import LOOK_AHEAD, TAIL_SECONDS, MotionEngine, SpeechEnd
from visage.core.types import FaceFrame, Sentence, SpeechChunk


def test_run_yields_items_frames_end_and_tail_in_order(espeak):
    items = list(narrate(espeak, requests_for_text("Hello there. How are you today?")))
    out = list(MotionEngine(fps=25).run(items))
    assert [o for o in out if not isinstance(o, (FaceFrame, SpeechEnd))] == items
    ends = [i for i, o in enumerate(out) if isinstance(o, SpeechEnd)]
    assert len(ends) == 1
    duration = max(c.end for c in items if isinstance(c, SpeechChunk))
    assert out[ends[0]].duration == duration
    frames = [o for o in out if isinstance(o, FaceFrame)]
    times = np.array([f.t for f in frames])
    assert np.allclose(np.diff(times), 1 / 25) and times[0] == 0.0
    assert duration + TAIL_SECONDS - 1 / 25 < times[-1] <= duration + TAIL_SECONDS + 1e-9
    # streaming: a frame comes out only once the input reaches LOOK_AHEAD past it, never before
    known = 0.0
    for o in out[: ends[0]]:
        if isinstance(o, SpeechChunk):
            known = max(known, o.end)
        elif isinstance(o, FaceFrame):
            assert o.t <= known - LOOK_AHEAD + 1e-9
    assert any(isinstance(o, FaceFrame) for o in out[: ends[0]])  # frames flow before the speech ends

    manual = MotionEngine(fps=25)
    expected = []
    for item in items:
        manual.push(item)
        expected += manual.frames()
    manual.end_of_speech()
    expected += manual.frames() + manual.frames_until(manual.track.horizon + TAIL_SECONDS)
    assert len(expected) == len(frames)
    for a, b in zip(expected, frames):
        assert a.t == b.t and np.array_equal(a.blendshapes, b.blendshapes) and a.head == b.head


def test_an_empty_stream_ends_at_zero():
    out = list(MotionEngine().run([Sentence(0, "x", 0.0, None)]))
    assert isinstance(out[1], SpeechEnd) and out[1].duration == 0.0
