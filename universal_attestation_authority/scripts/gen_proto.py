"""Regenerate the committed gRPC stubs from ``shared_core/proto/attestation.proto``.

Run from anywhere in the workspace (needs the ``compare`` extra: grpcio-tools, mypy-protobuf)::

    uv run python universal_attestation_authority/scripts/gen_proto.py

It writes ``attestation_pb2.py``/``.pyi`` and ``attestation_pb2_grpc.py``/``.pyi`` into
``src/universal_attestation_authority/_proto/``; ``tests/test_uaa_grpc.py`` regenerates
into a temporary directory and fails if the committed files differ.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROTO_DIR = HERE.parent.parent / "shared_core" / "proto"
PROTO = PROTO_DIR / "attestation.proto"
TARGET = HERE.parent / "src" / "universal_attestation_authority" / "_proto"
GENERATED = (
    "attestation_pb2.py",
    "attestation_pb2.pyi",
    "attestation_pb2_grpc.py",
    "attestation_pb2_grpc.pyi",
)
_ABSOLUTE_IMPORT = re.compile(r"^import attestation_pb2 as (\w+)$", re.MULTILINE)


def generate(out: Path) -> list[Path]:
    """Generate the stubs into ``out``; returns the written files."""
    from grpc_tools import protoc

    plugin = shutil.which("protoc-gen-mypy") or str(Path(sys.executable).parent / "protoc-gen-mypy")
    plugin_grpc = shutil.which("protoc-gen-mypy_grpc") or str(
        Path(sys.executable).parent / "protoc-gen-mypy_grpc"
    )
    out.mkdir(parents=True, exist_ok=True)
    args = [
        "grpc_tools.protoc",
        f"--proto_path={PROTO_DIR}",
        f"--plugin=protoc-gen-mypy={plugin}",
        f"--plugin=protoc-gen-mypy_grpc={plugin_grpc}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        str(PROTO),
    ]
    if protoc.main(args) != 0:
        raise RuntimeError(f"protoc failed on {PROTO}")
    written = []
    for name in GENERATED:
        path = out / name
        # protoc writes a top-level import; the stubs live in a package.
        text = _ABSOLUTE_IMPORT.sub(r"from . import attestation_pb2 as \1", path.read_text())
        text = text.replace("\nimport attestation_pb2\n", "\nfrom . import attestation_pb2\n")
        path.write_text(text)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in generate(Path(sys.argv[1]) if len(sys.argv) > 1 else TARGET):
        print(path)
