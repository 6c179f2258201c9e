"""A kernel module for source-address blocklists and the userspace toolkit around it: node metrics, cgroups, tuning profiles, module control."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("linux_scalable_cloud_kernel")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from linux_scalable_cloud_kernel.config import KernelToolkitSettings
from linux_scalable_cloud_kernel.errors import KernelToolkitError, KernelToolkitInputError

__all__ = ["KernelToolkitError", "KernelToolkitInputError", "KernelToolkitSettings", "__version__"]
