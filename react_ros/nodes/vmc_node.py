"""The VMC bridge node: the face's joint commands (JointState: names + weights) -> avatar tools over VMC (OSC/UDP).

Run the reaction node with `robot_profile: arkit_blendshapes` and its joint commands are the 52 ARKit weights,
already smoothed, rate-limited and eased to neutral by the watchdog; this node forwards every command it
hears as one VMC bundle (react_ros.robot.vmc). Kept apart from the reaction node so that an avatar on the
network never slows the robot's loop; `ros2 launch react_ros reaction.launch.py vmc:=true` or
`react-ros run --vmc HOST:PORT` starts it.
  in   joint_topic (sensor_msgs/JointState)
  out  UDP to host:port (VMC /VMC/Ext/Blend/Val + /VMC/Ext/Blend/Apply)
"""
from __future__ import annotations

import sys

from rcl_interfaces.msg import ParameterDescriptor
from rclpy.node import Node
from sensor_msgs.msg import JointState

from react_ros.nodes import common
from react_ros.nodes.common import ConfigError
from react_ros.robot.vmc import VMC_PORT, VmcSender

PARAMETERS: dict[str, tuple[object, str]] = {
    "joint_topic": ("/react_ros/joint_commands", "face commands to forward, sensor_msgs/JointState"),
    "host": ("127.0.0.1", "VMC receiver (the avatar tool)"),
    "port": (VMC_PORT, "VMC receiver's UDP port (39539: VMC's performer -> marionette port)"),
}


class VmcNode(Node):
    def __init__(self, name: str = "vmc_node", **kwargs) -> None:
        super().__init__(name, **kwargs)
        for key, (default, description) in PARAMETERS.items():
            self.declare_parameter(key, default, ParameterDescriptor(description=description))
        host, port = str(self.get_parameter("host").value), int(self.get_parameter("port").value)
        if not host or not 0 < port < 65536:
            raise ConfigError(f"vmc_node: host {common.clip_text(host)} port {port}: expected a host and 1..65535")
        self.sender = VmcSender(host, port)
        topic = str(self.get_parameter("joint_topic").value)
        self.create_subscription(JointState, topic, self._forward, common.reliable_qos())
        self.get_logger().info(f"{topic} -> VMC {host}:{port}")

    def _forward(self, msg: JointState) -> None:
        if len(msg.name) != len(msg.position):
            self.get_logger().warning("joint command without one position per name: skipped",
                                      throttle_duration_sec=5.0)
            return
        self.sender.send(msg.name, msg.position)

    def destroy_node(self) -> None:
        self.sender.close()
        super().destroy_node()


def main(args: list[str] | None = None) -> int:
    from react_ros.nodes import run_node

    return run_node(VmcNode, args)


if __name__ == "__main__":
    sys.exit(main())
