"""The video avatar's index beyond shape: the sounds heard in a recording's audio (script or
recogniser, timed by the aligner), used to prefer a recorded mouth saying the same kind of sound; and
mouth shapes the recording lacks, synthesised from their nearest recorded neighbour. Recordings with
audio are made by the portrait renderer speaking (say_to_files muxes its voice)."""
from __future__ import annotations

import io

import numpy as np
import pytest
from motion_helpers import animate_text
from video_helpers import carphone_path, detect_all, speak

from visage.backends.renderers import create_renderer
from visage.backends.renderers.video_analysis import analyse_video
from visage.backends.renderers.video_index import mouth_geometry
from visage.backends.renderers.video_phonemes import GROUPS, group_id, heard_phonemes, wanted_group
from visage.backends.tts.narration import narrate, requests_for_text
from visage.core.arkit import weights
from visage.core.motion.visemes import viseme_of
from visage.core.types import FaceFrame, Gaze, HeadPose
from visage.offline.say import say_to_files

SCRIPT = ("The birch canoe slid on the smooth planks. Glue the sheet to the dark blue background. "
          "It is easy to tell the depth of a well. Rice is often served in round bowls. Who would have "
          "thought? Pack my box with five dozen liquor jugs.")
NEW_TEXT = "Good morning. We should walk to the old bridge and back. Would you like some cool orange juice?"


@pytest.fixture(scope="module")
def recording(espeak, default_avatar, tmp_path_factory):
    path = tmp_path_factory.mktemp("rec") / "rich.mp4"
    renderer = create_renderer("portrait", avatar=default_avatar, size=256)
    say_to_files(narrate(espeak, requests_for_text(SCRIPT)), path, renderer, fps=25)
    return path


@pytest.fixture(scope="module")
def heard_avatar(recording):
    return analyse_video(recording, "rich", script=SCRIPT)


def _truth(animated) -> np.ndarray:
    """The viseme group of each frame of the engine's motion, from the phonemes it was made from."""
    middles = (np.arange(len(animated.frames)) + 0.5) / animated.fps
    truth = np.full(len(animated.frames), -1)
    for p in animated.phonemes:
        truth[(middles >= p.start) & (middles < p.end)] = group_id(viseme_of(p.symbol))
    return truth


def test_the_sounds_heard_label_the_recorded_mouths(heard_avatar):
    """The aligner's phonemes on the recording's audio agree with its mouths: closed-lip sounds (p, b,
    m) are recorded with the mouth nearly shut, open vowels with it open."""
    avatar, warnings = heard_avatar
    heard = avatar.info["phonemes"]
    assert heard["source"] == "script" and heard["phonemes"] > 60 and heard["frames_labelled"] > 0.8
    assert not any("indexed by shape only" in w for w in warnings)

    index = np.load(io.BytesIO(avatar.files["index.npz"]))
    groups, opening = index["visemes"], index["shapes"][:, 0]
    closed, open_ = opening[groups == GROUPS.index("closed")], opening[groups == GROUPS.index("open")]
    assert len(closed) >= 10 and len(open_) >= 20
    assert np.median(closed) < 0.5 * np.median(open_), (np.median(closed), np.median(open_))


def test_selection_prefers_a_mouth_saying_the_same_sound(heard_avatar, espeak):
    avatar, _ = heard_avatar
    animated = animate_text(espeak, NEW_TEXT, fps=25)
    truth = _truth(animated)
    groups = np.load(io.BytesIO(avatar.files["index.npz"]))["visemes"]
    agree, close = {}, {}
    for use in (True, False):
        renderer = create_renderer("video", avatar=avatar, size=256)
        renderer.load()
        if not use:
            renderer.path.groups = None  # shape alone
        spoken = speak(renderer, animated.frames)
        picked = groups[spoken.picks]
        known = (truth >= 0) & (picked >= 0)
        agree[use] = float(np.mean(picked[known] == truth[known]))
        close[use] = spoken.close_share(renderer.path.shapes)
    # End to end the gain is small and varies with the recording (1-8 points): the wanted sound is read
    # back from the engine's blendshapes, right only about half the time. The preference must not cost
    # agreement or close matches beyond that spread (measured -3 to +8 points as the voice's audio and the
    # recording change; -3 with espeak's seeded noise); test_a_mouth_of_the_same_sound_wins_a_near_tie
    # checks the mechanism.
    assert agree[True] >= agree[False] - 0.05, agree
    assert close[True] > close[False] - 0.1, close


def test_the_engines_mouth_says_which_kind_of_sound():
    assert GROUPS[wanted_group(weights({}))] == "sil"
    assert GROUPS[wanted_group(weights({"mouthClose": 0.3, "mouthPress": 0.5}))] == "closed"
    assert GROUPS[wanted_group(weights({"jawOpen": 0.3, "mouthPucker": 0.7, "mouthFunnel": 0.3}))] == "rounded"
    assert GROUPS[wanted_group(weights({"jawOpen": 0.6, "mouthLowerDown": 0.3}))] == "open"


def test_a_recording_without_audio_is_indexed_by_shape_alone(tmp_path):
    heard = heard_phonemes(carphone_path(), 120, 30.0)
    assert heard.source == "none" and (heard.groups == -1).all()


@pytest.mark.slow
def test_without_a_script_the_recogniser_hears_the_words(recording):
    avatar, _ = analyse_video(recording, "heard")
    heard = avatar.info["phonemes"]
    assert heard["source"] == "recognised" and "smooth planks" in heard["text"].lower() and heard["frames_labelled"] > 0.8


def test_missing_shapes_are_synthesised_from_their_neighbours():
    """Carphone never rounds its lips: a rounded mouth is its nearest recorded one narrowed, a wide
    smile its nearest one widened; the detector sees the wanted direction, and the report says so."""
    avatar, warnings = analyse_video(carphone_path(), "carphone")
    synthesised = avatar.info["coverage"]["synthesised"]
    assert any(s.startswith("open and rounded:") for s in synthesised)
    assert any("synthesised from the nearest recorded" in w for w in warnings)
    widths = {}
    for reshaping in (False, True):  # the same choices, the chosen mouth reshaped or shown as recorded
        renderer = create_renderer("video", avatar=avatar, size=512)
        renderer.load()
        if not reshaping:
            renderer.reshaper.reshape = lambda crop, *_: crop
        images = []
        for shape in ({"jawOpen": 0.5, "mouthFunnel": 0.6, "mouthPucker": 0.3}, {"jawOpen": 0.05, "mouthSmile": 0.6,
                                                                                  "mouthStretch": 0.5}):
            renderer.path.reset()
            images.append(renderer.render(FaceFrame(0.0, weights(shape), HeadPose(), Gaze())))
            assert renderer.last_synthesised
        raw = mouth_geometry(detect_all(images))
        widths[reshaping] = renderer.space.normalise(np.c_[raw, np.zeros(len(raw))])[:, 1]  # the recording's range
    rounded, spread = widths[True] - widths[False]
    assert rounded < -0.05 and spread > 0.03, widths


def test_cli_indexes_the_sounds_of_a_script_and_refuses_an_empty_one(recording, tmp_path, monkeypatch, capsys):
    from visage.cli.main import main

    monkeypatch.setenv("VISAGE_HOME", str(tmp_path / "home"))
    empty = tmp_path / "empty.txt"
    empty.write_text("  \n")
    assert main(["avatar", "create", "--video", str(recording), "--name", "me", "--script", str(empty),
                 "--quiet"]) != 0
    assert "--script is empty" in capsys.readouterr().err
    assert not (tmp_path / "home" / "avatars" / "me").exists()
    said = tmp_path / "said.txt"
    said.write_text(SCRIPT)
    assert main(["avatar", "create", "--video", str(recording), "--name", "me", "--script", str(said), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "sounds heard:" in out and "from the script" in out and "100% of the mouths labelled" in out


def test_a_mouth_of_the_same_sound_wins_a_near_tie():
    from visage.backends.renderers.video_index import MouthPath, VISEME_COST, WEIGHTS
    wanted = np.array([0.5, 0.5, 0.2, 0.0], np.float32)
    near = wanted + np.array([0.01, 0, 0, 0], np.float32)  # a fit cost far below VISEME_COST
    assert float(np.sum(WEIGHTS * (near - wanted) ** 2)) < 0.5 * VISEME_COST
    shapes = np.stack([wanted, near, wanted + 0.4])
    path = MouthPath(shapes, next_of=np.full(3, -1), groups=np.array([GROUPS.index("open"),
                                                                      GROUPS.index("rounded"), -1]))
    assert path.choose(wanted, group=GROUPS.index("rounded")) == 1
    path.reset()
    assert path.choose(wanted, group=GROUPS.index("open")) == 0
    path.reset()
    assert path.choose(wanted) == 0  # sound unknown: shape alone
    far = MouthPath(np.stack([wanted, wanted + 0.3]), next_of=np.full(2, -1),
                    groups=np.array([GROUPS.index("open"), GROUPS.index("rounded")]))
    assert far.choose(wanted, group=GROUPS.index("rounded")) == 0  # a poor fit is not worth the sound
