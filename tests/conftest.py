"""hypothesis settings profiles for the whole suite.

``ci`` (default): quick and derandomized, so CI runs are stable and fast.
``thorough``: many random examples (>= 1000; the input fuzzing and the stateful machines
scale from ``max_examples``). Select with ``MMSPEC_HYPOTHESIS_PROFILE=thorough``.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", derandomize=True, deadline=None, database=None, max_examples=25,
    stateful_step_count=30, print_blob=False,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, stateful_step_count=100,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

_PROFILE = os.environ.get("MMSPEC_HYPOTHESIS_PROFILE", "ci")
if _PROFILE not in ("ci", "thorough"):
    raise RuntimeError(f"MMSPEC_HYPOTHESIS_PROFILE={_PROFILE!r}: use ci or thorough")
settings.load_profile(_PROFILE)
