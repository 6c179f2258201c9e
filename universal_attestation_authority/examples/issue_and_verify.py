"""Issue an attestation about a file, then verify it against a policy, with the library.

Run: ``python examples/issue_and_verify.py`` (works in a temporary directory).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from universal_attestation_authority import Authority, Policy, Statement, digest_file, verify_bundle

workdir = Path(globals().get("WORKDIR") or tempfile.mkdtemp(prefix="uaa-example-"))
workdir.mkdir(parents=True, exist_ok=True)
artifact = workdir / "app-1.0.tar.gz"
artifact.write_bytes(b"release tarball")

with Authority.init(workdir / "authority", "attest.example.com/log") as authority:
    statement = Statement.build(
        [digest_file(artifact)],
        "https://slsa.dev/provenance/v1",
        {"buildDefinition": {"buildType": "https://example.com/make/v1"}},
    )
    issued = authority.issue(statement)
    authority.publish()  # sign a checkpoint covering it
    bundle = authority.bundle(issued.id)  # envelope + entry + inclusion proof + checkpoint
    (workdir / "keys.json").write_text(authority.keyring.to_json())
    policy = Policy.loads(
        f"""
keyring = "keys.json"
[[rules]]
name = "releases"
predicate_types = ["https://slsa.dev/provenance/v1"]
subjects = ["*.tar.gz"]
keys = ["attestation-1"]
[log]
verifier_keys = ["{authority.log_verifier.encode()}"]
""",
        base_dir=workdir,
    )
    verdict = verify_bundle(bundle, policy)
    print(
        f"attestation {issued.id[:16]}... at log index {issued.log_index}: ok={verdict.ok}, rule={verdict.rule}"
    )
    assert verdict.ok
