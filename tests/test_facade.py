"""The public facade: `import visage` is light, and say / animate / chat do what the CLI does."""
import subprocess
import sys

import pytest

import visage
from visage.errors import InputError


def test_importing_visage_loads_no_layer_until_a_helper_is_used():
    code = "import sys, visage; print(sorted(m for m in sys.modules if m.startswith('visage.')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
    assert visage.MotionEngine.__module__ == "visage.core.motion.engine"  # the exports resolve on use
    with pytest.raises(AttributeError):
        visage.no_such_thing  # noqa: B018


def test_animate_gives_the_motion_of_the_spoken_text():
    frames = visage.animate("Did you see that?", emotion="surprised", fps=30)
    assert len(frames) > 20 and abs((frames[1].t - frames[0].t) - 1 / 30) < 1e-6
    assert max(f.blendshapes.max() for f in frames) > 0.2  # the mouth moved
    with pytest.raises(ValueError, match="frames per second must be one of 25, 30, 60"):
        visage.animate("Hi", fps=24)  # the CLI's rule


def test_chat_answers_and_remembers():
    chat = visage.chat()
    reply = chat.ask("What can you do?")
    assert reply and all(s.text for s in reply)
    assert [t.role for t in chat.conversation.history] == ["user", "assistant"]
    chat.ask("Tell me more.")
    assert len(chat.conversation.history) == 4


def test_say_writes_the_video_and_its_subtitles(tmp_path):
    summary = visage.say("Hello there.", str(tmp_path / "hi.mp4"), video=visage.VideoSettings(size=256))
    assert summary.frames > 10 and summary.outputs.video.stat().st_size > 1000
    assert summary.outputs.srt.is_file() and summary.outputs.vtt.is_file()
    with pytest.raises(InputError, match="mp4"):
        visage.say("Hello.", str(tmp_path / "hi.avi"))
