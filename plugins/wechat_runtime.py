"""WeChat Official Account channel: runtime half (URL verification, signatures, safe mode,
XML messages, passive replies, the customer-service and template message APIs).

Wire formats as WeChat documents them: the callback URL receives a GET with `signature`,
`timestamp`, `nonce` and `echostr` when it is configured, then every message as an XML POST with
the same signature in the query (plus `encrypt_type=aes` and `msg_signature` in safe mode). The
answer to a POST is either a reply message as XML or the body `success`. Messages sent later go
to `{api_base_url}/cgi-bin/message/custom/send` and `.../message/template/send` with an access
token from `/cgi-bin/token`.
"""

from __future__ import annotations

import secrets
import time
import xml.etree.ElementTree as ElementTree
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from supportctl.config.plugin_spec import ChannelConfig
from supportctl.plugins.channel import (
    ChannelRuntime,
    ContactRef,
    DeliveryState,
    DeliveryStatus,
    InboundEvent,
    InboundMessage,
    InteractiveReply,
    Location,
    MediaRef,
    OutboundMenu,
    OutboundMessage,
    OutboundTemplate,
    OutboundText,
    SendError,
    SendResult,
    WebhookRejected,
    WebhookRequest,
    WebhookResponse,
    send_in_order,
)
from supportctl.plugins.json_values import Node

from .wechat import WeChatChannel
from .wechat_crypto import CryptoError, aes_key, decrypt, encrypt, signature, signature_matches
from .wechat_tokens import AccessTokens, Fetched

if TYPE_CHECKING:
    from aiohttp import ClientSession

TEXT_LIMIT = 2048  # bytes of UTF-8, for a passive reply and for a customer-service text
MEDIA_KINDS = {"image": "image", "voice": "audio", "video": "video", "shortvideo": "video",
               "file": "document"}
TOKEN_ERRORS = frozenset({40001, 40014, 42001})  # invalid or expired access token
RETRYABLE_ERRORS = frozenset({-1, 45009})  # "system busy", "api freq out of limit"
WINDOW_CLOSED = 45015  # "response out of time limit": more than 48 h since the customer wrote
WINDOW_CAP = 45047  # "out of response count limit": the window's messages are used up
XML_TYPE = "application/xml"


def _cdata(text: str) -> str:
    # "]]>" would end the section early; split it across two sections instead
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def xml_fields(body: bytes) -> dict[str, str]:
    """The child elements of a WeChat `<xml>` document as a mapping of name to text."""
    # Entities are declared in a DTD; refusing any DOCTYPE means nothing from the internet can
    # make the parser expand entities (the "billion laughs" attack) or read other files.
    if b"<!DOCTYPE" in body.upper():
        raise WebhookRejected(400, "XML with a DOCTYPE is refused")
    try:
        root = ElementTree.fromstring(body)
    except (ElementTree.ParseError, LookupError, ValueError) as exc:  # also an odd encoding
        raise WebhookRejected(400, f"body is not XML: {exc}") from exc
    if root.tag != "xml":
        raise WebhookRejected(400, f"root element is <{root.tag}>, not <xml>")
    return {child.tag: child.text or "" for child in root}


def text_reply(to: str, account: str, created: int, text: str) -> str:
    """A passive text reply from the official account `account` to the customer `to`."""
    return (f"<xml><ToUserName>{_cdata(to)}</ToUserName>"
            f"<FromUserName>{_cdata(account)}</FromUserName>"
            f"<CreateTime>{created}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
            f"<Content>{_cdata(text)}</Content></xml>")


def encrypted_envelope(encrypted: str, msg_signature: str, timestamp: str, nonce: str) -> str:
    """The safe-mode answer that carries an encrypted reply."""
    return (f"<xml><Encrypt>{_cdata(encrypted)}</Encrypt>"
            f"<MsgSignature>{_cdata(msg_signature)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{_cdata(nonce)}</Nonce></xml>")


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Text in parts of at most `limit` UTF-8 bytes, cut at a line break or space when one is
    in the second half of a part (so words stay whole), else at a character boundary."""
    parts: list[str] = []
    while len(text.encode()) > limit:
        head = text.encode()[:limit].decode(errors="ignore")  # drops a split character
        cut = max(head.rfind("\n"), head.rfind(" "))
        if cut < len(head) // 2:
            cut = len(head)
        parts.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text or not parts:
        parts.append(text)
    return parts


def _encrypted(fields: dict[str, str]) -> str:
    encrypted = fields.get("Encrypt", "").strip()
    if not encrypted:
        raise WebhookRejected(400, "Encrypt is missing")
    return encrypted


def send_error(code: int, message: str) -> SendError:
    """A WeChat errcode as a SendError: retry later, or give up (and say why)."""
    if code == WINDOW_CLOSED:
        return SendError(str(code), "more than 48 hours since the customer's last message "
                                    f"({message})", permanent=True, window_closed=True)
    if code == WINDOW_CAP:
        return SendError(str(code), "the messages WeChat allows until the customer writes "
                                    f"again are used up ({message})", permanent=True)
    retryable = code in RETRYABLE_ERRORS or code in TOKEN_ERRORS
    return SendError(str(code), message, permanent=not retryable)


class WeChatChannelRuntime(ChannelRuntime):
    """One WeChat Official Account, in plaintext or safe mode."""

    window = timedelta(hours=48)
    # 500,000 customer-service messages a day per account ("API Call Limits" in WeChat's
    # Official Account docs), 5.8 a second on average; 5/s keeps a day's traffic inside it.
    send_rate = (5.0, 10)
    max_body = 64 * 1024  # WeChat's messages are a few hundred bytes
    passive_replies = True
    config: WeChatChannel

    def __init__(self, channel_id: str, config: ChannelConfig, *,
                 http: ClientSession | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time) -> None:
        super().__init__(channel_id, config, http=http)
        key = self.config.encoding_aes_key
        self._key = aes_key(key) if key else None
        self._wall = wall  # Unix time for CreateTime and TimeStamp of replies
        self.tokens = AccessTokens(self._fetch_token, clock)

    # --- inbound ------------------------------------------------------------------------------

    def verification(self, request: WebhookRequest) -> WebhookResponse | None:
        """The check WeChat makes when the URL is saved: echo `echostr` when signed by us."""
        echo = request.query.get("echostr")
        if echo is None:
            return None
        self._check_signature(request)
        return WebhookResponse(200, echo)

    def _check_signature(self, request: WebhookRequest) -> None:
        # WeChat always sends all three; a request without them cannot be WeChat's, so it is
        # refused like a wrong signature (403), not treated as a malformed one (400).
        query = request.query
        given, timestamp, nonce = (query.get(k, "") for k in ("signature", "timestamp", "nonce"))
        if not (given and timestamp and nonce):
            raise WebhookRejected(403, "signature, timestamp and nonce are required")
        if not signature_matches(given, self.config.token, timestamp, nonce):
            raise WebhookRejected(403, "signature does not match the channel's token")

    def _safe(self, request: WebhookRequest) -> bool:
        if request.query.get("encrypt_type", "raw") != "aes":
            return False
        if self._key is None:
            raise WebhookRejected(400, "a safe-mode delivery, but the channel has no "
                                       "encoding_aes_key")
        return True

    def verify(self, request: WebhookRequest) -> None:
        """`signature` on every POST; in safe mode `msg_signature` over the Encrypt text too.
        In plaintext mode the signature does not cover the body (WeChat's design): safe mode
        is the one that authenticates the message itself."""
        self._check_signature(request)
        if self._safe(request):
            encrypted = _encrypted(xml_fields(request.body))
            query = request.query
            if not signature_matches(query.get("msg_signature", ""), self.config.token,
                                     query["timestamp"], query["nonce"], encrypted):
                raise WebhookRejected(403, "msg_signature does not match the message")

    def message(self, request: WebhookRequest) -> dict[str, str]:
        """The fields of a verified delivery's message, decrypted in safe mode."""
        fields = xml_fields(request.body)
        if not self._safe(request):
            return fields
        assert self._key is not None
        try:
            plain = decrypt(self._key, self.config.app_id, _encrypted(fields))
        except CryptoError as exc:
            raise WebhookRejected(403, f"cannot decrypt the message: {exc}") from exc
        return xml_fields(plain)

    def parse(self, request: WebhookRequest) -> list[InboundEvent]:
        """The one message or event of a delivery; events we do not act on give none."""
        event = self._event(Node(self.message(request)))
        return [event] if event is not None else []

    def _event(self, fields: Node) -> InboundEvent | None:
        contact = ContactRef(fields["FromUserName"].ident())
        at = fields["CreateTime"].unix_time()
        kind = fields["MsgType"].ident()
        if kind == "event":
            return self._of_event(fields, contact, at)
        base = (self.channel_id, fields["MsgId"].ident(), contact, at)
        if kind == "text":
            return InboundMessage(*base, text=fields["Content"].text() or "")
        if kind in MEDIA_KINDS:
            voice_format = fields["Format"].text()
            media = MediaRef(MEDIA_KINDS[kind], fields["MediaId"].ident(),
                             f"audio/{voice_format.lower()}" if voice_format else None,
                             filename=fields["Title"].text() or None)
            # WeChat's speech recognition, when the account turned it on, is the best text
            return InboundMessage(*base, text=fields["Recognition"].text() or None, media=media)
        if kind == "location":
            place = Location(fields["Location_X"].number(-90, 90),
                             fields["Location_Y"].number(-180, 180),
                             address=fields["Label"].text() or None)
            return InboundMessage(*base, location=place)
        if kind == "link":
            parts = (fields["Title"].text(), fields["Url"].text())
            return InboundMessage(*base, text="\n".join(p for p in parts if p))
        return InboundMessage(*base, unsupported=kind)

    def _of_event(self, fields: Node, contact: ContactRef, at: datetime) -> InboundEvent | None:
        name = fields["Event"].text()
        # events carry no MsgId; WeChat's advice for deduplicating them is FromUserName with
        # CreateTime, and the event's name keeps two events of one second apart
        external_id = f"{contact.external_id}:{fields['CreateTime'].value}:{name}"
        if name == "subscribe":
            # a new follower: a message without text opens a conversation, so they get the
            # entry menu the way a first "hello" would
            return InboundMessage(self.channel_id, external_id, contact, at)
        if name == "CLICK":
            key = fields["EventKey"].ident()
            return InteractiveReply(self.channel_id, external_id, contact, at, key, key)
        if name == "TEMPLATESENDJOBFINISH":
            status = fields["Status"].text() or ""
            delivered = status == "success"
            return DeliveryStatus(self.channel_id, fields["MsgID"].ident(),
                                  DeliveryState.DELIVERED if delivered else DeliveryState.FAILED,
                                  at, contact.external_id,
                                  None if delivered else status.partition(":")[0],
                                  None if delivered else status)
        return None  # unsubscribe, VIEW (a link opened), SCAN, LOCATION reports, ...

    def acknowledge(self, events: Sequence[InboundEvent]) -> WebhookResponse:
        """WeChat's "received, no reply": the plain body `success`."""
        return WebhookResponse(200, "success")

    # --- passive replies ----------------------------------------------------------------------

    def passive_reply(self, request: WebhookRequest, event: InboundMessage | InteractiveReply,
                      message: OutboundMessage) -> WebhookResponse | None:
        """The reply as the webhook's XML answer, encrypted when the delivery was."""
        text = message.as_text() if isinstance(message, OutboundMenu) else (
            message.text if isinstance(message, OutboundText) else None)
        if not text or len(text.encode()) > TEXT_LIMIT:
            return None  # templates, and texts `send` must split
        # The reply's sender is the account's original id (gh_...), which only the delivery
        # tells: parse it again rather than keep state between parse and passive_reply. That
        # costs one more XML parse (and AES decryption) of a body of a few hundred bytes, and
        # needs no cache that would have to be bounded and would outlive its request.
        try:
            fields = self.message(request)
        except WebhookRejected:
            return None
        account, customer = fields.get("ToUserName", ""), fields.get("FromUserName", "")
        if not account or customer != event.contact.external_id:
            return None
        now = int(self._wall())
        reply = text_reply(customer, account, now, text)
        if self._safe(request):
            reply = self._encrypted(reply, str(now))
        return WebhookResponse(200, reply, XML_TYPE)

    def _encrypted(self, reply: str, timestamp: str) -> str:
        assert self._key is not None
        nonce = str(secrets.randbelow(10**10))
        encrypted = encrypt(self._key, self.config.app_id, reply.encode())
        return encrypted_envelope(encrypted, signature(self.config.token, timestamp, nonce,
                                                       encrypted), timestamp, nonce)

    # --- outbound -----------------------------------------------------------------------------

    def request_bodies(self, to: ContactRef, message: OutboundMessage
                       ) -> list[tuple[str, dict[str, Any]]]:
        """(API path, JSON body) of each call that sends `message`, in order."""
        if isinstance(message, OutboundTemplate):
            body: dict[str, Any] = {"touser": to.external_id, "template_id": message.name,
                                    "data": {key: {"value": value}
                                             for key, value in message.fields}}
            if message.url:
                body["url"] = message.url
            return [("/cgi-bin/message/template/send", body)]
        text = message.as_text() if isinstance(message, OutboundMenu) else message.text
        return [("/cgi-bin/message/custom/send",
                 {"touser": to.external_id, "msgtype": "text", "text": {"content": part}})
                for part in split_text(text)]

    def _url(self, path: str, **query: str) -> str:
        return f"{self.config.api_base_url.rstrip('/')}{path}?{urlencode(query)}"

    async def send(self, to: ContactRef, message: OutboundMessage) -> SendResult:
        """Call the API once per request body, in order; stop at the first failure."""
        return await send_in_order(self.request_bodies(to, message),
                                   lambda request: self._call(*request))

    async def _call(self, path: str, body: dict[str, Any]) -> str | SendError | None:
        """One API call: the message id WeChat gave (the template API gives one, the
        customer-service API none), or why it failed. A token WeChat no longer accepts (it
        was reset, or another server fetched a newer one) is dropped and the call made once
        more with a fresh one."""
        for attempt in range(2):
            token = await self.tokens.get()
            if isinstance(token, SendError):
                return token
            answer = await self._request("POST", self._url(path, access_token=token), body)
            if isinstance(answer, SendError):
                return answer
            code = answer.get("errcode", 0)
            if code in TOKEN_ERRORS and attempt == 0:
                self.tokens.forget(token)
                continue
            if code != 0:
                return send_error(code, str(answer.get("errmsg", "")))
            msgid = answer.get("msgid")
            return str(msgid) if msgid is not None else None
        raise AssertionError("unreachable: the second attempt always returns")

    async def _fetch_token(self) -> Fetched:
        url = self._url("/cgi-bin/token", grant_type="client_credential",
                        appid=self.config.app_id, secret=self.config.app_secret)
        answer = await self._request("GET", url, None)
        if isinstance(answer, SendError):
            return answer
        token, expires_in = answer.get("access_token"), answer.get("expires_in")
        if isinstance(token, str) and token and isinstance(expires_in, int):
            return token, float(expires_in)
        return send_error(int(answer.get("errcode", -1)), "access token refused: "
                          + str(answer.get("errmsg", "no access_token in the answer")))

    async def _request(self, method: str, url: str,
                       body: dict[str, Any] | None) -> dict[str, Any] | SendError:
        """A JSON call; transport trouble and 5xx answers as temporary SendErrors."""
        import aiohttp

        try:
            async with self.session().request(method, url, json=body) as reply:
                status = reply.status
                data = await reply.json(content_type=None) if status < 500 else None
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            # the URL holds the secret or the token: name the failure, never the URL
            return SendError("network", type(exc).__name__, permanent=False)
        if status >= 500:
            return SendError(f"http_{status}", f"HTTP {status}", permanent=False)
        if not isinstance(data, dict) or not isinstance(data.get("errcode", 0), int):
            return SendError("bad_response", f"HTTP {status} without a JSON object",
                             permanent=False)
        return data
