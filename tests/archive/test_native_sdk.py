"""The real native SDK (the `archive` extra, pywecomarchive) in the reader's child process.

CI installs the extra (.ci/run). Elsewhere the test installs the wheel into a temporary directory
for the child; it skips only where no wheel exists for this platform or pip cannot fetch one.
"""
from __future__ import annotations

import base64
import os
import platform
import socket
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives.asymmetric import padding

from bot.archive.reader import ArchiveReader
from bot.archive.sdk import SdkError, SdkProcess


@pytest.fixture(scope="module")
def native_path(tmp_path_factory):
    """A PYTHONPATH entry under which the child imports pywecomarchive ("" when installed already)."""
    if platform.system() != "Linux" or platform.machine() not in ("x86_64", "aarch64"):
        pytest.skip(f"pywecomarchive ships no wheel for {platform.system()} {platform.machine()}")
    try:
        import pywecomarchive  # noqa: F401
        return ""
    except ImportError:
        pass
    target = tmp_path_factory.mktemp("pywecomarchive")
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--target", str(target),
                          "pywecomarchive>=0.1,<0.2"], capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.skip(f"the archive extra could not be installed here (pip: {res.stderr.strip()[-200:]})")
    return str(target)


@pytest.fixture
def dead_proxy():
    """A port that refuses connections: the SDK's 'network' for these tests."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    yield f"http://127.0.0.1:{s.getsockname()[1]}"
    s.close()


@pytest.fixture
def native_cfg(cfg, dead_proxy, monkeypatch, native_path):
    import dataclasses
    if native_path:
        monkeypatch.setenv("PYTHONPATH", native_path)
    return dataclasses.replace(cfg, archive=dataclasses.replace(cfg.archive, sdk="pywecomarchive",
                                                                proxy=dead_proxy, sdk_timeout_seconds=3))


async def test_the_real_sdk_loads_in_the_child_process(native_cfg, store):
    reader = ArchiveReader(native_cfg, store)
    try:
        pid = await reader.sdk.ping()
        assert pid and pid != os.getpid()
        with open(f"/proc/{pid}/maps") as f:
            assert "libWeWorkFinanceSdk_C.so" in f.read()  # Tencent's library, in the child only
        with open(f"/proc/{os.getpid()}/maps") as f:
            assert "libWeWorkFinanceSdk_C.so" not in f.read()
    finally:
        await reader.sdk.stop()


async def test_a_pull_without_network_is_an_error_not_a_crash(native_cfg, store):
    reader = ArchiveReader(native_cfg, store)
    assert await reader.state.claim(reader.owner, 60_000)
    try:
        pid = await reader.sdk.ping()
        with pytest.raises(SdkError) as err:
            await reader.pull_once()
        assert err.value.kind == "sdk" and err.value.code == 10001  # 网络请求错误
        assert await reader.sdk.ping() == pid and reader.sdk.restarts == 0  # the same child lives on
        assert await reader.state.cursor() == 0
    finally:
        await reader.sdk.stop()


async def test_the_real_decrypt_data_aborts_on_malformed_input_and_only_the_child_dies(native_cfg, store, rsa_key):
    reader = ArchiveReader(native_cfg, store)
    try:
        pid = await reader.sdk.ping()
        wrapped = base64.b64encode(rsa_key.public_key().encrypt(b"k" * 32, padding.PKCS1v15())).decode()
        results, died = await reader.sdk.decrypt([{"seq": 1, "msgid": "m1", "publickey_ver": 1,
                                                   "encrypt_random_key": wrapped, "encrypt_chat_msg": "garbage"}])
        assert (results, died) == ([], True)
        assert reader.sdk.restarts == 1
        assert await reader.sdk.ping() not in (pid, 0)  # restarted on the next call
    finally:
        await reader.sdk.stop()
