"""Transfer: meta-features, registry, warm start vs cold start, CORAL and importance weighting."""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cross_domain_auto_learner import (
    DomainRegistry,
    HalfSpaceTrees,
    HoeffdingTree,
    LearnerDomainError,
    LogisticRegression,
    OnlineClassifier,
    Stream,
    adaptation_gain,
    agrawal,
    coral,
    map_features,
    meta_features,
    sea,
    warm_start_curve,
)


class TestMetaAndRegistry:
    def test_meta_features_tell_domains_apart(self, tmp_path: Path) -> None:
        """A perturbed Agrawal domain is nearer to Agrawal than to SEA."""
        reg = DomainRegistry(tmp_path / "reg.json")
        reg.add("agrawal", agrawal(3000, function=1, seed=1))
        reg.add("sea", sea(3000, seed=1))
        target = agrawal(3000, function=1, perturbation=0.1, seed=2)
        name, _ = reg.nearest(meta_features(target.X, target.y))
        assert name == "agrawal"
        again = DomainRegistry(tmp_path / "reg.json")
        assert sorted(again.domains) == ["agrawal", "sea"]

    def test_empty_registry(self, tmp_path: Path) -> None:
        """Transferring with no known domain is a domain error with a hint."""
        with pytest.raises(LearnerDomainError, match="no known domain"):
            DomainRegistry(tmp_path / "r.json").nearest(meta_features(*_xy(sea(100, seed=1))))

    def test_corrupt_registry(self, tmp_path: Path) -> None:
        """A corrupt registry file is reported, not overwritten."""
        p = tmp_path / "r.json"
        p.write_text("{not json")
        with pytest.raises(LearnerDomainError, match="cannot read"):
            DomainRegistry(p)
        assert p.read_text() == "{not json"

    def test_feature_mapping(self) -> None:
        """Columns map by name, else by position when widths agree."""
        assert map_features(["a", "b"], ["b", "c", "a"]) == [2, 0]
        assert map_features(["a", "b"], ["x", "y"]) == [0, 1]
        with pytest.raises(LearnerDomainError):
            map_features(["a", "b"], ["x"])


def _xy(s: Stream) -> tuple[np.ndarray, np.ndarray]:
    return s.X, s.y


class TestWarmStart:
    def test_warm_start_needs_a_quarter_of_the_examples(self) -> None:
        """A tree trained on Agrawal reaches the cold start's final accuracy on a
        perturbed Agrawal domain with at most a quarter of the labelled target examples."""
        source = HoeffdingTree(grace_period=100, delta=1e-5)
        for X, y in agrawal(20000, function=1, seed=1).batches(64):
            source.learn_many(X, y)
        curve = warm_start_curve(
            source,
            lambda: HoeffdingTree(grace_period=100, delta=1e-5),
            agrawal(8000, function=1, perturbation=0.1, seed=2),
            agrawal(3000, function=1, perturbation=0.1, seed=3),
            checkpoints=[100, 250, 500, 1000, 2000, 4000, 8000],
        )
        assert curve["fraction_of_cold_examples"] is not None
        assert curve["fraction_of_cold_examples"] <= 0.25
        assert curve["warm"][0] > curve["cold"][0] + 0.05


class TestAdaptation:
    def test_coral_undoes_a_calibration_shift(self) -> None:
        """CORAL beats no adaptation by >= 3 points when the target's columns are rescaled and shifted."""
        src, raw = sea(4000, noise=0.02, seed=1), sea(4000, noise=0.02, seed=2)
        Xt = raw.X * [2.0, 0.5, 1.0] + [3.0, -1.0, 0.0]
        test = Stream(Xt[2000:], raw.y[2000:], src.feature_names)
        gains = adaptation_gain(src, Xt[:2000], test)
        assert gains["coral_gain"] >= 0.03
        assert gains["coral"] > 0.95

    def test_importance_weighting_under_covariate_shift(self) -> None:
        """Importance weights beat no adaptation by >= 3 points under covariate shift."""
        rng = np.random.default_rng(0)

        def label(X: np.ndarray) -> np.ndarray:
            return (X[:, 0] ** 2 + X[:, 1] > 1.0).astype(np.int64)

        Xs = rng.normal(0, 1, (4000, 2))
        Xt = rng.normal([1.2, 0.5], 0.6, (4000, 2))
        gains = adaptation_gain(
            Stream(Xs, label(Xs), ("a", "b")),
            Xt[:2000],
            Stream(Xt[2000:], label(Xt[2000:]), ("a", "b")),
        )
        assert gains["importance_gain"] >= 0.03

    def test_coral_matches_target_covariance(self) -> None:
        """After CORAL the source's covariance is the target's."""
        rng = np.random.default_rng(1)
        S = rng.normal(size=(3000, 3))
        T = rng.normal(size=(3000, 3)) @ np.asarray([[2, 0, 0], [1, 1, 0], [0, 0, 0.3]])
        aligned = coral(S, T, eps=1e-9)
        assert np.allclose(np.cov(aligned, rowvar=False), np.cov(T, rowvar=False), atol=1e-6)


class TestAnomalyAndSklearn:
    def test_half_space_trees_rank_outliers(self) -> None:
        """Injected outliers rank far above normal points (ROC AUC > 0.95)."""
        from sklearn.metrics import roc_auc_score

        rng = np.random.default_rng(0)
        X = rng.normal(0, 1, (8000, 4))
        truth = np.zeros(8000)
        idx = rng.choice(np.arange(1000, 8000), 80, replace=False)
        X[idx] = rng.uniform(-6, 6, (80, 4))
        truth[idx] = 1
        hst = HalfSpaceTrees(seed=1)
        scores = np.zeros(8000)
        for lo in range(0, 8000, 100):
            scores[lo : lo + 100] = hst.score_many(X[lo : lo + 100])
            hst.learn_many(X[lo : lo + 100])
        assert roc_auc_score(truth[1000:], scores[1000:]) > 0.95
        assert scores.min() >= 0.0
        assert scores.max() <= 1.0

    def test_sklearn_wrapper_cross_validates(self) -> None:
        """The wrapper works in cross_val_score with string labels."""
        from sklearn.model_selection import cross_val_score

        s = sea(3000, seed=1)
        labels = np.where(s.y == 1, "high", "low")
        scores = cross_val_score(OnlineClassifier("logistic", batch_size=16), s.X, labels, cv=3)
        assert scores.mean() > 0.95

    def test_sklearn_partial_fit_with_classes(self) -> None:
        """partial_fit fixes classes; predict_proba columns follow them."""
        s = sea(2000, seed=2)
        clf = OnlineClassifier("gaussian-nb")
        for lo in range(0, 2000, 200):
            clf.partial_fit(s.X[lo : lo + 200], s.y[lo : lo + 200], classes=[0, 1])
        assert list(clf.classes_) == [0, 1]
        assert clf.predict_proba(s.X[:5]).shape == (5, 2)
        assert (clf.predict(s.X) == s.y).mean() > 0.85
        assert isinstance(LogisticRegression().clone(), LogisticRegression)


class TestDecoders:
    @settings(max_examples=150, deadline=None)
    @given(st.binary(max_size=300))
    def test_registry_arbitrary_bytes(self, blob: bytes) -> None:
        """Arbitrary registry bytes load or raise the domain error, never anything else."""
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.json"
            path.write_bytes(blob)
            with contextlib.suppress(LearnerDomainError):
                DomainRegistry(path)

    @settings(max_examples=150, deadline=None)
    @given(
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=4)
            ),
            max_leaves=12,
        )
    )
    def test_registry_arbitrary_json(self, value: object) -> None:
        """Any JSON document, even one shaped like a registry, loads or raises the domain error."""
        import json
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "r.json"
            path.write_text(json.dumps({"domains": {"x": value}}))
            try:
                reg = DomainRegistry(path)
            except LearnerDomainError:
                return
            reg.nearest(dict.fromkeys(reg.domains["x"]["meta"], 0.0))

    @settings(max_examples=150, deadline=None)
    @given(
        st.dictionaries(
            st.text(max_size=12),
            st.none() | st.integers() | st.text(max_size=5) | st.lists(st.integers(), max_size=3),
            max_size=6,
        )
    )
    def test_run_file_arbitrary(self, data: dict[str, object]) -> None:
        """A run file of arbitrary content decodes or raises the input error."""
        from cross_domain_auto_learner import EvaluationResult, LearnerInputError

        with contextlib.suppress(LearnerInputError):
            EvaluationResult.from_dict(data)
