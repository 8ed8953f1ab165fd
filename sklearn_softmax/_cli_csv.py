"""CSV input of the comparison command, with the standard library only.

The command must not need pandas; this reader accepts what the comparison
needs (a header row, one label column, numeric features) and reports anything
else with the file, line and column at fault.
"""

from __future__ import annotations

import codecs
import csv
import io

import numpy as np

__all__ = ["CSVError", "check_separator", "read_csv"]


class CSVError(ValueError):
    """The CSV file cannot be used; the message names the problem."""


def check_separator(sep):
    r"""Return ``sep`` if the CSV reader can split fields on it.

    Parameters
    ----------
    sep : str
        One character; the two characters ``\t`` stand for a tab, since a
        shell passes ``--sep '\t'`` literally.

    Returns
    -------
    sep : str
        The separator character.

    Raises
    ------
    CSVError
        If ``sep`` is empty, longer than one character, or a quote or line
        break (which the reader cannot use as a separator).
    """
    if sep == "\\t":
        return "\t"
    if not isinstance(sep, str) or len(sep) != 1:
        raise CSVError(f"the separator must be one character, got {sep!r}")
    if sep in '"\r\n':
        raise CSVError(
            f"the separator cannot be {sep!r}: quotes and line breaks "
            "already have a meaning in CSV"
        )
    return sep


def read_csv(path, target, sep=","):
    r"""Read features and labels from a CSV file with a header row.

    The file must be UTF-8 text; a byte order mark before the header is
    dropped (spreadsheet programs write one).

    Parameters
    ----------
    path : str
        File name.
    target : str
        Name of the label column; every other column is a feature.
    sep : str, default=","
        Field separator: one character, or ``"\t"`` for a tab.

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
    sep = check_separator(sep)
    text = _read_text(path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        # Keep the file's line numbers for the messages; skip blank lines.
        numbered = [(reader.line_num, row) for row in reader if row]
    except csv.Error as exc:
        raise CSVError(f"{path}, line {reader.line_num}: {exc}") from None
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
    if header.count(target) > 1:
        raise CSVError(
            f"{path} has {header.count(target)} columns named {target!r}; "
            "the target column must be unique"
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
        label = row[t].strip()
        if not label:
            raise CSVError(
                f"{path}, line {line}: the target column {target!r} is empty"
            )
        y.append(label)
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


def _read_text(path):
    """Return the file's text; raise CSVError for binary or non-UTF-8 files."""
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        raise CSVError(f"CSV file not found: {path}") from None
    except IsADirectoryError:
        raise CSVError(f"{path} is a directory, not a CSV file") from None
    except OSError as exc:
        raise CSVError(f"cannot read CSV file {path}: {exc.strerror}") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Spreadsheets' "Unicode text" export; without this test the NULs of
        # its ASCII characters would call it binary.
        raise CSVError(f"{path} is UTF-16 text; save it as UTF-8")
    if b"\0" in data:
        line = data.count(b"\n", 0, data.index(b"\0")) + 1
        raise CSVError(
            f"{path}, line {line}: NUL byte; this looks like a binary file, "
            "not CSV text"
        )
    # Drop the byte order mark that spreadsheets write, which would otherwise
    # stick to the first column's name.
    body = data.removeprefix(codecs.BOM_UTF8)
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise CSVError(
            f"{path}, line {line}: byte 0x{body[exc.start]:02x} is not UTF-8; "
            "save the file as UTF-8 (it may be in another encoding such as "
            "Latin-1, or not text at all)"
        ) from None


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
