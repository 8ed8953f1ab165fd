"""The one place that imports private helpers of scikit-learn and SciPy.

Neither project promises these names; keeping them here means a rename
upstream is fixed in one file.
"""

# SciPy's port of MINPACK-2's dcsrch, the line search of L-BFGS-B (used by
# the two-loop L-BFGS so that both take the same steps).
from scipy.optimize._dcsrch import DCSRCH
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = ["DCSRCH", "Interval", "StrOptions", "_check_sample_weight", "_fit_context"]
