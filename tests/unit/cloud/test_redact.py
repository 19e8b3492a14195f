"""No output carries a secret, token or signature: the redactor, and the SDK's own printing."""

from __future__ import annotations

import logging

import pytest

from reconciler.cloud.redact import RedactingFilter, redact, remember_secret, silence_sdk_output
from reconciler.cloud.retry import classify

V3_AUTH = (
    "Authorization : ACS3-HMAC-SHA256 Credential=LTAI5tExample,"
    "SignedHeaders=accept;host;x-acs-date,"
    "Signature=2698bb8b1a6460ebd287b403b975222283f91f67b0223648916250ac41a66469"
)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        (V3_AUTH, "2698bb8b1a6460ebd287b403b975222283f91f67b0223648916250ac41a66469"),
        ("> x-acs-security-token : CAIS-token-value\n", "CAIS-token-value"),
        ("x-acs-security-token: CAIS-token-value", "CAIS-token-value"),
        ("POST /?Action=X&Signature=abc%2Bdef%3D&SignatureMethod=HMAC-SHA1", "abc%2Bdef%3D"),
        ("/?AccessKeyId=AK&SecurityToken=CAIS%2Btok&Timestamp=1", "CAIS%2Btok"),
        ("sign is:POST&%2F&AccessKeyId%3DAK%26SecurityToken%3DCAIStok%26Version", "CAIStok"),
        ("sign is:GET&%2F&SecurityToken%3DCAIS%252Btok%26X", "CAIS%252Btok"),
        ('{"AccessKeySecret": "s3cr3t-value", "x": 1}', "s3cr3t-value"),
        ("access_key_secret='s3cr3t-value'", "s3cr3t-value"),
        ('"SecurityToken": "CAIS-json-token"', "CAIS-json-token"),
        ("bearer_token=tok-bearer-value", "tok-bearer-value"),
    ],
)
def test_redact_patterns(text: str, secret: str) -> None:
    assert secret not in redact(text)
    assert "***" in redact(text)


def test_redact_keeps_harmless_text() -> None:
    text = "kms:DescribeKey: Forbidden.KeyNotFound: The specified Key is not found."
    assert redact(text) == text
    # The V3 string to sign in SignatureDoesNotMatch is a hash, not a secret: kept for support.
    sts = "server string to sign is:ACS3-HMAC-SHA256\\n5c4d50d260ab24b2"
    assert redact(sts) == sts


def test_remembered_secret_values_are_redacted_in_any_encoding() -> None:
    remember_secret("Very/Secret+Value==")
    forms = (
        "Very/Secret+Value==",
        "Very%2FSecret%2BValue%3D%3D",
        "Very%252FSecret%252BValue%253D%253D",
    )
    for form in forms:
        assert "Very" not in redact(f"x {form} y"), form
    remember_secret("short")  # too short to redact safely: it would mangle ordinary words
    assert redact("a short text") == "a short text"


class CloudError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.code = "SignatureDoesNotMatch"
        self.status_code = 400
        self.request_id = "r"
        self.data = {"Message": message}


def test_cloud_error_messages_are_redacted() -> None:
    message = (
        "Specified signature is not matched with our calculation. server string to sign is:"
        "POST&%2F&AccessKeyId%3DAK%26SecurityToken%3DCAIS-leaked%26Signature%3Dxyz"
    )
    error = classify("kms:DescribeKey", CloudError(message))
    assert "CAIS-leaked" not in str(error) and "xyz" not in str(error)
    assert "SignatureDoesNotMatch" in str(error)


class Inner(Exception):
    pass


class Wrapper(Exception):
    def __init__(self, inner: Exception) -> None:
        super().__init__("x")
        self.code = None
        self.inner_exception = inner


def test_client_side_error_messages_are_redacted() -> None:
    error = classify("x", Wrapper(Inner("refresh failed for access_key_secret=abcd1234efgh")))
    assert "abcd1234efgh" not in str(error)


def test_sdk_loggers_print_nothing_whatever_their_configuration(
    capsys: pytest.CaptureFixture[str],
) -> None:
    silence_sdk_output()
    import logging.config

    # Even a later logging setup that re-enables existing loggers does not bring them back.
    logging.config.dictConfig({"version": 1, "disable_existing_loggers": False})
    for name in ("darabonba-core", "alibabacloud-tea", "credentials"):
        logger = logging.getLogger(name)
        handler = logging.StreamHandler()
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        logger.debug("> x-acs-security-token : tok-from-%s", name)
        logger.removeHandler(handler)
    assert "tok-from" not in capsys.readouterr().err


def test_http_library_debug_logs_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    silence_sdk_output()
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("urllib3.connectionpool").debug(
            '%s://%s:%s "%s %s %s" %s %s',
            "http",
            "127.0.0.1",
            80,
            "POST",
            "/?Signature=c2lnbmF0dXJl&SecurityToken=CAIS-tok",
            "HTTP/1.1",
            200,
            10,
        )
    assert "c2lnbmF0dXJl" not in caplog.text and "CAIS-tok" not in caplog.text
    assert "127.0.0.1" in caplog.text


def test_redacting_filter_for_our_own_handlers() -> None:
    args = ("x-acs-security-token: t0k3n-val",)
    record = logging.LogRecord("x", logging.DEBUG, "f", 1, "token %s", args, None)
    assert RedactingFilter().filter(record)
    assert "t0k3n-val" not in record.getMessage()


def test_credentials_found_by_the_chain_are_remembered(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    from reconciler.cloud.clients import CloudClients, CloudSettings

    for name in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET"):
        monkeypatch.delenv(name, raising=False)
    profile = tmp_path / "credentials.ini"
    profile.write_text(
        "[p]\ntype = access_key\naccess_key_id = AKID\naccess_key_secret = profile-secret-9x\n"
    )
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(profile))
    monkeypatch.setenv("HOME", str(tmp_path))
    CloudClients(CloudSettings(endpoint="127.0.0.1:9", profile="p"))
    assert "profile-secret-9x" not in redact("oops: profile-secret-9x")
