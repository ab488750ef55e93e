"""Declaring a node's parameters with their types and ranges, so that nonsense is refused where it comes in.

Each node keeps a table {name: (default, description)} and {name: (lowest, highest)}. The type is the
default's; the range goes on the ROS 2 descriptor (IntegerRange / FloatingPointRange, inclusive, no step), so
that `ros2 param describe` shows it and rclpy refuses a value outside it on `ros2 param set` ("Parameter steps
out of range. Min: 0, Max: 1000, value: -5"). At start a value from the params file or the command line that
has the wrong type or lies outside the range raises ConfigError naming the parameter, the value and the range
(the node exits 1 with it). `read_only` parameters are read once at start: changing them needs a restart.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

from react_ros.nodes.common import ConfigError, clip_text

TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a floating-point number (write 0.0, not 0)",
              str: "a string"}


def range_text(value_range) -> str:
    low, high = value_range
    return f"{low}..{high}"


def expectation(default, value_range=None) -> str:
    """What a value must be: 'an integer in 1..1000'."""
    text = TYPE_NAMES.get(type(default), type(default).__name__)
    return f"{text} in {range_text(value_range)}" if value_range else text


def descriptor(default, description: str, value_range=None, read_only: bool = False):
    from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor

    limits = f" [{range_text(value_range)}]" if value_range else ""
    result = ParameterDescriptor(description=f"{description}{limits}", read_only=read_only)
    if value_range and isinstance(default, float):
        result.floating_point_range = [FloatingPointRange(from_value=float(value_range[0]),
                                                          to_value=float(value_range[1]), step=0.0)]
    elif value_range and isinstance(default, int) and not isinstance(default, bool):
        result.integer_range = [IntegerRange(from_value=int(value_range[0]), to_value=int(value_range[1]), step=0)]
    return result


def declare(node, table: Mapping[str, tuple[object, str]], ranges: Mapping[str, tuple] | None = None,
            read_only: Iterable[str] = ()) -> None:
    """Declare every parameter of `table` on `node` with its descriptor. Raises ConfigError for a value (from
    the params file or the command line) of the wrong type or outside its range."""
    from rclpy.exceptions import InvalidParameterTypeException, InvalidParameterValueException

    ranges, read_only = ranges or {}, set(read_only)
    unknown = (set(ranges) | read_only) - set(table)
    if unknown:
        raise ValueError(f"ranges or read_only for undeclared parameters: {sorted(unknown)}")
    for name, (default, description) in table.items():
        try:
            node.declare_parameter(name, default, descriptor(default, description, ranges.get(name),
                                                             name in read_only))
        except (InvalidParameterTypeException, InvalidParameterValueException) as error:
            given = getattr(node, "_parameter_overrides", {}).get(name)  # rclpy keeps no public copy
            value = clip_text(given.value) if given is not None else f"({error})"
            raise ConfigError(f"parameter {name} = {value} refused: expected "
                              f"{expectation(default, ranges.get(name))}") from error
