"""lrscope: which learning rate, and is training converging, slow, oscillating or diverging -- and why.

    import lrscope as ls
    obj = ls.objectives.formula("x**2", x0=[10.0])
    res = ls.sweep(obj, lrs=[0.001, 0.1, 1.0, 1.1], optimizer=ls.optim.gd(), steps=100)
    res.verdicts[3].kind        # 'diverged'
    ls.theory.analyze(obj)      # L=2, mu=2, stable_below=1.0, optimal=0.5
    ls.diagnose_log("lightning_logs/")      # judge the runs of a training log you already have
"""

from . import diagnose, logs, objectives, optim, plan, run, schedules, theory
from .api import sweep
from .diagnose import Verdict
from .finder import FindResult, find
from .logs import diagnose_log
from .run import SweepResult
from .theory import Analysis, analyze

__version__ = "0.1.0"
__all__ = ["objectives", "optim", "schedules", "theory", "diagnose", "plan", "sweep", "run", "SweepResult", "Verdict",
           "Analysis", "analyze", "find", "FindResult", "logs", "diagnose_log",
           "__version__"]
