"""Make a pip-installed react_ros visible to `ros2 launch` and `ros2 run`: write an ament prefix.

ROS tools find a package through a prefix listed in AMENT_PREFIX_PATH: the ament index marker
`<prefix>/share/ament_index/resource_index/packages/react_ros`, the launch and parameter files under
`<prefix>/share/react_ros/`, and the executables in `<prefix>/lib/react_ros/`. `colcon build` writes all
three (setup.py's data_files and setup.cfg's script dirs). pip does not: `pip install -e .` ignores
data_files, and pip puts console scripts in bin/ whatever setup.cfg says. So after a pip install,

    react-ros ros-install [--prefix P] [--copy]
    export AMENT_PREFIX_PATH=P:$AMENT_PREFIX_PATH

writes the marker, the share files (symlinks into this checkout, so edits show as with the editable install;
`--copy` for real copies) and one wrapper per node executable that runs the node with this Python. The
default prefix is this Python's prefix (a venv's own folder) when writable, else the user base (~/.local).
Nothing here imports ROS.
"""
from __future__ import annotations

import os
import shutil
import site
import sys
from pathlib import Path

PACKAGE = "react_ros"
# The node executables, as setup.py's console_scripts declare them (test_ament_install checks they agree).
EXECUTABLES = {
    "react-ros-camera": "react_ros.nodes:camera_main",
    "react-ros-microphone": "react_ros.nodes:microphone_main",
    "react-ros-reaction": "react_ros.nodes:reaction_main",
    "react-ros-vmc": "react_ros.nodes:vmc_main",
}
SHARED = ("package.xml", "launch", "config")  # what share/react_ros holds (data_files in setup.py)


def source_root() -> Path:
    """Where package.xml, launch/ and config/ are: the checkout (editable install), or the share folder a
    regular pip install wrote from data_files."""
    checkout = Path(__file__).resolve().parents[1]
    if (checkout / "package.xml").is_file() and (checkout / "launch").is_dir():
        return checkout
    installed = Path(sys.prefix) / "share" / PACKAGE
    if (installed / "package.xml").is_file():
        return installed
    raise FileNotFoundError(f"cannot find {PACKAGE}'s package.xml, launch/ and config/ (looked in {checkout} "
                            f"and {installed})")


def default_prefix() -> Path:
    prefix = Path(sys.prefix)
    return prefix if os.access(prefix, os.W_OK) else Path(site.getuserbase())


def install(prefix: str | Path, copy: bool = False, python: str | None = None) -> list[Path]:
    """Write the ament index marker, share/react_ros and lib/react_ros wrappers into `prefix`; returns the
    paths written. Idempotent: existing entries are replaced."""
    prefix = Path(prefix).resolve()
    source = source_root()
    written: list[Path] = []
    marker = prefix / "share" / "ament_index" / "resource_index" / "packages" / PACKAGE
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.write_text("")  # ament_python's marker is an empty file
    written.append(marker)
    share = prefix / "share" / PACKAGE
    share.mkdir(parents=True, exist_ok=True)
    for name in SHARED:
        target, link = source / name, share / name
        if link.resolve() == target.resolve() and not link.is_symlink():
            continue  # the prefix is where a regular install already put them
        _remove(link)
        written += _place(target, link, copy)
    lib = prefix / "lib" / PACKAGE
    lib.mkdir(parents=True, exist_ok=True)
    for name, entry in EXECUTABLES.items():
        module, function = entry.split(":")
        path = lib / name
        _remove(path)
        path.write_text(f"#!{python or sys.executable}\n"
                        f"# Written by `react-ros ros-install`: the {name} node with this Python.\n"
                        f"import sys\n\nfrom {module} import {function}\n\nsys.exit({function}())\n")
        path.chmod(0o755)
        written.append(path)
    return written


def _place(target: Path, link: Path, copy: bool) -> list[Path]:
    """Copy or symlink `target` to `link`. Folders are real folders of per-file links, as colcon's
    --symlink-install makes them: `ros2 launch` finds launch files with os.walk, which does not enter
    symlinked folders."""
    if target.is_dir():
        link.mkdir(parents=True, exist_ok=True)
        return [path for child in sorted(target.iterdir()) if child.name != "__pycache__"
                for path in _place(child, link / child.name, copy)]
    if copy:
        shutil.copy2(target, link)
    else:
        link.symlink_to(target)
    return [link]


def _remove(path: Path) -> None:
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)


def add_commands(commands) -> None:
    parser = commands.add_parser("ros-install", help="register react_ros with ros2 launch/run after a pip install "
                                                     "(ament index, share/, lib/react_ros)")
    _arguments(parser)
    parser.set_defaults(func=_command)


def _arguments(parser) -> None:
    parser.add_argument("--prefix", default=None, help="install prefix (default: this Python's prefix when "
                                                       "writable, else the user base)")
    parser.add_argument("--copy", action="store_true", help="copy share files instead of symlinking the checkout")


def _command(args) -> int:
    prefix = Path(args.prefix) if args.prefix else default_prefix()
    install(prefix, copy=args.copy)
    paths = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    if str(prefix.resolve()) not in {str(Path(p).resolve()) for p in paths}:
        print(f"react_ros registered in {prefix}; for ros2 launch/run add it to AMENT_PREFIX_PATH:\n"
              f"  export AMENT_PREFIX_PATH={prefix.resolve()}${{AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}}",
              file=sys.stderr)
    return 0


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m react_ros.ament_install", description=__doc__.split("\n")[0])
    _arguments(parser)
    return _command(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
