"""The ROS 2 nodes: thin wrappers around the library (react_ros/online, robot, recording)."""
from __future__ import annotations

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
