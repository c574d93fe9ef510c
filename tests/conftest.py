"""Hypothesis profiles of the suite.

The slow property tests (marked ``slow``, deselected by default) ask for many examples. Under
the ``ci`` profile (``HYPOTHESIS_PROFILE=ci``, or ``pytest --hypothesis-profile=ci``) each runs
the smaller number it names with :func:`slow_examples`, so that CI can run a bounded slice of
them (see .ci/run). A test's own ``@settings(max_examples=...)`` overrides any profile, which is
why the slow tests take their number from :func:`slow_examples` rather than from the profile.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

CI = "ci"

settings.register_profile(
    CI, deadline=None, print_blob=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def slow_examples(full: int, *, ci: int) -> int:
    """A slow property test's ``max_examples``: ``full``, or ``ci`` under the ci profile."""
    return ci if settings.get_current_profile_name() == CI else full
