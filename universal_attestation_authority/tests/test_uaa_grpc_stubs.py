"""The committed gRPC stubs are what scripts/gen_proto.py makes of attestation.proto now."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

pytest.importorskip("grpc_tools", reason="grpcio-tools is in the compare extra")

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "gen_proto.py"


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("uaa_gen_proto", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_stubs_are_current(tmp_path: Path) -> None:
    gen = _script()
    written = gen.generate(tmp_path)
    assert sorted(p.name for p in written) == sorted(gen.GENERATED)
    stale = [
        p.name
        for p in written
        if not (gen.TARGET / p.name).is_file()
        or (gen.TARGET / p.name).read_bytes() != p.read_bytes()
    ]
    assert not stale, f"regenerate with: uv run python {SCRIPT} ({stale} differ)"


def test_architecture_fields_are_kept() -> None:
    from universal_attestation_authority._proto import attestation_pb2 as pb

    def fields(message: object) -> dict[str, tuple[int, int]]:
        descriptor = message.DESCRIPTOR  # type: ignore[attr-defined]
        return {f.name: (f.number, f.type) for f in descriptor.fields}

    request = fields(pb.AttestationRequest)
    response = fields(pb.AttestationResponse)
    from google.protobuf.descriptor import FieldDescriptor as F

    assert request["identity"] == (1, F.TYPE_STRING)
    assert request["public_key"] == (2, F.TYPE_BYTES)
    assert request["validity_seconds"] == (3, F.TYPE_UINT64)
    assert response["attestation"] == (1, F.TYPE_BYTES)
    assert response["error"] == (2, F.TYPE_STRING)
    service = pb.DESCRIPTOR.services_by_name["AttestationAuthority"]
    assert service.full_name == "attestation.AttestationAuthority"
    methods = {m.name: (m.input_type.name, m.output_type.name) for m in service.methods}
    assert methods == {
        "CreateAttestation": ("AttestationRequest", "AttestationResponse"),
        "VerifyAttestation": ("VerificationRequest", "VerificationResponse"),
    }
