"""Run the end-to-end scenario: ``python scripts/scenario/run.py [--size small|day] [--out DIR] [--seed N]``.

Exit codes: 0 every check held (attestation verifies, tampering is caught,
the nft set is the decisions, the chaos steady state held); 1 a check failed;
2 bad usage (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

# `python scripts/scenario/run.py` puts scripts/scenario on sys.path; the
# modules import each other as the package `scenario`, so put scripts/ there.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scenario.campaigns import SIZES  # after the path set-up above


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]  # argparse's is NoReturn
        sys.stderr.write(f"scenario: error: {message}; hint: see --help\n")
        raise SystemExit(2)


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"seed {text!r} is not an integer") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"seed {value} is outside 0..4294967295")
    return value


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(
        prog="scenario",
        description="One synthetic day through the ten systems: generate, detect, attest, "
        "enforce, chaos, report.",
    )
    parser.add_argument(
        "--size",
        choices=SIZES,
        default="day",
        help="small (~31k lines, well under a minute) or day (~300k lines; default)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path(tempfile.gettempdir()) / "scenario",
        help="output directory (default: %(default)s); emptied if it holds an earlier run",
    )
    parser.add_argument("--seed", type=_seed, default=7, help="random seed (default 7)")
    parser.add_argument(
        "--executor", choices=("threads", "processes"), default="threads", help="paf executor"
    )
    parser.add_argument(
        "--standalone",
        action="store_true",
        help="one ledger node even when nats-server is installed (no JetStream replica)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        sys.stderr.write(f"scenario: error: --out {out} exists and is not a directory\n")
        return 2
    if out.is_dir() and any(out.iterdir()) and not (out / "summary.json").exists():
        sys.stderr.write(
            f"scenario: error: --out {out} is a non-empty directory that is not a scenario output; "
            "hint: choose an empty or new directory\n"
        )
        return 2

    from scenario.pipeline import run_scenario
    from scenario.report import print_summary
    from shared_core.errors import CoreError

    quiet = args.json or not sys.stderr.isatty()
    try:
        summary = run_scenario(
            args.size,
            out,
            seed=args.seed,
            executor=args.executor,
            replicate=not args.standalone,
            say=(lambda _line: None) if quiet else (lambda line: print(line, file=sys.stderr)),
        )
    except (CoreError, RuntimeError, OSError) as exc:
        # a system refused, a service did not start, a file could not be written
        sys.stderr.write(f"scenario: error: {exc}; hint: the logs are under {out}\n")
        return 1
    except Exception as exc:  # a bug: one line, not a traceback
        sys.stderr.write(f"scenario: internal error: {type(exc).__name__}: {exc}\n")
        return 3
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print_summary(summary)
    passed = (
        summary["attestation"]["verified_offline"]
        and not summary["attestation"]["tampered_checkpoint_verified"]
        and summary["enforce"]["set_equals_decisions"]
        and summary["enforce"]["nft_check"] is not False
        and summary["chaos"]["held"]
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
