"""The package's layers (docs/architecture.md): a sub-package imports only from layers below it, so there are no
import circles and the robot's runtime never depends on the exporter, training or evaluation.
Imports inside functions count too (a lazy import is still a dependency), and so do relative imports and
`importlib.import_module("react_ros...")` / `__import__` with a literal name."""
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
    ("demo", "ament_install"),  # demo runs react-ros commands in a row, as processes (it does not import cli)
    ("cli",),  # registers every command module's add_commands (cli.COMMAND_MODULES)
]
ROS_PACKAGES = ("nodes", "bringup", "bench")  # rclpy and ROS messages only here (and lazily in bench/bringup)
ROS_MODULES = ("rclpy", "sensor_msgs", "std_msgs", "diagnostic_msgs", "builtin_interfaces", "rcl_interfaces",
               "lifecycle_msgs", "std_srvs", "audio_common_msgs")


def _imported_names(node: ast.AST, module: list[str]) -> list[str]:
    """Absolute names one AST node imports; `module` is the importing module's dotted name, split."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level == 0:
            return [node.module] if node.module else []
        base = module[:-node.level]  # `from . import x` in a.b.c is a.b; a package's __init__ counts as a.b.__init__
        if node.module:
            return [".".join(base + node.module.split("."))]
        return [".".join(base + [alias.name]) for alias in node.names]
    if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
            and isinstance(node.args[0].value, str):
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else getattr(function, "id", None)
        if name in ("import_module", "__import__"):  # importlib.import_module("react_ros.x"), __import__(...)
            return [node.args[0].value]
    return []


def _imports(package: Path = PACKAGE) -> dict[str, set[tuple[str, str]]]:
    """{sub-package: {(imported top-level name or react_ros sub-package, file)}}."""
    out: dict[str, set[tuple[str, str]]] = {}
    for path in package.rglob("*.py"):
        source = path.relative_to(package).parts[0].removesuffix(".py")
        if source == "__init__":
            continue
        module = [package.name, *path.relative_to(package).with_suffix("").parts]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _imported_names(node, module):
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


def _planted(tmp_path: Path, files: dict[str, str]) -> list[str]:
    package = tmp_path / "react_ros"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return layering_violations(_imports(package))


def test_the_check_sees_upward_imports_through_importlib_and_relative_imports(tmp_path):
    """The circle cli <-> demo was invisible: demo imported cli through importlib. Each way of writing an upward
    import is seen; the same imports pointing down are not flagged."""
    upward = {
        "importlib.py": "import importlib\ndef f():\n    return importlib.import_module('react_ros.export.x')\n",
        "from_importlib.py": "from importlib import import_module\nx = import_module('react_ros.export')\n",
        "dunder.py": "def f():\n    __import__('react_ros.export.x')\n",
        "relative.py": "def f():\n    from ..export import x\n",
        "relative_module.py": "from ..export.x import y\n",
    }
    for name, text in upward.items():
        problems = _planted(tmp_path / name, {f"runtime/{name}": text, "export/x.py": ""})
        assert any("runtime (layer 3) imports export" in p for p in problems), (name, problems)
    downward = _planted(tmp_path / "down", {"export/x.py": "import importlib\nimportlib.import_module('react_ros.runtime')\n"
                                                          "from ..runtime import loader\n", "runtime/loader.py": ""})
    assert downward == []


def test_the_command_line_imports_every_command_module_it_registers():
    """One registry (cli.COMMAND_MODULES, plain imports): a command module renamed or removed fails at import
    instead of silently dropping its commands, and every module that defines add_commands is registered."""
    from react_ros import cli

    registered = {module.__name__ for module in cli.COMMAND_MODULES}
    defining = {".".join(("react_ros", *path.relative_to(PACKAGE).with_suffix("").parts))
                for path in PACKAGE.rglob("*.py") if "\ndef add_commands(" in path.read_text(encoding="utf-8")}
    assert registered == defining
