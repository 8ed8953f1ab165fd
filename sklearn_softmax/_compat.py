"""The one place that imports private helpers of scikit-learn and SciPy.

Neither project promises these names; keeping them here means a rename
upstream is fixed in one file.
"""

import inspect

try:
    # SciPy's port of MINPACK-2's dcsrch, the line search of L-BFGS-B (used
    # by the two-loop L-BFGS so that both take the same steps). Without it
    # the solvers fall back to scipy's L-BFGS-B.
    from scipy.optimize._dcsrch import DCSRCH
except ImportError:  # pragma: no cover - depends on the SciPy release
    DCSRCH = None
from sklearn.base import _fit_context
from sklearn.metrics import make_scorer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metadata_routing import (
    _manual_routing,
    _raise_for_params,
    _routing_enabled,
)
from sklearn.utils.validation import _check_method_params, _check_sample_weight

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
    "_check_method_params",
    "_check_sample_weight",
    "_fit_context",
    "_manual_routing",
    "_raise_for_params",
    "_routing_enabled",
    "scorer_with_labels",
]


def scorer_with_labels(scorer, classes):
    """Rebuild a scorer so that its metric knows every class.

    A validation fold may miss a class, and metrics such as ``log_loss``
    then fail or give another number than on all classes. As in
    ``LogisticRegressionCV``, a scorer made by ``make_scorer`` whose metric
    takes ``labels`` is rebuilt with ``labels=classes`` (and, for two
    classes, ``pos_label=classes[-1]`` when the metric takes it). Other
    scorers are returned as they are.

    Parameters
    ----------
    scorer : callable
        A scorer ``scorer(estimator, X, y, **params)``.
    classes : ndarray of shape (n_classes,)
        All class labels of the training data.

    Returns
    -------
    scorer : callable
    """
    score_func = getattr(scorer, "_score_func", None)
    if score_func is None:
        return scorer
    signature = inspect.signature(score_func).parameters
    if "labels" not in signature:
        return scorer
    pos_label = {}
    if len(classes) <= 2 and "pos_label" in signature:
        pos_label["pos_label"] = classes[-1]
    # Labels the user gave the metric win over those of the training data.
    kwargs = {**pos_label, **getattr(scorer, "_kwargs", {})}
    kwargs.setdefault("labels", classes)
    return make_scorer(
        score_func,
        greater_is_better=scorer._sign == 1,
        response_method=scorer._response_method,
        **kwargs,
    )
