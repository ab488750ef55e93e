"""`react-ros ros-install`: after a pip install, a prefix in which ROS tools find react_ros (no ROS needed)."""
from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from react_ros import ament_install

ROOT = Path(__file__).resolve().parents[1]


def _console_scripts() -> dict[str, str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "console_scripts":
                    return dict((s.strip() for s in item.value.split("=")) for item in value.elts)
    raise AssertionError("no console_scripts in setup.py")


def test_executables_are_the_node_console_scripts():
    scripts = _console_scripts()
    assert ament_install.EXECUTABLES == {name: target for name, target in scripts.items() if name != "react-ros"}


def test_install_writes_what_ros2_launch_and_run_look_for(tmp_path, monkeypatch):
    prefix = tmp_path / "prefix"
    assert subprocess.run([sys.executable, "-m", "react_ros.ament_install", "--prefix", str(prefix)],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT))).returncode == 0
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    from ament_index_python.packages import get_package_prefix, get_package_share_directory

    assert Path(get_package_prefix("react_ros")) == prefix.resolve()
    share = Path(get_package_share_directory("react_ros"))
    # ros2launch finds a launch file by os.walk over the share folder, which does not enter symlinked folders
    found = [Path(root) / name for root, _, files in os.walk(share) for name in files]
    assert share / "launch" / "reaction.launch.py" in found
    assert (share / "launch" / "reaction.launch.py").read_text() == (ROOT / "launch" / "reaction.launch.py").read_text()
    assert (share / "config" / "robots" / "animatronic.yaml").resolve() == ROOT / "config" / "robots" / "animatronic.yaml"
    assert (share / "package.xml").is_file()
    for name, target in ament_install.EXECUTABLES.items():
        wrapper = prefix / "lib" / "react_ros" / name
        assert os.access(wrapper, os.X_OK)
        text = wrapper.read_text()
        assert text.startswith(f"#!{sys.executable}\n")
        module, function = target.split(":")
        assert f"from {module} import {function}" in text


def test_install_again_and_copy_mode_replace_entries(tmp_path):
    prefix = tmp_path / "prefix"
    ament_install.install(prefix)
    ament_install.install(prefix, copy=True)  # idempotent; symlinks become copies
    launch = prefix / "share" / "react_ros" / "launch" / "reaction.launch.py"
    assert launch.is_file() and not launch.is_symlink()


def test_wrapper_runs_the_node_main(tmp_path):
    """The wrapper is a working executable: the camera node on a missing file exits non-zero with a message."""
    prefix = tmp_path / "prefix"
    ament_install.install(prefix)
    result = subprocess.run([str(prefix / "lib" / "react_ros" / "react-ros-camera"), "--ros-args", "-p",
                             "video_file:=/nonexistent.mp4"], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(ROOT), ROS_DOMAIN_ID="97"))
    assert result.returncode != 0
    assert "video file not found: /nonexistent.mp4" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr  # a configuration error is a message, not a crash


def test_react_ros_cli_has_ros_install():
    from react_ros.cli import build_parser

    args = build_parser().parse_args(["ros-install", "--prefix", "somewhere", "--copy"])
    assert args.func is ament_install._command and args.prefix == "somewhere" and args.copy


def test_a_sigint_while_the_node_is_still_importing_exits_quietly(tmp_path):
    """`ros2 launch` stops every node when a required one dies, often while the others are still importing rclpy
    and torch: that SIGINT must end the node with status 0 and no KeyboardInterrupt traceback in the launch log."""
    prefix = tmp_path / "prefix"
    ament_install.install(prefix)
    env = dict(os.environ, PYTHONPATH=str(ROOT), ROS_DOMAIN_ID="97")
    for delay in (0.15, 0.3):  # inside the import of the node module (about 0.5 s here, more on a loaded machine)
        process = subprocess.Popen([str(prefix / "lib" / "react_ros" / "react-ros-reaction")], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(delay)
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=60)
        assert "Traceback" not in output, output[-2000:]
        assert process.returncode == 0, output[-2000:]
