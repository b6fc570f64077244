"""`qunbot check` probes the archive: SDK, keys, pull (10009), key version, consent coverage."""
from __future__ import annotations

import dataclasses

from bot.check import run_check


async def run(cfg) -> tuple[int, str]:
    lines: list[str] = []
    code = await run_check(cfg, out=lines.append)
    return code, "\n".join(lines)


async def test_check_passes_on_a_working_archive_and_reports_coverage(cfg, wecom):
    wecom.archive.say("wrGroupA", "wmShopper1", "hello")
    wecom.disagree.add("woShopper3")
    code, out = await run(cfg)
    assert "✔ archive SDK (fake) loads in its own process" in out
    assert "✔ archive pull works" in out
    assert "✔ archived messages are wrapped for publickey_ver 1, which has a key" in out
    assert "! consent S01 group wrGroupA: 2/3 external members agreed" in out
    assert "! consent S02 group wrGroupB: 2/3 external members agreed" in out  # woShopper3 is in both
    assert code == 0, out


async def test_check_explains_an_untrusted_ip_and_a_missing_key(cfg, wecom, rsa_key):
    from cryptography.hazmat.primitives.asymmetric import rsa
    wecom.archive.errcode = 10009
    code, out = await run(cfg)
    assert code == 1 and "10009" in out and "可信IP" in out
    wecom.archive.errcode = 0
    wecom.archive.set_key(2, rsa.generate_private_key(public_exponent=65537, key_size=1024))
    wecom.archive.say("wrGroupA", "wmShopper1", "wrapped for v2")
    code, out = await run(cfg)
    assert code == 1 and "publickey_ver 2, which has no private key" in out


async def test_check_says_when_the_sdk_does_not_load(cfg):
    bad = dataclasses.replace(cfg, archive=dataclasses.replace(cfg.archive, sdk="nonesuch"))
    code, out = await run(bad)
    assert code == 1 and "✘ archive SDK (nonesuch) does not load" in out
