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
    ("runtime", "media_perception"),
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


def _defined_names(path: Path) -> set[str]:
    """Names a module defines itself at top level (functions, classes, assignments), not those it imports."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
    return names


# Importers outside this reach that still take a name through a module that only imports it (the lead
# moves them): (importing file, module, name).
SECOND_PATHS_LEFT: set[tuple[str, str, str]] = set()  # none left (issue 27)


def second_paths(root: Path, prefixes: tuple[str, ...] = ("react_ros.data.", "react_ros.bench.")) -> set[tuple]:
    """(file, module, name) for each `from MODULE import NAME` where MODULE (a module under `prefixes`, not a
    package's __init__) does not define NAME: one name, one import path."""
    modules = {".".join(p.relative_to(root).with_suffix("").parts): p for p in (root / "react_ros").rglob("*.py")
               if p.name != "__init__.py"}
    found = set()
    for folder in ("react_ros", "test", "benchmarks", "scripts"):
        for path in (root / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not (isinstance(node, ast.ImportFrom) and node.level == 0 and node.module in modules
                        and node.module.startswith(prefixes)):
                    continue
                defined = _defined_names(modules[node.module])
                for alias in node.names:
                    if alias.name not in defined and f"{node.module}.{alias.name}" not in modules:
                        found.add((str(path.relative_to(root)), node.module, alias.name))
    return found


def test_each_name_has_one_import_path():
    assert second_paths(PACKAGE.parent) - SECOND_PATHS_LEFT == set()


def test_the_one_path_check_sees_a_re_export(tmp_path):
    (tmp_path / "react_ros" / "data").mkdir(parents=True)
    (tmp_path / "react_ros" / "data" / "pairs.py").write_text("def scan():\n    pass\n")
    (tmp_path / "react_ros" / "data" / "mars.py").write_text("from react_ros.data.pairs import scan\nX = 1\n")
    (tmp_path / "test").mkdir()
    (tmp_path / "test" / "test_x.py").write_text("from react_ros.data.mars import X, scan\n"
                                                 "from react_ros.data.pairs import scan as s\n")
    assert second_paths(tmp_path) == {("test/test_x.py", "react_ros.data.mars", "scan")}


def module_cycles(package: Path = PACKAGE) -> list[list[str]]:
    """Import circles between modules (inside a sub-package too, lazy imports included), as sorted lists."""
    modules = {}
    for path in package.rglob("*.py"):
        parts = [package.name, *path.relative_to(package).with_suffix("").parts]
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = (path, parts)
    graph: dict[str, set[str]] = {}
    for name, (path, parts) in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            imported = _imported_names(node, parts)
            if isinstance(node, ast.ImportFrom) and node.module:  # `from pkg import module` imports the module
                imported = [f"{imported[0]}.{alias.name}" for alias in node.names]
            for target in imported:
                words = target.split(".")
                while words and ".".join(words) not in modules:
                    words.pop()
                targets.add(".".join(words))
        graph[name] = targets - {name, ""}
    # Every module's reach; a circle is a set of modules that reach each other.
    reach: dict[str, set[str]] = {}
    for start in graph:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        reach[start] = seen
    circles = {tuple(sorted(m for m in graph if m in reach[name] and name in reach[m])) for name in graph
               if name in reach[name]}
    return sorted(list(c) for c in circles)


def test_no_module_imports_itself_back():
    assert module_cycles() == []


def test_the_circle_check_sees_a_circle_hidden_by_a_lazy_import(tmp_path):
    """The circle data/synth.py <-> families.py <-> listener_laws.py was hidden by a lazy import."""
    package = tmp_path / "react_ros"
    (package / "data").mkdir(parents=True)
    (package / "data" / "synth.py").write_text("def generate():\n    from react_ros.data.families import family\n")
    (package / "data" / "families.py").write_text("def family():\n    from react_ros.data import laws\n")
    (package / "data" / "laws.py").write_text("from react_ros.data.synth import generate\n")
    (package / "data" / "other.py").write_text("from react_ros.data.synth import generate\n")
    assert module_cycles(package) == [["react_ros.data.families", "react_ros.data.laws", "react_ros.data.synth"]]
