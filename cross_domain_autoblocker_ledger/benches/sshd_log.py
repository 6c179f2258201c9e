"""A deterministic synthetic sshd auth log, shaped like a busy internet-facing host.

Most lines are attacks (failed passwords, invalid users, preauth disconnects)
from a pool of sources, the rest are normal traffic (accepted keys, sessions,
cron), interleaved by time.  The same seed gives the same file.
"""

from __future__ import annotations

import random
from pathlib import Path

_TEMPLATES_ATTACK = (
    "sshd[{pid}]: Failed password for invalid user {user} from {ip} port {port} ssh2",
    "sshd[{pid}]: Failed password for root from {ip} port {port} ssh2",
    "sshd[{pid}]: Invalid user {user} from {ip} port {port}",
    "sshd[{pid}]: Connection closed by invalid user {user} {ip} port {port} [preauth]",
    "sshd[{pid}]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user=root",
    "sshd[{pid}]: error: maximum authentication attempts exceeded for root from {ip} port {port} ssh2 [preauth]",
    "sshd[{pid}]: Received disconnect from {ip} port {port}:11: Bye Bye [preauth]",
)
_TEMPLATES_NORMAL = (
    "sshd[{pid}]: Accepted publickey for deploy from {ip} port {port} ssh2: ED25519 SHA256:abcdef",
    "sshd[{pid}]: pam_unix(sshd:session): session opened for user deploy(uid=1000) by (uid=0)",
    "CRON[{pid}]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)",
    "systemd-logind[412]: New session {pid} of user deploy.",
)
_USERS = ("admin", "test", "oracle", "ubuntu", "postgres", "git", "user", "guest", "pi", "ftp")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def generate(path: Path, lines: int, seed: int = 7) -> Path:
    rng = random.Random(seed)
    attackers = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(2000)
    ]
    attackers += [
        f"2001:db8:{rng.randint(0, 65535):x}::{rng.randint(1, 65535):x}" for _ in range(200)
    ]
    bursts = [
        f"198.51.100.{i}" for i in range(1, 60)
    ]  # brute forcers: bursts the scenarios must catch
    friends = [f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}" for _ in range(20)]
    second = 0
    pid = 1000
    out = []
    while len(out) < lines:
        second += rng.random() < 0.3
        day, rest = divmod(second, 86400)
        stamp = f"{_MONTHS[(day // 28) % 12]} {day % 28 + 1:2d} {rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
        pid += rng.randint(1, 3)  # each line its own sshd process, as on a real host
        if rng.random() < 0.002:
            ip = rng.choice(bursts)
            for _ in range(min(8, lines - len(out))):
                pid += 1
                out.append(
                    f"{stamp} bastion sshd[{pid}]: Failed password for root from {ip} port {rng.randint(1024, 65535)} ssh2"
                )
            continue
        if rng.random() < 0.85:
            text = rng.choice(_TEMPLATES_ATTACK).format(
                pid=pid,
                user=rng.choice(_USERS),
                ip=rng.choice(attackers),
                port=rng.randint(1024, 65535),
            )
        else:
            text = rng.choice(_TEMPLATES_NORMAL).format(
                pid=pid, ip=rng.choice(friends), port=rng.randint(1024, 65535)
            )
        out.append(f"{stamp} bastion {text}")
    path.write_text("\n".join(out) + "\n")
    return path
