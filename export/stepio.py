"""Which of a converted step file's tensors is x, y and each state, and the integer step file's
states made to share one quantization in and out."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from runtime.backends import open_backend
from runtime.forecaster import dequantize, quantize

from .flatbuffer import share_state_quantization
from .references import References
from .variants import Variant


def step_io(backend: object, refs: References) -> dict:
    """Which of a step file's tensors is x, y and each state: by input name, by output value.

    Converters reorder a model's inputs and outputs; the outputs have no useful names, so they
    are matched against the Keras step model on one probe input.
    """
    names = ["x", *refs.state_names]
    base = [t.name.removeprefix("serving_default_").split(":")[0] for t in backend.inputs]
    inputs = [base.index(n) for n in names]
    rng = np.random.default_rng(0)
    probe = [rng.uniform(-0.5, 0.5, (1, t.shape[-1])) for t in (backend.inputs[i] for i in inputs)]
    want = [np.asarray(t) for t in refs.step_model([p.astype(np.float32) for p in probe])]
    feeds = [None] * len(inputs)
    for i, p in zip(inputs, probe, strict=True):
        feeds[i] = quantize(p, backend.inputs[i])
    got = [
        dequantize(o, info) for o, info in zip(backend.run(*feeds), backend.outputs, strict=True)
    ]
    outputs: list[int] = []
    for w in want:
        candidates = [j for j, g in enumerate(got) if g.shape == w.shape and j not in outputs]
        outputs.append(min(candidates, key=lambda j: float(np.abs(got[j] - w).max())))
    sizes = [backend.inputs[i].shape[-1] for i in inputs[1:]]
    return {
        "inputs": inputs,
        "outputs": outputs,
        "state_names": refs.state_names,
        "state_sizes": sizes,
    }


def share_state_scales(path: Path, variant: Variant, refs: References) -> None:
    """Rewrite an integer step file so each state's output shares its input's quantization."""
    io = step_io(open_backend(path, variant.format), refs)
    pairs = list(zip(io["inputs"][1:], io["outputs"][1:], strict=True))
    path.write_bytes(share_state_quantization(path.read_bytes(), pairs))
