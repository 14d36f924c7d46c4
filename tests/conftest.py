"""The test session's settings.

One thread per test process for BLAS and torch: the suite runs on two xdist workers (``-n 2`` in pyproject.toml),
and on a 2-core machine two processes each spreading small matrix products over both cores spend more time
handing work between threads than computing (measured here: the suite without browser tests 96 s with the
libraries' own threads, 79 s with one, serially; 65 s with one on two workers). Results do not depend on it: no
test compares bits computed with different groupings.
"""

import os

for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")          # for subprocesses (the CLI's and the notebook's) and Ray's workers

try:
    from threadpoolctl import threadpool_limits
except ImportError:              # scikit-learn brings it; without it the libraries keep their own thread counts
    pass
else:
    threadpool_limits(1)

try:
    import torch
except ImportError:
    pass
else:
    torch.set_num_threads(1)


# The numerical tests whose numbers come from BLAS (NumPy's matrix products) or ATen (torch): what another CPU's
# kernels -- another summation order -- could change. scripts/test.sh runs these files again under two more
# OpenBLAS/ATen kernel families, so that a test that holds only on the machine it was written on cannot land (the
# elementwise-only ones -- verdicts, schedules, the course's scalar examples -- are not rerun: OPENBLAS_CORETYPE and
# ATEN_CPU_CAPABILITY do not change them). ``-m numerics`` selects them too.
NUMERICS = {"test_run.py", "test_objectives.py", "test_finder.py", "test_best_step_sizes.py", "test_refine.py",
            "test_cooldown.py", "test_reference_theory.py", "test_reference_torch_parity.py", "test_torch_finder.py",
            "test_torch_adapter.py"}


def pytest_configure(config):
    config.addinivalue_line("markers", "numerics: a numerical test, run under other CPUs' kernels too")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.name in NUMERICS:
            item.add_marker("numerics")
