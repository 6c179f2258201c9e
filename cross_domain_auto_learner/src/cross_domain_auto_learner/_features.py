"""Feature handling for streams: online scaling, hashing and online one-hot.

Records from CSV or JSON lines are dictionaries of mixed fields.  A
:class:`RecordEncoder` turns them into fixed-width float rows, so every learner
can stay vectorised: numeric fields pass through, categorical fields are either
one-hot encoded online (a slot is assigned to each category the first time it
is seen, up to a capacity, with an overflow slot after that) or hashed, and
text fields become hashed word n-grams.  The width is fixed when the encoder is
built, which is what makes an online one-hot possible without resizing models.

:class:`OnlineScaler` standardises columns with running means and variances
(Chan et al.'s parallel update, so a batch and the same rows one by one give the
same statistics).
"""

from __future__ import annotations

import math
import re
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["FeatureHasher", "OnlineOneHot", "OnlineScaler", "RecordEncoder", "hash_token"]

FloatArray = NDArray[np.float64]
_WORD = re.compile(r"\w+", re.UNICODE)


def hash_token(token: str, buckets: int) -> tuple[int, float]:
    """A stable bucket and sign for ``token`` (CRC32, independent of PYTHONHASHSEED)."""
    h = zlib.crc32(token.encode("utf-8"))
    return h % buckets, (1.0 if (h >> 31) & 1 == 0 else -1.0)


class OnlineScaler:
    """Running standardisation ``(x - mean) / std`` per column, updated in batches."""

    def __init__(self, with_std: bool = True) -> None:
        self.with_std = with_std
        self.count = 0.0
        self.mean: FloatArray = np.zeros(0)
        self.m2: FloatArray = np.zeros(0)

    def learn_many(self, X: FloatArray) -> None:
        """Fold a batch into the running statistics."""
        if X.shape[0] == 0:
            return
        if self.count == 0:
            self.mean = np.zeros(X.shape[1])
            self.m2 = np.zeros(X.shape[1])
        nb = float(X.shape[0])
        bmean = X.mean(axis=0)
        bm2 = ((X - bmean) ** 2).sum(axis=0)
        total = self.count + nb
        delta = bmean - self.mean
        self.mean = self.mean + delta * nb / total
        self.m2 = self.m2 + bm2 + delta**2 * self.count * nb / total
        self.count = total

    def transform_many(self, X: FloatArray) -> FloatArray:
        """Standardise with the statistics so far (identity before any data)."""
        if self.count == 0:
            return X
        out = X - self.mean
        if self.with_std:
            std = np.sqrt(self.m2 / self.count)
            out = out / np.where(std > 1e-12, std, 1.0)
        return out

    def state(self) -> dict[str, Any]:
        """Statistics as plain data (for persistence and transfer)."""
        return {"count": self.count, "mean": self.mean.tolist(), "m2": self.m2.tolist()}

    def load_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`state`."""
        self.count = float(state["count"])
        self.mean = np.asarray(state["mean"], dtype=np.float64)
        self.m2 = np.asarray(state["m2"], dtype=np.float64)


class FeatureHasher:
    """The hashing trick for categorical values and text n-grams into ``buckets`` columns."""

    def __init__(self, buckets: int = 256, ngram_range: tuple[int, int] = (1, 2)) -> None:
        if buckets < 1 or not 1 <= ngram_range[0] <= ngram_range[1]:
            raise LearnerInputError(
                "hashing needs buckets >= 1 and 1 <= min n <= max n",
                hint="e.g. buckets=256, ngram_range=(1, 2)",
            )
        self.buckets = buckets
        self.ngram_range = ngram_range

    def tokens(self, text: str) -> list[str]:
        """Lower-cased word n-grams of ``text``."""
        words = _WORD.findall(text.lower())
        lo, hi = self.ngram_range
        return [
            " ".join(words[i : i + n]) for n in range(lo, hi + 1) for i in range(len(words) - n + 1)
        ]

    def add_text(self, row: FloatArray, offset: int, text: str, prefix: str = "") -> None:
        """Add the signed n-gram counts of ``text`` into ``row[offset:offset+buckets]``."""
        for token in self.tokens(text):
            b, sign = hash_token(prefix + token, self.buckets)
            row[offset + b] += sign

    def add_category(self, row: FloatArray, offset: int, field_name: str, value: str) -> None:
        """Add one hashed ``field=value`` indicator."""
        b, sign = hash_token(f"{field_name}={value}", self.buckets)
        row[offset + b] += sign


class OnlineOneHot:
    """One-hot with slots assigned as categories appear; overflow goes to the last slot."""

    def __init__(self, capacity: int = 16) -> None:
        if capacity < 2:
            raise LearnerInputError("one-hot capacity must be at least 2", hint="e.g. 16")
        self.capacity = capacity
        self.slots: dict[str, int] = {}

    def slot(self, value: str) -> int:
        """The column of ``value`` within this field's block."""
        found = self.slots.get(value)
        if found is not None:
            return found
        if len(self.slots) < self.capacity - 1:
            self.slots[value] = len(self.slots)
            return self.slots[value]
        return self.capacity - 1


@dataclass
class RecordEncoder:
    """Encodes dict records into fixed-width rows.

    Args:
        numeric: fields read as floats (missing or empty becomes 0 plus a
            missing-indicator is not kept: streams rarely need it).
        categorical: fields one-hot encoded online (``onehot_capacity`` slots
            each) or, with ``hash_categorical``, hashed into the shared buckets.
        text: fields turned into hashed word n-grams.
    """

    numeric: list[str] = field(default_factory=list)
    categorical: list[str] = field(default_factory=list)
    text: list[str] = field(default_factory=list)
    onehot_capacity: int = 16
    hash_categorical: bool = False
    hash_buckets: int = 256
    ngram_range: tuple[int, int] = (1, 2)
    onehots: dict[str, OnlineOneHot] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.hasher = FeatureHasher(self.hash_buckets, self.ngram_range)
        for name in self.categorical:
            self.onehots.setdefault(name, OnlineOneHot(self.onehot_capacity))

    @classmethod
    def infer(
        cls, records: Sequence[Mapping[str, Any]], target: str | None, **options: Any
    ) -> RecordEncoder:
        """Guess field kinds from sample records: numbers are numeric, short strings
        categorical, strings with spaces text."""
        kinds: dict[str, str] = {}
        for rec in records:
            for key, value in rec.items():
                if key == target:
                    continue
                kind = _kind_of(value)
                previous = kinds.get(key)
                if previous is None or _RANK[kind] > _RANK[previous]:
                    kinds[key] = kind
        return cls(
            numeric=[k for k, v in kinds.items() if v == "numeric"],
            categorical=[k for k, v in kinds.items() if v == "categorical"],
            text=[k for k, v in kinds.items() if v == "text"],
            **options,
        )

    @property
    def uses_hashing(self) -> bool:
        return bool(self.text) or (self.hash_categorical and bool(self.categorical))

    @property
    def width(self) -> int:
        onehot = 0 if self.hash_categorical else len(self.categorical) * self.onehot_capacity
        return len(self.numeric) + onehot + (self.hash_buckets if self.uses_hashing else 0)

    def feature_names(self) -> list[str]:
        """Column names, one per output column."""
        names = list(self.numeric)
        if not self.hash_categorical:
            for name in self.categorical:
                names += [f"{name}#{i}" for i in range(self.onehot_capacity)]
        if self.uses_hashing:
            names += [f"hash#{i}" for i in range(self.hash_buckets)]
        return names

    def encode_many(self, records: Sequence[Mapping[str, Any]]) -> FloatArray:
        """Encode records into a ``(len(records), width)`` matrix."""
        out = np.zeros((len(records), self.width))
        n_num = len(self.numeric)
        hash_at = self.width - self.hash_buckets
        for r, rec in enumerate(records):
            row = out[r]
            for j, name in enumerate(self.numeric):
                row[j] = _to_float(rec.get(name), name)
            offset = n_num
            for name in self.categorical:
                value = rec.get(name)
                if value is None or value == "":
                    if not self.hash_categorical:
                        offset += self.onehot_capacity
                    continue
                if self.hash_categorical:
                    self.hasher.add_category(row, hash_at, name, str(value))
                else:
                    row[offset + self.onehots[name].slot(str(value))] = 1.0
                    offset += self.onehot_capacity
            for name in self.text:
                value = rec.get(name)
                if value is not None:
                    self.hasher.add_text(row, hash_at, str(value), prefix=f"{name}:")
        return out

    def state(self) -> dict[str, Any]:
        """Plain-data form (for persistence)."""
        return {
            "numeric": self.numeric,
            "categorical": self.categorical,
            "text": self.text,
            "onehot_capacity": self.onehot_capacity,
            "hash_categorical": self.hash_categorical,
            "hash_buckets": self.hash_buckets,
            "ngram_range": list(self.ngram_range),
            "slots": {k: v.slots for k, v in self.onehots.items()},
        }

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> RecordEncoder:
        """Rebuild from :meth:`state`."""
        enc = cls(
            numeric=list(state["numeric"]),
            categorical=list(state["categorical"]),
            text=list(state["text"]),
            onehot_capacity=int(state["onehot_capacity"]),
            hash_categorical=bool(state["hash_categorical"]),
            hash_buckets=int(state["hash_buckets"]),
            ngram_range=(int(state["ngram_range"][0]), int(state["ngram_range"][1])),
        )
        for name, slots in dict(state["slots"]).items():
            enc.onehots[name].slots = {str(k): int(v) for k, v in dict(slots).items()}
        return enc


_RANK = {"numeric": 0, "categorical": 1, "text": 2}


def _kind_of(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float):
        return "numeric"
    text = str(value).strip()
    if text == "":
        return "numeric"
    try:
        float(text)
    except ValueError:
        return "text" if " " in text else "categorical"
    return "numeric"


def _to_float(value: Any, name: str) -> float:
    if value is None or value == "":
        return 0.0
    if isinstance(value, bool):
        return float(value)
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise LearnerInputError(
            f"field {name!r} should be numeric, got {str(value)[:40]!r}",
            hint="declare the field as categorical or fix the value",
        ) from None
    if math.isnan(out) or out in (float("inf"), float("-inf")):
        raise LearnerInputError(
            f"field {name!r} is not a finite number: {value!r}", hint="drop or impute the value"
        )
    return out


def scale_columns(X: ArrayLike) -> FloatArray:
    """Standardise a whole matrix at once (used by offline domain adaptation)."""
    arr = np.asarray(X, dtype=np.float64)
    std = arr.std(axis=0)
    out: FloatArray = (arr - arr.mean(axis=0)) / np.where(std > 1e-12, std, 1.0)
    return out
