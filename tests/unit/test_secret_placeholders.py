"""`${workflow.secrets.NAME}` placeholders (podium.engine.secrets): found, filled in, taken out."""

from __future__ import annotations

from podium.engine.expressions import resolve
from podium.engine.secrets import names_in, placeholder, redact, reveal, valid_name

VALUES = {"TOKEN": "t0k3n", "db-pass": "pa55"}


def test_names_in_every_string_of_the_payload() -> None:
    payload = {"a": "${workflow.secrets.TOKEN}", "b": ["x ${workflow.secrets['db-pass']} y", 3, None],
               "c": {"d": '${workflow.secrets["OTHER"]}', "${workflow.secrets.KEY_IS_NOT_READ}": 1},
               "e": "${workflow.secrets}", "f": "${workflow.secrets.a.b}", "g": "workflow.secrets.PLAIN"}
    assert names_in(payload) == {"TOKEN", "db-pass", "OTHER"}
    assert names_in({"a": "${workflow.input.x}", "b": 1}) == set()


def test_reveal_fills_in_known_names_and_leaves_the_rest() -> None:
    payload = {"auth": "Bearer ${workflow.secrets.TOKEN}",
               "both": "${workflow.secrets.TOKEN}/${workflow.secrets.db-pass}",
               "spaced": "${ $.workflow.secrets.TOKEN }", "unknown": "${workflow.secrets.NOPE}",
               "list": ["${workflow.secrets['TOKEN']}", 1, True], "plain": "text", "n": None}
    assert reveal(payload, VALUES) == {
        "auth": "Bearer t0k3n", "both": "t0k3n/pa55", "spaced": "t0k3n", "unknown": "${workflow.secrets.NOPE}",
        "list": ["t0k3n", 1, True], "plain": "text", "n": None}
    assert payload["auth"] == "Bearer ${workflow.secrets.TOKEN}"  # a copy: the payload keeps its placeholders


def test_redact_takes_values_out_longest_first_keys_included() -> None:
    values = {"SHORT": "abc", "LONG": "abcdef"}
    echoed = {"body": "got abcdef and abc", "abc": ["abc", 5], "reason": None}
    assert redact(echoed, values) == {
        "body": "got ${workflow.secrets.LONG} and ${workflow.secrets.SHORT}",
        "${workflow.secrets.SHORT}": ["${workflow.secrets.SHORT}", 5], "reason": None}
    assert redact("abc", {}) == "abc"
    assert redact("x", {"EMPTY": ""}) == "x"


def test_expressions_keep_the_placeholder_that_hand_out_reads() -> None:
    resolved = resolve({"h": "Bearer ${workflow.secrets.TOKEN}", "i": "${workflow.input.k}"},
                       {"workflow": {"input": {"k": "v"}, "secrets": {"TOKEN": "leak"}}})
    assert resolved == {"h": "Bearer ${workflow.secrets.TOKEN}", "i": "v"}
    assert reveal(resolved, VALUES) == {"h": "Bearer t0k3n", "i": "v"}


def test_names() -> None:
    assert valid_name("A_b-9") and not valid_name("a.b") and not valid_name("") and not valid_name("x" * 256)
    assert placeholder("X") == "${workflow.secrets.X}"
