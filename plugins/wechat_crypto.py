"""WeChat Official Account signatures and safe mode ("安全模式") message encryption.

As WeChat documents them: a signature is the SHA-1 hex digest of its parts sorted as strings and
concatenated; safe mode encrypts with AES-256-CBC, the key being the EncodingAESKey
base64-decoded (with the "=" it leaves off) and the IV the key's first 16 bytes. The plaintext is
16 random bytes, the message length as 4 big-endian bytes, the message and the AppID, padded
PKCS#7-style to a multiple of 32 bytes (WeChat's block size, not AES's 16).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
RANDOM_PREFIX = 16


class CryptoError(ValueError):
    """A safe-mode message that cannot be ours: bad key, bad padding, or another AppID."""


def signature(*parts: str) -> str:
    """SHA-1 hex of the parts sorted and joined: `signature` is over (token, timestamp, nonce),
    `msg_signature` over the same and the `Encrypt` text."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def signature_matches(given: str, *parts: str) -> bool:
    """Whether `given` is the signature of `parts`, compared in constant time."""
    return hmac.compare_digest(given.lower().encode(), signature(*parts).encode())


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte AES key an EncodingAESKey (43 base64 characters) stands for."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except binascii.Error as exc:
        raise CryptoError(f"EncodingAESKey is not base64: {exc}") from exc
    if len(key) != 32:
        raise CryptoError(f"EncodingAESKey decodes to {len(key)} bytes, not 32 "
                          "(it must be 43 characters)")
    return key


def _pad(data: bytes) -> bytes:
    amount = PAD_BLOCK - len(data) % PAD_BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    amount = data[-1] if data else 0
    if not 1 <= amount <= PAD_BLOCK or amount > len(data):
        raise CryptoError("bad padding: wrong EncodingAESKey or a damaged message")
    return data[:-amount]


def encrypt(key: bytes, app_id: str, message: bytes, prefix: bytes | None = None) -> str:
    """`message` encrypted for `app_id`, base64 (the `Encrypt` element's text). `prefix`, the
    16 random bytes, is only ever given by tests that need a fixed output."""
    prefix = os.urandom(RANDOM_PREFIX) if prefix is None else prefix
    if len(prefix) != RANDOM_PREFIX:
        raise CryptoError(f"the random prefix must be {RANDOM_PREFIX} bytes")
    plain = prefix + struct.pack(">I", len(message)) + message + app_id.encode()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode()


def decrypt(key: bytes, app_id: str, encrypted: str) -> bytes:
    """The message inside an `Encrypt` text; CryptoError unless it was encrypted for `app_id`
    with `key`."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except binascii.Error as exc:
        raise CryptoError(f"Encrypt is not base64: {exc}") from exc
    if not raw or len(raw) % 16:
        raise CryptoError("Encrypt is not a whole number of AES blocks")
    decryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    plain = _unpad(decryptor.update(raw) + decryptor.finalize())
    if len(plain) < RANDOM_PREFIX + 4:
        raise CryptoError("decrypted message is too short")
    (length,) = struct.unpack(">I", plain[RANDOM_PREFIX:RANDOM_PREFIX + 4])
    start = RANDOM_PREFIX + 4
    message, sender = plain[start:start + length], plain[start + length:]
    if len(message) != length:
        raise CryptoError("decrypted message is shorter than its stated length")
    if not hmac.compare_digest(sender, app_id.encode()):
        raise CryptoError("message was encrypted for another AppID")
    return message
