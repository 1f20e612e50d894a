"""A Piper model loaded for visage: with its alignment output, and with noise that repeats.

Piper's VITS graph draws Gaussian noise twice per sentence (the stochastic duration predictor and the
latent before the decoder) with RandomNormalLike nodes, so the same sentence comes out a little
different every time: different lengths, pitch and loudness. visage wants the same text with the same
tags to give the same audio (renders that reproduce, tests that measure the voice and not the dice),
so both nodes are replaced by slices of one fixed noise sequence fed as an input (seed 0): the noise
is as Gaussian as before, only no longer fresh. The alignment output is added as Piper itself does
(piper.patch_voice_with_alignment), in memory; the model file is never written.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from visage.errors import BackendError

NOISE_INPUT = "visage_noise"
# Enough for the longest sentence visage sends (400 characters, ~35 s: 192 x 3000 frames of latent).
NOISE_PER_NODE = 1 << 20
NOISE_SEED = 0


class _SeededSession:
    """The onnxruntime session with the noise input filled in; Piper calls only `run`."""

    def __init__(self, session, noise: np.ndarray) -> None:
        self._session, self._noise = session, noise

    def run(self, outputs, feeds):
        return self._session.run(outputs, {**feeds, NOISE_INPUT: self._noise})

    def __getattr__(self, name):
        return getattr(self._session, name)


def _replace_random_nodes(model) -> int:
    """Swap each RandomNormalLike for mean + scale * Reshape(Slice(noise, k*N, k*N + Size(x)), Shape(x))."""
    from onnx import TensorProto, helper

    graph = model.graph
    nodes = list(graph.node)
    replaced = 0
    out = []
    for node in nodes:
        if node.op_type != "RandomNormalLike":
            out.append(node)
            continue
        k = replaced
        src, dst = node.input[0], node.output[0]
        p = f"visage_noise_{k}"
        out += [
            helper.make_node("Shape", [src], [f"{p}_shape"]),
            helper.make_node("Size", [src], [f"{p}_size"]),
            helper.make_node("Constant", [], [f"{p}_start"],
                             value=helper.make_tensor(f"{p}_s", TensorProto.INT64, [1], [k * NOISE_PER_NODE])),
            helper.make_node("Constant", [], [f"{p}_axes"],
                             value=helper.make_tensor(f"{p}_a", TensorProto.INT64, [1], [0])),
            helper.make_node("Unsqueeze", [f"{p}_size", f"{p}_axes"], [f"{p}_size1"]),
            helper.make_node("Add", [f"{p}_size1", f"{p}_start"], [f"{p}_end"]),
            helper.make_node("Slice", [NOISE_INPUT, f"{p}_start", f"{p}_end"], [f"{p}_flat"]),
            helper.make_node("Reshape", [f"{p}_flat", f"{p}_shape"], [f"{p}_std"]),
        ]
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        mean, scale = float(attrs.get("mean", 0.0)), float(attrs.get("scale", 1.0))  # the node's own draw
        out += [helper.make_node("Constant", [], [f"{p}_scale"],
                                 value=helper.make_tensor(f"{p}_c", TensorProto.FLOAT, [], [scale])),
                helper.make_node("Constant", [], [f"{p}_mean"],
                                 value=helper.make_tensor(f"{p}_m", TensorProto.FLOAT, [], [mean])),
                helper.make_node("Mul", [f"{p}_std", f"{p}_scale"], [f"{p}_scaled"]),
                helper.make_node("Add", [f"{p}_scaled", f"{p}_mean"], [dst])]
        replaced += 1
    del graph.node[:]
    graph.node.extend(out)
    if replaced:  # a graph without noise gets no input it would never read
        graph.input.append(helper.make_tensor_value_info(NOISE_INPUT, TensorProto.FLOAT, [replaced * NOISE_PER_NODE]))
    return replaced


def load_seeded_piper(model_path: Path, config_path: Path):
    """A piper.PiperVoice with alignments and repeatable noise (needs the onnx package)."""
    from piper import PiperVoice
    from piper.config import PiperConfig

    try:
        import onnx
        from piper.patch_voice_with_alignment import add_alignment_output
    except ImportError:
        raise BackendError("the neural voice needs the onnx package for its timings; install it with: "
                           "pip install visage") from None
    model = onnx.load(str(model_path))
    try:
        add_alignment_output(model)
    except ValueError:
        pass  # already patched: the model file carries the output itself
    config = PiperConfig.from_dict(json.loads(Path(config_path).read_text(encoding="utf-8")))
    return PiperVoice(config=config, session=seeded_session(model))


def seeded_session(model, seed: int = NOISE_SEED):
    """An onnxruntime session of the ONNX `model` (an onnx.ModelProto, changed in place) whose
    RandomNormalLike nodes read one fixed Gaussian sequence drawn with `seed`; `run` as a session's."""
    import onnxruntime

    count = _replace_random_nodes(model)
    noise = np.random.default_rng(seed).standard_normal(max(1, count) * NOISE_PER_NODE).astype(np.float32)
    options = onnxruntime.SessionOptions()
    # onnxruntime's pool threads spin for a while after each parallel step by default: ~30 % of the
    # voice's CPU (0.21 -> 0.15 CPU s per audio s, bench_say's text), taken from the renderer and the
    # encoder in `visage say` and from the other sessions and the media loop in `visage serve`
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = onnxruntime.InferenceSession(model.SerializeToString(), sess_options=options,
                                           providers=["CPUExecutionProvider"])
    return _SeededSession(session, noise) if count else session
