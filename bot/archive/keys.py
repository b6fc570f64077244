"""The archive's RSA private keys by `publickey_ver`: from PEM files or the environment.

Every key the console ever had must stay configured while messages wrapped for it may still be
pulled; an item for a version with no key stops the reader at that item (nothing is skipped).
"""
from __future__ import annotations

import os
import re
from pathlib import Path

from bot.config import Config, ConfigError

ENV_KEY = re.compile(r"^QUNBOT_ARCHIVE_KEY_(\d+)$")


def load_private_keys(cfg: Config, environ: dict[str, str] | None = None, *,
                      create_missing: bool = False) -> dict[int, str]:
    """publickey_ver -> PEM. [[archive.keys]] entries (file or env) and QUNBOT_ARCHIVE_KEY_<ver>.

    With create_missing (the fake archive only), a configured key file that does not exist is
    generated, so the sandbox needs no key ceremony.
    """
    env = dict(os.environ if environ is None else environ)
    base = Path(cfg.path).parent if cfg.path else Path(".")
    out: dict[int, str] = {}
    for k in cfg.archive.keys:
        if k.env:
            if k.env not in env:
                raise ConfigError(f"archive.keys version {k.version}: environment variable {k.env} is not set")
            out[k.version] = env[k.env]
            continue
        if not k.file:
            raise ConfigError(f"archive.keys version {k.version}: set file or env")
        path = Path(k.file) if Path(k.file).is_absolute() else base / k.file
        if not path.exists() and create_missing:
            _generate(path)
        try:
            out[k.version] = path.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"archive.keys version {k.version}: cannot read {path}: {exc.__class__.__name__}") from None
    for name, value in env.items():
        m = ENV_KEY.match(name)
        if m:
            out.setdefault(int(m.group(1)), value)
    for ver, pem in out.items():
        if "PRIVATE KEY" not in pem:
            raise ConfigError(f"archive key for publickey_ver {ver} is not a PEM private key")
    return out


def _generate(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    try:
        os.link(tmp, path)  # never replaces: two processes starting at once end up with one key
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)


def public_pem(private_pem: str) -> str:
    """The public half, as the admin pastes it into the console (会话内容存档 → 消息加密公钥)."""
    from cryptography.hazmat.primitives import serialization
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()
