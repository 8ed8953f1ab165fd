"""The one place that imports private helpers of scikit-learn and SciPy.

Neither project promises these names; keeping them here means a rename
upstream is fixed in one file.
"""

try:
    # SciPy's port of MINPACK-2's dcsrch, the line search of L-BFGS-B (used
    # by the two-loop L-BFGS so that both take the same steps). Without it
    # the solvers fall back to scipy's L-BFGS-B.
    from scipy.optimize._dcsrch import DCSRCH
except ImportError:  # pragma: no cover - depends on the SciPy release
    DCSRCH = None
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

try:
    # Public since scikit-learn 1.9; earlier releases have no callback API,
    # and the estimators then simply lack set_callbacks.
    from sklearn.callback import CallbackSupportMixin

    HAS_CALLBACKS = True
except ImportError:  # pragma: no cover - depends on the scikit-learn release

    class CallbackSupportMixin:  # noqa: D101 - an empty stand-in
        pass

    HAS_CALLBACKS = False

__all__ = [
    "CallbackSupportMixin",
    "DCSRCH",
    "HAS_CALLBACKS",
    "Interval",
    "StrOptions",
    "_check_sample_weight",
    "_fit_context",
]
