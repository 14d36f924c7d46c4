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
