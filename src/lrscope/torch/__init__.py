"""lrscope for your own PyTorch model (``pip install 'lrscope[torch]'``).

- :class:`Monitor`: a convergence monitor to call once per step from any training loop;
- :func:`sharpness`: the top Hessian eigenvalue λ_max and the stability bound 2/λ_max, model state untouched;
- :func:`sweep`: K learning rates trained at once (``torch.func`` vmap over stacked copies), same batches for all;
- :func:`lr_find`: the LR range test on a model, with model, optimizer and RNG restored afterwards;
- :func:`set_peak_rate`: make a rate the optimizer's (first group's) rate, the other groups and the schedulers' base
  rates scaled with it (the groups' ratios kept).
"""

try:
    import torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    raise ImportError("lrscope.torch needs PyTorch: pip install 'lrscope[torch]'") from exc

from .finder import lr_find
from .monitor import Alarm, Monitor
from .optimizers import set_peak_rate
from .sharpness import Sharpness, hessian_vector_product, sharpness
from .sweep import sweep

__all__ = ["lr_find", "Monitor", "Alarm", "sharpness", "Sharpness", "hessian_vector_product", "sweep",
           "set_peak_rate"]
