"""Drift detectors: detection delay and false alarms on streams with known change points."""

from __future__ import annotations

import numpy as np
import pytest

from cross_domain_auto_learner import (
    ADWIN,
    DDM,
    EDDM,
    KSWIN,
    AdaptiveRandomForest,
    DriftAdaptive,
    HoeffdingTree,
    LearnerInputError,
    PageHinkley,
    agrawal,
    concept_drift,
    detection_report,
    make_detector,
    prequential,
)


def _bernoulli(seed: int, n_stable: int = 25000, n_after: int = 5000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.r_[rng.random(n_stable) < 0.2, rng.random(n_after) < 0.5].astype(np.float64)


class TestADWIN:
    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_error_rate_jump_detected_fast(self, seed: int) -> None:
        """An error rate jump 0.2 -> 0.5 is found within 300 examples."""
        report = detection_report(ADWIN(), _bernoulli(seed), [25000], horizon=2000)
        assert report["delays"][0] is not None
        assert report["delays"][0] <= 300

    def test_false_alarms_bounded_with_small_delta(self) -> None:
        """With delta=1e-4, at most one false alarm per 25k stable examples (over 4 streams)."""
        alarms = [
            detection_report(ADWIN(delta=1e-4), _bernoulli(s), [25000], horizon=2000)[
                "false_alarms"
            ]
            for s in range(4)
        ]
        assert sum(alarms) <= 4
        assert max(alarms) <= 1

    def test_window_shrinks_to_new_mean(self) -> None:
        """After a change the window estimates the new mean."""
        det = ADWIN()
        det.update_many(_bernoulli(5, 5000, 3000))
        assert abs(det.estimation - 0.5) < 0.05
        assert det.width < 4000

    @pytest.mark.parametrize("seed", [0, 1])
    def test_batched_updates_equal_one_at_a_time(self, seed: int) -> None:
        """update_many in random chunk sizes: same detections and buckets as update per value."""
        rng = np.random.default_rng(seed)
        xs = np.r_[rng.random(6000) < 0.2, rng.random(2000) < 0.5, rng.normal(0.3, 0.2, 1000)]
        one, many = ADWIN(delta=0.01), ADWIN(delta=0.01)
        hits_one = [i for i, x in enumerate(xs.tolist()) if one.update(x)]
        hits_many: list[int] = []
        pos = 0
        while pos < xs.size:
            size = int(rng.integers(1, 100))
            hits_many += (many.update_many(xs[pos : pos + size]) + pos).tolist()
            pos += size
        assert hits_many == hits_one
        assert len(hits_one) >= 2
        assert [list(level) for level in many._levels] == [list(level) for level in one._levels]
        assert many.width == one.width
        assert many.variance == pytest.approx(one.variance, rel=1e-9)

    def test_memory_is_logarithmic(self) -> None:
        """A stationary stream keeps a long window in few buckets."""
        det = ADWIN()
        det.update_many(np.zeros(20000))
        buckets = sum(len(level) for level in det._levels)
        assert det.width == 20000
        assert buckets < 100


class TestOthers:
    @pytest.mark.parametrize("seed", [1, 2])
    def test_page_hinkley_delay(self, seed: int) -> None:
        """Page-Hinkley finds the mean shift within 500 examples."""
        report = detection_report(
            PageHinkley(threshold=50), _bernoulli(seed), [25000], horizon=2000
        )
        assert report["delays"][0] is not None
        assert report["delays"][0] < 500

    def test_ddm_false_alarms_and_delay(self) -> None:
        """DDM (warm start 1000): at most one false alarm per 25k stable errors, detection within 1000."""
        reports = [
            detection_report(DDM(warm_start=1000), _bernoulli(seed), [25000], horizon=3000)
            for seed in (1, 2, 3, 4, 5, 6)
        ]
        assert all(r["false_alarms"] <= 1 for r in reports)
        assert all(r["delays"][0] is not None and r["delays"][0] < 1000 for r in reports)

    def test_ddm_warning_zone(self) -> None:
        """DDM warns before it detects when errors creep up."""
        det = DDM()
        rng = np.random.default_rng(0)
        warned_before = False
        for x in np.r_[rng.random(3000) < 0.1, rng.random(2000) < 0.3].astype(float):
            if det.warning:
                warned_before = True
            if det.update(x):
                break
        assert warned_before

    @pytest.mark.parametrize("seed", [0, 1, 2])
    def test_eddm_matches_river(self, seed: int) -> None:
        """EDDM raises its changes and warnings at exactly the examples river's EDDM does."""
        river_drift = pytest.importorskip("river.drift.binary")
        rng = np.random.default_rng(seed)
        xs = np.r_[rng.random(8000) < 0.1, rng.random(3000) < 0.4].astype(np.float64)
        peer, ours = river_drift.EDDM(), EDDM()
        peer_hits, our_hits, same_warnings = [], [], True
        for i, x in enumerate(xs.tolist()):
            peer.update(int(x))
            if peer.drift_detected:
                peer_hits.append(i)
            if ours.update(x):
                our_hits.append(i)
            same_warnings &= peer.warning_detected == ours.warning
        assert our_hits == peer_hits
        assert same_warnings
        assert len(our_hits) > 0

    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    def test_eddm_detects_error_rate_rise(self, seed: int) -> None:
        """Error rate 5% -> 30%: EDDM (defaults) reports the change within 1,000 examples."""
        rng = np.random.default_rng(seed)
        xs = np.r_[rng.random(25000) < 0.05, rng.random(5000) < 0.3].astype(np.float64)
        report = detection_report(EDDM(), xs, [25000], horizon=2000)
        assert report["delays"][0] is not None
        assert report["delays"][0] < 1000

    def test_eddm_quiet_without_errors(self) -> None:
        """No errors, no gaps to compare: EDDM never fires, and it warns only in its zone."""
        det = EDDM()
        assert det.update_many(np.zeros(5000)).size == 0
        assert not det.warning
        with pytest.raises(LearnerInputError):
            EDDM(alpha=0.8, beta=0.9)
        assert isinstance(make_detector("eddm"), EDDM)

    def test_kswin_on_a_feature_shift(self) -> None:
        """KSWIN notices a shift of one standard deviation within 100 values."""
        rng = np.random.default_rng(1)
        values = np.r_[rng.normal(0, 1, 3000), rng.normal(1.5, 1, 1000)]
        report = detection_report(KSWIN(alpha=0.0001, seed=1), values, [3000], horizon=1000)
        assert report["delays"][0] is not None
        assert report["delays"][0] < 100
        assert report["false_alarms"] <= 3

    def test_factory_and_validation(self) -> None:
        """Detectors are built by name; bad parameters are input errors."""
        assert isinstance(make_detector("page-hinkley"), PageHinkley)
        with pytest.raises(LearnerInputError):
            make_detector("cusum9")
        with pytest.raises(LearnerInputError):
            ADWIN(delta=2)
        with pytest.raises(LearnerInputError):
            KSWIN(window_size=10, stat_size=30)


class TestLearnersReact:
    def test_agrawal_change_detected_within_300(self) -> None:
        """The forest's own detector fires within 300 examples of the Agrawal change, once."""
        s = concept_drift(
            agrawal(16000, function=1, seed=1), agrawal(16000, function=2, seed=2), position=8000
        )
        forest = AdaptiveRandomForest(n_models=5, seed=3)
        prequential(forest, s, batch_size=64)
        after = [d for d in forest.drift_points if d >= 8000]
        before = [d for d in forest.drift_points if d < 8000]
        assert after
        assert after[0] - 8000 <= 300
        assert len(before) <= 1

    def test_adaptive_tree_detects_change(self) -> None:
        """A drift-adaptive tree reports the change point it reacted to."""
        s = concept_drift(
            agrawal(12000, function=2, seed=1), agrawal(12000, function=0, seed=2), position=6000
        )
        model = DriftAdaptive(
            HoeffdingTree(grace_period=100, delta=1e-5), detector="adwin", strategy="reset"
        )
        prequential(model, s, batch_size=32)
        assert any(6000 <= d <= 6300 for d in model.drift_points)

    def test_forest_background_on_ensemble_drift(self) -> None:
        """With ensemble-level backgrounds the forest still detects the change and recovers."""
        s = concept_drift(
            agrawal(12000, function=1, seed=1), agrawal(12000, function=2, seed=2), position=6000
        )
        forest = AdaptiveRandomForest(n_models=5, seed=3, background_on_ensemble_drift=True)
        res = prequential(forest, s, batch_size=64, window=1000)
        assert any(6000 <= d <= 6300 for d in forest.drift_points)
        assert res.accuracy_between(9000, 12000) > 0.88
