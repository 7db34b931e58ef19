"""Hypothesis profiles for the property tests of the parsers and file loaders.

* ``suite`` (the default): a fixed, small number of examples per property (``IACS_FUZZ_EXAMPLES``, default
  25), derandomized, so ``make test`` stays fast and a failure reproduces on every run;
* ``fuzz`` (``HYPOTHESIS_PROFILE=fuzz``, by hand): ``IACS_FUZZ_EXAMPLES`` (default 100,000) random examples
  per property; a failure prints the example and the ``@reproduce_failure`` blob. ``make fuzz`` is the
  coverage-guided fuzzer instead (``fuzz.py``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
          HealthCheck.large_base_example]
settings.register_profile("suite", max_examples=int(os.environ.get("IACS_FUZZ_EXAMPLES", "25")), deadline=None,
                          derandomize=True, database=None, suppress_health_check=_QUIET, print_blob=True)
settings.register_profile("fuzz", max_examples=int(os.environ.get("IACS_FUZZ_EXAMPLES", "100000")), deadline=None,
                          database=None, suppress_health_check=_QUIET, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))
