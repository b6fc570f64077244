"""[archive] settings and private keys: from the file, the environment, or generated for the fake only."""
from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization

from bot.archive.keys import load_private_keys, public_pem
from bot.config import ConfigError, from_dict


def pem(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def test_secret_and_keys_come_from_the_environment_too(rsa_key):
    env = {"QUNBOT_ARCHIVE_SECRET": "from-env", "QUNBOT_ARCHIVE_KEY_3": pem(rsa_key), "MY_KEY": pem(rsa_key)}
    cfg = from_dict({"archive": {"enabled": True, "keys": [{"version": 2, "env": "MY_KEY"}]}}, environ=env)
    assert cfg.archive.secret == "from-env" and cfg.archive.keep_days == 7
    assert sorted(load_private_keys(cfg, env)) == [2, 3]
    assert "PUBLIC KEY" in public_pem(load_private_keys(cfg, env)[3])


def test_bad_archive_settings_stop_the_start(tmp_path):
    with pytest.raises(ConfigError, match="archive.nonsense"):
        from_dict({"archive": {"nonsense": 1}})
    cfg = from_dict({"archive": {"keys": [{"version": 1, "file": str(tmp_path / "missing.pem")}]}})
    with pytest.raises(ConfigError, match="cannot read"):
        load_private_keys(cfg, {})  # a real deployment never invents a key
    cfg = from_dict({"archive": {"keys": [{"version": 1, "env": "NOPE"}]}})
    with pytest.raises(ConfigError, match="NOPE"):
        load_private_keys(cfg, {})
    with pytest.raises(ConfigError, match="not a PEM private key"):
        load_private_keys(from_dict({}), {"QUNBOT_ARCHIVE_KEY_1": "hello"})


def test_the_fake_gets_a_generated_key_once(tmp_path):
    cfg = from_dict({"archive": {"sdk": "fake", "keys": [{"version": 1, "file": str(tmp_path / "k.pem")}]}})
    first = load_private_keys(cfg, {}, create_missing=True)
    assert load_private_keys(cfg, {}, create_missing=True) == first
    assert oct((tmp_path / "k.pem").stat().st_mode & 0o777) == "0o600"
