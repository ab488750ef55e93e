"""`react-ros export animation`: the demo clip's reactions as a glTF 2.0 file whose morph weights are the
published ones frame for frame, readable by glTF loaders (pygltflib, trimesh)."""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from react_ros import schema
from react_ros.face.gltf import read_animation, write_animation
from react_ros.robot.arkit import load_arkit_profile

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("pygltflib")


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    env = dict(os.environ, ROS_DOMAIN_ID=str(random.randint(1, 100)), PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "react_ros.cli", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    """The demo clip through the robot with the blendshape profile, recorded: (mcap, reactions, commands)."""
    pytest.importorskip("rclpy")
    from react_ros.recording import read_messages

    out = tmp_path_factory.mktemp("run")
    cli("run", "--fast", "--seconds", "4", "--robot", "arkit_blendshapes", "--out", str(out))
    mcap = next(out.glob("*.mcap"))
    reactions, commands, last = [], [], None
    for message in read_messages(mcap):
        if message.topic == "/react_ros/joint_commands":
            last = np.array(message.message.position, np.float32)
        elif message.topic == "/react_ros/reaction":
            reactions.append(np.array(message.message.data, np.float32))
            commands.append(last)
    return mcap, np.stack(reactions), np.stack(commands)


def test_the_morph_weights_are_the_published_reactions_frame_for_frame(session, tmp_path):
    mcap, reactions, _ = session
    out = tmp_path / "clip.glb"
    cli("export", "animation", "--recording", str(mcap), "--out", str(out), timeout=120)
    names, times, weights = read_animation(out)
    profile = load_arkit_profile()
    assert names == list(schema.ARKIT_BLENDSHAPES)
    assert len(weights) == len(reactions) >= 110
    assert np.array_equal(weights, np.array([profile.map(r) for r in reactions], np.float32))
    assert np.allclose(times, np.arange(len(reactions)) / schema.FPS)


def test_the_commanded_weights_export_frame_for_frame(session, tmp_path):
    mcap, _, commands = session
    out = tmp_path / "commands.glb"
    cli("export", "animation", "--recording", str(mcap), "--weights", "commands", "--out", str(out), timeout=120)
    _, _, weights = read_animation(out)
    assert np.array_equal(weights, commands)


def test_the_file_is_a_glb_with_the_face_and_52_morph_targets(tmp_path):
    import pygltflib

    path = write_animation(tmp_path / "a.glb", np.zeros((3, 52)), np.arange(3) / 30.0)
    gltf = pygltflib.GLTF2().load(str(path))
    assert gltf.asset.version == "2.0"
    primitive = gltf.meshes[0].primitives[0]
    assert len(primitive.targets) == 52 and gltf.accessors[primitive.attributes.POSITION].count == 468
    channel = gltf.animations[0].channels[0]
    assert channel.target.path == "weights" and gltf.animations[0].samplers[0].interpolation == "LINEAR"
    trimesh = pytest.importorskip("trimesh")
    scene = trimesh.load(str(path))
    (mesh,) = scene.geometry.values()
    assert mesh.vertices.shape == (468, 3) and mesh.faces.shape == (852, 3)
    assert mesh.vertices[:, 1].max() - mesh.vertices[:, 1].min() > 0.12  # metres, y up: a face is ~18 cm tall
    chin, forehead = mesh.vertices[152], mesh.vertices[10]
    assert forehead[1] > chin[1]


def test_a_smile_in_the_reactions_is_a_rising_smile_in_the_file(tmp_path):
    reactions = np.repeat(schema.neutral_frame()[None], 30, axis=0)
    reactions[:, schema.index_of("AU12")] = np.linspace(0.0, 1.0, 30)
    np.save(tmp_path / "smile.npy", reactions)
    out = tmp_path / "smile.glb"
    cli("export", "animation", "--reactions", str(tmp_path / "smile.npy"), "--out", str(out), "--plot",
        str(tmp_path / "smile.png"), timeout=120)
    assert (tmp_path / "smile.png").stat().st_size > 1000
    names, _, weights = read_animation(out)
    smile = weights[:, names.index("mouthSmileLeft")]
    assert smile[0] == 0.0 and smile[-1] > 0.85 and np.all(np.diff(smile) >= 0)
    assert np.all(weights[:, names.index("mouthFrownLeft")] == 0.0)


def test_bad_input_is_refused_with_the_reason(tmp_path, session):
    from react_ros.export.animation import weights_from_recording, write_session_animation

    with pytest.raises(ValueError, match=r"\(frames, 52\)"):
        write_animation(tmp_path / "x.glb", np.zeros((3, 25)), np.arange(3.0))
    with pytest.raises(ValueError, match="strictly increasing"):
        write_animation(tmp_path / "x.glb", np.zeros((3, 52)), np.zeros(3))
    with pytest.raises(ValueError, match="one of them"):
        write_session_animation(tmp_path / "x.glb")
    with pytest.raises(ValueError, match="expected one of"):
        weights_from_recording(session[0], "joints")
