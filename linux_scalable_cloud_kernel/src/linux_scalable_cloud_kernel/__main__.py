"""``python -m linux_scalable_cloud_kernel``."""

from linux_scalable_cloud_kernel.cli import run

if __name__ == "__main__":
    run()
