"""Print linux_scalable_cloud_kernel's effective settings as JSON, the way a wrapper script would read them."""

from linux_scalable_cloud_kernel.cli import main

if __name__ == "__main__":
    raise SystemExit(main(["--json", "config"]))
