"""scikit-learn's fit callbacks: progress, scoring per iteration, stop requests."""

import os
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

callback = pytest.importorskip("sklearn.callback")


class Recorder:
    """A FitCallback that records the tasks and asks to stop after k iterations."""

    def __init__(self, stop_after=None):
        self.stop_after = stop_after
        self.begun, self.ended, self.models = [], [], []
        self.setups = self.teardowns = 0

    def setup(self, estimator, context):
        self.setups += 1

    def teardown(self, estimator, context):
        self.teardowns += 1

    def on_fit_task_begin(self, estimator, context, *, X=None, y=None):
        self.begun.append(context.task_name)

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        self.ended.append(context.task_name)
        if context.task_name == "iteration" and fitted_estimator is not None:
            self.models.append(fitted_estimator.coef_.copy())
            n = len(self.models)
            return self.stop_after is not None and n >= self.stop_after
        return False


def _data():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"l1_ratio": 1.0},
        {"solver": "sgd", "random_state": 0},
    ],
    ids=["lbfgs", "owlqn", "sgd"],
)
def test_every_iteration_is_a_task_with_its_model(params):
    X, y = _data()
    rec = Recorder()
    clf = SoftmaxClassifier(max_iter=500, **params).set_callbacks(rec).fit(X, y)
    n = len(rec.models)
    assert n == clf.n_iter_ and n > 1
    # One more iteration task began than ran: it ends empty when the fit stops.
    assert rec.ended.count("iteration") == n + 1
    assert rec.begun.count("fit") == rec.ended.count("fit") == 1
    # Every task that began ended (the left-over iteration task included).
    assert len(rec.begun) == len(rec.ended)
    assert rec.setups == rec.teardowns == 1
    # The model of the last iteration is the fitted model.
    np.testing.assert_allclose(rec.models[-1], clf.coef_, rtol=0, atol=0)


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"l1_ratio": 1.0},
        {"solver": "sgd", "random_state": 0},
    ],
    ids=["lbfgs", "owlqn", "sgd"],
)
@pytest.mark.parametrize("large", [False, True], ids=["scipy", "two-loop"])
def test_a_callback_stops_the_fit_after_k_iterations(params, large):
    if large:
        rng = np.random.default_rng(0)
        X, y = rng.normal(size=(600, 300)), np.arange(600) % 200
    else:
        X, y = _data()
    rec = Recorder(stop_after=3)
    with warnings.catch_warnings():
        # A requested stop is not a convergence failure.
        warnings.simplefilter("error", ConvergenceWarning)
        clf = SoftmaxClassifier(max_iter=500, **params).set_callbacks(rec).fit(X, y)
    assert clf.n_iter_ == 3
    assert len(rec.models) == 3
    np.testing.assert_array_equal(rec.models[-1], clf.coef_)
    assert len(rec.begun) == len(rec.ended)


def test_scoring_monitor_logs_every_iteration():
    X, y = _data()
    monitor = callback.ScoringMonitor(scoring="neg_log_loss")
    clf = SoftmaxClassifier(max_iter=200).set_callbacks(monitor).fit(X, y)
    logs = monitor.get_logs().data
    scores = [row["neg_log_loss"] for row in logs if row["task_name"] == "iteration"]
    assert len(scores) == clf.n_iter_
    # L-BFGS decreases the objective at every iteration, and with C=1 on iris
    # the log-loss follows it closely: the last iterations improve on the first.
    assert scores[-1] > scores[0]
    assert scores[-1] == pytest.approx(
        np.mean(np.log(clf.predict_proba(X)[np.arange(len(y)), y])), rel=1e-12
    )


def test_progress_bar_renders_and_propagates_from_grid_search():
    pytest.importorskip("rich")
    X, y = _data()
    bar = callback.ProgressBar()
    search = GridSearchCV(
        make_pipeline(StandardScaler(), SoftmaxClassifier(max_iter=50)),
        {"softmaxclassifier__C": [0.1, 1.0]},
        cv=2,
    )
    with warnings.catch_warnings():
        # Our estimator supports callbacks: no "does not support callbacks".
        warnings.simplefilter("error", UserWarning)
        search.set_callbacks(bar).fit(X, y)
    assert search.best_params_["softmaxclassifier__C"] in (0.1, 1.0)


def test_progress_bar_output_is_captured():
    pytest.importorskip("rich")
    # rich draws to a terminal; FORCE_COLOR makes the pipe count as one.
    script = (
        "from sklearn.callback import ProgressBar\n"
        "from sklearn.datasets import load_iris\n"
        "from sklearn_softmax import SoftmaxClassifier\n"
        "X, y = load_iris(return_X_y=True)\n"
        "SoftmaxClassifier(max_iter=300).set_callbacks(ProgressBar()).fit(X, y)\n"
    )
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "100"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    run = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env
    )
    assert run.returncode == 0, run.stderr
    screen = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", run.stdout).replace("\r", "\n")
    lines = [line for line in screen.splitlines() if line.strip()]
    assert lines[-1].startswith("SoftmaxClassifier - fit")
    assert "100%" in lines[-1]


def test_failed_fit_still_tears_callbacks_down():
    rec = Recorder()
    clf = SoftmaxClassifier().set_callbacks(rec)
    with pytest.raises(ValueError):
        clf.fit(np.zeros((5, 2)), np.zeros(5))
    assert rec.setups == rec.teardowns
    assert not hasattr(clf, "_callback_fit_ctx")


def test_warning_text_matches_logistic_regression_filters():
    X, y = _data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", message="lbfgs failed to converge")
        SoftmaxClassifier(max_iter=2).fit(X, y)
        SoftmaxClassifier(max_iter=2, l1_ratio=1.0).fit(X, y)
    assert not [w for w in caught if issubclass(w.category, ConvergenceWarning)]
    with pytest.warns(ConvergenceWarning, match=r"after 2 iteration\(s\) \(STOP"):
        SoftmaxClassifier(max_iter=2).fit(X, y)


def test_each_partial_fit_call_is_a_task():
    X, y = _data()
    rec = Recorder()
    clf = SoftmaxClassifier(solver="sgd", random_state=0).set_callbacks(rec)
    for chunk in np.array_split(np.arange(len(y)), 3):
        clf.partial_fit(X[chunk], y[chunk], classes=[0, 1, 2])
    assert rec.begun == rec.ended == ["fit"] * 3
    assert rec.setups == rec.teardowns == 3


@pytest.mark.parametrize("l1_ratio", [0.0, 1.0])
def test_loss_curve_of_lbfgs_is_the_objective_per_iteration(l1_ratio):
    X, y = _data()
    clf = SoftmaxClassifier(l1_ratio=l1_ratio, max_iter=300).fit(X, y)
    curve = np.asarray(clf.loss_curve_)
    assert len(curve) == clf.n_iter_[0]
    assert np.all(np.diff(curve) <= 0)
    assert clf.n_iter_.shape == (1,) and clf.n_iter_.dtype == np.int32


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_cv_estimator_task_tree_is_folds_by_path_points(n_jobs):
    from sklearn_softmax import SoftmaxClassifierCV

    X, y = _data()
    rec = Recorder()
    cv = SoftmaxClassifierCV(Cs=4, cv=3, n_jobs=n_jobs).set_callbacks(rec)
    cv.fit(X, y)
    assert rec.begun.count("fold") == rec.ended.count("fold") == 3
    assert rec.ended.count("path point") == 3 * 4
    assert rec.ended.count("refit") == 1
    assert rec.begun.count("fit") == rec.ended.count("fit") == 1
    assert rec.setups == rec.teardowns == 1
    # The same grid and folds without callbacks give the same model.
    plain = SoftmaxClassifierCV(Cs=4, cv=3, n_jobs=n_jobs).fit(X, y)
    np.testing.assert_array_equal(plain.coef_, cv.coef_)
    np.testing.assert_array_equal(plain.scores_, cv.scores_)


def test_scoring_monitor_scores_every_path_point():
    from sklearn_softmax import SoftmaxClassifierCV

    X, y = _data()
    monitor = callback.ScoringMonitor(scoring="neg_log_loss")
    SoftmaxClassifierCV(Cs=3, cv=2).set_callbacks(monitor).fit(X, y)
    rows = monitor.get_logs().data
    assert sum(r["task_name"] == "path point" for r in rows) == 2 * 3
    assert all(np.isfinite(r["neg_log_loss"]) for r in rows)
