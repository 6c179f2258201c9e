"""Online learners with drift adaptation, automatic model selection and transfer between domains."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("cross_domain_auto_learner")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from cross_domain_auto_learner.config import AutoLearnerSettings
from cross_domain_auto_learner.errors import LearnerError, LearnerInputError

__all__ = ["AutoLearnerSettings", "LearnerError", "LearnerInputError", "__version__"]
