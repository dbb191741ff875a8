"""The outbound policy as a pure function (podium.outbound.policy): nothing here resolves a name or opens
a connection, so link-local, metadata, private and other non-loopback addresses are tested only here."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from podium.cli import build_parser
from podium.outbound import OutboundPolicy
from podium.outbound.policy import embedded_ipv4, parse_literal
from podium.settings import Settings

OPEN = OutboundPolicy()
STRICT = OutboundPolicy(mode="strict")


def refusal(policy: OutboundPolicy, host: str) -> str | None:
    found = policy.check_host(host)
    return None if found is None else str(found)


def resolved(policy: OutboundPolicy, host: str, address: str) -> str | None:
    found = policy.check_address(host, ipaddress.ip_address(address))
    return None if found is None else str(found)


# --- always refused, whatever the settings --------------------------------------------------------

ALWAYS = [
    "169.254.169.254", "169.254.0.1", "[fe80::1]", "fe80::abcd:1%eth0", "[fd00:ec2::254]", "100.100.100.200",
    "0.0.0.0", "0.1.2.3", "[::]",
    # IPv4-mapped, NAT64 and 6to4 forms of a link-local / metadata / unspecified address
    "[::ffff:169.254.169.254]", "[::ffff:a9fe:a9fe]", "[::ffff:0.0.0.0]", "[64:ff9b::169.254.169.254]",
    "[64:ff9b::a9fe:a9fe]", "[64:ff9b::]", "[2002:a9fe:a9fe::1]", "[64:ff9b:1::a9fe:a9fe]", "[::a9fe:a9fe]",
    # the numeric spellings resolvers accept
    "0", "0x0", "0xa9fea9fe", "2852039166", "169.254.43518", "0xa9.0xfe.0xa9.0xfe", "0251.0376.0251.0376",
]


@pytest.mark.parametrize("host", ALWAYS)
@pytest.mark.parametrize("mode", ["default", "strict"])
def test_metadata_link_local_and_unspecified_are_always_refused(host: str, mode: str) -> None:
    permissive = OutboundPolicy(allowed=["*", "0.0.0.0/0", "::/0"], mode=mode)
    for policy in (permissive, OutboundPolicy(mode=mode)):
        reason = refusal(policy, host)
        assert reason is not None and reason.endswith("(always refused)"), (host, reason)


def test_always_refused_reasons_name_the_rule() -> None:
    assert refusal(OPEN, "169.254.169.254") == (
        "outbound call to 169.254.169.254 refused: link-local/metadata address (always refused)")
    assert refusal(OPEN, "0.0.0.0") == "outbound call to 0.0.0.0 refused: unspecified address (always refused)"
    assert refusal(OPEN, "[::]") == "outbound call to [::] refused: unspecified address (always refused)"
    assert refusal(OPEN, "2852039166") == (
        "outbound call to 2852039166 refused: 169.254.169.254 is a link-local/metadata address (always refused)")
    assert refusal(OPEN, "64:ff9b::a9fe:a9fe") == (
        "outbound call to 64:ff9b::a9fe:a9fe refused: 169.254.169.254 (embedded in 64:ff9b::a9fe:a9fe) "
        "is a link-local/metadata address (always refused)")
    assert resolved(OPEN, "metadata.google.internal", "169.254.169.254") == (
        "outbound call to metadata.google.internal refused: 169.254.169.254 is a link-local/metadata address "
        "(always refused)")


# --- default and strict ----------------------------------------------------------------------------

LOCAL = ["127.0.0.1", "127.0.0.2", "[::1]", "10.1.2.3", "172.16.0.1", "172.31.255.254", "192.168.1.1",
         "[fc00::1]", "[fd12:3456::1]", "100.64.0.1", "224.0.0.251", "[ff02::1]", "240.0.0.1",
         "255.255.255.255", "[::ffff:10.0.0.1]", "[64:ff9b::7f00:1]", "127.1", "0x7f.1", "2130706433",
         "0177.0.0.1", "[2002:c0a8:101::1]"]


@pytest.mark.parametrize("host", LOCAL)
def test_default_allows_loopback_private_and_the_rest(host: str) -> None:
    assert refusal(OPEN, host) is None


@pytest.mark.parametrize("host", LOCAL)
def test_strict_refuses_loopback_private_cgnat_multicast_and_reserved(host: str) -> None:
    reason = refusal(STRICT, host)
    assert reason is not None and reason.endswith("(outbound_policy = strict)"), (host, reason)


@pytest.mark.parametrize(("host", "rule"), [
    ("127.0.0.1", "loopback address"), ("[::1]", "loopback address"), ("10.0.0.1", "private address"),
    ("[fc00::1]", "private address"), ("100.64.0.1", "CGNAT address"), ("224.0.0.1", "multicast address"),
    ("255.255.255.255", "reserved/broadcast address"),
    ("0x7f.1", "127.0.0.1 is a loopback address"),
    ("[::ffff:192.168.0.1]", "192.168.0.1 (embedded in ::ffff:c0a8:1) is a private address"),
])
def test_strict_reasons_name_the_range(host: str, rule: str) -> None:
    assert refusal(STRICT, host) == f"outbound call to {host} refused: {rule} (outbound_policy = strict)"


@pytest.mark.parametrize("host", ["8.8.8.8", "[2001:4860:4860::8888]", "example.com", "[64:ff9b::808:808]"])
def test_strict_allows_public_addresses_and_names(host: str) -> None:
    assert refusal(STRICT, host) is None


def test_strict_judges_resolved_addresses() -> None:
    assert resolved(STRICT, "localhost", "127.0.0.1") == (
        "outbound call to localhost refused: 127.0.0.1 is a loopback address (outbound_policy = strict)")
    assert resolved(STRICT, "api.example.com", "93.184.215.14") is None


def test_an_allowed_network_entry_opens_a_strict_range_but_never_metadata() -> None:
    policy = OutboundPolicy(allowed=["10.20.0.0/16", "169.254.0.0/16"], mode="strict")
    assert refusal(policy, "10.20.1.1") is None
    assert resolved(policy, "billing.internal", "10.20.1.1") is None
    assert refusal(policy, "10.21.1.1") is not None
    assert refusal(policy, "169.254.169.254") is not None


# --- http_denied_hosts and http_allowed_hosts -----------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "127.255.255.254", "127.1", "0x7f.1", "2130706433",
                                  "0177.0.0.1", "[::ffff:127.0.0.1]", "[64:ff9b::7f00:1]", "127.0.0.1."])
def test_a_denied_network_refuses_every_spelling_of_its_addresses(host: str) -> None:
    reason = refusal(OutboundPolicy(denied=["127.0.0.0/8"]), host)
    assert reason is not None and "matches http_denied_hosts entry 127.0.0.0/8" in reason, reason


def test_denied_reasons_name_the_entry() -> None:
    policy = OutboundPolicy(denied=["127.0.0.0/8", "::1", "*.evil.com"])
    assert refusal(policy, "127.0.0.1") == (
        "outbound call to 127.0.0.1 refused: 127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8")
    assert refusal(policy, "[::1]") == "outbound call to [::1] refused: ::1 matches http_denied_hosts entry ::1"
    assert refusal(policy, "a.evil.com") == (
        "outbound call to a.evil.com refused: a.evil.com matches http_denied_hosts entry *.evil.com")


def test_a_name_resolving_to_a_denied_address_is_refused() -> None:
    policy = OutboundPolicy(denied=["127.0.0.0/8"])
    assert refusal(policy, "localhost") is None  # not known before resolving
    assert resolved(policy, "localhost", "127.0.0.1") == (
        "outbound call to localhost refused: 127.0.0.1 matches http_denied_hosts entry 127.0.0.0/8")
    assert resolved(policy, "rebound.example.com", "::ffff:127.0.0.9") is not None
    assert resolved(policy, "api.example.com", "93.184.215.14") is None


def test_host_globs_match_the_host_as_written() -> None:
    policy = OutboundPolicy(denied=["localhost", "EVIL.com", "10.0.0.*"])
    for host in ("localhost", "LOCALHOST.", "Evil.Com", "10.0.0.7"):
        assert refusal(policy, host) is not None, host
    assert resolved(policy, "intranet", "10.0.0.7") is not None  # a denied glob also meets the address
    assert refusal(policy, "good.com") is None


def test_ipv6_and_international_entries() -> None:
    assert refusal(OutboundPolicy(denied=["[::1]"]), "[0:0::1]") is not None
    assert refusal(OutboundPolicy(denied=["::1"]), "[::1]") is not None
    assert refusal(OutboundPolicy(denied=["fd00::/8"]), "[fd00::5]") is not None
    assert refusal(OutboundPolicy(denied=["xn--bcher-kva.de"]), "bücher.de") is not None
    assert refusal(OutboundPolicy(denied=["bücher.de"]), "xn--bcher-kva.de") is not None


def test_an_empty_allowed_list_allows_everything_not_denied() -> None:
    assert refusal(OPEN, "anything.example") is None
    assert resolved(OPEN, "anything.example", "203.0.113.9") is None


def test_allowed_globs_and_networks() -> None:
    policy = OutboundPolicy(allowed=["*.example.com", "10.0.0.0/8"])
    assert refusal(policy, "api.example.com") is None
    assert resolved(policy, "api.example.com", "203.0.113.9") is None
    assert refusal(policy, "10.9.9.9") is None
    assert refusal(policy, "evil.com") is None  # it may still resolve into 10.0.0.0/8
    assert resolved(policy, "evil.com", "10.1.1.1") is None
    assert resolved(policy, "evil.com", "203.0.113.9") == (
        "outbound call to evil.com refused: evil.com (203.0.113.9) is not in http_allowed_hosts")
    assert refusal(policy, "192.0.2.1") == "outbound call to 192.0.2.1 refused: 192.0.2.1 is not in http_allowed_hosts"


def test_a_name_outside_allowed_globs_is_refused_before_resolving() -> None:
    policy = OutboundPolicy(allowed=["*.example.com"])
    assert refusal(policy, "example.org") == (
        "outbound call to example.org refused: example.org is not in http_allowed_hosts")
    assert refusal(policy, "https.example.com.evil.org") is not None


def test_denied_wins_over_allowed() -> None:
    policy = OutboundPolicy(allowed=["*.example.com", "127.0.0.0/8"], denied=["admin.example.com", "127.0.0.2"])
    assert refusal(policy, "api.example.com") is None
    assert refusal(policy, "admin.example.com") is not None
    assert refusal(policy, "127.0.0.1") is None
    assert refusal(policy, "127.0.0.2") is not None


# --- parsing and settings -------------------------------------------------------------------------

@pytest.mark.parametrize(("host", "address"), [
    ("127.1", "127.0.0.1"), ("0x7f.1", "127.0.0.1"), ("0x7f.0.0.1", "127.0.0.1"), ("2130706433", "127.0.0.1"),
    ("0177.0.0.1", "127.0.0.1"), ("0", "0.0.0.0"), ("[::1]", "::1"), ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ("10.0.0.1.", "10.0.0.1"),
])
def test_literals_in_every_spelling(host: str, address: str) -> None:
    assert parse_literal(host) == ipaddress.ip_address(address)


@pytest.mark.parametrize("host", ["localhost", "example.com", "deadbeef", "1.2.3.4.5", "0x", "", "127.0.0.1.evil"])
def test_names_are_not_literals(host: str) -> None:
    assert parse_literal(host) is None


def test_embedded_ipv4() -> None:
    def embedded(text: str) -> str | None:
        found = embedded_ipv4(ipaddress.ip_address(text))
        return None if found is None else str(found)

    assert embedded("::ffff:169.254.169.254") == "169.254.169.254"
    assert embedded("64:ff9b::a9fe:a9fe") == "169.254.169.254"
    assert embedded("2002:7f00:1::") == "127.0.0.1"
    assert embedded("::169.254.169.254") == "169.254.169.254"
    assert embedded("::1") is None and embedded("::") is None
    assert embedded("2001:db8::1") is None
    assert embedded("10.0.0.1") is None


def test_the_policy_comes_from_settings() -> None:
    settings = Settings(http_allowed_hosts=["*.example.com"], http_denied_hosts=["admin.example.com", "10.0.0.0/8"],
                        outbound_policy="strict")
    policy = OutboundPolicy.from_settings(settings)
    assert refusal(policy, "api.example.com") is None
    assert refusal(policy, "admin.example.com") is not None
    assert resolved(policy, "api.example.com", "10.1.1.1") is not None
    assert resolved(policy, "api.example.com", "127.0.0.1") is not None  # strict


def test_the_outbound_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PODIUM_OUTBOUND_POLICY", "strict")
    monkeypatch.setenv("PODIUM_HTTP_DENIED_HOSTS", '["127.0.0.0/8", "::1"]')
    settings = Settings()
    assert (settings.outbound_policy, settings.http_denied_hosts) == ("strict", ["127.0.0.0/8", "::1"])
    assert Settings.model_fields["outbound_policy"].default == "default"


@pytest.mark.parametrize("entry", ["10.0.0.0/33", "10.0.0/8x", "::1/129"])
def test_a_malformed_network_entry_is_refused_at_start(entry: str) -> None:
    with pytest.raises(ValidationError, match="not a valid network"):
        Settings(http_denied_hosts=[entry])
    with pytest.raises(ValueError, match="not a valid network"):
        OutboundPolicy(allowed=[entry])


def test_bad_outbound_policy_values_are_refused() -> None:
    with pytest.raises(ValidationError):
        Settings(outbound_policy="lenient")  # type: ignore[arg-type]


def test_the_server_flag_names_its_environment_variable() -> None:
    server = build_parser()._subparsers._group_actions[0].choices["server"]  # type: ignore[union-attr]
    text = " ".join(server.format_help().split())
    assert "--outbound-policy" in text and "PODIUM_OUTBOUND_POLICY" in text
