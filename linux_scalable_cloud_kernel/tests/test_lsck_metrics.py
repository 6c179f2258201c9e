"""Node metrics: parsers on fixture trees, malformed input, node_exporter names, the endpoint."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import linux_scalable_cloud_kernel as lsck
from linux_scalable_cloud_kernel import (
    KernelToolkitInputError,
    KernelToolkitParseError,
    NodeFiles,
    parse_diskstats,
    parse_file_nr,
    parse_listen_address,
    parse_loadavg,
    parse_meminfo,
    parse_net_dev,
    parse_pressure,
    parse_snmp,
    parse_snmp6,
    parse_sockstat,
    parse_stat,
    rates,
    render_top,
    scrape,
    serve_metrics,
)
from linux_scalable_cloud_kernel.cli import main
from shared_core.testing import run_cli

STAT = """cpu  1000 10 300 5000 20 0 5 1 0 0
cpu0 600 10 200 2500 10 0 3 1 40 2
cpu1 400 0 100 2500 10 0 2 0 0 0
intr 12345 0 0
ctxt 777
btime 1700000000
processes 4242
procs_running 3
procs_blocked 1
"""
MEMINFO = """MemTotal:       16000000 kB
MemFree:         8000000 kB
MemAvailable:   12000000 kB
Active(anon):      10000 kB
HugePages_Total:       0
"""
DISKSTATS = """   8       0 sda 100 5 2000 50 200 10 4000 80 0 120 130 7 1 16 3 2 9
   8       1 sda1 90 5 1800 45 190 10 3900 75 0 110 120 0 0 0 0
   7       0 loop0 1 0 2 0 0 0 0 0 0 0 0
"""
NET_DEV = """Inter-|   Receive                                                |  Transmit
 face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed
    lo: 1000 10 0 0 0 0 0 0 1000 10 0 0 0 0 0 0
  eth0: 5000 50 1 2 0 0 0 3 7000 70 0 1 0 0 0 0
"""
SNMP = """Ip: Forwarding DefaultTTL InReceives
Ip: 1 64 999
Tcp: RtoAlgorithm ActiveOpens CurrEstab InErrs
Tcp: 1 42 5 0
"""
SOCKSTAT = """sockets: used 38
TCP: inuse 11 orphan 0 tw 2 alloc 11 mem 149
UDP: inuse 0 mem 0
"""
PRESSURE_IO = """some avg10=1.50 avg60=0.00 avg300=0.00 total=2500000
full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000
"""


def make_tree(root: Path, **overrides: str | None) -> Path:
    files = {
        "proc/stat": STAT,
        "proc/meminfo": MEMINFO,
        "proc/loadavg": "0.50 0.25 0.10 1/100 4242\n",
        "proc/diskstats": DISKSTATS,
        "proc/net/dev": NET_DEV,
        "proc/net/snmp": SNMP,
        "proc/net/sockstat": SOCKSTAT,
        "proc/net/snmp6": "Ip6InReceives                   \t17\nUdp6InDatagrams 4\nIcmp6OutMsgs 2\n",
        "proc/sys/fs/file-nr": "1810\t0\t2466165\n",
        "proc/sys/net/netfilter/nf_conntrack_count": "12\n",
        "proc/sys/net/netfilter/nf_conntrack_max": "65536\n",
        "proc/pressure/io": PRESSURE_IO,
        "sys/class/hwmon/hwmon0/name": "coretemp\n",
        "sys/class/hwmon/hwmon0/temp1_input": "45500\n",
        "sys/class/thermal/thermal_zone0/temp": "40000\n",
        "sys/class/thermal/thermal_zone0/type": "x86_pkg_temp\n",
    }
    files.update(overrides)
    for relative, text in files.items():
        if text is None:
            continue
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def values(root: Path) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {}
    for name, rows in scrape(NodeFiles(root, clock_ticks=100)).to_json()["families"].items():  # type: ignore[union-attr]
        result[name] = {json.dumps(r["labels"], sort_keys=True): r["value"] for r in rows}
    return result


class TestParsers:
    def test_stat(self) -> None:
        """CPU ticks become seconds per mode; system counters are read."""
        stat = parse_stat(STAT, clock_ticks=100)
        assert stat.cpus[0].seconds["user"] == 6.0
        assert stat.cpus[1].seconds["idle"] == 25.0
        assert stat.cpus[0].guest_seconds == {"user": 0.4, "nice": 0.02}
        assert (stat.context_switches, stat.forks, stat.boot_time) == (777, 4242, 1700000000)
        assert (stat.procs_running, stat.procs_blocked, stat.interrupts) == (3, 1, 12345)

    def test_meminfo_units(self) -> None:
        """kB values become bytes; unitless counts stay counts."""
        info = parse_meminfo(MEMINFO)
        assert info["MemTotal"] == (16000000 * 1024, True)
        assert info["HugePages_Total"] == (0, False)

    def test_diskstats_excludes_partitions_and_converts_units(self) -> None:
        """Partitions and loop devices are skipped; sectors become bytes, ms become s."""
        disks = parse_diskstats(DISKSTATS)
        assert [d.device for d in disks] == ["sda"]
        sda = disks[0]
        assert (sda.read_bytes, sda.written_bytes) == (2000 * 512, 4000 * 512)
        assert (sda.read_seconds, sda.io_weighted_seconds) == (0.05, 0.13)
        assert (sda.discards_completed, sda.flush_requests, sda.flush_seconds) == (7, 2, 0.009)

    def test_net_dev_snmp_sockstat_file_nr_pressure_loadavg(self) -> None:
        """The smaller files parse to the right numbers."""
        eth0 = parse_net_dev(NET_DEV)[1]
        assert (
            eth0.device,
            eth0.receive["bytes"],
            eth0.receive["multicast"],
            eth0.transmit["drop"],
        ) == ("eth0", 5000, 3, 1)
        assert parse_snmp(SNMP)["Tcp_CurrEstab"] == 5
        assert parse_sockstat(SOCKSTAT)["TCP"]["tw"] == 2
        assert parse_file_nr("1810\t0\t2466165\n") == (1810, 2466165)
        io = parse_pressure(PRESSURE_IO, "/proc/pressure/io")
        assert (io.some_seconds, io.full_seconds, io.some_avg10) == (2.5, 1.0, 1.5)
        assert parse_loadavg("0.50 0.25 0.10 1/100 4242\n") == (0.5, 0.25, 0.1)

    @pytest.mark.parametrize(
        ("parser", "text"),
        [
            (parse_stat, "cpu 1 2\n"),
            (parse_stat, "cpu 1 2 3 4 x\nbtime 1\nctxt 1\nprocesses 1\n"),
            (parse_stat, "intr 5\n"),
            (parse_meminfo, "MemTotal: lots\n"),
            (parse_diskstats, "8 0 sda 1 2 3\n"),
            (parse_net_dev, "garbage\n"),
            (
                parse_net_dev,
                NET_DEV.splitlines()[0] + "\n" + NET_DEV.splitlines()[1] + "\n eth0 1 2\n",
            ),
            (parse_snmp, "Ip: A B\n"),
            (parse_snmp, "Ip: A B\nTcp: 1 2\n"),
            (parse_sockstat, "TCP: inuse\n"),
            (parse_file_nr, "1 2\n"),
            (parse_loadavg, "0.1\n"),
        ],
    )
    def test_malformed_files_name_the_file(self, parser: object, text: str) -> None:
        """Malformed and truncated files raise KernelToolkitParseError, never a bare exception."""
        with pytest.raises(KernelToolkitParseError) as info:
            parser(text)  # type: ignore[operator]
        assert info.value.one_line().startswith("cannot parse /proc/")

    @given(st.text(max_size=300))
    @settings(max_examples=150)
    def test_arbitrary_text_only_raises_our_error(self, text: str) -> None:
        """Every parser, on any text, returns data or raises KernelToolkitParseError."""
        for parser in (
            parse_stat,
            parse_meminfo,
            parse_diskstats,
            parse_net_dev,
            parse_snmp,
            parse_snmp6,
            parse_sockstat,
            parse_file_nr,
            parse_loadavg,
        ):
            with contextlib.suppress(KernelToolkitParseError):
                parser(text)
        with contextlib.suppress(KernelToolkitParseError):
            parse_pressure(text, "/proc/pressure/cpu")


class TestScrape:
    def test_node_exporter_names_and_values(self, tmp_path: Path) -> None:
        """A fixture tree gives node_exporter's families with the right values."""
        got = values(make_tree(tmp_path))
        assert got["node_cpu_seconds_total"][json.dumps({"cpu": "0", "mode": "user"})] == 6.0
        assert got["node_memory_MemTotal_bytes"]["{}"] == 16000000 * 1024
        assert got["node_memory_Active_anon_bytes"]["{}"] == 10000 * 1024
        assert got["node_memory_HugePages_Total"]["{}"] == 0
        assert got["node_load1"]["{}"] == 0.5
        assert got["node_disk_read_bytes_total"][json.dumps({"device": "sda"})] == 2000 * 512
        assert got["node_network_receive_drop_total"][json.dumps({"device": "eth0"})] == 2
        assert got["node_netstat_Tcp_CurrEstab"]["{}"] == 5
        assert got["node_netstat_Udp6_InDatagrams"]["{}"] == 4
        assert got["node_netstat_Icmp6_OutMsgs"]["{}"] == 2
        assert "node_netstat_Ip6_InReceives" not in got  # not in node_exporter's default fields
        assert got["node_cpu_guest_seconds_total"][json.dumps({"cpu": "0", "mode": "user"})] == 0.4
        assert "node_netstat_Ip_DefaultTTL" not in got  # filtered like node_exporter's defaults
        assert got["node_sockstat_TCP_mem_bytes"]["{}"] == 149 * 4096
        assert got["node_filefd_maximum"]["{}"] == 2466165
        assert got["node_nf_conntrack_entries_limit"]["{}"] == 65536
        assert got["node_pressure_io_stalled_seconds_total"]["{}"] == 1.0
        assert (
            got["node_hwmon_temp_celsius"][json.dumps({"chip": "coretemp", "sensor": "temp1"})]
            == 45.5
        )
        assert (
            got["node_thermal_zone_temp"][json.dumps({"type": "x86_pkg_temp", "zone": "0"})] == 40.0
        )

    def test_module_counters_become_metrics(self, tmp_path: Path) -> None:
        """With /proc/lsck/rules present, per-rule hits and bytes are exported."""
        root = make_tree(
            tmp_path, **{"proc/lsck/rules": "203.0.113.7 hits 4 bytes 336 expires never\n"}
        )
        got = values(root)
        assert got["lsck_rule_hits_total"][json.dumps({"rule": "203.0.113.7"})] == 4
        assert got["lsck_rule_bytes_total"][json.dumps({"rule": "203.0.113.7"})] == 336

    def test_missing_sources_are_listed_not_fatal(self, tmp_path: Path) -> None:
        """A kernel without PSI or conntrack still scrapes; the gaps are reported."""
        root = make_tree(
            tmp_path,
            **{
                "proc/pressure/io": None,
                "proc/sys/net/netfilter/nf_conntrack_count": None,
            },
        )
        result = scrape(NodeFiles(root))
        assert set(result.families_missing) == {"pressure", "conntrack"}
        assert any(s.name == "node_load1" for s in result.samples)

    def test_rates_between_scrapes(self, tmp_path: Path) -> None:
        """Counters become per-second rates; a counter that went backwards gives none."""
        root = make_tree(tmp_path)
        files = NodeFiles(root, clock_ticks=100)
        before = scrape(files)
        (root / "proc/net/dev").write_text(NET_DEV.replace("eth0: 5000", "eth0: 9000"))
        (root / "proc/stat").write_text(STAT.replace("ctxt 777", "ctxt 700"))
        after = scrape(files)
        after.taken_at = before.taken_at + 2.0
        result = rates(before, after)
        assert result[("node_network_receive_bytes_total", (("device", "eth0"),))] == 2000.0
        assert ("node_context_switches_total", ()) not in result
        screen = render_top(after, result)
        assert "rx" in screen
        assert "cpu busy" in screen

    @pytest.mark.skipif(not Path("/proc/stat").exists(), reason="needs a Linux /proc")
    def test_real_proc_of_this_machine(self) -> None:
        """This machine's own /proc and /sys scrape without error and look sane."""
        result = scrape()
        families = result.families()
        assert families["node_memory_MemTotal_bytes"][0].value > 0
        assert len({dict(s.labels)["cpu"] for s in families["node_cpu_seconds_total"]}) >= 1
        assert any(
            dict(s.labels)["device"] == "lo" for s in families["node_network_receive_bytes_total"]
        )


class TestServingAndCli:
    def test_metrics_endpoint_on_loopback(self, tmp_path: Path) -> None:
        """GET /metrics returns the exposition, scraped afresh per request."""
        root = make_tree(tmp_path)
        server, _thread = serve_metrics("127.0.0.1", 0, NodeFiles(root))
        try:
            url = f"http://127.0.0.1:{server.server_port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as resp:
                first = resp.read().decode()
            (root / "proc/loadavg").write_text("3.00 0.25 0.10 1/100 4242\n")
            with urllib.request.urlopen(url, timeout=10) as resp:
                second = resp.read().decode()
        finally:
            server.shutdown()
            server.server_close()
        assert "node_load1 0.5" in first
        assert "node_load1 3.0" in second
        assert "# TYPE node_cpu_seconds_total counter" in first

    def test_listen_address_parsing(self) -> None:
        """':9100' means loopback; junk is a one-line input error."""
        assert parse_listen_address(":9100") == ("127.0.0.1", 9100)
        assert parse_listen_address("127.0.0.2:9100") == ("127.0.0.2", 9100)
        with pytest.raises(KernelToolkitInputError):
            parse_listen_address("nine-thousand")

    def test_cli_json_dump_on_fixture_root(self, tmp_path: Path) -> None:
        """`lsck --root DIR --json metrics` dumps the fixture's values."""
        root = make_tree(tmp_path)
        result = run_cli(main, ["--root", str(root), "--json", "metrics"])
        assert result.code == 0, result.err
        data = json.loads(result.out)
        assert data["families"]["node_load5"] == [{"labels": {}, "value": 0.25}]

    def test_cli_malformed_proc_is_exit_2_one_line(self, tmp_path: Path) -> None:
        """A truncated /proc file is one line on stderr naming it, exit 2."""
        root = make_tree(tmp_path, **{"proc/meminfo": "MemTotal: twelve kB\n"})
        result = run_cli(main, ["--root", str(root), "metrics"])
        assert result.code == 2
        assert result.err.count("\n") == 1
        assert "/proc/meminfo" in result.err

    def test_prometheus_text_output(self, tmp_path: Path) -> None:
        """Without --json, metrics prints the Prometheus text format."""
        result = run_cli(main, ["--root", str(make_tree(tmp_path)), "metrics"])
        assert 'node_network_receive_bytes_total{device="eth0"} 5000.0' in result.out

    def test_top_once(self, tmp_path: Path) -> None:
        """`lsck top --count 1` prints one screen and exits."""
        result = run_cli(
            main, ["--root", str(make_tree(tmp_path)), "top", "--interval", "0.05", "--count", "1"]
        )
        assert result.code == 0, result.err
        assert result.out.startswith("cpu busy")


def test_public_api_is_complete() -> None:
    """Every name in __all__ exists, and every public name of the private modules is exported."""
    import importlib

    for name in lsck.__all__:
        assert hasattr(lsck, name), name
    for private in ("_procfs", "_node_metrics", "_serve", "_top"):
        module = importlib.import_module(f"linux_scalable_cloud_kernel.{private}")
        assert set(module.__all__) <= set(lsck.__all__), private


def test_example_scrapes_its_fixture() -> None:
    """The shipped example reads its own fixture tree."""
    import runpy

    example = Path(__file__).parent.parent / "examples" / "scrape_fixture.py"
    assert runpy.run_path(str(example))["main"]() == {
        "node_load1": 0.42,
        "node_memory_MemTotal_bytes": 2048 * 1024,
    }
