"""Every parameter of the reaction, camera and microphone nodes has its type and range on its ROS 2 descriptor:
a value outside the range, or of the wrong type, is refused at start (the node does not come up; the message
names the parameter, the value and the range) and on `ros2 param set` (the same descriptor, rclpy's refusal names
them too); parameters read once at start are read-only; the reaction node refuses a change of a parameter it
reads at configure while it is configured, instead of silently ignoring it."""
from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

import pytest

rclpy = pytest.importorskip("rclpy")

from rclpy.parameter import Parameter  # noqa: E402

from react_ros.nodes import camera_node, microphone_node, reaction_params  # noqa: E402
from react_ros.nodes.common import ConfigError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CLIP = ROOT / "react_ros" / "assets" / "demo_clip"
# What a node needs to come up without hardware or a model: the clip instead of devices, no autostart.
BASE = {"reaction": {"autostart": False}, "camera": {"video_file": str(CLIP / "speaker.mp4")},
        "microphone": {"wav_file": str(CLIP / "speaker.wav")}}
TABLES = {"reaction": (reaction_params.PARAMETERS, reaction_params.RANGES),
          "camera": (camera_node.PARAMETERS, camera_node.RANGES),
          "microphone": (microphone_node.PARAMETERS, microphone_node.RANGES)}


@pytest.fixture()
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx, domain_id=random.randint(1, 100))
    yield ctx
    ctx.try_shutdown()


def make(kind: str, context, **params):
    from react_ros.nodes.camera_node import CameraNode
    from react_ros.nodes.microphone_node import MicrophoneNode
    from react_ros.nodes.reaction_node import ReactionNode

    factory = {"reaction": ReactionNode, "camera": CameraNode, "microphone": MicrophoneNode}[kind]
    values = dict(BASE[kind], **params)
    return factory(context=context, parameter_overrides=[Parameter(k, value=v) for k, v in values.items()])


def outside(low, high) -> list:
    """Values just outside [low, high] (beyond rclpy's relative tolerance at the edges)."""
    if isinstance(low, int) and isinstance(high, int):
        return [low - 1, high + 1]
    return [float(low) - max(0.01, abs(low) * 0.01), float(high) + max(0.01, abs(high) * 0.01)]


def ranged():
    for kind, (_table, ranges) in TABLES.items():
        for name, (low, high) in ranges.items():
            for value in outside(low, high):
                yield pytest.param(kind, name, value, (low, high), id=f"{kind}-{name}={value}")


def test_every_range_fits_its_default_and_type():
    for kind, (table, ranges) in TABLES.items():
        numeric = {name for name, (default, _) in table.items() if type(default) in (int, float)}
        assert numeric == set(ranges), (kind, numeric ^ set(ranges))  # no number without its range
        for name, (low, high) in ranges.items():
            default = table[name][0]
            assert type(default) in (int, float) and not isinstance(default, bool), (kind, name)
            assert type(low) is type(high) is type(default) or isinstance(default, float), (kind, name)
            assert low <= default <= high, (kind, name, default)


@pytest.mark.parametrize("kind,name,value,limits", list(ranged()))
def test_a_value_outside_the_range_is_refused_at_start(context, kind, name, value, limits):
    with pytest.raises(ConfigError) as refused:
        make(kind, context, **{name: value})
    message = str(refused.value)
    assert name in message and repr(value) in message and f"{limits[0]}..{limits[1]}" in message, message


@pytest.mark.parametrize("kind,name,value,limits", list(ranged()))
def test_a_value_outside_the_range_is_refused_at_run_time(context, kind, name, value, limits):
    node = make(kind, context)
    try:
        before = node.get_parameter(name).value
        result = node.set_parameters([Parameter(name, value=value)])[0]
        assert not result.successful
        assert node.get_parameter(name).value == before
        if node.describe_parameters([name])[0].read_only:
            assert "read-only" in result.reason and name in result.reason
        else:  # rclpy's refusal: "Parameter steps out of range. Min: 0, Max: 1000, value: -5"
            assert name in result.reason and str(value) in result.reason, result.reason
            assert f"Min: {limits[0]}" in result.reason and f"Max: {limits[1]}" in result.reason, result.reason
        described = node.describe_parameters([name])[0]
        limits_on_descriptor = described.integer_range or described.floating_point_range
        assert (limits_on_descriptor[0].from_value, limits_on_descriptor[0].to_value) == limits  # ros2 param describe
    finally:
        node.destroy_node()


def test_a_value_inside_the_range_is_taken_at_run_time(context):
    node = make("reaction", context)
    try:
        assert node.set_parameters([Parameter("input_timeout_s", value=0.5)])[0].successful
        assert node.get_parameter("input_timeout_s").value == 0.5
        assert node.set_parameters([Parameter("steps", value=8)])[0].successful  # unconfigured: takes effect later
    finally:
        node.destroy_node()


@pytest.mark.parametrize("kind,name,value", [("reaction", "input_depth", "five"), ("reaction", "steps", 2.5),
                                             ("reaction", "watchdog_rate_hz", 50), ("reaction", "record", "yes"),
                                             ("camera", "rate", "fast"), ("microphone", "channels", 1.0)])
def test_a_value_of_the_wrong_type_is_refused_at_start_and_at_run_time(context, kind, name, value):
    with pytest.raises(ConfigError) as refused:
        make(kind, context, **{name: value})
    assert name in str(refused.value) and repr(value) in str(refused.value), refused.value
    node = make(kind, context)
    try:
        assert not node.set_parameters([Parameter(name, value=value)])[0].successful
    finally:
        node.destroy_node()


def test_parameters_read_once_at_start_are_read_only(context):
    node = make("reaction", context)
    try:
        for name in reaction_params.READ_ONLY:
            assert node.describe_parameters([name])[0].read_only
            value = node.get_parameter(name).value
            assert not node.set_parameters([Parameter(name, value=value)])[0].successful
    finally:
        node.destroy_node()
    for kind in ("camera", "microphone"):
        node = make(kind, context)
        try:
            assert all(d.read_only for d in node.describe_parameters(list(TABLES[kind][0])))
        finally:
            node.destroy_node()


def test_parameters_that_contradict_each_other_are_refused(context):
    with pytest.raises(ConfigError, match="sample_index 2 must be below samples"):
        make("reaction", context, samples=2, sample_index=2)
    with pytest.raises(ConfigError, match="reset_after_gap_s 0.1 must be at least input_timeout_s"):
        make("reaction", context, reset_after_gap_s=0.1, input_timeout_s=0.5)
    node = make("reaction", context, samples=3, sample_index=1)
    try:
        refused = node.set_parameters([Parameter("samples", value=1)])[0]
        assert not refused.successful and "sample_index 1 must be below samples (1)" in refused.reason
        assert node.set_parameters_atomically([Parameter("samples", value=1), Parameter("sample_index", value=0)]).successful
    finally:
        node.destroy_node()


def test_a_configured_node_refuses_a_change_it_would_ignore(context, tmp_path):
    node = make("reaction", context, autostart=True, backend="torch", robot_profile="animatronic",
                output_dir=str(tmp_path))
    try:
        assert node.active
        refused = node.set_parameters([Parameter("steps", value=2)])[0]
        assert not refused.successful and "steps is read at configure" in refused.reason, refused.reason
        assert node.get_parameter("steps").value == 0
        assert node.set_parameters([Parameter("participant_id", value="P02")])[0].successful  # live
    finally:
        node.shutdown_gracefully()
        node.destroy_node()


def run_reaction_node(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "react_ros.nodes.reaction_node", "--ros-args", *arguments],
                          capture_output=True, text=True, timeout=120,
                          env=dict(os.environ, PYTHONPATH=str(ROOT), ROS_DOMAIN_ID="96"))


@pytest.mark.parametrize("argument,expected", [
    ("watchdog_rate_hz:=0.0", "parameter watchdog_rate_hz = 0.0 refused: expected a floating-point number"),
    ("diagnostics_period_s:=0", "parameter diagnostics_period_s = 0 refused"),
    ("input_timeout_s:=-1", "parameter input_timeout_s = -1 refused"),
    ("steps:=-5", "parameter steps = -5 refused: expected an integer in 0..1000"),
])
def test_the_issues_values_stop_the_node_with_the_range(argument, expected):
    """The values of issue 30, as `ros2 run ... -p` gives them (an integer for a float parameter is refused too)."""
    name = argument.split(":=")[0]
    low, high = reaction_params.RANGES[name]
    result = run_reaction_node("-p", argument)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert expected in output and f"{low}..{high}" in output and "Traceback" not in output, output[-2000:]


def test_a_yaml_value_of_the_wrong_type_is_refused_not_ignored(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text('reaction_node:\n  ros__parameters:\n    input_depth: "five"\n')
    result = run_reaction_node("--params-file", str(params))
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-2000:]
    assert "parameter input_depth = 'five' refused: expected an integer in 1..1000" in output, output[-2000:]
