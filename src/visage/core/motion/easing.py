"""Easing: the one smooth 0 -> 1 ramp every motion layer uses for fades, bumps and closures."""
from __future__ import annotations


def smoothstep(x: float) -> float:
    """3x^2 - 2x^3 on x clamped to [0, 1]: starts and ends with zero slope, so a fade never jerks."""
    x = min(1.0, max(0.0, x))
    return x * x * (3.0 - 2.0 * x)
