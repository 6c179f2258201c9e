"""A trained pipeline: record encoder, label index and model, as one unit to save and serve.

The CLI trains and predicts on records (dicts from CSV or JSON lines); the
pipeline keeps everything needed to turn a record into the model's input and
the model's output back into the user's label, so a saved model predicts on a
new file without any other context.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from cross_domain_auto_learner._features import RecordEncoder
from cross_domain_auto_learner._learner import Classifier, LabelIndex, Regressor
from cross_domain_auto_learner._streams import Stream
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["Pipeline"]


class Pipeline:
    """Encoder + labels + model.

    Args:
        model: a classifier or regressor.
        encoder: the record encoder (``None`` when the input is already numeric arrays).
        feature_names: the input columns, in order (for array input).
        target: name of the target column (informational, and for ``predict`` output).
    """

    def __init__(
        self,
        model: Classifier | Regressor,
        encoder: RecordEncoder | None = None,
        feature_names: Sequence[str] = (),
        target: str | None = None,
    ) -> None:
        self.model = model
        self.encoder = encoder
        self.feature_names = list(feature_names)
        self.target = target
        self.labels = LabelIndex()
        self.n_seen = 0

    @property
    def is_classifier(self) -> bool:
        return isinstance(self.model, Classifier)

    def stream_from_records(
        self, records: Sequence[Mapping[str, Any]], labels: Sequence[Any], name: str
    ) -> Stream:
        """Encode records and labels into a :class:`Stream` (assigning class codes)."""
        X = self.encode(records)
        y: NDArray[Any]
        if self.is_classifier:
            y = self.labels.encode([_hashable(v) for v in labels])
        else:
            try:
                y = np.asarray([float(v) for v in labels], dtype=np.float64)
            except (TypeError, ValueError):
                raise LearnerInputError(
                    "a regression target must be numeric",
                    hint="check the --target column or use a classifier",
                ) from None
        return Stream(X, y, tuple(self.feature_names or self._names(X)), name=name)

    def _names(self, X: NDArray[np.float64]) -> list[str]:
        if self.encoder is not None:
            return self.encoder.feature_names()
        return [f"x{i}" for i in range(X.shape[1])]

    def encode(self, records: Sequence[Mapping[str, Any]]) -> NDArray[np.float64]:
        """Records to the model's input matrix."""
        if self.encoder is not None:
            return self.encoder.encode_many(records)
        if not self.feature_names:
            raise LearnerInputError("this pipeline has no feature names", hint="retrain it")
        rows = []
        for i, rec in enumerate(records, start=1):
            try:
                rows.append([float(rec[f]) for f in self.feature_names])
            except KeyError as exc:
                raise LearnerInputError(
                    f"record {i} lacks feature {exc.args[0]!r}",
                    hint="give the same columns the model was trained on",
                ) from None
            except (TypeError, ValueError):
                raise LearnerInputError(
                    f"record {i} has a non-numeric feature",
                    hint="give numeric values for every feature",
                ) from None
        return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(self.feature_names))

    def predict_records(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Predicted labels (or values) for records."""
        X = self.encode(records)
        if isinstance(self.model, Classifier):
            return self.labels.decode(self.model.predict_many(X))
        return [float(v) for v in np.asarray(self.model.predict_many(X)).tolist()]


def _hashable(value: Any) -> Hashable:
    if isinstance(value, Hashable):
        return value
    return str(value)
