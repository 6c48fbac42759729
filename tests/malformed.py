"""Malformed deliveries: the payload fixtures of every channel broken by hypothesis and signed as
the provider would (so that the signature passes and the parser behind it really reads what is
broken), and the check that what a parser made of one is well typed.

Used by tests/plugins/test_malformed_payloads.py (each plugin's `receive`), the web chat API's
tests and tests/reliability/test_malformed_webhooks.py (the server over HTTP). A JSON payload is
broken by replacing values with other types and impossible numbers, removing and renaming keys,
repeating list items, long strings and deep nesting; a WeChat XML payload the same way, element
by element, and with odd encodings declared.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
import math
import types
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any, Union, get_args, get_origin, get_type_hints

from hypothesis import strategies as st
from supportctl_plugins.wechat_crypto import aes_key, encrypt
from supportctl_plugins.wechat_crypto import signature as wechat_signature
from supportctl_plugins.whatsapp_runtime import signature as hub_signature

from supportctl.plugins.channel import Headers, InboundEvent, WebhookRequest
from supportctl.runtime.inbound_json import event_from_json, event_to_json

PAYLOADS = Path(__file__).resolve().parent / "fixtures" / "payloads"

# the secrets every test of malformed deliveries configures its channels with
META_APP_SECRET = "malformed-meta-app-secret"
TELEGRAM_SECRET = "malformed-telegram-secret"
WECHAT_TOKEN = "malformed-wechat-token"
WECHAT_AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
WECHAT_APP_ID = "wx0123456789abcdef"
SMS_SECRET = "malformed-sms-secret"
WECHAT_STAMP, WECHAT_NONCE = "1795424400", "1320562132"

# Markers for what json.dumps cannot write: replaced in the JSON text after dumping it.
DEEP_MARKER, HUGE_INT_MARKER = "@@deep@@", "@@huge-int@@"
DEPTH = 10_000  # far past the recursion limit
HUGE_INT = "9" * 5000  # past Python's 4,300 digits for int(str)


def odd_values(long: int) -> list[Any]:
    """Values no provider sends where a fixture has something else."""
    return [None, True, False, 0, -1, 1.5, 1e20, -1e20, 2**70, -(2**70), float("nan"),
            float("inf"), float("-inf"), "", " ", "-1", "0", "1e20", "NaN", "99999999999999999999",
            "١٧٣٢٣٦٣٢٠٠", "\ud800", "a\x00b", "x" * long, [], {}, [None], [[]], {"": None},
            {"id": {}}, DEEP_MARKER, HUGE_INT_MARKER]


def dumps(document: Any) -> bytes:
    """`document` as JSON text, markers replaced by deep nesting and a huge number."""
    text = json.dumps(document)
    text = text.replace(json.dumps(DEEP_MARKER), "[" * DEPTH + "]" * DEPTH)
    return text.replace(json.dumps(HUGE_INT_MARKER), HUGE_INT).encode()


def _paths(node: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if path:
        yield path
    children = (node.items() if isinstance(node, dict)
                else enumerate(node) if isinstance(node, list) else ())
    for key, child in children:
        yield from _paths(child, (*path, key))


def _words(node: Any) -> Iterator[str]:
    """Every key and string value: swapping one for another mixes the kinds of a channel."""
    if isinstance(node, dict):
        for key, child in node.items():
            yield key
            yield from _words(child)
    elif isinstance(node, list):
        for child in node:
            yield from _words(child)
    elif isinstance(node, str):
        yield node


def json_scalars() -> st.SearchStrategy[Any]:
    return st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)


def json_values() -> st.SearchStrategy[Any]:
    return st.recursive(json_scalars(), lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=6)


@st.composite
def _json_mutation(draw: st.DrawFn, document: Any, words: list[str], long: int) -> None:
    paths = list(_paths(document))
    if not paths:
        return
    path = draw(st.sampled_from(paths))
    parent = document
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    operation = draw(st.sampled_from(["replace", "replace", "word", "generated", "remove",
                                      "rename", "repeat"]))
    if operation == "remove":
        del parent[key]
    elif operation == "rename" and isinstance(parent, dict):
        parent[draw(st.sampled_from(words))] = parent.pop(key)
    elif operation == "repeat" and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[key]))
    elif operation == "word":
        parent[key] = draw(st.sampled_from(words))
    elif operation == "generated":
        parent[key] = draw(json_values())
    else:
        parent[key] = draw(st.sampled_from(odd_values(long)))


@st.composite
def mutated_json(draw: st.DrawFn, original: Any, words: list[str], long: int = 200_000
                 ) -> bytes:
    """The JSON document with one to three things broken, as the body of a delivery; `words`
    are the strings swapped in for others (the keys and strings of a channel's payloads)."""
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        draw(_json_mutation(document, words, long))
    return dumps(document)


def xml_texts(words: list[str], long: int) -> st.SearchStrategy[str]:
    return st.sampled_from(["", " ", "-1", "0", "1e20", "NaN", "inf", "1.5", HUGE_INT,
                            "99999999999999999999", "١٧٣٢٣٦٣٢٠٠", "x" * long, "a]]>b", *words]) \
        | st.text(max_size=20)


@st.composite
def mutated_xml(draw: st.DrawFn, original: bytes, words: list[str], long: int = 20_000
                ) -> bytes:
    """The XML document with one to three elements broken, perhaps declared in an odd
    encoding, as the body of a delivery."""
    root = ElementTree.fromstring(original)
    deep = False
    for _ in range(draw(st.integers(1, 3))):
        children = list(root)
        operation = draw(st.sampled_from(["text", "text", "word", "remove", "repeat", "nest",
                                          "deep", "add", "root"]))
        if operation == "root":
            root.tag = draw(st.sampled_from(["xml", "XML", "root", *words]))
            continue
        if operation == "add" or not children:
            ElementTree.SubElement(root, draw(st.sampled_from(words))).text = draw(
                xml_texts(words, long))
            continue
        child = draw(st.sampled_from(children))
        if operation == "remove":
            root.remove(child)
        elif operation == "repeat":
            root.append(copy.deepcopy(child))
        elif operation == "nest":
            ElementTree.SubElement(child, draw(st.sampled_from(words))).text = "1"
        elif operation == "deep":
            child.text, deep = DEEP_MARKER, True
        elif operation == "word":
            child.text = draw(st.sampled_from(words))
        else:
            child.text = draw(xml_texts(words, long))
    body = ElementTree.tostring(root, encoding="unicode")
    if deep:
        body = body.replace(DEEP_MARKER, "<a>" * 2000 + "</a>" * 2000)
    encoding = draw(st.sampled_from([None, "utf-8", "UTF-8", "gbk", "utf-16", "nonsense"]))
    if encoding is not None:
        body = f'<?xml version="1.0" encoding="{encoding}"?>{body}'
    return body.encode()


def fixtures(channel: str) -> list[Path]:
    """The payload fixtures of a channel's folder (JSON or XML, not the side files)."""
    return sorted(p for p in (PAYLOADS / channel).iterdir()
                  if p.suffix in (".json", ".xml") and not p.name.endswith(".query.json"))


def words(*documents: Any) -> list[str]:
    """The keys and strings of JSON documents, each once."""
    return sorted({word for document in documents for word in _words(document)})


@functools.cache
def vocabulary(channel: str) -> list[str]:
    """The keys and strings (the tags and texts for XML) of all of a channel's fixtures."""
    found: set[str] = set()
    for path in fixtures(channel):
        if path.suffix == ".json":
            found.update(words(json.loads(path.read_text())))
        else:
            found.update(element.tag for element in ElementTree.fromstring(path.read_bytes()))
            found.update(element.text.strip() for element in ElementTree.fromstring(
                path.read_bytes()) if element.text and element.text.strip())
    return sorted(found)


async def raw_request(url: str, method: str, path: str, headers: bytes,
                      body: bytes = b"") -> int:
    """The status of a request written byte by byte, for headers that are not UTF-8 (which an
    HTTP client refuses to send); `headers` are lines ending in CRLF."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
                     f"Content-Length: {len(body)}\r\n".encode() + headers + b"\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()  # only that: a stream would never end
    finally:
        writer.close()
        await writer.wait_closed()
    return int(status_line.split()[1])


# --- signing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signed:
    """A delivery as the provider sends it: body, query and headers."""

    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def request(self, path: str = "/") -> WebhookRequest:
        """The delivery as the server hands it to a runtime."""
        return WebhookRequest("POST", path, self.query, Headers(self.headers), self.body)


def sign_meta(body: bytes) -> Signed:
    """Signed like WhatsApp, Messenger and Instagram deliveries (X-Hub-Signature-256)."""
    return Signed(body, headers={"X-Hub-Signature-256": hub_signature(META_APP_SECRET, body),
                                 "Content-Type": "application/json"})


def sign_telegram(body: bytes) -> Signed:
    return Signed(body, headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET,
                                 "Content-Type": "application/json"})


def sign_sms(body: bytes) -> Signed:
    return Signed(body, headers={"X-Sms-Signature": hub_signature(SMS_SECRET, body),
                                 "Content-Type": "application/json"})


def _wechat_query() -> dict[str, str]:
    return {"signature": wechat_signature(WECHAT_TOKEN, WECHAT_STAMP, WECHAT_NONCE),
            "timestamp": WECHAT_STAMP, "nonce": WECHAT_NONCE, "openid": "oQ2Tw5mAhD3sYk8nWb1c"}


def sign_wechat(body: bytes) -> Signed:
    """Plaintext mode: the query's signature covers the token, timestamp and nonce only."""
    return Signed(body, _wechat_query(), {"Content-Type": "text/xml"})


def sign_wechat_safe(body: bytes) -> Signed:
    """Safe mode: `body` encrypted into an envelope, and msg_signature over the ciphertext."""
    encrypted = encrypt(aes_key(WECHAT_AES_KEY), WECHAT_APP_ID, body, prefix=b"0" * 16)
    envelope = (f"<xml><ToUserName><![CDATA[gh_5f2d6c3a9b1e]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>").encode()
    query = {**_wechat_query(), "encrypt_type": "aes", "msg_signature": wechat_signature(
        WECHAT_TOKEN, WECHAT_STAMP, WECHAT_NONCE, encrypted)}
    return Signed(envelope, query, {"Content-Type": "text/xml"})


@dataclass(frozen=True)
class Kind:
    """How one channel type's deliveries are made: its fixtures, how they break, the signing."""

    folder: str
    sign: Callable[[bytes], Signed]
    skip: frozenset[str] = frozenset()
    """Fixtures that are no delivery of their own."""

    def fixtures(self) -> list[Path]:
        return [p for p in fixtures(self.folder) if p.name not in self.skip]

    def mutated(self, fixture: Path, long: int) -> st.SearchStrategy[bytes]:
        """Broken bodies of `fixture`, each string of at most about `long` characters."""
        words = vocabulary(self.folder)
        if fixture.suffix == ".xml":
            return mutated_xml(fixture.read_bytes(), words, long)
        return mutated_json(json.loads(fixture.read_text()), words, long)


# safe mode's envelope, which sign_wechat_safe makes around each plaintext fixture
ENVELOPE = frozenset({"safe_mode_text.xml"})
KINDS = {"whatsapp": Kind("whatsapp", sign_meta), "messenger": Kind("messenger", sign_meta),
         "instagram": Kind("instagram", sign_meta), "telegram": Kind("telegram", sign_telegram),
         "wechat": Kind("wechat", sign_wechat, ENVELOPE),
         "wechat-safe": Kind("wechat", sign_wechat_safe, ENVELOPE),
         "sms": Kind("sms", sign_sms)}


# --- what a parser may return ------------------------------------------------------------------


def problems(value: Any, hint: Any, path: str) -> list[str]:
    """How `value` is not of the declared type `hint` (none when it is): strings that UTF-8 can
    encode (the store writes it), finite floats, datetimes with a time zone."""
    origin = get_origin(hint)
    if origin in (Union, types.UnionType):
        found = [problems(value, option, path) for option in get_args(hint)]
        return [] if [] in found else [p for found_for in found for p in found_for]
    if origin is tuple:
        if not isinstance(value, tuple):
            return [f"{path}: {value!r:.80} is not a tuple"]
        item = get_args(hint)[0]
        return [p for n, v in enumerate(value) for p in problems(v, item, f"{path}[{n}]")]
    if hint is type(None):
        return [] if value is None else [f"{path}: {value!r:.80} is not None"]
    if is_dataclass(hint):
        if type(value) is not hint:
            return [f"{path}: {value!r:.80} is not a {hint.__name__}"]
        hints = get_type_hints(hint)
        return [p for f in fields(hint)
                for p in problems(getattr(value, f.name), hints[f.name], f"{path}.{f.name}")]
    if hint is str:
        if not isinstance(value, str):
            return [f"{path}: {value!r:.80} is not a str"]
        try:
            value.encode()
        except UnicodeEncodeError as exc:
            return [f"{path}: {exc}"]
        return []
    if hint is float:
        return [] if isinstance(value, float) and math.isfinite(value) else [
            f"{path}: {value!r:.80} is not a finite float"]
    if hint is datetime:
        return [] if isinstance(value, datetime) and value.utcoffset() is not None else [
            f"{path}: {value!r:.80} is not a datetime with a time zone"]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return [] if isinstance(value, hint) else [f"{path}: {value!r:.80} is not a {hint}"]
    raise AssertionError(f"{path}: no check for {hint}")


def assert_well_formed(event: InboundEvent, channel_id: str) -> None:
    """`event` has its declared types, ids, and survives the receipts queue's JSON unchanged."""
    assert problems(event, type(event), type(event).__name__) == []
    assert event.channel_id == channel_id and event.external_id
    assert event_from_json(json.loads(json.dumps(event_to_json(event)))) == event
