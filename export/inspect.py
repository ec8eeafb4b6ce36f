"""What a converted file says about itself: TFLite metadata such as min_runtime_version."""

from __future__ import annotations

from pathlib import Path


def tflite_metadata(path: Path) -> dict[str, str]:
    """The file's text metadata entries (e.g. min_runtime_version), read from its flatbuffer."""
    from ai_edge_litert import schema_py_generated as schema

    buf = path.read_bytes()
    model = schema.Model.GetRootAsModel(buf, 0)
    out = {}
    for i in range(model.MetadataLength()):
        entry = model.Metadata(i)
        data = model.Buffers(entry.Buffer()).DataAsNumpy()
        if entry.Name() and data is not None and not isinstance(data, int):
            try:
                out[entry.Name().decode()] = bytes(data).rstrip(b"\0").decode("ascii")
            except UnicodeDecodeError:
                continue  # binary metadata (CONVERSION_METADATA) is not for the manifest
    return out
