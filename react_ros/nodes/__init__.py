"""The ROS 2 nodes: thin wrappers around the library (react_ros/online, robot, recording)."""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable


def run_node(factory: Callable[[], object], args: list[str] | None = None) -> int:
    """Spin one node until SIGINT/SIGTERM (nodes/runtime.py). A SIGINT that arrives while the node is still
    starting, before runtime's handler is up (a launch stopping because another required node died), exits
    quietly with 0 instead of a KeyboardInterrupt traceback."""
    try:
        from react_ros.nodes.runtime import spin_nodes

        return spin_nodes([factory], args if args is not None else sys.argv)
    except KeyboardInterrupt:
        return 0


def _executable(module: str) -> Callable[[], int]:
    """The console script of one node. It imports the node module (rclpy, torch: most of a second) inside the
    KeyboardInterrupt guard, so a SIGINT during that import also ends quietly with 0."""

    def main() -> int:
        try:
            return importlib.import_module(f"react_ros.nodes.{module}").main()
        except KeyboardInterrupt:
            return 0

    main.__name__ = f"{module}_main"
    return main


camera_main = _executable("camera_node")
microphone_main = _executable("microphone_node")
reaction_main = _executable("reaction_node")
vmc_main = _executable("vmc_node")
