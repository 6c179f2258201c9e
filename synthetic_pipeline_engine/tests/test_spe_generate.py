"""Schema-driven synthetic data: types, distributions, keys, series, logs; deterministic."""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Any

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthetic_pipeline_engine import (
    PipelineInputError,
    PipelineSchemaError,
    RegexGenerator,
    generate_tables,
    parse_generator_schema,
)

PEOPLE: dict[str, Any] = {
    "seed": 7,
    "tables": {
        "users": {
            "rows": 2000,
            "columns": {
                "id": {"type": "int", "sequence": 1},
                "name": {"provider": "full_name"},
                "email": {"provider": "email", "from": "name"},
                "age": {
                    "type": "int",
                    "distribution": "normal",
                    "mean": 40,
                    "std": 12,
                    "min": 18,
                    "max": 90,
                },
                "income": {
                    "type": "float",
                    "distribution": "lognormal",
                    "mean": 10,
                    "sigma": 0.5,
                    "round": 2,
                },
                "tier": {"values": {"gold": 0.1, "silver": 0.3, "bronze": 0.6}},
                "code": {"regex": r"[A-Z]{3}-\d{4}", "unique": True},
                "signup": {"type": "date", "start": "2020-01-01", "end": "2024-12-31"},
                "nick": {"provider": "word", "null_rate": 0.25},
                "visits": {"type": "int", "distribution": "zipf", "a": 2.0, "max": 1000},
            },
            "correlations": [["age", "income", 0.8]],
        },
        "orders": {
            "rows": 10000,
            "columns": {
                "order_id": {"type": "int", "unique": True, "min": 1, "max": 10_000_000},
                "user_id": {"foreign_key": "users.id", "cardinality": "zipf", "a": 1.3},
                "ts": {"type": "timestamp", "start": "2024-01-01", "freq": "1h"},
                "load": {
                    "series": {
                        "base": 100,
                        "trend": 0.01,
                        "seasonality": [{"period": 24, "amplitude": 10}],
                        "noise": 1.0,
                    }
                },
            },
        },
    },
}


def _frames(schema: dict[str, Any], **kw: Any) -> dict[str, pl.DataFrame]:
    return {
        k: pl.DataFrame(v) for k, v in generate_tables(parse_generator_schema(schema), **kw).items()
    }


@pytest.fixture(scope="module")
def people() -> dict[str, pl.DataFrame]:
    return _frames(PEOPLE)


class TestColumns:
    def test_types_and_counts(self, people: dict[str, pl.DataFrame]) -> None:
        """Tables have the asked rows and the declared types."""
        users, orders = people["users"], people["orders"]
        assert users.height == 2000
        assert orders.height == 10000
        assert users.schema["id"] == pl.Int64
        assert users.schema["signup"] == pl.Date
        assert orders.schema["ts"] == pl.Datetime("us")

    def test_distribution_bounds_and_moments(self, people: dict[str, pl.DataFrame]) -> None:
        """The truncated normal stays in range with about the asked mean."""
        age = people["users"]["age"]
        assert age.min() >= 18
        assert age.max() <= 90
        assert abs(float(age.mean()) - 40) < 1.5

    def test_categorical_weights(self, people: dict[str, pl.DataFrame]) -> None:
        """Category frequencies follow the weights."""
        share = people["users"]["tier"].value_counts(normalize=True)
        got = dict(zip(share["tier"].to_list(), share["proportion"].to_list(), strict=True))
        assert got["bronze"] == pytest.approx(0.6, abs=0.04)
        assert got["gold"] == pytest.approx(0.1, abs=0.03)

    def test_regex_unique(self, people: dict[str, pl.DataFrame]) -> None:
        """Regex-shaped codes all match and are unique."""
        codes = people["users"]["code"].to_list()
        assert all(re.fullmatch(r"[A-Z]{3}-\d{4}", c) for c in codes)
        assert len(set(codes)) == len(codes)

    def test_emails_follow_names(self, people: dict[str, pl.DataFrame]) -> None:
        """Emails are well-formed and contain the person's last name."""
        users = people["users"]
        for name, email in zip(users["name"].head(200), users["email"].head(200), strict=True):
            assert re.fullmatch(r"[a-z_.0-9]+@[a-z0-9.-]+\.[a-z]+", email), email
            last = re.sub(r"[^a-z]", "", name.split()[-1].lower())
            assert last in email

    def test_null_rate(self, people: dict[str, pl.DataFrame]) -> None:
        """null_rate makes about that share of nulls."""
        assert people["users"]["nick"].null_count() / 2000 == pytest.approx(0.25, abs=0.04)

    def test_correlation(self, people: dict[str, pl.DataFrame]) -> None:
        """Correlated columns have a strong rank correlation."""
        users = people["users"]
        ranks = np.corrcoef(users["age"].rank().to_numpy(), users["income"].rank().to_numpy())[0, 1]
        assert ranks > 0.7

    def test_zipf_is_heavy_tailed(self, people: dict[str, pl.DataFrame]) -> None:
        """Zipf values are mostly 1 with a long tail."""
        visits = people["users"]["visits"]
        assert (visits == 1).mean() > 0.5
        assert visits.max() > 20


class TestKeysAndSeries:
    def test_foreign_keys_exist_and_are_skewed(self, people: dict[str, pl.DataFrame]) -> None:
        """Every user_id exists in users; zipf cardinality concentrates orders."""
        users, orders = people["users"], people["orders"]
        assert orders["user_id"].is_in(users["id"].implode()).all()
        counts = orders["user_id"].value_counts()["count"].sort(descending=True)
        assert counts[0] > 20 * counts.median()

    def test_unique_ints(self, people: dict[str, pl.DataFrame]) -> None:
        """unique ints are unique within their range."""
        ids = people["orders"]["order_id"]
        assert ids.n_unique() == ids.len()
        assert ids.min() >= 1

    def test_time_series_has_daily_season(self, people: dict[str, pl.DataFrame]) -> None:
        """A 24-step seasonality shows as a 24-lag autocorrelation peak."""
        load = people["orders"]["load"].to_numpy()
        detrended = load - (100 + 0.01 * np.arange(load.size))
        lag = lambda k: np.corrcoef(detrended[:-k], detrended[k:])[0, 1]  # noqa: E731
        assert lag(24) > 0.9
        assert lag(12) < -0.9
        ts = people["orders"]["ts"]
        assert (ts.diff().drop_nulls() == ts[1] - ts[0]).all()


class TestDeterminism:
    def test_same_seed_same_data(self) -> None:
        """The same seed gives identical tables; another seed differs."""
        small = {**PEOPLE, "tables": {"users": {**PEOPLE["tables"]["users"], "rows": 300}}}
        a, b = _frames(small), _frames(small)
        assert a["users"].equals(b["users"])
        assert not a["users"].equals(_frames(small, seed=8)["users"])

    def test_adding_a_column_keeps_others(self) -> None:
        """Each column has its own random stream."""
        base = {"tables": {"t": {"rows": 100, "columns": {"a": {"type": "float"}}}}}
        more = {
            "tables": {
                "t": {"rows": 100, "columns": {"z": {"type": "int"}, "a": {"type": "float"}}}
            }
        }
        assert _frames(base)["t"]["a"].equals(_frames(more)["t"]["a"])


class TestLogs:
    @pytest.mark.parametrize("kind", ["sshd", "web", "waf"])
    def test_campaign_ground_truth(self, kind: str) -> None:
        """Campaign lines fall in their window, from their sources, with labels kept."""
        attack = {"sshd": "brute_force", "web": "sqli", "waf": "scanner"}[kind]
        schema = {
            "tables": {
                "log": {
                    "log": kind,
                    "rows": 5000,
                    "start": "2024-01-01",
                    "duration": "1d",
                    "attack_rate": 0.01,
                    "campaigns": [
                        {
                            "attack": attack,
                            "start": "2024-01-01T03:00:00",
                            "duration": "30m",
                            "share": 0.1,
                            "sources": 4,
                            "id": "camp",
                        }
                    ],
                }
            }
        }
        log = _frames(schema)["log"]
        camp = log.filter(pl.col("campaign") == "camp")
        assert camp.height == 500
        assert camp["src_ip"].n_unique() <= 4
        assert (camp["timestamp"].dt.hour() == 3).all()
        assert (camp["label"] == attack).all()
        assert camp["is_attack"].all()
        assert log.filter(pl.col("campaign").is_null() & pl.col("is_attack")).height == 50
        assert log["timestamp"].is_sorted()

    def test_line_formats(self) -> None:
        """sshd, combined-log and WAF JSON lines have their real shapes."""
        import json

        def lines(kind: str) -> pl.DataFrame:
            return _frames({"tables": {"l": {"log": kind, "rows": 300, "attack_rate": 0.2}}})["l"]

        ssh = lines("sshd")
        assert all(
            re.match(r"^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d web-01 sshd\[\d+\]: ", x)
            for x in ssh["line"]
        )
        brute = ssh.filter(pl.col("label") == "brute_force")["line"]
        assert all("Failed password for" in x for x in brute)
        web = lines("web")
        combined = re.compile(
            r'^\d+\.\d+\.\d+\.\d+ - - \[\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000\] "(GET|POST) \S+ HTTP/1\.1" \d{3} \d+ "-" ".*"$'
        )
        assert all(combined.match(x) for x in web["line"])
        waf = lines("waf")
        records = [json.loads(x) for x in waf["line"]]
        assert {"client_ip", "uri", "action", "rule_id", "status"} <= set(records[0])
        blocked = [
            r
            for r, attack in zip(records, waf["is_attack"], strict=True)
            if attack and r["action"] == "block"
        ]
        assert blocked
        assert all(r["status"] == 403 for r in blocked)


class TestSchemaErrors:
    @pytest.mark.parametrize(
        ("schema", "fragment"),
        [
            ({"tables": {}}, "non-empty 'tables'"),
            ({"tables": {"t": {"columns": {"a": {"type": "blob"}}}}}, "unknown type"),
            (
                {"tables": {"t": {"columns": {"a": {"type": "int", "min": 5, "max": 1}}}}},
                "greater than max",
            ),
            (
                {"tables": {"t": {"columns": {"a": {"foreign_key": "u.id"}}}}},
                "names no generated column",
            ),
            ({"tables": {"t": {"columns": {"a": {"regex": "(unclosed"}}}}}, "does not compile"),
            ({"tables": {"t": {"columns": {"a": {"provider": "dragon"}}}}}, "unknown provider"),
            (
                {
                    "tables": {
                        "t": {"columns": {"a": {"type": "float", "distribution": "zipf", "a": 0.5}}}
                    }
                },
                "zipf needs a > 1",
            ),
            (
                {
                    "tables": {
                        "t": {
                            "columns": {"a": {"type": "float"}, "b": {"type": "float"}},
                            "correlations": [["a", "b", 2]],
                        }
                    }
                },
                "rho",
            ),
            ({"tables": {"t": {"log": "ftp"}}}, "unknown log kind"),
        ],
    )
    def test_schema_errors(self, schema: dict[str, Any], fragment: str) -> None:
        """Malformed schemas raise PipelineSchemaError naming the place."""
        with pytest.raises(PipelineSchemaError, match=re.escape(fragment)):
            parse_generator_schema(schema)

    def test_impossible_correlations(self) -> None:
        """Correlations that cannot hold together are reported at generation."""
        cols = {c: {"type": "float", "distribution": "normal"} for c in "abc"}
        schema = parse_generator_schema(
            {
                "tables": {
                    "t": {
                        "rows": 10,
                        "columns": cols,
                        "correlations": [["a", "b", 0.9], ["b", "c", 0.9], ["a", "c", -0.9]],
                    }
                }
            }
        )
        with pytest.raises(PipelineSchemaError, match="not jointly possible"):
            generate_tables(schema)

    def test_fk_cycle(self) -> None:
        """Tables referencing each other in a loop are rejected."""
        schema = {
            "tables": {
                "a": {"columns": {"id": {"type": "int"}, "b": {"foreign_key": "b.id"}}},
                "b": {"columns": {"id": {"type": "int"}, "a": {"foreign_key": "a.id"}}},
            }
        }
        with pytest.raises(PipelineSchemaError, match="cycle"):
            parse_generator_schema(schema)


_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6),
    lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
    max_leaves=12,
)
_column = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(
            ["int", "float", "string", "bool", "date", "timestamp", "category", "x"]
        ),
        "distribution": st.sampled_from(
            ["uniform", "normal", "lognormal", "zipf", "exponential", "poisson", "y"]
        ),
        "min": _values,
        "max": _values,
        "mean": _values,
        "std": _values,
        "a": _values,
        "values": _values,
        "regex": st.sampled_from([r"\d{2}", "[a-c]+", "(x|y)?z", "(", "a{2,1}"]) | _values,
        "null_rate": _values,
        "unique": _values,
        "sequence": _values,
        "start": _values,
        "end": _values,
        "freq": _values,
        "series": _values,
    },
)


class TestFuzz:
    @settings(max_examples=150, deadline=None)
    @given(doc=_values)
    def test_arbitrary_documents(self, doc: object) -> None:
        """Any document is a schema or a PipelineSchemaError."""
        with contextlib.suppress(PipelineSchemaError):
            parse_generator_schema(doc)

    @settings(max_examples=70, deadline=None)
    @given(
        columns=st.dictionaries(st.sampled_from(["a", "b", "c"]), _column, min_size=1, max_size=3),
        rows=st.integers(0, 30),
    )
    def test_structured_columns_generate_or_fail_cleanly(
        self, columns: dict[str, Any], rows: int
    ) -> None:
        """Columns with arbitrary settings either generate the asked rows or raise our error."""
        try:
            schema = parse_generator_schema({"tables": {"t": {"rows": rows, "columns": columns}}})
            table = generate_tables(schema)["t"]
        except PipelineInputError:
            return
        assert table.num_rows == rows

    @settings(max_examples=200, deadline=None)
    @given(pattern=st.text(alphabet="ab01[]{}()|?*+\\d-^.,", max_size=12))
    def test_regex_generator(self, pattern: str) -> None:
        """Generated strings match their pattern, or the pattern is rejected with our error."""
        try:
            gen = RegexGenerator(pattern)
            values = gen.generate(20, np.random.default_rng(0))
        except PipelineSchemaError:
            return
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            compiled = re.compile(pattern)
        assert all(compiled.fullmatch(str(v)) for v in values), pattern
