"""The token in a partner link: signed over everything the link is bound to, checked in constant time,
and the key it is signed with comes from the settings, a Prefect Secret block, or a local key file."""

from __future__ import annotations

import hmac
import os
import stat
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.links import tokens
from app.links.tokens import LinkKeyError, link_id, load_key, make_token, signed_for
from integrations.directory import SecretUnavailable
from store.links import LinkRecord

KEY = b"k" * 40
LINK = LinkRecord(id=tokens.new_link_id(), case_ref="PD-2026-0316", kind="step", step="lessen_starten",
                  task_id="lessen_starten-41", role="taalaanbieder", recipient="taalschool_delta",
                  issued_at=datetime(2026, 5, 15, 7, tzinfo=UTC), expires_at=datetime(2026, 5, 29, 22, tzinfo=UTC))


def test_a_token_names_its_link_and_checks_out_with_the_key_it_was_signed_with():
    token = make_token(KEY, LINK)

    assert len(token) == 71 and token.startswith("1")
    assert link_id(token) == LINK.id
    assert signed_for(KEY, token, LINK)


def test_a_token_changed_in_any_one_place_no_longer_checks_out():
    token = make_token(KEY, LINK)

    for i in range(1, len(token)):
        changed = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1:]
        assert not (link_id(changed) == LINK.id and signed_for(KEY, changed, LINK)), f"position {i}"


@pytest.mark.parametrize("moved", [
    {"case_ref": "PD-2026-0999"}, {"step": "pvt_afronden"}, {"task_id": "lessen_starten-42"},
    {"role": "jobcoach"}, {"recipient": "andere_school"}, {"kind": "signal"},
    {"expires_at": LINK.expires_at + timedelta(days=30)},
])
def test_a_token_is_bound_to_case_step_role_recipient_and_expiry(moved):
    token = make_token(KEY, LINK)

    assert not signed_for(KEY, token, replace(LINK, **moved))


def test_a_token_signed_with_another_key_does_not_check_out():
    assert not signed_for(KEY, make_token(b"x" * 40, LINK), LINK)


@pytest.mark.parametrize("text", ["", "1", "abc", "2" + "A" * 70, "1" + "A" * 69, "1" + "A" * 71, "1" + "é" * 70,
                                  "1" + "A" * 60 + "../../etc"])
def test_text_not_shaped_like_a_token_names_no_link(text):
    assert link_id(text) is None


def test_every_token_check_compares_in_constant_time(monkeypatch):
    compared = []
    real = hmac.compare_digest

    def spy(a, b):
        compared.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(tokens.hmac, "compare_digest", spy)
    token = make_token(KEY, LINK)

    assert signed_for(KEY, token, LINK)
    assert not signed_for(KEY, token[:-1] + ("A" if token[-1] != "A" else "B"), LINK)
    assert not signed_for(KEY, "1" + "A" * 70, LINK)
    assert compared == [(71, 71)] * 3


def test_the_embedded_default_makes_a_key_file_once_readable_only_by_its_owner(tmp_path):
    first = load_key("", tmp_path, lambda name: "unused")
    again = load_key("", tmp_path, lambda name: "unused")

    assert first == again and len(first) >= 32
    assert stat.S_IMODE(os.stat(tmp_path / tokens.KEY_FILE).st_mode) == 0o600


def test_a_configured_key_is_used_as_it_is_and_must_be_long_enough(tmp_path):
    assert load_key("s" * 32, tmp_path, lambda name: "unused") == b"s" * 32
    with pytest.raises(LinkKeyError, match="te kort .*minstens 32"):
        load_key("short", tmp_path, lambda name: "unused")
    assert not (tmp_path / tokens.KEY_FILE).exists()


def test_a_key_in_a_prefect_secret_block_is_read_from_it(tmp_path):
    blocks = {"regie-link-key": "b" * 40}

    def load(name: str) -> str:
        if name not in blocks:
            raise SecretUnavailable(f"Prefect Secret-blok {name!r} is niet te lezen (not found)")
        return blocks[name]

    assert load_key("secret:regie-link-key", tmp_path, load) == b"b" * 40
    with pytest.raises(LinkKeyError, match="noemt een Prefect Secret-blok dat niet te lezen is: .*'elders'"):
        load_key("secret:elders", tmp_path, load)
