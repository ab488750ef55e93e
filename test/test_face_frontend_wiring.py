"""`face_frontend: auto|haar|mesh` reaches the robot's pipeline from every entry point (node parameters, the params
file, the launch file, `react-ros run`, `eval --online`), the default (auto) runs the front end the model card says
the model was trained on, a different one is a WARN on /diagnostics, and values the mesh front end did not measure
reach the model as their neutral value."""
from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest
import yaml

from react_ros import schema
from react_ros.online import PipelineConfig, ReactionPipeline

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def loaded():
    from react_ros.runtime import load_graphs

    return load_graphs("torch", threads=1)


def test_default_front_end_is_the_one_the_model_was_trained_on():
    from react_ros.nodes.reaction_params import PARAMETERS

    assert PipelineConfig().face_frontend == "auto"
    assert PARAMETERS["face_frontend"][0] == "auto"
    config = yaml.safe_load((ROOT / "config" / "reaction.yaml").read_text())
    assert config["reaction_node"]["ros__parameters"]["face_frontend"] == "auto"
    launch = ast.parse((ROOT / "launch" / "reaction.launch.py").read_text())
    arguments = {call.args[0].value: call for call in ast.walk(launch)
                 if isinstance(call, ast.Call) and getattr(call.func, "id", "") == "argument"}
    assert len(arguments["face_frontend"].args) == 2  # no default of its own: the params file's "auto" holds


def test_auto_resolves_to_the_card_and_explicit_choices_win():
    from react_ros.model.card import ModelCard
    from react_ros.online.pipeline import resolve_face_frontend

    assert ModelCard().face_frontend == "haar"  # cards from before the mesh front end
    assert ModelCard(extra={"face_frontend": "mesh"}).face_frontend == "mesh"
    assert resolve_face_frontend("auto", "mesh") == "mesh"
    assert resolve_face_frontend("auto", "haar") == "haar"
    assert resolve_face_frontend("haar", "mesh") == "haar"
    with pytest.raises(ValueError, match="card says 'dlib'"):
        resolve_face_frontend("auto", "dlib")


def test_session_runs_the_cards_front_end_and_warns_on_another(loaded, tmp_path):
    """A bundle whose card says mesh: auto builds the mesh front end; haar asked for runs haar with a WARN naming
    both (the model would read features it never saw)."""
    import dataclasses
    import shutil

    from react_ros.model.bundle import default_model_dir
    from react_ros.model.card import ModelCard
    from react_ros.online import ReactionSession, SessionConfig
    from react_ros.online.health import OK, WARN
    from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd

    shutil.copytree(default_model_dir(), tmp_path / "model")
    card = ModelCard.read(tmp_path / "model")
    dataclasses.replace(card, extra=dict(card.extra, face_frontend="mesh")).write(tmp_path / "model")
    moved = dataclasses.replace(loaded, info=dict(loaded.info, model_dir=str(tmp_path / "model")))
    auto = ReactionSession.from_loaded(moved)
    assert isinstance(auto.source.front_end, MeshSpeakerFrontEnd)
    assert auto.info["face_frontend"] == auto.info["trained_face_frontend"] == "mesh"
    assert auto.diagnostics().level == OK  # inactive: no staleness to report, so only the front end could WARN
    asked = SessionConfig(PipelineConfig(face_frontend="haar"))
    haar = ReactionSession.from_loaded(moved, config=asked)
    assert not isinstance(haar.source.front_end, MeshSpeakerFrontEnd)
    diagnostics = haar.diagnostics()
    assert diagnostics.level == WARN and "trained on mesh" in diagnostics.reason
    assert diagnostics.values["face_frontend"] == "haar"


def test_node_parameter_reaches_the_pipeline_config():
    from react_ros.nodes.reaction_params import PARAMETERS, session_config

    values = {name: default for name, (default, _) in PARAMETERS.items()}
    values["face_frontend"] = "mesh"
    assert session_config(values.__getitem__).pipeline.face_frontend == "mesh"
    assert session_config(values.__getitem__).pipeline.check_smiles is True  # the smile check is on by default
    values["check_smiles"] = False
    assert session_config(values.__getitem__).pipeline.check_smiles is False


def test_run_and_eval_take_the_option():
    import argparse

    from react_ros.bringup.cli import add_commands as add_run
    from react_ros.evaluation.cli import add_commands as add_eval

    parser = argparse.ArgumentParser()
    commands = parser.add_subparsers()
    add_run(commands)
    add_eval(commands)
    assert parser.parse_args(["run", "--face-frontend", "mesh"]).face_frontend == "mesh"
    assert parser.parse_args(["run"]).face_frontend is None  # None: the params file decides
    args = parser.parse_args(["eval", "--data", "d", "--out", "o", "--online", "--face-frontend", "mesh"])
    assert args.face_frontend == "mesh"
    with pytest.raises(SystemExit):
        parser.parse_args(["run", "--face-frontend", "dlib"])


def test_pipeline_builds_the_named_front_end(loaded):
    from react_ros.perception.mesh_frontend import MeshSpeakerFrontEnd

    mesh = ReactionPipeline.from_graphs(loaded.graphs, None, config=PipelineConfig(face_frontend="mesh"))
    assert isinstance(mesh.front_end, MeshSpeakerFrontEnd)  # no estimator needed
    assert mesh.front_end.check_smiles
    unchecked = PipelineConfig(face_frontend="mesh", check_smiles=False)
    assert not ReactionPipeline.from_graphs(loaded.graphs, None, config=unchecked).front_end.check_smiles
    haar = ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn, config=PipelineConfig(face_frontend="haar"))
    assert not isinstance(haar.front_end, MeshSpeakerFrontEnd)
    with pytest.raises(ValueError, match="face_frontend"):
        ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn, config=PipelineConfig(face_frontend="dlib"))
    with pytest.raises(ValueError, match="estimator"):
        ReactionPipeline.from_graphs(loaded.graphs, None, config=PipelineConfig(face_frontend="haar"))
    assert isinstance(ReactionPipeline.from_graphs(loaded.graphs, None, trained_frontend="mesh").front_end,
                      MeshSpeakerFrontEnd)  # auto follows the card's front end
    with pytest.raises(ValueError, match="model card's face_frontend"):  # and is never guessed without it
        ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn)


def test_mesh_front_end_finds_the_demo_speaker_online(loaded):
    from react_ros.data.democlip import default_clip
    from react_ros.face.video import read_video

    video, _ = default_clip()
    frames = read_video(video)[:12]
    pipeline = ReactionPipeline.from_graphs(loaded.graphs, None, config=PipelineConfig(face_frontend="mesh"))
    outputs = [pipeline.push_image(frame, 1.0 + k / schema.FPS) for k, frame in enumerate(frames)]
    assert all(out.face_present for out in outputs)
    assert all(np.isfinite(out.reaction).all() for out in outputs)


def test_unmeasured_values_reach_the_model_as_neutral(loaded):
    """A front end that measured only AU12 (everything else masked, holding junk): the model's visual input is the
    neutral frame except AU12."""
    from react_ros.perception.mesh_frontend import MeshVisualFrame

    au12 = schema.AU_NAMES.index("AU12")
    junk = np.full(schema.REACTION_DIM, 0.9, np.float32)
    measured = np.zeros(schema.REACTION_DIM, bool)
    measured[au12] = True

    pipeline = ReactionPipeline.from_graphs(loaded.graphs, loaded.estimator_fn,
                                            config=PipelineConfig(face_frontend="haar"))
    pipeline.front_end.process_image = lambda image: MeshVisualFrame(junk, True, None, measured=measured)
    pushed = []
    push = pipeline.generator.push
    pipeline.generator.push = lambda visual, *rest: (pushed.append(np.array(visual)), push(visual, *rest))[1]
    output = pipeline.push_image(np.zeros((64, 64, 3), np.uint8), 1.0)
    expected = schema.neutral_frame()
    expected[au12] = 0.9
    np.testing.assert_allclose(output.speaker, expected)
    np.testing.assert_allclose(pushed[0][0], expected)
