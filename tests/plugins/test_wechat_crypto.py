"""WeChat signatures and safe-mode encryption, checked against wechatpy in both directions."""

from __future__ import annotations

import base64
import re

import pytest
from supportctl_plugins.wechat_crypto import (
    CryptoError,
    aes_key,
    decrypt,
    encrypt,
    signature,
    signature_matches,
)

TOKEN = "supportctl-test-token"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
APP_ID = "wx0123456789abcdef"
KEY = aes_key(AES_KEY)
MESSAGE = "<xml><Content><![CDATA[订单 #4471]]></Content></xml>"


def test_signature_known_answers() -> None:
    # computed with: printf '%s' $(printf '%s\n' supportctl-test-token 1795424400 1320562132 |
    #                sort | tr -d '\n') | sha1sum
    assert signature(TOKEN, "1795424400", "1320562132") == (
        "77b46b3b30d34df0edb4db42db63756bd278e9f3")
    # the order of the parts does not matter: they are sorted first
    assert signature("1320562132", TOKEN, "1795424400") == signature(TOKEN, "1795424400",
                                                                      "1320562132")
    # SHA-1("abc") from FIPS 180-2, appendix A.1: three one-letter parts sorted into "abc"
    assert signature("c", "a", "b") == "a9993e364706816aba3e25717850c26c9cd0d89d"


def test_our_signature_is_the_one_wechatpy_checks() -> None:
    from wechatpy.exceptions import InvalidSignatureException  # type: ignore[import-untyped]
    from wechatpy.utils import check_signature  # type: ignore[import-untyped]

    given = signature(TOKEN, "1795424400", "1320562132")
    check_signature(TOKEN, given, "1795424400", "1320562132")
    with pytest.raises(InvalidSignatureException):
        check_signature(TOKEN, given, "1795424401", "1320562132")
    assert signature_matches(given.upper(), TOKEN, "1795424400", "1320562132")
    assert not signature_matches(given, TOKEN, "1795424401", "1320562132")
    assert not signature_matches("", TOKEN, "1795424400", "1320562132")


def test_the_aes_key_is_the_encoding_aes_key_decoded() -> None:
    assert base64.b64decode(AES_KEY + "=") == KEY
    assert len(KEY) == 32
    with pytest.raises(CryptoError, match="43 characters"):
        aes_key(AES_KEY[:39])
    with pytest.raises(CryptoError, match="not base64"):
        aes_key("!" * 43)


def test_what_we_encrypt_wechatpy_decrypts() -> None:
    from wechatpy.crypto import PrpCrypto  # type: ignore[import-untyped]

    for message in (MESSAGE, "", "x" * 12, "y" * 300):  # 12: plaintext of 32 bytes exactly
        encrypted = encrypt(KEY, APP_ID, message.encode())
        assert PrpCrypto(KEY).decrypt(encrypted, APP_ID) == message


def test_what_wechatpy_encrypts_we_decrypt() -> None:
    from wechatpy.crypto import WeChatCrypto

    envelope = WeChatCrypto(TOKEN, AES_KEY, APP_ID).encrypt_message(MESSAGE, "nonce1", "17")
    found = re.search(r"<Encrypt><!\[CDATA\[(.*?)\]\]></Encrypt>", envelope)
    assert found is not None
    assert decrypt(KEY, APP_ID, found.group(1)) == MESSAGE.encode()


def test_a_fixed_prefix_gives_a_fixed_ciphertext_and_random_ones_differ() -> None:
    fixed = encrypt(KEY, APP_ID, b"hello", prefix=bytes(16))
    assert fixed == encrypt(KEY, APP_ID, b"hello", prefix=bytes(16))
    assert encrypt(KEY, APP_ID, b"hello") != encrypt(KEY, APP_ID, b"hello")
    with pytest.raises(CryptoError, match="16 bytes"):
        encrypt(KEY, APP_ID, b"hello", prefix=bytes(15))


def test_another_app_id_or_key_is_refused() -> None:
    encrypted = encrypt(KEY, "wxffffffffffffffff", MESSAGE.encode())
    with pytest.raises(CryptoError, match="another AppID"):
        decrypt(KEY, APP_ID, encrypted)
    other_key = aes_key("Z" * 43)
    with pytest.raises(CryptoError):
        decrypt(other_key, APP_ID, encrypt(KEY, APP_ID, MESSAGE.encode()))


@pytest.mark.parametrize("encrypted", ["not base64!", "", base64.b64encode(b"short").decode(),
                                       base64.b64encode(bytes(32)).decode()])
def test_garbage_is_a_crypto_error(encrypted: str) -> None:
    with pytest.raises(CryptoError):
        decrypt(KEY, APP_ID, encrypted)
