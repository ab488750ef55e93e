"""Running nodes: one executor, clean shutdown on SIGINT/SIGTERM (the face eases to neutral, recordings close).

rclpy's own signal handler shuts the context down at once, after which nothing can be published; so the
nodes are run with rclpy's handlers off and our handler only stops the spin loop. Then every node that
has `shutdown_gracefully()` gets to publish its last messages before the context goes away.
"""
from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Sequence

from react_ros.capture import DeviceError
from react_ros.nodes.common import ConfigError


def spin_nodes(factories: Sequence[Callable[..., object]], args: Sequence[str] | None = None,
               until: Callable[[], bool] | None = None, threads: int = 1) -> int:
    """threads: 1 (default) runs the callbacks in this thread; rclpy's MultiThreadedExecutor scans its list of
    pending callbacks while holding the GIL and can starve the callbacks themselves under load."""
    import rclpy
    from rclpy.executors import MultiThreadedExecutor, SingleThreadedExecutor
    from rclpy.signals import SignalHandlerOptions

    try:
        rclpy.init(args=list(args) if args is not None else None, signal_handler_options=SignalHandlerOptions.NO)
    except RuntimeError as error:  # RCLError: a params file that does not parse, a malformed --ros-args
        print(f"react_ros: cannot start: {error}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {}

    def on_signal(signum, frame) -> None:
        stop.set()

    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, on_signal)
    nodes = []
    code = 0
    try:
        nodes = [factory() for factory in factories]
        executor = MultiThreadedExecutor(num_threads=threads) if threads > 1 else SingleThreadedExecutor()
        for node in nodes:
            executor.add_node(node)
        while not stop.is_set() and rclpy.ok():
            executor.spin_once(timeout_sec=0.1)
            if until is not None and until():
                break
        executor.shutdown(timeout_sec=1.0)
    except (ConfigError, DeviceError) as error:  # a wrong parameter or a missing device: the reason is enough
        print(f"react_ros: {error}", file=sys.stderr)
        code = 1
    except Exception as error:  # noqa: BLE001 (report and exit non-zero; a crash must still close files)
        import traceback

        traceback.print_exc()
        print(f"react_ros: {error}")
        code = 1
    finally:
        for node in reversed(nodes):
            shutdown = getattr(node, "shutdown_gracefully", None)
            if shutdown is not None:
                try:
                    shutdown()
                except Exception:  # noqa: BLE001
                    code = code or 1
            node.destroy_node()
        if rclpy.ok():
            rclpy.shutdown()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return code
