"""CSV input of the comparison command, with the standard library only.

The command must not need pandas; this reader accepts what the comparison
needs (a header row, one label column, numeric features) and reports anything
else with the file, line and column at fault.
"""

from __future__ import annotations

import csv

import numpy as np

__all__ = ["CSVError", "read_csv"]


class CSVError(ValueError):
    """The CSV file cannot be used; the message names the problem."""


def read_csv(path, target, sep=","):
    """Read features and labels from a CSV file with a header row.

    Parameters
    ----------
    path : str
        File name.
    target : str
        Name of the label column; every other column is a feature.
    sep : str, default=","
        Field separator.

    Returns
    -------
    X : ndarray of float64, shape (n_rows, n_columns - 1)
        Features, all finite.
    y : ndarray of shape (n_rows,)
        Labels: integers when every label is an integral number, floats for
        other numbers, strings otherwise.

    Raises
    ------
    CSVError
        With a message naming the file, the line and the column at fault.
    """
    try:
        handle = open(path, newline="", encoding="utf-8")
    except FileNotFoundError:
        raise CSVError(f"CSV file not found: {path}") from None
    except OSError as exc:
        raise CSVError(f"cannot read CSV file {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle, delimiter=sep)
        # Keep the file's line numbers for the messages; skip blank lines.
        numbered = [(reader.line_num, row) for row in reader if row]
    lines = [n for n, _ in numbered]
    rows = [row for _, row in numbered]
    if not rows:
        raise CSVError(f"CSV file {path} is empty")
    header = [name.strip() for name in rows[0]]
    if target not in header:
        raise CSVError(
            f"target column {target!r} not found in {path}; "
            f"columns are: {', '.join(header)}"
        )
    if len(rows) < 2:
        raise CSVError(f"CSV file {path} has a header but no data rows")
    t = header.index(target)
    features = [j for j in range(len(header)) if j != t]
    if not features:
        raise CSVError(f"CSV file {path} has no feature column besides {target!r}")
    X = np.empty((len(rows) - 1, len(features)))
    y = []
    for i, (line, row) in enumerate(zip(lines[1:], rows[1:], strict=True)):
        if len(row) != len(header):
            raise CSVError(
                f"{path}, line {line}: {len(row)} fields, the header has {len(header)}"
            )
        y.append(row[t].strip())
        for out, j in enumerate(features):
            try:
                X[i, out] = float(row[j])
            except ValueError:
                raise CSVError(
                    f"{path}, line {line}: feature column {header[j]!r} has the "
                    f"non-numeric value {row[j]!r}; encode categorical or text "
                    "columns as numbers first"
                ) from None
    if not np.all(np.isfinite(X)):
        bad = header[features[int(np.nonzero(~np.isfinite(X))[1][0])]]
        raise CSVError(
            f"{path}: feature column {bad!r} contains NaN or infinite values"
        )
    return X, _labels(y)


def _labels(values):
    # Numeric labels stay numeric (so "1" and "1.0" are one class); others
    # stay strings.
    try:
        numbers = np.array([float(v) for v in values])
    except ValueError:
        return np.array(values)
    if np.all(numbers == np.round(numbers)):
        return numbers.astype(np.int64)
    return numbers
