"""Learners by name, as the CLI and the model selector spell them."""

from __future__ import annotations

from collections.abc import Callable

from cross_domain_auto_learner._adaptive import DriftAdaptive, DriftAdaptiveRegressor
from cross_domain_auto_learner._adaptive_tree import HoeffdingAdaptiveTree
from cross_domain_auto_learner._bayes import GaussianNB
from cross_domain_auto_learner._forest import AdaptiveRandomForest
from cross_domain_auto_learner._knn import KNNClassifier, KNNRegressor
from cross_domain_auto_learner._laplace import LaplaceLogisticRegression
from cross_domain_auto_learner._learner import Classifier, Regressor
from cross_domain_auto_learner._linear import LinearRegression, LogisticRegression
from cross_domain_auto_learner._regression_tree import HoeffdingTreeRegressor
from cross_domain_auto_learner._selection import AutoSelector, default_portfolio
from cross_domain_auto_learner._tree import HoeffdingTree
from cross_domain_auto_learner.errors import LearnerInputError

__all__ = ["CLASSIFIERS", "REGRESSORS", "make_model"]

CLASSIFIERS: dict[str, Callable[[int], Classifier]] = {
    "auto": lambda seed: AutoSelector(default_portfolio(seed)),
    "logistic": lambda _seed: LogisticRegression(),
    "logistic-laplace": lambda _seed: LaplaceLogisticRegression(),
    "gaussian-nb": lambda _seed: GaussianNB(),
    "hoeffding-tree": lambda seed: HoeffdingTree(seed=seed),
    "adaptive-tree": lambda seed: DriftAdaptive(
        HoeffdingTree(grace_period=100, delta=1e-5, seed=seed)
    ),
    "hat": lambda seed: HoeffdingAdaptiveTree(seed=seed),
    "arf": lambda seed: AdaptiveRandomForest(seed=seed),
    "knn": lambda _seed: KNNClassifier(),
}

REGRESSORS: dict[str, Callable[[int], Regressor]] = {
    "linear": lambda _seed: LinearRegression(),
    "knn": lambda _seed: KNNRegressor(),
    "hoeffding-tree": lambda _seed: HoeffdingTreeRegressor(),
    "adaptive-tree": lambda _seed: DriftAdaptiveRegressor(HoeffdingTreeRegressor()),
}


def make_model(name: str, task: str = "classification", seed: int = 42) -> Classifier | Regressor:
    """A fresh learner by name for ``task`` (``classification`` or ``regression``)."""
    table: dict[str, Callable[[int], Classifier]] | dict[str, Callable[[int], Regressor]]
    table = CLASSIFIERS if task == "classification" else REGRESSORS
    try:
        return table[name](seed)
    except KeyError:
        raise LearnerInputError(
            f"no {task} model named {name!r}", hint="choose one of " + ", ".join(table)
        ) from None
