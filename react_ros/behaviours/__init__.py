"""Robot behaviours that are not the diffusion model: simple reaction sources a session can plug in instead
(e.g. delayed mimicry, the baseline a learned model must beat)."""
from react_ros.behaviours.mimicry import DelayedMimicry, delayed_copy, fit_mimicry_delay

__all__ = ["DelayedMimicry", "delayed_copy", "fit_mimicry_delay"]
