"""Synthetic streams are deterministic, correctly labelled and carry their change points."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    LearnerInputError,
    agrawal,
    concept_drift,
    hyperplane,
    sea,
    synthetic_stream,
)


class TestSea:
    def test_same_seed_same_stream(self) -> None:
        """A seed fixes the stream exactly."""
        a, b = sea(500, seed=3), sea(500, seed=3)
        assert np.array_equal(a.X, b.X)
        assert np.array_equal(a.y, b.y)
        assert not np.array_equal(a.X, sea(500, seed=4).X)

    def test_label_is_threshold_rule(self) -> None:
        """Without noise the label is exactly x0 + x1 > theta."""
        s = sea(2000, variant=2, seed=1)
        assert np.array_equal(s.y, (s.X[:, 0] + s.X[:, 1] > 7.0).astype(np.int64))

    def test_noise_flips_about_that_share(self) -> None:
        """10% noise flips close to 10% of labels."""
        clean, noisy = sea(20000, seed=5), sea(20000, noise=0.1, seed=5)
        flipped = float((clean.y != noisy.y).mean())
        assert 0.08 < flipped < 0.12

    def test_bad_variant(self) -> None:
        """An unknown variant is the system's input error."""
        with pytest.raises(LearnerInputError):
            sea(10, variant=7)


class TestAgrawal:
    def test_function_zero_is_age_rule(self) -> None:
        """Function 0 labels by age < 40 or age >= 60."""
        s = agrawal(3000, function=0, seed=2)
        age = s.X[:, 2]
        assert np.array_equal(s.y, ((age < 40) | (age >= 60)).astype(np.int64))

    def test_ranges(self) -> None:
        """Attributes respect the generator's ranges."""
        s = agrawal(5000, function=1, seed=1)
        assert s.X[:, 0].min() >= 20000
        assert s.X[:, 0].max() <= 150000
        assert set(np.unique(s.X[:, 3])) <= {0, 1, 2, 3, 4}
        assert np.all(s.X[s.X[:, 0] >= 75000, 1] == 0)

    def test_balanced(self) -> None:
        """Balancing alternates the classes."""
        s = agrawal(1000, function=2, balance_classes=True, seed=1)
        assert abs(int(s.y.sum()) - 500) <= 1

    def test_perturbation_changes_features_not_labels(self) -> None:
        """Perturbation moves features; labels stay those of the clean rows."""
        clean, noisy = (
            agrawal(2000, function=1, seed=9),
            agrawal(2000, function=1, perturbation=0.05, seed=9),
        )
        assert np.array_equal(clean.y, noisy.y)
        assert not np.array_equal(clean.X, noisy.X)


class TestDrift:
    def test_abrupt_change_point(self) -> None:
        """Abrupt drift switches concept exactly at the position."""
        before, after = sea(1000, variant=0, seed=1), sea(1000, variant=3, seed=2)
        s = concept_drift(before, after, position=400)
        assert s.drift_points == (400,)
        assert np.array_equal(s.X[:400], before.X[:400])
        assert np.array_equal(s.X[400:], after.X[400:])

    def test_gradual_mixes_around_position(self) -> None:
        """Gradual drift draws mostly from the old concept before and the new after."""
        before, after = sea(4000, seed=1), sea(4000, seed=2)
        s = concept_drift(before, after, position=2000, width=1000, seed=3)
        from_after = np.all(s.X == after.X, axis=1)
        assert from_after[:1000].mean() < 0.1
        assert from_after[3000:].mean() > 0.9

    def test_hyperplane_drifts(self) -> None:
        """A moving hyperplane labels differently from a static one with the same seed."""
        static, moving = (
            hyperplane(5000, seed=1, noise=0.0),
            hyperplane(5000, mag_change=0.01, seed=1, noise=0.0),
        )
        assert np.array_equal(static.y[:3], moving.y[:3])
        assert (static.y != moving.y)[2500:].mean() > 0.05

    def test_named_streams(self) -> None:
        """Named streams exist with their change points; unknown names are input errors."""
        s = synthetic_stream("agrawal-drift", 2000, 1)
        assert s.drift_points == (1000,)
        assert len(s) == 2000
        with pytest.raises(LearnerInputError, match="unknown synthetic"):
            synthetic_stream("nope")
