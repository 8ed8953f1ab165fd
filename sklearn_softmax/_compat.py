"""The one place that imports scikit-learn's private helpers.

scikit-learn does not promise these names; keeping them here means a rename
upstream is fixed in one file.
"""

from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight

__all__ = ["Interval", "StrOptions", "_check_sample_weight", "_fit_context"]
