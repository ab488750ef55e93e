"""The human-style face as a glTF 2.0 file: the mesh, its 52 ARKit blendshapes as morph targets, and their
weights over time as an animation (Blender, three.js, Unity and Unreal importers read it as is).

One `.glb` (binary glTF): the neutral mesh (468 FaceMesh vertices, skin material), 52 morph targets (POSITION
displacements, named in `mesh.extras.targetNames`, the name list Blender and three.js read), and one animation
whose sampler holds a keyframe per frame (LINEAR) on the node's `weights` path. Coordinates are glTF's: metres,
y up, +z towards the viewer (the face model's y-down, inter-ocular units are flipped and scaled).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from react_ros.face.human import MESH_FILE, HumanFaceModel
from react_ros.schema import ARKIT_BLENDSHAPES

__all__ = ["INTEROCULAR_M", "read_animation", "write_animation"]

INTEROCULAR_M = 0.09  # an adult's outer eye corners are about 9 cm apart
_TO_GLTF = np.array([1.0, -1.0, 1.0], np.float32) * INTEROCULAR_M


def write_animation(path: str | Path, weights: np.ndarray, times: np.ndarray, name: str = "reaction",
                    mesh: str | Path = MESH_FILE) -> Path:
    """weights: (T, 52) in ARKIT_BLENDSHAPES order, 0..1; times: (T,) seconds, strictly increasing."""
    import pygltflib as g

    weights = np.ascontiguousarray(weights, np.float32)
    times = np.ascontiguousarray(times, np.float32).reshape(-1)
    if weights.ndim != 2 or weights.shape[1] != len(ARKIT_BLENDSHAPES):
        raise ValueError(f"glTF animation: weights must be (frames, {len(ARKIT_BLENDSHAPES)}), got {weights.shape}")
    if len(times) != len(weights) or len(times) == 0:
        raise ValueError(f"glTF animation: {len(times)} times for {len(weights)} frames")
    if not np.all(np.isfinite(weights)) or not np.all(np.isfinite(times)) or np.any(np.diff(times) <= 0):
        raise ValueError("glTF animation: weights and times must be finite and the times strictly increasing")
    model = HumanFaceModel(mesh)
    positions = np.ascontiguousarray(model.vertices * _TO_GLTF, np.float32)
    targets = np.ascontiguousarray(model.fields * _TO_GLTF, np.float32)  # (52, 468, 3)
    indices = np.ascontiguousarray(model.triangles, np.uint32)  # y flipped: the winding is now glTF's CCW
    blobs: list[bytes] = []
    views, accessors = [], []

    def add(array: np.ndarray, kind: str, component: int, target: int | None = None, bounds: bool = False) -> int:
        offset = sum(len(b) for b in blobs)
        data = array.tobytes()
        blobs.append(data + b"\0" * (-len(data) % 4))
        views.append(g.BufferView(buffer=0, byteOffset=offset, byteLength=len(data), target=target))
        count = array.shape[0] if kind != g.SCALAR else array.size
        accessor = g.Accessor(bufferView=len(views) - 1, componentType=component, count=int(count), type=kind)
        if bounds:
            flat = array.reshape(count, -1)
            accessor.min, accessor.max = flat.min(0).tolist(), flat.max(0).tolist()
        accessors.append(accessor)
        return len(accessors) - 1

    position = add(positions, g.VEC3, g.FLOAT, g.ARRAY_BUFFER, bounds=True)
    index = add(indices.reshape(-1), g.SCALAR, g.UNSIGNED_INT, g.ELEMENT_ARRAY_BUFFER)
    morphs = [{"POSITION": add(target, g.VEC3, g.FLOAT, g.ARRAY_BUFFER, bounds=True)} for target in targets]
    time_accessor = add(times, g.SCALAR, g.FLOAT, bounds=True)
    weight_accessor = add(weights.reshape(-1), g.SCALAR, g.FLOAT)
    skin = g.Material(name="skin", doubleSided=False, pbrMetallicRoughness=g.PbrMetallicRoughness(
        baseColorFactor=[0.80, 0.62, 0.51, 1.0], metallicFactor=0.0, roughnessFactor=0.6))
    primitive = g.Primitive(attributes=g.Attributes(POSITION=position), indices=index, material=0, targets=morphs)
    gltf = g.GLTF2(
        asset=g.Asset(version="2.0", generator="react_ros (react-ros export animation)"),
        scene=0, scenes=[g.Scene(nodes=[0])], nodes=[g.Node(name="face", mesh=0)],
        meshes=[g.Mesh(name="face", primitives=[primitive], weights=[0.0] * len(ARKIT_BLENDSHAPES),
                       extras={"targetNames": list(ARKIT_BLENDSHAPES)})],
        materials=[skin],
        animations=[g.Animation(name=name, samplers=[g.AnimationSampler(input=time_accessor, output=weight_accessor,
                                                                         interpolation="LINEAR")],
                                channels=[g.AnimationChannel(sampler=0, target=g.AnimationChannelTarget(
                                    node=0, path="weights"))])],
        accessors=accessors, bufferViews=views, buffers=[g.Buffer(byteLength=sum(len(b) for b in blobs))])
    gltf.set_binary_blob(b"".join(blobs))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    gltf.save_binary(str(path))
    return path


def read_animation(path: str | Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(target names, times (T,), weights (T, targets)) of the first animation of a .glb written above."""
    import pygltflib as g

    gltf = g.GLTF2().load(str(path))
    blob = gltf.binary_blob()

    def array(accessor_index: int) -> np.ndarray:
        accessor = gltf.accessors[accessor_index]
        view = gltf.bufferViews[accessor.bufferView]
        start = (view.byteOffset or 0) + (accessor.byteOffset or 0)
        width = {g.SCALAR: 1, g.VEC3: 3}[accessor.type]
        return np.frombuffer(blob, np.float32, accessor.count * width, start)

    mesh = gltf.meshes[gltf.nodes[gltf.animations[0].channels[0].target.node].mesh]
    names = list(mesh.extras["targetNames"])
    sampler = gltf.animations[0].samplers[0]
    times = array(sampler.input)
    return names, times, array(sampler.output).reshape(len(times), len(names))
