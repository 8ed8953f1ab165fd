"""
Choosing C with GridSearchCV
============================

``SoftmaxClassifier`` is a regular scikit-learn estimator: it goes into a
``Pipeline`` after a ``StandardScaler`` and ``GridSearchCV`` tunes its
inverse penalty ``C``. Because the scaler sits inside the pipeline it is
refitted on every training fold, so no information leaks from the validation
folds.
"""

# %%
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from sklearn_softmax import SoftmaxClassifier

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)

pipe = make_pipeline(StandardScaler(), SoftmaxClassifier(max_iter=1000))
Cs = np.logspace(-3, 2, 6)
search = GridSearchCV(
    pipe,
    {"softmaxclassifier__C": Cs},
    scoring={"accuracy": "accuracy", "log_loss": "neg_log_loss"},
    refit="log_loss",
    cv=3,
)
search.fit(X_train, y_train)
best_C = search.best_params_["softmaxclassifier__C"]
print(f"best C (log-loss): {best_C:g}")
accuracy = search.best_estimator_.score(X_test, y_test)
print(f"held-out accuracy of the refitted pipeline: {accuracy:.4f}")

# %%
# Accuracy is flat over a wide range of ``C``; the log-loss, which also
# rewards calibrated probabilities, has a clearer optimum.
res = search.cv_results_
fig, ax1 = plt.subplots(figsize=(6, 3.8), layout="constrained")
ax1.semilogx(Cs, res["mean_test_accuracy"], "o-", color="tab:blue")
ax1.set_xlabel("C")
ax1.set_ylabel("cross-validated accuracy", color="tab:blue")
ax2 = ax1.twinx()
ax2.semilogx(Cs, -res["mean_test_log_loss"], "s--", color="tab:red")
ax2.set_ylabel("cross-validated log-loss", color="tab:red")
ax1.axvline(best_C, color="gray", lw=0.7)
ax1.set_title("GridSearchCV over C")
plt.show()
