"""Every channel's parser, fed its payload fixtures broken by hypothesis and correctly signed:
the delivery is refused whole (4xx, no events) or read into well-typed events that survive the
inbox's JSON unchanged; it never raises.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from malformed import (
    KINDS,
    META_APP_SECRET,
    SMS_SECRET,
    TELEGRAM_SECRET,
    WECHAT_AES_KEY,
    WECHAT_APP_ID,
    WECHAT_TOKEN,
    assert_well_formed,
)
from supportctl_plugins.meta import InstagramChannel, MessengerChannel
from supportctl_plugins.meta_runtime import InstagramChannelRuntime, MessengerChannelRuntime
from supportctl_plugins.telegram import TelegramChannel
from supportctl_plugins.telegram_runtime import TelegramChannelRuntime
from supportctl_plugins.wechat import WeChatChannel
from supportctl_plugins.wechat_runtime import WeChatChannelRuntime
from supportctl_plugins.whatsapp import WhatsAppChannel
from supportctl_plugins.whatsapp_runtime import WhatsAppChannelRuntime

from supportctl.plugins.channel import ChannelRuntime, receive

# the third-party example, imported from its folder (it is not installed here)
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples/plugins/supportctl-sms"))
from supportctl_sms import SmsChannel
from supportctl_sms.runtime import SmsChannelRuntime

LONG = 200_000  # characters of a long string: absurd for any field, well inside 1 MiB

RUNTIMES: dict[str, Callable[[], ChannelRuntime]] = {
    "whatsapp": lambda: WhatsAppChannelRuntime("wa", WhatsAppChannel(
        type="whatsapp", phone_number_id="1098765432", access_token="EAAtoken",
        app_secret=META_APP_SECRET, verify_token="verify")),
    "messenger": lambda: MessengerChannelRuntime("fb", MessengerChannel(
        type="messenger", page_id="112233445566778", page_access_token="EAAGpage",
        app_secret=META_APP_SECRET, verify_token="verify")),
    "instagram": lambda: InstagramChannelRuntime("ig", InstagramChannel(
        type="instagram", instagram_account_id="17841405822304914",
        page_access_token="EAAGinsta", app_secret=META_APP_SECRET, verify_token="verify")),
    "telegram": lambda: TelegramChannelRuntime("tg", TelegramChannel(
        type="telegram", bot_token="6012345678:AAE-token", secret_token=TELEGRAM_SECRET)),
    "wechat": lambda: WeChatChannelRuntime("wx", WeChatChannel(
        type="wechat", app_id=WECHAT_APP_ID, app_secret="secret", token=WECHAT_TOKEN,
        encoding_aes_key=WECHAT_AES_KEY)),
    "sms": lambda: SmsChannelRuntime("sms", SmsChannel(
        type="sms", phone_number="+12125550100", api_key="key", webhook_secret=SMS_SECRET)),
}
RUNTIMES["wechat-safe"] = RUNTIMES["wechat"]
CASES = [(kind, fixture) for kind in KINDS for fixture in KINDS[kind].fixtures()]


@pytest.mark.parametrize(("kind", "fixture"), CASES,
                         ids=[f"{kind}/{fixture.name}" for kind, fixture in CASES])
@settings(max_examples=30, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_a_broken_delivery_is_refused_whole_or_read_into_well_typed_events(
        kind: str, fixture: Path, data: st.DataObject) -> None:
    body = data.draw(KINDS[kind].mutated(fixture, LONG), label="body")
    runtime = RUNTIMES[kind]()
    outcome = receive(runtime, KINDS[kind].sign(body).request())
    status = outcome.response.status
    assert 200 <= status < 300 or 400 <= status < 500, outcome.response
    if status >= 400:
        assert outcome.events == ()
    for event in outcome.events:
        assert_well_formed(event, runtime.channel_id)


@pytest.mark.parametrize(("kind", "fixture"), CASES,
                         ids=[f"{kind}/{fixture.name}" for kind, fixture in CASES])
def test_every_fixture_unbroken_is_read(kind: str, fixture: Path) -> None:
    """The other test breaks these: whole, each is a delivery the channel accepts."""
    runtime = RUNTIMES[kind]()
    outcome = receive(runtime, KINDS[kind].sign(fixture.read_bytes()).request())
    assert outcome.response.status == 200, outcome.response
    for event in outcome.events:
        assert_well_formed(event, runtime.channel_id)
