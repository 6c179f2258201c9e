"""Generated gRPC stubs of ``shared_core/proto/attestation.proto`` (``attestation`` package).

Do not edit: regenerate with ``uv run python universal_attestation_authority/scripts/gen_proto.py``.
"""
