"""Cryptography the systems share, exact and fast.

* signatures: :class:`Ed25519SigningKey` (PyNaCl) and :class:`EcdsaP256SigningKey`
  (``cryptography``) behind :class:`SigningKey` / :class:`VerifyKey`
* key files: PEM or raw, private keys written 0600 and refused when readable by others
* :class:`SecretBytes`: key material wiped on close (best effort)
* AES-256-GCM: :func:`aes_gcm_encrypt` / :func:`aes_gcm_decrypt`
* hashing: :func:`sha256`, :func:`blake3_digest` and their file variants
* DSSE: :func:`pae`, :class:`Envelope`, :func:`sign_envelope`, :func:`verify_envelope`
* RFC 9162: :class:`MerkleTree`, :func:`verify_inclusion`, :func:`verify_consistency`
* C2SP: signed notes, :class:`Checkpoint`, witness cosignatures (``cosignature/v1``)
"""

from shared_core.crypto._aead import aes_gcm_decrypt, aes_gcm_encrypt, generate_aes_key
from shared_core.crypto._dsse import (
    DSSE_IN_TOTO_PAYLOAD_TYPE,
    Envelope,
    EnvelopeSignature,
    b64decode_any,
    pae,
    sign_envelope,
    verify_envelope,
)
from shared_core.crypto._hashing import blake3_digest, blake3_file, sha256, sha256_file
from shared_core.crypto._keyfiles import (
    read_private_key,
    read_public_key,
    write_private_key,
    write_public_key,
)
from shared_core.crypto._merkle import (
    EMPTY_ROOT,
    MerkleTree,
    hash_children,
    hash_leaf,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from shared_core.crypto._note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    Checkpoint,
    Note,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    VerifiedNote,
    cosign,
    generate_note_key,
    open_note,
    sign_note,
)
from shared_core.crypto._secret import SecretBytes
from shared_core.crypto._signing import (
    Algorithm,
    EcdsaP256SigningKey,
    EcdsaP256VerifyKey,
    Ed25519SigningKey,
    Ed25519VerifyKey,
    SigningKey,
    VerifyKey,
    generate_signing_key,
    load_private_pem,
    load_public_pem,
)

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "DSSE_IN_TOTO_PAYLOAD_TYPE",
    "EMPTY_ROOT",
    "Algorithm",
    "Checkpoint",
    "EcdsaP256SigningKey",
    "EcdsaP256VerifyKey",
    "Ed25519SigningKey",
    "Ed25519VerifyKey",
    "Envelope",
    "EnvelopeSignature",
    "MerkleTree",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "SecretBytes",
    "SigningKey",
    "VerifiedNote",
    "VerifyKey",
    "aes_gcm_decrypt",
    "aes_gcm_encrypt",
    "b64decode_any",
    "blake3_digest",
    "blake3_file",
    "cosign",
    "generate_aes_key",
    "generate_note_key",
    "generate_signing_key",
    "hash_children",
    "hash_leaf",
    "load_private_pem",
    "load_public_pem",
    "open_note",
    "pae",
    "read_private_key",
    "read_public_key",
    "root_from_inclusion_proof",
    "sha256",
    "sha256_file",
    "sign_envelope",
    "sign_note",
    "verify_consistency",
    "verify_envelope",
    "verify_inclusion",
    "write_private_key",
    "write_public_key",
]
