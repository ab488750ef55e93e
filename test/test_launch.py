"""launch/reaction.launch.py without `launch` installed: parse it with ast and check that it starts console
scripts that setup.py declares, with node names that config/reaction.yaml configures and parameters
that those nodes declare, and that every LaunchConfiguration it reads is a declared argument."""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
LAUNCH = ROOT / "launch" / "reaction.launch.py"


def _call_name(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        func = node.func
        return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return ""


def _keyword(call: ast.Call, name: str):
    return next((k.value for k in call.keywords if k.arg == name), None)


@pytest.fixture(scope="module")
def tree() -> ast.Module:
    return ast.parse(LAUNCH.read_text(), str(LAUNCH))


def _entry_points() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    scripts: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    for item in value.elts:
                        name, target = (s.strip() for s in item.value.split("="))
                        scripts[name] = target
    return scripts


def _launched_nodes(tree: ast.Module) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if _call_name(n) == "Node"]


def test_launch_file_defines_generate_launch_description(tree):
    names = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in names
    imports = {alias.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for alias in n.names}
    assert {"LaunchDescription", "DeclareLaunchArgument", "LaunchConfiguration", "Node"} <= imports


def test_executables_are_console_scripts(tree):
    scripts = _entry_points()
    nodes = _launched_nodes(tree)
    assert len(nodes) == 4
    for call in nodes:
        assert _keyword(call, "package").value == "react_ros"
        executable = _keyword(call, "executable").value
        assert executable in scripts, f"{executable} is not a console script in setup.py"
        module, function = scripts[executable].split(":")
        imported = __import__(module, fromlist=[function])
        assert callable(getattr(imported, function))


def test_node_names_and_parameters_match_the_yaml(tree):
    from react_ros.nodes.reaction_node import PARAMETERS
    from react_ros.nodes.vmc_node import PARAMETERS as VMC_PARAMETERS

    config = yaml.safe_load((ROOT / "config" / "reaction.yaml").read_text())
    from react_ros.nodes import camera_node, microphone_node

    declared = {"reaction_node": set(PARAMETERS), "camera_node": set(camera_node.PARAMETERS),
                "microphone_node": set(microphone_node.PARAMETERS), "vmc_node": set(VMC_PARAMETERS)}
    for node_name, params in declared.items():  # the YAML sets exactly what each node declares
        assert set(config[node_name]["ros__parameters"]) == params, node_name
    for call in _launched_nodes(tree):
        name = _keyword(call, "name").value
        assert name in config, f"launch starts {name}, which config/reaction.yaml does not configure"
        parameters = _keyword(call, "parameters")
        assert isinstance(parameters, ast.List)
        first = parameters.elts[0]
        assert isinstance(first, ast.Name) and first.id == "params_file"  # the shared YAML comes first
        for item in parameters.elts[1:]:  # given(context, {parameter: launch argument}): only arguments given
            assert _call_name(item) == "given" and isinstance(item.args[1], ast.Dict)
            for key in item.args[1].keys:
                assert key.value in declared[name], f"{name} has no parameter {key.value!r}"


def test_launch_configurations_are_declared_arguments(tree):
    def constants(name: str) -> set[str]:  # literal first arguments (text(name) passes a variable through)
        return {n.args[0].value for n in ast.walk(tree)
                if _call_name(n) == name and n.args and isinstance(n.args[0], ast.Constant)}

    declared = constants("DeclareLaunchArgument") | constants("argument")
    used = constants("LaunchConfiguration") | {value.value for n in ast.walk(tree) if _call_name(n) == "given"
                                               for value in n.args[1].values}
    assert used <= declared, used - declared
    assert {"robot", "backend", "engine_dir", "image_topic", "audio_topic", "record", "use_camera",
            "use_microphone", "camera_device", "video_file", "wav_file"} <= declared


def test_robot_profiles_and_launch_are_installed_by_setup():
    text = (ROOT / "setup.py").read_text()
    assert 'glob("launch/*.py")' in text and 'glob("config/robots/*.yaml")' in text
    assert (ROOT / "config" / "robots" / "screen_face.yaml").is_file()
    assert (ROOT / "config" / "robots" / "animatronic.yaml").is_file()


def test_every_launch_argument_the_docs_name_is_declared(tree):
    """docs/ros.md lists the launch arguments and the launch file's docstring names `autostart`: a documented
    argument that is not declared is silently ignored by `ros2 launch`."""
    declared = {n.args[0].value for n in ast.walk(tree) if _call_name(n) in ("DeclareLaunchArgument", "argument")
                and n.args and isinstance(n.args[0], ast.Constant)}
    docs = (ROOT / "docs" / "ros.md").read_text()
    listed = re.search(r"Launch arguments: (.*?)\.\n", docs, re.S).group(1)
    named = set(re.findall(r"`(\w+)`", listed))
    continued = False
    for line in docs.splitlines():  # `ros2 launch ... name:=value` command lines (with continuations)
        if "ros2 launch" in line or continued:
            named |= set(re.findall(r"(\w+):=", line))
        continued = ("ros2 launch" in line or continued) and line.rstrip().endswith("\\")
    named |= set(re.findall(r"`(\w+)`", ast.get_docstring(tree)))
    assert {"autostart", "video_file", "wav_file", "robot", "backend"} <= named
    assert named <= declared, named - declared
