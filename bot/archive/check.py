"""`qunbot check` for the chat archive: secret, private keys, the SDK in its child, trusted IP
(SDK error 10009), the key version of what WeCom holds, and each store group's consent coverage."""
from __future__ import annotations

from bot.archive.consent import count
from bot.archive.keys import load_private_keys
from bot.archive.sdk import ChildDied, SdkError, SdkProcess, init_request
from bot.config import Config, ConfigError
from bot.wecom_api import WeComClient, WeComError

OK, BAD, WARN = "✔", "✘", "!"
SDK_FIXES = {
    10000: "request refused (10000): check [archive] secret (管理工具 → 会话内容存档 → Secret) and [wecom] corp_id",
    10001: "network error (10001): this server cannot reach WeCom's archive servers (DNS, proxy, firewall; "
           "[archive] proxy)",
    10009: "this server's IP is not trusted (10009): add its egress IP under 管理工具 → 会话内容存档 → 可信IP",
    10011: "SSL certificate error (10011): check the proxy and the system CA certificates",
}


async def check_archive(cfg: Config, api: WeComClient, report) -> None:
    a = cfg.archive
    if not a.secret:
        report(BAD, "archive.secret is empty: copy the Secret from 管理工具 → 会话内容存档 (or QUNBOT_ARCHIVE_SECRET)")
    try:
        keys = load_private_keys(cfg, create_missing=a.sdk == "fake")
    except ConfigError as exc:
        report(BAD, f"archive keys: {exc}")
        keys = {}
    if keys:
        report(OK, f"archive private keys for publickey_ver {', '.join(map(str, sorted(keys)))}")
    else:
        report(BAD, "no archive private key: add [[archive.keys]] (version, file or env) for the public key set "
                    "in 会话内容存档 → 消息加密公钥")
    sdk = SdkProcess(init_request(cfg, keys), call_timeout=max(30.0, 3.0 * a.sdk_timeout_seconds))
    try:
        try:
            await sdk.ping()
            report(OK, f"archive SDK ({a.sdk}) loads in its own process")
        except SdkError as exc:
            report(BAD, f"archive SDK ({a.sdk}) does not load: {exc.detail or exc.kind}")
            return
        except ChildDied:
            report(BAD, f"archive SDK ({a.sdk}) process died while loading")
            return
        try:
            items = await sdk.pull(0, 1)  # the oldest item WeCom still holds; nothing is decrypted
        except SdkError as exc:
            report(BAD, "archive pull: " + SDK_FIXES.get(exc.code, f"SDK error {exc.code or exc.kind}"))
        except ChildDied:
            report(BAD, "archive pull: the SDK process died")
        else:
            report(OK, "archive pull works (secret and trusted IP accepted)")
            if items:
                ver = int(items[0].get("publickey_ver") or 0)
                if ver in keys:
                    report(OK, f"archived messages are wrapped for publickey_ver {ver}, which has a key")
                else:
                    report(BAD, f"archived messages are wrapped for publickey_ver {ver}, which has no private key")
            else:
                report(WARN, "the archive holds no message yet: the key version cannot be checked")
    finally:
        await sdk.stop()
    await _consent(cfg, api, report)


async def _consent(cfg: Config, api: WeComClient, report) -> None:
    groups = [(s.id, g) for s in cfg.stores for g in s.groups]
    if not groups:
        report(WARN, "no [[stores]] groups: the archive reader keeps nothing")
        return
    try:
        data = await api._request("GET", "gettoken", params={"corpid": cfg.wecom.corp_id,
                                                             "corpsecret": cfg.archive.secret})
        token = data["access_token"]
    except WeComError as exc:
        report(BAD, f"archive secret refused by gettoken: errcode {exc.errcode}")
        return
    for store, chat_id in groups:
        try:
            answer = await api._request("POST", "msgaudit/check_room_agree", params={"access_token": token},
                                        json_body={"roomid": chat_id})
        except WeComError as exc:
            report(WARN, f"consent of {store} group {chat_id} not checked: errcode {exc.errcode}")
            continue
        c = count(answer, 0)
        mark = OK if c.disagree == 0 else WARN
        report(mark, f"consent {store} group {chat_id}: {c.agree + c.default}/{c.members} external members agreed"
                     + ("" if c.disagree == 0 else "; the others' messages are not archived"))
