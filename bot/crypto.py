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


class CryptoError(Exception):
    """The payload is not a well-formed WeCom ciphertext for this app."""


class BadSignature(CryptoError):
    """msg_signature does not match: the request is not from WeCom (or the token is wrong)."""


def signature(token: str, timestamp: str, nonce: str, encrypt: str) -> str:
    return hashlib.sha1("".join(sorted((token, timestamp, nonce, encrypt))).encode()).hexdigest()


class Crypto:
    """One (token, EncodingAESKey, receiveid) triple: the app uses corp_id, the 智能机器人 uses ""."""

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

    def verify(self, msg_signature: str, timestamp: str, nonce: str, encrypt: str) -> None:
        expected = signature(self.token, timestamp, nonce, encrypt)
        # Bytes, not str: compare_digest raises on non-ASCII text, and the query is anyone's.
        if not hmac.compare_digest(expected.encode(), msg_signature.lower().encode()):
            raise BadSignature()

    def decrypt(self, encrypt: str) -> bytes:
        try:
            data = base64.b64decode(encrypt, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CryptoError("ciphertext is not base64") from exc
        if not data or len(data) % 16:
            raise CryptoError("ciphertext length is not a multiple of the AES block")
        dec = self._cipher.decryptor()
        plain = dec.update(data) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= BLOCK or pad > len(plain) or plain[-pad:] != bytes([pad]) * pad:
            raise CryptoError("bad padding")
        content = plain[16:-pad]
        if len(content) < 4:
            raise CryptoError("plaintext too short")
        (size,) = struct.unpack(">I", content[:4])
        if size > len(content) - 4:
            raise CryptoError("length prefix exceeds plaintext")
        if content[4 + size:] != self.receive_id:
            raise CryptoError("receiveid mismatch")
        return content[4:4 + size]

    def encrypt(self, message: bytes, random16: bytes | None = None) -> str:
        body = (random16 or os.urandom(16)) + struct.pack(">I", len(message)) + message + self.receive_id
        pad = BLOCK - len(body) % BLOCK
        body += bytes([pad]) * pad
        enc = self._cipher.encryptor()
        return base64.b64encode(enc.update(body) + enc.finalize()).decode()

    def sign(self, timestamp: str, nonce: str, encrypt: str) -> str:
        return signature(self.token, timestamp, nonce, encrypt)
