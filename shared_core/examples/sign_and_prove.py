"""Sign an in-toto statement, log it in a Merkle tree and prove it is there.

uv run python shared_core/examples/sign_and_prove.py
"""

import json

from shared_core.crypto import (
    Ed25519SigningKey,
    MerkleTree,
    hash_leaf,
    sign_envelope,
    verify_envelope,
    verify_inclusion,
)


def main() -> dict[str, object]:
    key = Ed25519SigningKey.generate()
    statement = json.dumps({"_type": "https://in-toto.io/Statement/v1", "subject": []}).encode()
    envelope = sign_envelope(statement, "application/vnd.in-toto+json", [key])
    verify_envelope(envelope, {key.verify_key.key_id: key.verify_key})

    log = MerkleTree(b"earlier entry %d" % i for i in range(10))
    index = log.append(envelope.to_json().encode())
    proof = log.inclusion_proof(index)
    verify_inclusion(hash_leaf(envelope.to_json().encode()), index, log.size, proof, log.root())
    return {"index": index, "tree_size": log.size, "proof_length": len(proof)}


if __name__ == "__main__":
    print(main())
