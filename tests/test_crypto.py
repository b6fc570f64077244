"""WeCom crypto against the official vectors (docs/wecom.md §1.5) and tampered input."""
from __future__ import annotations

import base64
import struct

import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from bot import wecom
from bot.crypto import BadSignature, Crypto, CryptoError

V1 = dict(token="QDG6eK", key="jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", corp="wx5823bf96d3bd56c7")
V1_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
V1_POST = ("RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==")
V2 = dict(token="123456", key="kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", corp="wx49f0ab532d5d035a")
V2_ECHO = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
V2_POST = ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
V2_ENC = ("9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesEl5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsDf03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nTYjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3")
V4_ENC = ("y514aRT8yYkYNee3kPvkrI5HJ5qgFafYEg6gMv4SSoGCTAv4FVDBoTDT1LHTT/03G8A9RifYfP/bgkjgZwGBue0XAqv5jHhsGgdADrYpbLTau5qP19vsyc5BpChR5KOSXRpmwQ/71jva2pZj/O4ZOt8iiFn6hQHhMssolL5zMbbxxRFHsSPS4dRmKbr+pY30zRMsgDa6D5+dcupg50Kp+iIgy/DToLTfFl7EoLdevTkaHFt8XVd5BxXeVMn4dWCjrFNz250db4XO8JVkeJkZ8bLWztVulCWBLBAyztWn170=")


def v1() -> Crypto:
    return Crypto(V1["token"], V1["key"], V1["corp"])


def v2() -> Crypto:
    return Crypto(V2["token"], V2["key"], V2["corp"])


def test_v1_url_verification():
    c = v1()
    c.verify("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780", V1_ECHO)
    assert c.decrypt(V1_ECHO) == b"1616140317555161061"


def test_v1_message():
    c = v1()
    c.verify("477715d11cdb4164915debcba66cb864d751f3e6", "1409659813", "1372623149", V1_POST)
    msg = wecom.app_message(c.decrypt(V1_POST))
    assert (msg.id, msg.sender, msg.text, msg.kind) == ("app:4561255354251345929", "mycreate", "hello", "text")


def test_v2_check_signature_and_wrong_nonce():
    c = v2()
    c.verify("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425", V2_ECHO)
    assert c.decrypt(V2_ECHO) == b"5927782489442352469"
    with pytest.raises(BadSignature):
        c.verify("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374424", V2_ECHO)


def test_v2_decrypt_message():
    c = v2()
    c.verify("74d92dfeb87ba7c714f89d98870ae5eb62dff26d", "1411525903", "461056294", V2_POST)
    msg = wecom.app_message(c.decrypt(V2_POST))
    assert (msg.sender, msg.text, msg.id, msg.raw["AgentID"]) == ("messense", "test", "app:4363689963896700987", "1")


def test_v2_deterministic_encrypt():
    plain = ("<xml>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[test]]></Content>\n"
             "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>\n<ToUserName><![CDATA[messense]]>"
             "</ToUserName>\n<AgentID>1</AgentID>\n<CreateTime>1411525903</CreateTime>\n</xml>")
    c = v2()
    enc = c.encrypt(plain.encode(), random16=b"1234567890123456")
    assert enc == V2_ENC
    assert c.sign("1411525903", "461056294", enc) == "407518b7649e86ef23978113f92d27afa9296533"


def test_v4_aibot_json_receiveid_empty():
    c = Crypto("QDG6eK", V1["key"], "")
    c.verify("13bb5603299a33dc228c721a5f60ccadc1b3a882", "1700000000", "nonce123", V4_ENC)
    msg = wecom.aibot_message(c.decrypt(V4_ENC))
    assert (msg.id, msg.sender, msg.chat_id, msg.chat_type, msg.text) == (
        "aibot:MSGID1", "zhangsan", "CHATID", "group", "hello")
    assert msg.raw["response_url"] == "RESPONSEURL"


def test_receiveid_mismatch_rejected():
    other = Crypto(V1["token"], V1["key"], "wwSomeoneElse")
    with pytest.raises(CryptoError, match="receiveid"):
        other.decrypt(V1_POST)


def _raw_encrypt(key: str, body: bytes) -> str:
    k = base64.b64decode(key + "=")
    enc = Cipher(algorithms.AES(k), modes.CBC(k[:16])).encryptor()
    return base64.b64encode(enc.update(body) + enc.finalize()).decode()


def _core(size: int | None = None) -> bytes:
    msg = b"<xml/>"
    return b"r" * 16 + struct.pack(">I", len(msg) if size is None else size) + msg + V1["corp"].encode()


def _padded(core: bytes, fill: int | None = None, last: int | None = None, n: int | None = None) -> bytes:
    pad = n or 32 - len(core) % 32
    return core + bytes([fill if fill is not None else pad]) * (pad - 1) + bytes([last if last is not None else pad])


@pytest.mark.parametrize("body", [
    _padded(_core(), fill=0, last=0),                       # pad byte 0
    _core() + b"\x30" * (16 - len(_core()) % 16 or 16),     # pad byte 48 > 32
    _padded(_core(), fill=1),                               # inner pad bytes disagree with the last
    _padded(_core(size=4000)),                              # length prefix beyond the plaintext
], ids=["pad0", "pad48", "uneven", "length"])
def test_tampered_plaintext_rejected(body):
    assert len(body) % 16 == 0
    with pytest.raises(CryptoError):
        v1().decrypt(_raw_encrypt(V1["key"], body))


@pytest.mark.parametrize("bad", ["", "!!!notbase64", base64.b64encode(b"short").decode(),
                                 base64.b64encode(b"x" * 17).decode()])
def test_garbage_ciphertext_rejected(bad):
    with pytest.raises(CryptoError):
        v1().decrypt(bad)


def test_bad_key_rejected():
    with pytest.raises(ValueError):
        Crypto("t", "tooshort", "")


V3 = dict(token="hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", key="6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt",
          corp="ww1436e0e65a779aee")
V3_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
V3_POST = ("cjhLUX7UU4yCSelv1vz7T0zT8huF51bAMVWriNvO1FMegHrQZNrtvRxbwf0fUPsFvwqR0U0fgiJNEA5Y30F2MoI2S7vv3EjVQ68C0cjw9frBoUE2Hj0BvFp9h3u6Vbsg4lc1C8AtHdaN8orKuNKkLRLuYEL52R1J3v8olJGZRLnRdVKIivixmX/eQpzgeExtp20jI1HxRP1AAZ6xZoILdqDPO549LO4WeG+685JRUTdiwcY5fjZlqeMxuT4PpMn1X9OWsS7NRj06Wa5E3Tvg4twjWp39KPfOdRte6P1T4JU=")


def test_v3_official_json_sample_decrypts():
    """Decrypt-only: the official sample's plaintext is itself malformed JSON (docs/wecom.md §1.5)."""
    c = Crypto(V3["token"], V3["key"], V3["corp"])
    c.verify("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683", V3_ECHO)
    assert c.decrypt(V3_ECHO) == b"1288432023552776189"
    c.verify("e3647471e395139e2308c1fa963f2d648a00b90e", "1409659813", "1372623149", V3_POST)
    plain = c.decrypt(V3_POST).decode()
    assert plain.startswith('{ "ToUserName": "wx5823bf96d3bd56c7"') and '"MsgId": 4561255354251345929' in plain
    with pytest.raises(wecom.BadPayload):
        wecom.aibot_message(plain.encode())  # malformed JSON is a 400, not a crash


@pytest.mark.parametrize("doc", [
    "<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n"
    "<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n"
    "<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>",
    "  <xml><Content><![CDATA[  两个空格 <b>&amp; ]]></Content><Event><![CDATA[ enter_agent ]]></Event></xml>\n",
    "<xml><EventKey><![CDATA[]]></EventKey><Empty></Empty><Num> 12 </Num><Dup>a</Dup><Dup>b</Dup></xml>",
    "<xml><Content><![CDATA[第一行\n第二行]]></Content></xml>",
])
def test_flat_fast_path_reads_what_the_parser_reads(doc):
    assert wecom._flat(doc) is not None
    assert wecom._flat(doc) == wecom._tree(doc)


@pytest.mark.parametrize("doc", [
    "<xml><MemChangeList><Item>a</Item></MemChangeList></xml>",  # nested
    "<xml><Content>a &amp; b</Content></xml>",  # entity
    '<xml><Content a="1">x</Content></xml>',  # attribute
    "<xml><!-- c --><Content>x</Content></xml>",  # comment
    "<xml><Content><![CDATA[a\r\nb]]></Content></xml>",  # CR: the parser normalises it
    "<xml><Content>x</Other></xml>",  # mismatched
    "<xml><C><![CDATA[a]]>b]]></C></xml>",  # "]]>" in text: the parser refuses it
    "<xml><C>a]]></C></xml>",
    "<xml>\x0b<C>a</C></xml>",  # not XML whitespace: the parser refuses it
    "<xml><C>a\x01</C></xml>",  # a character XML does not allow
    "\u3000<xml><C>a</C></xml>",  # text before the root
    "<root><Content>x</Content></root>",
])
def test_flat_fast_path_leaves_everything_else_to_the_parser(doc):
    assert wecom._flat(doc) is None


def test_flat_fast_path_agrees_with_the_parser_on_generated_documents():
    """Documents built from WeCom-like and hostile pieces: whatever the fast path accepts, it reads
    as the parser does (and it accepts the plain shapes)."""
    import random
    import xml.etree.ElementTree as ET
    pieces = ["<A>x</A>", "<B><![CDATA[y]]></B>", "<C><![CDATA[a]]>b]]></C>", "<C><![CDATA[]]></C>",
              "<D> 1 </D>", "\n", " ", "\t", "\u3000", "<E>", "</E>", "<Content><![CDATA[ 两 ]]></Content>",
              "<F><![CDATA[x]]></G>", "]]>", "<H>a&amp;b</H>", "<!-- c -->", "<I/>", "junk",
              "<Content><![CDATA[<J>k</J>]]></Content>", "<K><![CDATA[x]]></K>tail</K>", "\x0b", "\x01",
              "\ufffe", "]]", "<1a>x</1a>", "<Ä>x</Ä>", "<N>\u3000x\u3000</N>", "<O>\x0bx</O>", "<M >x</M>"]
    rng = random.Random(7)
    accepted = 0
    for _ in range(4000):
        doc = (rng.choice(["", " \n", "\u3000", "\ufeff"]) + "<xml>"
               + "".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))) + "</xml>" + rng.choice(["", "\n", "\x0b"]))
        flat = wecom._flat(doc)
        if flat is None:
            continue
        accepted += 1
        try:
            tree = wecom._tree(doc)
        except wecom.BadPayload:
            raise AssertionError(f"fast path accepted what the parser refuses: {doc!r}")
        assert flat == tree, doc
    assert accepted > 150


@pytest.mark.parametrize("values", [
    dict(id="app:1", channel="app", conversation="u", sender="u", text="草莓 ", time=1, raw={"MsgId": "1"}),
    dict(id="ev:x", channel="app", conversation="kf:k", kind="event", event="kf_msg_or_event",
         raw={"List": ["a", "b"]}),
    dict(id="a", channel="aibot", conversation="c", time=2**70),  # beyond orjson: the stdlib fallback
])
def test_message_json_is_the_messages_json(values):
    from bot.message import Message, message_json
    assert message_json(values) == Message(**values).to_json().encode()
    assert Message.from_json(message_json(values)) == Message(**values)


def test_message_json_refuses_what_the_constructor_refuses():
    from bot.message import message_json
    for bad in (dict(id="a", channel="app"), dict(id="a", channel="app", conversation="c", nope=1)):
        with pytest.raises(TypeError):
            message_json(bad)
