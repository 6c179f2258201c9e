"""Log lines with attacks mixed in at known times, and the ground truth kept.

Three formats are generated: OpenSSH's ``sshd`` syslog lines, web access logs
in the Apache/Nginx *combined* format, and WAF events as JSON lines (fields
modelled on ModSecurity/CRS audit records).  Benign traffic follows a daily
rhythm; attack *campaigns* (brute force, password spray, SQL injection, path
traversal, scanning, credential stuffing) run in configured windows from a
configured number of source addresses, and a background ``attack_rate``
scatters lone attacks across the whole period.  Every line carries its true
``label``, ``campaign`` and ``is_attack``, so a detector's output can be
scored exactly.  The WAF's own verdict (``action``) is deliberately imperfect:
some attacks pass and a few benign requests are blocked, as in real life.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa  # type: ignore[import-untyped]  # no stubs shipped

from synthetic_pipeline_engine._personal import ipv4_strings, pool, public_ipv4

__all__ = ["ATTACKS", "LOG_SCHEMA", "generate_log"]

ATTACKS: dict[str, tuple[str, ...]] = {
    "sshd": ("brute_force", "password_spray"),
    "web": ("sqli", "path_traversal", "scanner", "credential_stuffing"),
    "waf": ("sqli", "path_traversal", "scanner", "credential_stuffing"),
}
LOG_SCHEMA = {
    "timestamp": "timestamp",
    "source": "string",
    "host": "string",
    "src_ip": "string",
    "line": "string",
    "label": "string",
    "campaign": "string",
    "is_attack": "bool",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ATTACK_USERS = [
    "root",
    "admin",
    "test",
    "oracle",
    "ubuntu",
    "pi",
    "postgres",
    "user",
    "guest",
    "ftp",
    "git",
    "deploy",
]
_PAGES = [
    "/",
    "/index.html",
    "/products",
    "/products/42",
    "/cart",
    "/checkout",
    "/about",
    "/contact",
    "/static/app.js",
    "/static/site.css",
    "/images/logo.png",
    "/api/v1/items",
    "/api/v1/items/7",
    "/search?q=shoes",
    "/blog",
    "/blog/launch",
    "/login",
    "/account",
    "/favicon.ico",
    "/robots.txt",
]
_SQLI = [
    "/products?id=1%27%20OR%20%271%27=%271",
    "/search?q=%27%20UNION%20SELECT%20username,password%20FROM%20users--",
    "/items?id=1;DROP%20TABLE%20users",
    "/products?id=1%20AND%20SLEEP(5)",
    "/login?user=admin%27--",
]
_TRAVERSAL = [
    "/static/../../../../etc/passwd",
    "/download?file=../../../../etc/shadow",
    "/images/..%2f..%2f..%2fetc%2fpasswd",
    "/view?page=....//....//etc/hosts",
]
_SCANNER = [
    "/wp-login.php",
    "/.env",
    "/phpmyadmin/",
    "/.git/config",
    "/admin/config.php",
    "/cgi-bin/luci",
    "/server-status",
    "/actuator/env",
    "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php",
    "/HNAP1/",
]
_ATTACK_UA = [
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "python-requests/2.31.0",
    "Mozilla/5.00 (Nikto/2.5.0)",
    "curl/8.4.0",
    "Go-http-client/1.1",
    "masscan/1.3",
]
_RULES = {"sqli": 942100, "path_traversal": 930100, "scanner": 913100, "credential_stuffing": 1010}


def _rng(seed: int, table: str, part: str) -> np.random.Generator:
    return np.random.default_rng(
        [seed & 0xFFFFFFFF, zlib.crc32(table.encode()), zlib.crc32(part.encode())]
    )


def _micros(moment: datetime) -> int:
    return int((moment - _EPOCH).total_seconds() * 1_000_000)


def _diurnal_times(n: int, start: int, end: int, rng: np.random.Generator) -> np.ndarray:
    """Times with a daily rhythm: quiet at night, busiest mid-afternoon (UTC)."""
    out = np.empty(0, dtype=np.int64)
    while len(out) < n:
        draw = rng.integers(start, end, size=max(2 * (n - len(out)), 16))
        hour = (draw // 3_600_000_000) % 24
        intensity = 1.0 + 0.7 * np.sin(2 * np.pi * (hour - 9) / 24)
        keep = rng.random(len(draw)) * 1.7 < intensity
        out = np.concatenate([out, draw[keep]])
    return out[:n]


def _choose(values: list[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(values, dtype=pl.Utf8).gather(idx)


def generate_log(spec: Mapping[str, Any], rows: int, seed: int, table: str) -> pa.Table:
    """Generate ``rows`` log lines of ``spec['kind']`` with labelled attacks."""
    kind = str(spec["kind"])
    rng = _rng(seed, table, "log")
    start, end = _micros(spec["start"]), _micros(spec["end"])
    parts_ts: list[np.ndarray] = []
    parts_label: list[np.ndarray] = []
    parts_campaign: list[np.ndarray] = []
    parts_ip: list[np.ndarray] = []
    used = 0
    for campaign in spec["campaigns"]:
        count = min(round(campaign["share"] * rows), rows - used)
        c_start = max(_micros(campaign["start"]), start)
        c_end = min(_micros(campaign["end"]), end)
        if count <= 0 or c_end <= c_start:
            continue
        crng = _rng(seed, table, f"campaign/{campaign['id']}")
        sources = public_ipv4(int(campaign["sources"]), crng)
        parts_ts.append(crng.integers(c_start, c_end, size=count))
        parts_label.append(np.full(count, campaign["attack"], dtype=object))
        parts_campaign.append(np.full(count, str(campaign["id"]), dtype=object))
        parts_ip.append(sources[crng.integers(0, len(sources), size=count)])
        used += count
    background = min(round(spec["attack_rate"] * rows), rows - used)
    if background > 0:
        parts_ts.append(rng.integers(start, end, size=background))
        parts_label.append(
            np.asarray(ATTACKS[kind], dtype=object)[
                rng.integers(0, len(ATTACKS[kind]), size=background)
            ]
        )
        parts_campaign.append(np.full(background, None, dtype=object))
        parts_ip.append(public_ipv4(background, rng))
        used += background
    benign = rows - used
    internal = kind == "sshd"
    client_pool = (
        (np.uint32(10 << 24) + rng.integers(0, 1 << 16, size=400).astype(np.uint32))
        if internal
        else public_ipv4(5000, rng)
    )
    parts_ts.append(_diurnal_times(benign, start, end, rng))
    parts_label.append(np.full(benign, "benign", dtype=object))
    parts_campaign.append(np.full(benign, None, dtype=object))
    parts_ip.append(client_pool[rng.integers(0, len(client_pool), size=benign)])
    ts = np.concatenate(parts_ts) if parts_ts else np.empty(0, np.int64)
    order = np.argsort(ts, kind="stable")
    frame = pl.DataFrame(
        {
            "timestamp": pl.Series(ts[order]).cast(pl.Datetime("us")),
            "label": pl.Series(np.concatenate(parts_label)[order].tolist(), dtype=pl.Utf8),
            "campaign": pl.Series(np.concatenate(parts_campaign)[order].tolist(), dtype=pl.Utf8),
            "src_ip": ipv4_strings(np.concatenate(parts_ip)[order]),
        }
    )
    frame = frame.with_columns(
        is_attack=pl.col("label") != "benign", source=pl.lit(kind), host=pl.lit(str(spec["host"]))
    )
    line = {"sshd": _sshd, "web": _web, "waf": _waf}[kind](frame, rng)
    frame = frame.with_columns(line=line)
    return frame.select(list(LOG_SCHEMA)).to_arrow()


def _sshd(frame: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    n = frame.height
    staff = sorted(
        {
            name.lower()
            for name in pool("first_name_female")[:60] + pool("first_name_male")[:60]
            if name.isalpha()
        }
    )
    user = _choose(staff, rng.integers(0, len(staff), size=n))
    bad_user = _choose(_ATTACK_USERS, rng.integers(0, len(_ATTACK_USERS), size=n))
    port = pl.Series(rng.integers(1024, 65535, size=n)).cast(pl.Utf8)
    pid = pl.Series(rng.integers(1000, 99999, size=n)).cast(pl.Utf8)
    roll = pl.Series(rng.random(n))
    method = _choose(["password", "publickey"], rng.integers(0, 2, size=n))
    df = frame.with_columns(user=user, bad=bad_user, port=port, pid=pid, roll=roll, method=method)
    tail = pl.concat_str(
        [pl.lit(" from "), pl.col("src_ip"), pl.lit(" port "), pl.col("port"), pl.lit(" ssh2")]
    )
    message = (
        pl.when(pl.col("label") == "brute_force")
        .then(
            pl.when(pl.col("bad") == "root")
            .then(pl.concat_str([pl.lit("Failed password for root"), tail]))
            .otherwise(
                pl.concat_str([pl.lit("Failed password for invalid user "), pl.col("bad"), tail])
            )
        )
        .when(pl.col("label") == "password_spray")
        .then(pl.concat_str([pl.lit("Failed password for "), pl.col("user"), tail]))
        .when(pl.col("roll") < 0.80)
        .then(
            pl.concat_str(
                [pl.lit("Accepted "), pl.col("method"), pl.lit(" for "), pl.col("user"), tail]
            )
        )
        .when(pl.col("roll") < 0.95)
        .then(pl.concat_str([pl.lit("Failed password for "), pl.col("user"), tail]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("Disconnected from user "),
                    pl.col("user"),
                    pl.lit(" "),
                    pl.col("src_ip"),
                    pl.lit(" port "),
                    pl.col("port"),
                ]
            )
        )
    )
    stamp = pl.col("timestamp").dt.strftime("%b %e %H:%M:%S")
    return df.select(
        pl.concat_str(
            [
                stamp,
                pl.lit(" "),
                pl.col("host"),
                pl.lit(" sshd["),
                pl.col("pid"),
                pl.lit("]: "),
                message,
            ]
        ).alias("line")
    ).to_series()


def _requests(frame: pl.DataFrame, rng: np.random.Generator) -> pl.DataFrame:
    """Method, path, status, size and user agent per row, by label."""
    n = frame.height
    weights = np.arange(1, len(_PAGES) + 1, dtype=np.float64) ** -1.1
    page = _choose(
        _PAGES,
        np.searchsorted(np.cumsum(weights) / weights.sum(), rng.random(n)).clip(0, len(_PAGES) - 1),
    )
    uas = list(pool("user_agent")[:200])
    ua = _choose(uas, rng.integers(0, len(uas), size=n))
    bad_ua = _choose(_ATTACK_UA, rng.integers(0, len(_ATTACK_UA), size=n))
    roll = pl.Series(rng.random(n))
    df = frame.with_columns(
        page=page,
        ua=ua,
        bad_ua=bad_ua,
        roll=roll,
        sqli=_choose(_SQLI, rng.integers(0, len(_SQLI), size=n)),
        trav=_choose(_TRAVERSAL, rng.integers(0, len(_TRAVERSAL), size=n)),
        scan=_choose(_SCANNER, rng.integers(0, len(_SCANNER), size=n)),
        size=pl.Series(np.rint(rng.lognormal(8.5, 1.0, size=n)).astype(np.int64)),
    )
    label = pl.col("label")
    return df.with_columns(
        method=pl.when(label == "credential_stuffing")
        .then(pl.lit("POST"))
        .when((label == "benign") & (pl.col("page") == "/login") & (pl.col("roll") < 0.5))
        .then(pl.lit("POST"))
        .otherwise(pl.lit("GET")),
        path=pl.when(label == "sqli")
        .then(pl.col("sqli"))
        .when(label == "path_traversal")
        .then(pl.col("trav"))
        .when(label == "scanner")
        .then(pl.col("scan"))
        .when(label == "credential_stuffing")
        .then(pl.lit("/login"))
        .otherwise(pl.col("page")),
        status=pl.when(label == "sqli")
        .then(pl.when(pl.col("roll") < 0.3).then(pl.lit(500)).otherwise(pl.lit(200)))
        .when(label == "path_traversal")
        .then(pl.lit(400))
        .when(label == "scanner")
        .then(pl.lit(404))
        .when(label == "credential_stuffing")
        .then(pl.when(pl.col("roll") < 0.02).then(pl.lit(302)).otherwise(pl.lit(401)))
        .when(pl.col("roll") < 0.90)
        .then(pl.lit(200))
        .when(pl.col("roll") < 0.96)
        .then(pl.lit(304))
        .otherwise(pl.lit(404)),
        agent=pl.when(label == "benign")
        .then(pl.col("ua"))
        .when(label == "credential_stuffing")
        .then(pl.col("ua"))
        .otherwise(pl.col("bad_ua")),
    )


def _web(frame: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    df = _requests(frame, rng)
    stamp = pl.col("timestamp").dt.strftime("%d/%b/%Y:%H:%M:%S +0000")
    size = (
        pl.when(pl.col("status") == 304).then(pl.lit("0")).otherwise(pl.col("size").cast(pl.Utf8))
    )
    return df.select(
        pl.concat_str(
            [
                pl.col("src_ip"),
                pl.lit(" - - ["),
                stamp,
                pl.lit('] "'),
                pl.col("method"),
                pl.lit(" "),
                pl.col("path"),
                pl.lit(' HTTP/1.1" '),
                pl.col("status").cast(pl.Utf8),
                pl.lit(" "),
                size,
                pl.lit(' "-" "'),
                pl.col("agent"),
                pl.lit('"'),
            ]
        ).alias("line")
    ).to_series()


def _waf(frame: pl.DataFrame, rng: np.random.Generator) -> pl.Series:
    df = _requests(frame, rng)
    n = frame.height
    detect = pl.Series(rng.random(n))
    label = pl.col("label")
    caught = (label != "benign") & (pl.col("detect") < 0.9)
    false_positive = (label == "benign") & (pl.col("detect") < 0.002)
    rule = (
        pl.when(caught)
        .then(label.replace_strict(_RULES, default=949110, return_dtype=pl.Int64))
        .when(false_positive)
        .then(pl.lit(920350, dtype=pl.Int64))
        .otherwise(pl.lit(None, dtype=pl.Int64))
    )
    df = df.with_columns(detect=detect)
    record = pl.struct(
        timestamp=pl.col("timestamp").dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"),
        client_ip=pl.col("src_ip"),
        host=pl.col("host"),
        method=pl.col("method"),
        uri=pl.col("path"),
        status=pl.when(caught | false_positive).then(pl.lit(403)).otherwise(pl.col("status")),
        action=pl.when(caught | false_positive).then(pl.lit("block")).otherwise(pl.lit("allow")),
        rule_id=rule,
        user_agent=pl.col("agent"),
    )
    return df.select(record.struct.json_encode().alias("line")).to_series()
