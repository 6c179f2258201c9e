"""Online learners with drift adaptation, automatic model selection and transfer between domains.

The public API is re-exported here from private modules.  Names are resolved
lazily (PEP 562), so ``import cross_domain_auto_learner`` stays cheap and
NumPy, scikit-learn and matplotlib load only when something uses them.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("cross_domain_auto_learner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

_EXPORTS: dict[str, str] = {
    "ARForecaster": "_forecast",
    "DriftAdaptive": "_adaptive",
    "DriftAdaptiveRegressor": "_adaptive",
    "HalfSpaceTrees": "_anomaly",
    "GaussianNB": "_bayes",
    "class_moments": "_bayes",
    "CLASSIFIERS": "_catalog",
    "REGRESSORS": "_catalog",
    "make_model": "_catalog",
    "ADWIN": "_drift",
    "DDM": "_drift",
    "EDDM": "_drift",
    "DriftDetector": "_drift",
    "KSWIN": "_drift",
    "PageHinkley": "_drift",
    "detection_report": "_drift",
    "make_detector": "_drift",
    "EvaluationResult": "_evaluate",
    "classification_metrics": "_evaluate",
    "holdout": "_evaluate",
    "prequential": "_evaluate",
    "FeatureHasher": "_features",
    "OnlineOneHot": "_features",
    "OnlineScaler": "_features",
    "RecordEncoder": "_features",
    "hash_token": "_features",
    "AdaptiveRandomForest": "_forest",
    "KNNClassifier": "_knn",
    "KNNRegressor": "_knn",
    "Classifier": "_learner",
    "LabelIndex": "_learner",
    "Learner": "_learner",
    "Regressor": "_learner",
    "as_matrix": "_learner",
    "LaplaceLogisticRegression": "_laplace",
    "LinearRegression": "_linear",
    "LogisticRegression": "_linear",
    "Optimizer": "_linear",
    "FORMAT_VERSION": "_persist",
    "MAGIC": "_persist",
    "dumps_model": "_persist",
    "load_model": "_persist",
    "loads_model": "_persist",
    "save_model": "_persist",
    "Pipeline": "_pipeline",
    "Record": "_readers",
    "parse_csv": "_readers",
    "parse_jsonl": "_readers",
    "read_records": "_readers",
    "split_target": "_readers",
    "render_html": "_report",
    "render_png": "_report",
    "write_report": "_report",
    "AutoSelector": "_selection",
    "Candidate": "_selection",
    "default_portfolio": "_selection",
    "OnlineClassifier": "_sklearn",
    "AGRAWAL_FEATURES": "_streams",
    "Stream": "_streams",
    "agrawal": "_streams",
    "concept_drift": "_streams",
    "hyperplane": "_streams",
    "sea": "_streams",
    "synthetic_stream": "_streams",
    "DomainRegistry": "_transfer",
    "META_FEATURES": "_transfer",
    "adaptation_gain": "_transfer",
    "coral": "_transfer",
    "importance_weights": "_transfer",
    "map_features": "_transfer",
    "meta_features": "_transfer",
    "warm_start_curve": "_transfer",
    "HoeffdingTree": "_tree",
    "HoeffdingAdaptiveTree": "_adaptive_tree",
    "HoeffdingTreeRegressor": "_regression_tree",
    "friedman": "_streams",
    "AutoLearnerSettings": "config",
    "LearnerDomainError": "errors",
    "LearnerError": "errors",
    "LearnerInputError": "errors",
    "LearnerModelFormatError": "errors",
    "LearnerModelSignatureError": "errors",
}

__all__ = [
    "ADWIN",
    "AGRAWAL_FEATURES",
    "CLASSIFIERS",
    "DDM",
    "EDDM",
    "FORMAT_VERSION",
    "KSWIN",
    "MAGIC",
    "META_FEATURES",
    "REGRESSORS",
    "ARForecaster",
    "AdaptiveRandomForest",
    "AutoLearnerSettings",
    "AutoSelector",
    "Candidate",
    "Classifier",
    "DomainRegistry",
    "DriftAdaptive",
    "DriftAdaptiveRegressor",
    "DriftDetector",
    "EvaluationResult",
    "FeatureHasher",
    "GaussianNB",
    "HalfSpaceTrees",
    "HoeffdingAdaptiveTree",
    "HoeffdingTree",
    "HoeffdingTreeRegressor",
    "KNNClassifier",
    "KNNRegressor",
    "LabelIndex",
    "LaplaceLogisticRegression",
    "Learner",
    "LearnerDomainError",
    "LearnerError",
    "LearnerInputError",
    "LearnerModelFormatError",
    "LearnerModelSignatureError",
    "LinearRegression",
    "LogisticRegression",
    "OnlineClassifier",
    "OnlineOneHot",
    "OnlineScaler",
    "Optimizer",
    "PageHinkley",
    "Pipeline",
    "Record",
    "RecordEncoder",
    "Regressor",
    "Stream",
    "__version__",
    "adaptation_gain",
    "agrawal",
    "as_matrix",
    "class_moments",
    "classification_metrics",
    "concept_drift",
    "coral",
    "default_portfolio",
    "detection_report",
    "dumps_model",
    "friedman",
    "hash_token",
    "holdout",
    "hyperplane",
    "importance_weights",
    "load_model",
    "loads_model",
    "make_detector",
    "make_model",
    "map_features",
    "meta_features",
    "parse_csv",
    "parse_jsonl",
    "prequential",
    "read_records",
    "render_html",
    "render_png",
    "save_model",
    "sea",
    "split_target",
    "synthetic_stream",
    "warm_start_curve",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'cross_domain_auto_learner' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"cross_domain_auto_learner.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:
    from cross_domain_auto_learner._adaptive import DriftAdaptive as DriftAdaptive
    from cross_domain_auto_learner._adaptive import (
        DriftAdaptiveRegressor as DriftAdaptiveRegressor,
    )
    from cross_domain_auto_learner._adaptive_tree import (
        HoeffdingAdaptiveTree as HoeffdingAdaptiveTree,
    )
    from cross_domain_auto_learner._anomaly import HalfSpaceTrees as HalfSpaceTrees
    from cross_domain_auto_learner._bayes import GaussianNB as GaussianNB
    from cross_domain_auto_learner._bayes import class_moments as class_moments
    from cross_domain_auto_learner._catalog import CLASSIFIERS as CLASSIFIERS
    from cross_domain_auto_learner._catalog import REGRESSORS as REGRESSORS
    from cross_domain_auto_learner._catalog import make_model as make_model
    from cross_domain_auto_learner._drift import ADWIN as ADWIN
    from cross_domain_auto_learner._drift import DDM as DDM
    from cross_domain_auto_learner._drift import EDDM as EDDM
    from cross_domain_auto_learner._drift import KSWIN as KSWIN
    from cross_domain_auto_learner._drift import DriftDetector as DriftDetector
    from cross_domain_auto_learner._drift import PageHinkley as PageHinkley
    from cross_domain_auto_learner._drift import detection_report as detection_report
    from cross_domain_auto_learner._drift import make_detector as make_detector
    from cross_domain_auto_learner._evaluate import EvaluationResult as EvaluationResult
    from cross_domain_auto_learner._evaluate import classification_metrics as classification_metrics
    from cross_domain_auto_learner._evaluate import holdout as holdout
    from cross_domain_auto_learner._evaluate import prequential as prequential
    from cross_domain_auto_learner._features import FeatureHasher as FeatureHasher
    from cross_domain_auto_learner._features import OnlineOneHot as OnlineOneHot
    from cross_domain_auto_learner._features import OnlineScaler as OnlineScaler
    from cross_domain_auto_learner._features import RecordEncoder as RecordEncoder
    from cross_domain_auto_learner._features import hash_token as hash_token
    from cross_domain_auto_learner._forecast import ARForecaster as ARForecaster
    from cross_domain_auto_learner._forest import AdaptiveRandomForest as AdaptiveRandomForest
    from cross_domain_auto_learner._knn import KNNClassifier as KNNClassifier
    from cross_domain_auto_learner._knn import KNNRegressor as KNNRegressor
    from cross_domain_auto_learner._laplace import (
        LaplaceLogisticRegression as LaplaceLogisticRegression,
    )
    from cross_domain_auto_learner._learner import Classifier as Classifier
    from cross_domain_auto_learner._learner import LabelIndex as LabelIndex
    from cross_domain_auto_learner._learner import Learner as Learner
    from cross_domain_auto_learner._learner import Regressor as Regressor
    from cross_domain_auto_learner._learner import as_matrix as as_matrix
    from cross_domain_auto_learner._linear import LinearRegression as LinearRegression
    from cross_domain_auto_learner._linear import LogisticRegression as LogisticRegression
    from cross_domain_auto_learner._linear import Optimizer as Optimizer
    from cross_domain_auto_learner._persist import FORMAT_VERSION as FORMAT_VERSION
    from cross_domain_auto_learner._persist import MAGIC as MAGIC
    from cross_domain_auto_learner._persist import dumps_model as dumps_model
    from cross_domain_auto_learner._persist import load_model as load_model
    from cross_domain_auto_learner._persist import loads_model as loads_model
    from cross_domain_auto_learner._persist import save_model as save_model
    from cross_domain_auto_learner._pipeline import Pipeline as Pipeline
    from cross_domain_auto_learner._readers import Record as Record
    from cross_domain_auto_learner._readers import parse_csv as parse_csv
    from cross_domain_auto_learner._readers import parse_jsonl as parse_jsonl
    from cross_domain_auto_learner._readers import read_records as read_records
    from cross_domain_auto_learner._readers import split_target as split_target
    from cross_domain_auto_learner._regression_tree import (
        HoeffdingTreeRegressor as HoeffdingTreeRegressor,
    )
    from cross_domain_auto_learner._report import render_html as render_html
    from cross_domain_auto_learner._report import render_png as render_png
    from cross_domain_auto_learner._report import write_report as write_report
    from cross_domain_auto_learner._selection import AutoSelector as AutoSelector
    from cross_domain_auto_learner._selection import Candidate as Candidate
    from cross_domain_auto_learner._selection import default_portfolio as default_portfolio
    from cross_domain_auto_learner._sklearn import OnlineClassifier as OnlineClassifier
    from cross_domain_auto_learner._streams import AGRAWAL_FEATURES as AGRAWAL_FEATURES
    from cross_domain_auto_learner._streams import Stream as Stream
    from cross_domain_auto_learner._streams import agrawal as agrawal
    from cross_domain_auto_learner._streams import concept_drift as concept_drift
    from cross_domain_auto_learner._streams import friedman as friedman
    from cross_domain_auto_learner._streams import hyperplane as hyperplane
    from cross_domain_auto_learner._streams import sea as sea
    from cross_domain_auto_learner._streams import synthetic_stream as synthetic_stream
    from cross_domain_auto_learner._transfer import META_FEATURES as META_FEATURES
    from cross_domain_auto_learner._transfer import DomainRegistry as DomainRegistry
    from cross_domain_auto_learner._transfer import adaptation_gain as adaptation_gain
    from cross_domain_auto_learner._transfer import coral as coral
    from cross_domain_auto_learner._transfer import importance_weights as importance_weights
    from cross_domain_auto_learner._transfer import map_features as map_features
    from cross_domain_auto_learner._transfer import meta_features as meta_features
    from cross_domain_auto_learner._transfer import warm_start_curve as warm_start_curve
    from cross_domain_auto_learner._tree import HoeffdingTree as HoeffdingTree
    from cross_domain_auto_learner.config import AutoLearnerSettings as AutoLearnerSettings
    from cross_domain_auto_learner.errors import LearnerDomainError as LearnerDomainError
    from cross_domain_auto_learner.errors import LearnerError as LearnerError
    from cross_domain_auto_learner.errors import LearnerInputError as LearnerInputError
    from cross_domain_auto_learner.errors import LearnerModelFormatError as LearnerModelFormatError
    from cross_domain_auto_learner.errors import (
        LearnerModelSignatureError as LearnerModelSignatureError,
    )
