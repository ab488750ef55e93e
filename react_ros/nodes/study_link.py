"""The study runner's link to a running reaction node (react_ros/study/robot.py): parameters through the
node's standard ~/set_parameters service, recording through ~/set_recording (std_srvs/SetBool), from a small
client node of its own. Also `run_study(args)`, what `react-ros study run --ros NODE` calls."""
from __future__ import annotations

import os
import sys

import rclpy
from rcl_interfaces.srv import SetParameters
from rclpy.executors import SingleThreadedExecutor
from rclpy.parameter import Parameter


class NodeLink:
    def __init__(self, node: str = "/reaction_node", timeout_s: float = 10.0, context=None,
                 diagnostics_topic: str = "/diagnostics", reaction_topic: str = "/react_ros/reaction") -> None:
        self.target, self.timeout_s = node.rstrip("/"), timeout_s
        self.node = rclpy.create_node(f"react_ros_study_{os.getpid()}", context=context)
        self.executor = SingleThreadedExecutor(context=context)
        self.executor.add_node(self.node)
        self.parameters = self.node.create_client(SetParameters, f"{self.target}/set_parameters")
        from std_srvs.srv import SetBool

        self._set_bool = SetBool
        self.recording = self.node.create_client(SetBool, f"{self.target}/set_recording")
        for client in (self.parameters, self.recording):
            if not client.wait_for_service(timeout_sec=timeout_s):
                raise RuntimeError(f"no reaction node answers {client.srv_name} (is {self.target} running?)")
        from diagnostic_msgs.msg import DiagnosticArray

        self._diagnostics: dict[str, str] = {}
        status_name = f"react_ros: {self.target.rsplit('/', 1)[-1]}"
        self.node.create_subscription(DiagnosticArray, diagnostics_topic, lambda msg: self._diagnostics.update(
            {kv.key: kv.value for s in msg.status if s.name == status_name for kv in s.values}), 10)
        from std_msgs.msg import Float32MultiArray

        from react_ros.nodes.common import reliable_qos

        self._reaction: list[float] | None = None
        self.node.create_subscription(Float32MultiArray, reaction_topic,
                                      lambda msg: setattr(self, "_reaction", list(msg.data)), reliable_qos())

    def _call(self, client, request):
        future = client.call_async(request)
        self.executor.spin_until_future_complete(future, timeout_sec=self.timeout_s)
        if not future.done() or future.result() is None:
            raise RuntimeError(f"{client.srv_name}: no answer within {self.timeout_s} s")
        return future.result()

    def set_parameters(self, **values) -> None:
        request = SetParameters.Request(parameters=[Parameter(k, value=v).to_parameter_msg()
                                                    for k, v in values.items()])
        for name, result in zip(values, self._call(self.parameters, request).results, strict=True):
            if not result.successful:
                raise ValueError(f"{name}: {result.reason}")

    def set_recording(self, on: bool) -> str:
        response = self._call(self.recording, self._set_bool.Request(data=bool(on)))
        if not response.success:
            raise RuntimeError(f"{self.target}: recording {'start' if on else 'stop'} failed: {response.message}")
        return response.message

    def conditions(self) -> list[str] | None:
        """The node's conditions, from its /diagnostics (None when none arrived within the timeout)."""
        deadline = self.node.get_clock().now().nanoseconds + int(self.timeout_s * 1e9)
        while "conditions" not in self._diagnostics and self.node.get_clock().now().nanoseconds < deadline:
            self.executor.spin_once(timeout_sec=0.1)
        return self._diagnostics["conditions"].split(",") if "conditions" in self._diagnostics else None

    def status(self) -> dict:
        """The node's latest reaction and diagnostics, for the operator console (handles what arrived)."""
        for _ in range(40):  # what arrived since the last call (reactions come at the camera rate)
            self.executor.spin_once(timeout_sec=0.0)
        d = self._diagnostics
        values = {"active": d.get("condition"), "face_present": d.get("face_present", "0") not in ("0", "0.00"),
                  "audio_present": d.get("audio_present", "0") not in ("0", "0.00")}
        if "latency_end_to_end_ms_median" in d:
            values["latency_ms"] = float(d["latency_end_to_end_ms_median"])
        if self._reaction is not None:
            values["reaction"] = self._reaction
        return values

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()


def run_study(args) -> int:
    """`react-ros study run --ros NODE --study FILE --participant ID...` on the running robot."""
    from react_ros.study.console import run_participant
    from react_ros.study.robot import RobotStudyRunner
    from react_ros.study.studyfile import load_study

    study = load_study(args.study)
    rclpy.init()
    try:
        link = NodeLink(args.ros)
    except RuntimeError as error:  # no node to drive: say so, no traceback
        print(f"react-ros: error: {error}", file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    try:
        for participant in args.participant:
            runner = RobotStudyRunner(study, participant, args.out, link)
            print(f"study {study.name} on {args.ros}: participant {participant} (order {', '.join(runner.order)}) "
                  f"-> {runner.dir}", flush=True)
            state = run_participant(runner, f"study {study.name}: participant {participant}",
                                    (args.console_host, args.console_port, args.console_remote) if args.console else None)
            if state is None:
                return 3
            for entry in state["conditions"]:
                print(f"  {entry['index'] + 1}. {entry['name']}: {entry['elapsed_s']:.1f} s in "
                      f"{', '.join(entry['segments'])}", flush=True)
    finally:
        link.close()
        rclpy.try_shutdown()
    return 0
