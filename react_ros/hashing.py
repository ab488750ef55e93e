"""Content hashes that identify models, graphs and engines in manifests, diagnostics and recordings
(no torch here: the ONNX Runtime / TensorRT paths on a robot use it too)."""
from __future__ import annotations

import hashlib
from pathlib import Path


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
