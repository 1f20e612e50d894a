"""Styles are data files, validated; tags reaching the face are validated too."""
import numpy as np
import pytest

from motion_helpers import animate_text
from visage.core.motion.style import load_style, style_names
from visage.core.types import Emotion
from visage.errors import InputError


def test_presets_exist_and_differ():
    assert {"calm", "friendly", "lively", "serious"} <= set(style_names())
    calm, lively = load_style("calm"), load_style("lively")
    assert calm.head_amplitude < lively.head_amplitude and calm.blink_rate < lively.blink_rate
    assert load_style("serious").smile_baseline == 0.0 < load_style("friendly").smile_baseline


def test_a_style_file_from_the_user(tmp_path):
    path = tmp_path / "nodder.yaml"
    path.write_text("name: nodder\nnod_strength: 2.5\nshake_means_yes: true\n")
    style = load_style(str(path))
    assert style.nod_strength == 2.5 and style.shake_means_yes
    path.write_text("head_amplitude: 99\n")
    with pytest.raises(InputError, match="head_amplitude"):
        load_style.__wrapped__(str(path))
    path.write_text("wobble: 1\n")
    with pytest.raises(InputError, match="wobble"):
        load_style.__wrapped__(str(path))


def test_lively_moves_more_than_calm(espeak):
    text = "Well, I think this is a truly wonderful idea, and we should start right away!"

    def spread(style):
        a = animate_text(espeak, text, style=style, emphasis=("truly", "right"))
        pose = np.array([[f.head.pitch, f.head.yaw, f.head.roll] for f in a.frames])
        return float(pose.std(axis=0).sum())

    assert spread("lively") > 1.3 * spread("calm")


def test_untrusted_tags_are_made_safe(espeak):
    a = animate_text(espeak, "Tags from a model are data.", emotion="furious!!", intensity=9.0)
    assert all(s.emotion == Emotion.NEUTRAL for s in a.sentences)
    assert all(s.intensity == 1.0 for s in a.sentences)


def test_the_engine_validates_tags_from_any_source():
    from visage.core.motion.engine import MotionEngine
    from visage.core.types import Sentence

    engine = MotionEngine()
    engine.push(Sentence(0, "x", 0.0, None, emotion="<b>rage</b>", intensity=float("nan")))
    s = engine.track.sentences[0]
    assert s.emotion == Emotion.NEUTRAL and s.intensity == 0.5
