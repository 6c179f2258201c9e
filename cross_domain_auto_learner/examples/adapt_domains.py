"""CORAL and importance weighting on two shifted synthetic domains, against no adaptation.

uv run python cross_domain_auto_learner/examples/adapt_domains.py
"""

import numpy as np

from cross_domain_auto_learner import Stream, adaptation_gain, sea

# a sensor recalibrated between sites: same concept, columns rescaled and shifted
source, raw = sea(4000, noise=0.02, seed=1), sea(4000, noise=0.02, seed=2)
target_x = raw.X * [2.0, 0.5, 1.0] + [3.0, -1.0, 0.0]
test = Stream(target_x[2000:], raw.y[2000:], source.feature_names)
calibration = adaptation_gain(source, target_x[:2000], test)
print("calibration shift:", {k: round(v, 3) for k, v in calibration.items()})

# covariate shift: the target sees another region of the same concept
rng = np.random.default_rng(0)
Xs, Xt = rng.normal(0, 1, (4000, 2)), rng.normal([1.2, 0.5], 0.6, (4000, 2))


def label(X: np.ndarray) -> np.ndarray:
    return (X[:, 0] ** 2 + X[:, 1] > 1.0).astype(np.int64)


covariate = adaptation_gain(
    Stream(Xs, label(Xs), ("a", "b")), Xt[:2000], Stream(Xt[2000:], label(Xt[2000:]), ("a", "b"))
)
print("covariate shift:", {k: round(v, 3) for k, v in covariate.items()})
