"""The ONNX export manifest, readable without torch (the ONNX Runtime / TensorRT backends use it on robots)."""
from __future__ import annotations

import json
from pathlib import Path

from react_ros.hashing import file_sha256

MANIFEST = "manifest.json"
FORMAT = "react_ros.onnx_export/1"


sha256_of = file_sha256


def read_tagged_json(path: str | Path, fmt: str, kind: str, missing: str) -> dict:
    """A JSON file whose "format" field must be `fmt`; `missing` and `kind` word the errors."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: {missing}")
    manifest = json.loads(path.read_text())
    if manifest.get("format") != fmt:
        raise ValueError(f"{path}: not a react_ros {kind} (format {fmt})")
    return manifest


def load_manifest(directory: str | Path) -> dict:
    return read_tagged_json(Path(directory) / MANIFEST, FORMAT, "ONNX export manifest",
                            "no ONNX export manifest (run `react-ros export onnx`)")


def verify_files(directory: str | Path, manifest: dict, precision: str) -> dict[str, Path]:
    """Paths of a variant's graphs, each checked against the sha256 in the manifest."""
    directory = Path(directory)
    variant = manifest["variants"].get(precision)
    if variant is None:
        raise FileNotFoundError(f"{directory}: no {precision} variant exported (have {sorted(manifest['variants'])}); "
                                f"run `react-ros export onnx --precision {precision}`")
    paths = {}
    for name, entry in variant["graphs"].items():
        path = directory / entry["file"]
        if not path.is_file():
            raise FileNotFoundError(f"{path}: listed in the manifest but missing")
        if sha256_of(path) != entry["sha256"]:
            raise ValueError(f"{path}: sha256 differs from the manifest (file changed after export)")
        paths[name] = path
    return paths


def bundle_ids(model_dir: str | Path) -> dict[str, str]:
    """The bundle's content hashes (as ModelBundle.ids) without loading torch."""
    model_dir = Path(model_dir)
    model_file = model_dir / "reaction.pt"
    if not model_file.is_file():
        raise FileNotFoundError(f"model checkpoint not found: {model_file}")
    ids = {"reaction_model_sha256": sha256_of(model_file)}
    if (model_dir / "estimator.pt").is_file():
        ids["estimator_sha256"] = sha256_of(model_dir / "estimator.pt")
    return ids


def matches_bundle(manifest: dict, ids: dict[str, str]) -> bool:
    model = manifest.get("model", {})
    return all(model.get(key) == value for key, value in ids.items())
