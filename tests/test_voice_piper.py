"""The Piper voice with a tiny real ONNX model that has Piper's exact signature.

The model (built with onnx.helper) takes `input` [1, N] int64, `input_lengths` [1], `scales` [3] and,
when multi-speaker, `sid` [1]; it returns `output` [1, 1, 1, T]: first the ids it received (id/1000,
so the test can read back exactly what was sent), then a 220 Hz sine of floor(N * length_scale * 256)
samples (Piper's hop length), with amplitude 0.1 * (sid + 1) (or 0.5 for one speaker).
"""
from __future__ import annotations

import json
import math

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from conftest import speak
from visage.backends.tts import create_tts, tts_names
from visage.backends.espeak.engine import EspeakEngine
from visage.core.types import Emotion, SpeechRequest
from visage.errors import InputError

RATE = 22050
HOP = 256
# IPA symbols in the order Piper's espeak voices number them, after PAD, BOS, EOS and punctuation.
SYMBOLS = (
    "_^$ !'(),-.:;?abcdefhijklmnopqrstuvwxyzæçðøħŋœǀǁǂǃ"
    "ɐɑɒɓɔɕɖɗɘəɚɛɜɞɟɠɡɢɣɤɥɦɧɨɪɫɬɭɮɯɰɱɲɳɴɵɶɸɹɺɻɽɾʀʁʂʃʄʈʉ"
    "ʊʋʌʍʎʏʐʑʒʔʕʘʙʛʜʝʟʡʢʲˈˌːˑ˞βθχᵻⱱ0123456789"
    "\u0327\u0303\u032a\u032f\u0329ʰˤε↓#\"↑\u033a\u033bgʦX"
)
ID_MAP = {s: [i] for i, s in enumerate(SYMBOLS)}


def build_model(path, speakers: int = 1, noisy: bool = False) -> None:
    c = helper.make_tensor
    nodes = [
        helper.make_node("Constant", [], ["one_idx"], value=c("one_idx", TensorProto.INT64, [1], [1])),
        helper.make_node("Gather", ["scales", "one_idx"], ["length_scale"]),
        helper.make_node("Cast", ["input_lengths"], ["len_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["len_f", "length_scale"], ["frames"]),
        helper.make_node("Constant", [], ["hop"], value=c("hop", TensorProto.FLOAT, [1], [float(HOP)])),
        helper.make_node("Mul", ["frames", "hop"], ["n_f"]),
        helper.make_node("Floor", ["n_f"], ["n_floor"]),
        helper.make_node("Cast", ["n_floor"], ["n_1"], to=TensorProto.INT64),
        helper.make_node("Constant", [], ["axis0"], value=c("axis0", TensorProto.INT64, [1], [0])),
        helper.make_node("Squeeze", ["n_1", "axis0"], ["n"]),
        helper.make_node("Constant", [], ["zero"], value=c("zero", TensorProto.INT64, [], [0])),
        helper.make_node("Constant", [], ["step"], value=c("step", TensorProto.INT64, [], [1])),
        helper.make_node("Range", ["zero", "n", "step"], ["t_i"]),
        helper.make_node("Cast", ["t_i"], ["t"], to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["w"], value=c("w", TensorProto.FLOAT, [], [2 * math.pi * 220 / RATE])),
        helper.make_node("Mul", ["t", "w"], ["phase"]),
        helper.make_node("Sin", ["phase"], ["sine"]),
        helper.make_node("Mul", ["sine", "amp"], ["tone"]),
        # the ids, read back by the test
        helper.make_node("Constant", [], ["flat"], value=c("flat", TensorProto.INT64, [1], [-1])),
        helper.make_node("Reshape", ["input", "flat"], ["ids"]),
        helper.make_node("Cast", ["ids"], ["ids_f"], to=TensorProto.FLOAT),
        helper.make_node("Constant", [], ["k"], value=c("k", TensorProto.FLOAT, [], [1000.0])),
        helper.make_node("Div", ["ids_f", "k"], ["ids_audio"]),
        helper.make_node("Concat", ["ids_audio", "tone"], ["clean"], axis=0),
        helper.make_node("Constant", [], ["shape"], value=c("shape", TensorProto.INT64, [4], [1, 1, 1, -1])),
        helper.make_node("Reshape", ["audio", "shape"], ["output"]),
    ]
    inputs = [
        helper.make_tensor_value_info("input", TensorProto.INT64, [1, "phonemes"]),
        helper.make_tensor_value_info("input_lengths", TensorProto.INT64, [1]),
        helper.make_tensor_value_info("scales", TensorProto.FLOAT, [3]),
    ]
    if speakers > 1:
        inputs.append(helper.make_tensor_value_info("sid", TensorProto.INT64, [1]))
        nodes[:0] = [
            helper.make_node("Cast", ["sid"], ["sid_f"], to=TensorProto.FLOAT),
            helper.make_node("Constant", [], ["one_f"], value=c("one_f", TensorProto.FLOAT, [1], [1.0])),
            helper.make_node("Add", ["sid_f", "one_f"], ["sid_1"]),
            helper.make_node("Constant", [], ["tenth"], value=c("tenth", TensorProto.FLOAT, [1], [0.1])),
            helper.make_node("Mul", ["sid_1", "tenth"], ["amp"]),
        ]
    else:
        nodes[:0] = [helper.make_node("Constant", [], ["amp"], value=c("amp", TensorProto.FLOAT, [1], [0.5]))]
    if noisy:  # as Piper's VITS graph draws its noise: a RandomNormalLike of a tensor's shape
        nodes[-2:-2] = [helper.make_node("RandomNormalLike", ["clean"], ["noise"], scale=0.01),
                        helper.make_node("Add", ["clean", "noise"], ["audio"])]
    else:
        nodes[-2:-2] = [helper.make_node("Identity", ["clean"], ["audio"])]
    output = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 1, "time"])
    graph = helper.make_graph(nodes, "piper_like", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))


def write_voice(tmp_path, speakers: int = 1, id_map: dict | None = None, noisy: bool = False) -> str:
    model = tmp_path / f"en_US-test-{speakers}{'-noisy' if noisy else ''}.onnx"
    build_model(model, speakers, noisy)
    config = {
        "dataset": "test",
        "audio": {"sample_rate": RATE, "quality": "low"},
        "espeak": {"voice": "en-us"},
        "language": {"code": "en_US", "family": "en", "region": "US"},
        "inference": {"noise_scale": 0.667, "length_scale": 1.0, "noise_w": 0.8},
        "phoneme_type": "espeak",
        "phoneme_map": {},
        "phoneme_id_map": id_map or ID_MAP,
        "num_symbols": len(SYMBOLS),
        "num_speakers": speakers,
        "speaker_id_map": {"alice": 0, "bob": 2} if speakers > 1 else {},
        "piper_version": "1.0.0",
    }
    (tmp_path / f"{model.name}.json").write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    return str(model)


def split_output(samples: np.ndarray, n_ids: int) -> tuple[list[int], np.ndarray]:
    return [int(round(x * 1000)) for x in samples[:n_ids]], samples[n_ids:]


def test_piper_is_registered():
    assert "piper" in tts_names()


def test_piper_speaks_with_the_ids_piper_would_send(tmp_path):
    tts = create_tts("piper", model_path=write_voice(tmp_path))
    text = "Hello world, how are you?"
    samples, rate, _, words = speak(tts, SpeechRequest(text))
    assert rate == RATE

    ids = tts.phoneme_ids(text)
    sent, tone = split_output(samples, len(ids))
    assert sent == ids
    # ^ _ (phoneme _)* $, the phonemes being espeak's IPA with the clause punctuation kept
    assert ids[:2] == [ID_MAP["^"][0], ID_MAP["_"][0]] and ids[-1] == ID_MAP["$"][0]
    assert set(ids[3:-1:2]) == {ID_MAP["_"][0]}
    engine = EspeakEngine.get()
    expected = (engine.phonemize("Hello world", "en-us", ipa=True) + ", "
                + engine.phonemize("how are you", "en-us", ipa=True) + "?")
    assert "".join(SYMBOLS[i] for i in ids[2:-1:2]) == expected
    assert "ˈ" in expected and "ə" in expected  # really IPA, with stress marks

    assert len(tone) == len(ids) * HOP  # length_scale 1 from the config
    assert abs(float(np.max(np.abs(tone))) - 0.5) < 0.01

    assert [w.text.lower() for w in words] == ["hello", "world", "how", "are", "you"]
    duration = len(samples) / rate
    assert all(0.0 <= w.start <= w.end <= duration + 1e-6 for w in words)
    assert [w.start for w in words] == sorted(w.start for w in words)


def test_emotion_rate_and_options_set_the_scales(tmp_path):
    path = write_voice(tmp_path)
    tts = create_tts("piper", model_path=path)
    sad = SpeechRequest("Hello there.", emotion=Emotion.SAD, intensity=1.0)
    noise, length, noise_w = tts.scales(sad)
    assert (round(float(noise), 3), round(float(noise_w), 3)) == (0.667, 0.8)
    assert length == pytest.approx(1 / 0.78, rel=1e-3)  # sadness speaks at 0.78 of the rate
    samples, _ = tts.synthesize(sad)
    n = len(tts.phoneme_ids(sad.text))
    assert len(samples) - n == math.floor(np.float32(n) * np.float32(length) * np.float32(HOP))

    slow = create_tts("piper", model_path=path, length_scale=2.0, noise_scale=0.3)
    assert slow.scales(SpeechRequest("Hi.")).tolist() == pytest.approx([0.3, 2.0, 0.8])


def test_multi_speaker_voice_sends_sid(tmp_path):
    path = write_voice(tmp_path, speakers=3)
    text = "Good morning."

    def amplitude(tts, request):
        samples, _ = tts.synthesize(request)
        _, tone = split_output(samples, len(tts.phoneme_ids(request.text)))
        return float(np.max(np.abs(tone)))

    assert amplitude(create_tts("piper", model_path=path), SpeechRequest(text)) == pytest.approx(0.1, abs=0.005)
    bob = create_tts("piper", model_path=path, speaker="bob")
    assert amplitude(bob, SpeechRequest(text)) == pytest.approx(0.3, abs=0.005)
    assert amplitude(bob, SpeechRequest(text, voice="alice")) == pytest.approx(0.1, abs=0.005)
    by_number = create_tts("piper", model_path=path, speaker=1)
    assert amplitude(by_number, SpeechRequest(text)) == pytest.approx(0.2, abs=0.005)
    assert bob.voices() == ["alice", "bob"]
    with pytest.raises(InputError, match="unknown Piper speaker"):
        create_tts("piper", model_path=path, speaker="carol").load()


def test_phonemes_missing_from_the_map_are_skipped(tmp_path):
    id_map = {s: v for s, v in ID_MAP.items() if s not in "ˈˌ"}
    tts = create_tts("piper", model_path=write_voice(tmp_path, id_map=id_map))
    ids = tts.phoneme_ids("Hello world.")
    assert ID_MAP["ˈ"][0] not in ids
    assert ids[2::2][:-1] and all(i != ID_MAP["_"][0] for i in ids[2:-1:2])


def test_missing_files_say_where_to_get_voices(tmp_path):
    with pytest.raises(InputError, match="model_path"):
        create_tts("piper")
    missing = tmp_path / "nowhere.onnx"
    with pytest.raises(InputError) as err:
        create_tts("piper", model_path=str(missing)).load()
    assert str(missing) in str(err.value) and "huggingface.co/rhasspy/piper-voices" in str(err.value)

    path = write_voice(tmp_path)
    (tmp_path / "lonely.onnx").write_bytes(open(path, "rb").read())
    with pytest.raises(InputError, match=r"config not found: .*lonely\.onnx\.json"):
        create_tts("piper", model_path=str(tmp_path / "lonely.onnx")).synthesize(SpeechRequest("Hi."))


def test_files_that_are_not_a_piper_voice(tmp_path):
    path = write_voice(tmp_path)
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    (tmp_path / "broken.onnx.json").write_text(open(path + ".json", encoding="utf-8").read(), encoding="utf-8")
    with pytest.raises(InputError, match="could not be loaded"):
        create_tts("piper", model_path=str(broken)).load()

    (tmp_path / "bad_config.onnx").write_bytes(open(path, "rb").read())
    (tmp_path / "bad_config.onnx.json").write_text("{ not json", encoding="utf-8")
    with pytest.raises(InputError, match="not readable JSON"):
        create_tts("piper", model_path=str(tmp_path / "bad_config.onnx")).load()


def test_options_given_as_text(tmp_path):
    path = write_voice(tmp_path, speakers=3)
    tts = create_tts("piper", model_path=path, length_scale="2", speaker="2")
    assert float(tts.scales(SpeechRequest("Hi."))[1]) == pytest.approx(2.0)
    samples, _ = tts.synthesize(SpeechRequest("Hi."))
    _, tone = split_output(samples, len(tts.phoneme_ids("Hi.")))
    assert float(np.max(np.abs(tone))) == pytest.approx(0.3, abs=0.005)
    with pytest.raises(InputError, match="length_scale"):
        create_tts("piper", model_path=path, length_scale="fast")
    with pytest.raises(InputError, match="unknown option"):
        create_tts("piper", model_path=path, modle="x")


def test_a_seed_makes_the_voice_repeat_itself(tmp_path):
    """Piper's graph draws fresh noise on every call; with `seed` the same text gives the same samples
    (and another seed other ones), without it two calls differ. The ids read back stay exact."""
    path = write_voice(tmp_path, noisy=True)
    request = SpeechRequest("Hello there.")
    fresh = create_tts("piper", model_path=path)
    a, b = fresh.synthesize(request)[0], fresh.synthesize(request)[0]
    assert len(a) == len(b) and not np.array_equal(a, b)
    seeded = create_tts("piper", model_path=path, seed="3")
    c, d = seeded.synthesize(request)[0], seeded.synthesize(request)[0]
    assert np.array_equal(c, d)
    again = create_tts("piper", model_path=path, seed=3).synthesize(request)[0]
    other = create_tts("piper", model_path=path, seed=4).synthesize(request)[0]
    assert np.array_equal(c, again) and not np.array_equal(c, other)
    assert np.abs(c - a).max() < 0.1  # only the noise differs: the same tone underneath
    with pytest.raises(InputError, match="seed"):
        create_tts("piper", model_path=path, seed="x")
