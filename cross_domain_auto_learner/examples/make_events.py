"""Write a synthetic labelled security-event CSV (numeric, categorical and text fields) for the CLI examples.

uv run python cross_domain_auto_learner/examples/make_events.py events.csv [N] [SEED]
"""

import csv
import sys

import numpy as np


def main(path: str, n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["bytes", "failures", "proto", "msg", "label"])
        for _ in range(n):
            attack = rng.random() < 0.3
            failures = rng.poisson(6 if attack else 0.3)
            size = rng.normal(900 if attack else 400, 250)
            proto = (
                rng.choice(["ssh", "ssh", "http"])
                if attack
                else rng.choice(["ssh", "http", "smtp"])
            )
            msg = rng.choice(
                ["failed password for root", "invalid user admin", "accepted publickey"]
                if attack
                else ["accepted publickey", "session opened", "failed password for alice"]
            )
            out.writerow([f"{size:.1f}", failures, proto, msg, "attack" if attack else "ok"])


if __name__ == "__main__":
    main(
        sys.argv[1],
        int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
        int(sys.argv[3]) if len(sys.argv) > 3 else 1,
    )
