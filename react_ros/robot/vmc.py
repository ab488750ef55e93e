"""Blendshape weights to avatar tools over the VMC protocol (OSC over UDP; https://protocol.vmc.info).

Each frame is one OSC bundle: `/VMC/Ext/Blend/Val <name> <weight>` per shape, then `/VMC/Ext/Blend/Apply`,
so a receiver (VSeeFace, VMagicMirror, Unity EVMC4U, ...) applies the whole face at once, never half of it.
VMC's performer -> marionette port is 39539. UDP: a missing receiver costs nothing and raises nothing.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

__all__ = ["VMC_PORT", "VmcSender", "parse_address"]

VMC_PORT = 39539
BLEND_VALUE = "/VMC/Ext/Blend/Val"
BLEND_APPLY = "/VMC/Ext/Blend/Apply"


def parse_address(text: str) -> tuple[str, int]:
    """'HOST:PORT', 'HOST' (VMC's port) or ':PORT' (localhost) -> (host, port); ValueError says what is wrong."""
    host, _, port = str(text).strip().partition(":")
    host = host or "127.0.0.1"
    try:
        number = int(port) if port else VMC_PORT
    except ValueError:
        raise ValueError(f"VMC address {text!r}: the port must be a number (HOST:PORT)") from None
    if not 0 < number < 65536:
        raise ValueError(f"VMC address {text!r}: port {number} outside 1..65535")
    return host, number


class VmcSender:
    """Sends named weights as VMC blendshape bundles to host:port."""

    def __init__(self, host: str = "127.0.0.1", port: int = VMC_PORT) -> None:
        from pythonosc.udp_client import UDPClient

        self.address = (host, int(port))
        self._client = UDPClient(host, int(port))
        self.sent = 0

    def send(self, names: Sequence[str], weights: Sequence[float]) -> None:
        """One frame: every (name, weight) then Apply, in one bundle. Non-finite weights are sent as 0."""
        from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        if len(names) != len(weights):
            raise ValueError(f"VMC: {len(names)} names but {len(weights)} weights")
        bundle = OscBundleBuilder(IMMEDIATELY)
        for name, weight in zip(names, weights, strict=True):
            message = OscMessageBuilder(BLEND_VALUE)
            message.add_arg(str(name), OscMessageBuilder.ARG_TYPE_STRING)
            value = float(weight)
            message.add_arg(value if math.isfinite(value) else 0.0, OscMessageBuilder.ARG_TYPE_FLOAT)
            bundle.add_content(message.build())
        bundle.add_content(OscMessageBuilder(BLEND_APPLY).build())
        try:
            self._client.send(bundle.build())
        except OSError:  # no route / receiver gone: a face output must never stop the robot
            return
        self.sent += 1

    def close(self) -> None:
        self._client.close()
