"""The package's layers (docs/architecture.md): a sub-package imports only from layers below it, so there are no
import circles and the robot's runtime never depends on the exporter, training or evaluation.
Imports inside functions count too: a lazy import is still a dependency."""
from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "react_ros"

# Lowest first. A package may import from any layer below its own, never from its own layer or above.
LAYERS: list[tuple[str, ...]] = [
    ("schema", "hashing"),
    ("face", "perception", "metrics", "recording", "robot", "capture"),
    ("data", "model", "behaviours"),
    ("runtime", "perceive"),
    ("online",),
    ("evaluation",),
    ("training",),
    ("export",),
    ("study",),
    ("nodes",),
    ("bringup",),
    ("bench",),
    ("cli", "ament_install"),
    ("demo",),  # runs the react-ros commands in a row
]
ROS_PACKAGES = ("nodes", "bringup", "bench")  # rclpy and ROS messages only here (and lazily in bench/bringup)
ROS_MODULES = ("rclpy", "sensor_msgs", "std_msgs", "diagnostic_msgs", "builtin_interfaces", "rcl_interfaces",
               "lifecycle_msgs", "std_srvs", "audio_common_msgs")


def _imports(package: Path = PACKAGE) -> dict[str, set[tuple[str, str]]]:
    """{sub-package: {(imported top-level name or react_ros sub-package, file)}}."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in package.rglob("*.py"):
        source = path.relative_to(package).parts[0].removesuffix(".py")
        if source == "__init__":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                parts = name.split(".")
                target = parts[1] if parts[0] == package.name and len(parts) > 1 else f"external:{parts[0]}"
                if target != source:
                    out.setdefault(source, set()).add((target, str(path.relative_to(package.parent))))
    return out


def layering_violations(imports: dict[str, set[tuple[str, str]]]) -> list[str]:
    level = {name: k for k, layer in enumerate(LAYERS) for name in layer}
    problems = [f"react_ros/{name}: not in any layer of test_layers.LAYERS (place it)"
                for name in sorted(imports) if name not in level]
    for source, targets in sorted(imports.items()):
        for target, path in sorted(targets):
            if target.startswith("external:"):
                if target.removeprefix("external:") in ROS_MODULES and source not in ROS_PACKAGES:
                    problems.append(f"{path}: imports ROS ({target.removeprefix('external:')}); the library must not")
                continue
            if source in level and target in level and level[target] >= level[source]:
                problems.append(f"{path}: {source} (layer {level[source]}) imports {target} (layer {level[target]})")
    return problems


def test_every_import_points_down_the_layers():
    problems = layering_violations(_imports())
    assert not problems, "\n".join(problems)


def test_the_check_sees_an_upward_import(tmp_path):
    """The check itself: a runtime module that imports the exporter (the circle this layering removed) fails."""
    package = tmp_path / "react_ros"
    (package / "runtime").mkdir(parents=True)
    (package / "export").mkdir()
    (package / "runtime" / "loader.py").write_text("def load():\n    from react_ros.export.onnx_export import x\n")
    (package / "export" / "onnx_export.py").write_text("from react_ros.runtime import loader\nimport rclpy\n")
    problems = layering_violations(_imports(package))
    assert any("runtime (layer 3) imports export" in p for p in problems)
    assert any("imports ROS (rclpy)" in p for p in problems)
    assert not any("export (layer 7) imports runtime" in p for p in problems)  # downward is fine
