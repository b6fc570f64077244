"""WeCom callback crypto (docs/wecom.md §1): SHA-1 signature and AES-256-CBC with 32-byte PKCS#7.

Decryption is strict on purpose: wechatpy trusts the pad byte and the length prefix, so a tampered
body decrypts to garbage instead of failing. Here every field is range-checked before it is used.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32
_PADS = [bytes([n]) * n for n in range(BLOCK + 1)]


class CryptoError(Exception):
    """The payload is not a well-formed WeCom ciphertext for this app."""


class BadSignature(CryptoError):
    """msg_signature does not match: the request is not from WeCom (or the token is wrong)."""


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypt))).encode()).hexdigest()


class Crypto:
    """One (token, EncodingAESKey, receiveid) triple: the app uses corp_id, the 智能机器人 uses "".

    decrypt() reuses one cipher context, so an instance belongs to one thread (the event loop's)."""

    def __init__(self, token: str, encoding_aes_key: str, receive_id: str) -> None:
        try:
            key = base64.b64decode(encoding_aes_key + "=", validate=True)
        except binascii.Error as exc:
            raise ValueError("encoding_aes_key is not valid base64") from exc
        if len(key) != 32:
            raise ValueError("encoding_aes_key must be 43 characters (32 bytes)")
        self.token = token
        self.receive_id = receive_id.encode()
        self._cipher = Cipher(algorithms.AES(key), modes.CBC(key[:16]))
        self._iv = key[:16]
        self._cbc = self._cipher.decryptor()  # see decrypt

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        # Bytes, not str: compare_digest raises on non-ASCII text, and the query is anyone's.
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise BadSignature()

    def decrypt(self, encrypt: str) -> bytes:
        try:
            # strict_mode accepts exactly what b64decode(validate=True) does, without its wrapper.
            data = binascii.a2b_base64(encrypt, strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("ciphertext is not base64") from exc
        n = len(data)
        if not n or n % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        # One CBC context serves every call (a new one per callback cost more than the AES itself).
        # A CBC decryptor chains from the last ciphertext block it was given, so a first block equal
        # to the IV (its own output, garbage, dropped) puts it back at the IV whatever came before;
        # block-aligned input leaves nothing buffered (the context pads nothing, finalize is never due).
        plain = self._cbc.update(self._iv + data)[16:]
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or pad > n or plain[-pad:] != _PADS[pad]:
            raise CryptoError("bad padding")
        end = n - pad  # the content is plain[16:end]: random(16) | length(4) | message | receiveid
        if end - 16 < 4:
            raise CryptoError("plaintext too short")
        size = int.from_bytes(plain[16:20], "big")
        if size > end - 20:
            raise CryptoError("length prefix exceeds plaintext")
        if plain[20 + size:end] != self.receive_id:
            raise CryptoError("receiveid mismatch")
        return plain[20:20 + size]

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + self.receive_id
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        enc = self._cipher.encryptor()
        return base64.b64encode(enc.update(body) + enc.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)
