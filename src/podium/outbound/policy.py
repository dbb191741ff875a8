"""The outbound policy: which hosts and addresses the server may call. Pure: no I/O, no resolving.

Each entry of ``http_allowed_hosts`` / ``http_denied_hosts`` is either

- a **network**: an address or a CIDR block (``127.0.0.0/8``, ``::1``, ``[::1]``, ``10.0.0.0/8``),
  matched against the address the call connects to, whether written in the URL or resolved; or
- a **glob** (``*.example.com``, ``localhost``, ``10.0.0.*``), matched case-insensitively against the
  host as written (both its Unicode and its punycode spelling, and the canonical forms of an IP
  literal).

An address is judged in every form it takes: itself, and the IPv4 address it embeds when it is
IPv4-mapped (``::ffff:a.b.c.d``), NAT64 (``64:ff9b::/96``), IPv4-compatible (``::a.b.c.d``) or 6to4
(``2002::/16``). In order:

    1. always refused: link-local and cloud metadata, unspecified (whatever the settings)
    2. outbound_policy = "strict": loopback, private, CGNAT, multicast, reserved/broadcast
       (unless an http_allowed_hosts *network* entry names the address)
    3. http_denied_hosts: any entry matching the host or the address refuses it
    4. http_allowed_hosts, when not empty: the host or the address must match an entry

A call is permitted only when every address its host resolves to is permitted.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from enum import StrEnum
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from podium.settings import Settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

ALLOWED, DENIED = "http_allowed_hosts", "http_denied_hosts"
_NUMERIC_HOST = frozenset("0123456789abcdefxABCDEFX.")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")  # deprecated IPv4-compatible ::a.b.c.d (but :: and ::1 are not)


class Mode(StrEnum):
    DEFAULT = "default"
    STRICT = "strict"


def _table(rows: Iterable[tuple[str, str]]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(net), label) for net, label in rows)


METADATA = "link-local/metadata"
ALWAYS_REFUSED = _table([
    ("169.254.0.0/16", METADATA), ("fe80::/10", METADATA),
    ("fd00:ec2::254/128", METADATA), ("100.100.100.200/32", METADATA),
    ("0.0.0.0/8", "unspecified"), ("::/128", "unspecified"),
    ("64:ff9b:1::/48", "local-use NAT64"),  # its embedded IPv4 cannot be checked
])
STRICT_REFUSED = _table([
    ("127.0.0.0/8", "loopback"), ("::1/128", "loopback"),
    ("10.0.0.0/8", "private"), ("172.16.0.0/12", "private"), ("192.168.0.0/16", "private"),
    ("fc00::/7", "private"), ("fec0::/10", "private"),
    ("100.64.0.0/10", "CGNAT"),
    ("224.0.0.0/4", "multicast"), ("ff00::/8", "multicast"),
    ("240.0.0.0/4", "reserved/broadcast"), ("192.0.0.0/24", "reserved"), ("198.18.0.0/15", "reserved"),
])


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a call may not be made: ``target`` is the host as the caller named it, ``rule`` the rule."""

    target: str
    rule: str

    def __str__(self) -> str:
        return f"outbound call to {self.target} refused: {self.rule}"


@dataclass(frozen=True, slots=True)
class Entries:
    """One setting's entries, split by kind; ``setting`` names it in reasons."""

    setting: str
    globs: tuple[str, ...]
    networks: tuple[tuple[IPNetwork, str], ...]

    @classmethod
    def parse(cls, setting: str, entries: Iterable[str]) -> Entries:
        globs: list[str] = []
        networks: list[tuple[IPNetwork, str]] = []
        for raw in entries:
            entry = raw.strip()
            if not entry:
                continue
            network = parse_network(entry)
            if network is not None:
                networks.append((network, entry))
            else:
                globs.append(entry.lower().rstrip("."))
        return cls(setting, tuple(globs), tuple(networks))

    def glob_matching(self, names: Iterable[str]) -> str | None:
        return next((g for name in names for g in self.globs if fnmatchcase(name, g)), None)

    def network_containing(self, address: IPAddress) -> str | None:
        return next((entry for net, entry in self.networks if address in net), None)


def parse_network(entry: str) -> IPNetwork | None:
    """``10.0.0.0/8``, ``::1``, ``[::1]`` -> a network; a glob or a name -> None. A malformed CIDR
    (``10.0.0.0/33``) raises ValueError: a typo must not silently match nothing."""
    text = entry[1:-1] if entry.startswith("[") and entry.endswith("]") else entry
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        if "/" in text:
            raise ValueError(f"{entry!r} is not a valid network (CIDR) entry") from None
        return None


def parse_literal(host: str) -> IPAddress | None:
    """The address an IP-literal host denotes, in any spelling resolvers accept (``[::1]``,
    ``127.1``, ``0x7f.0.0.1``, ``2130706433``, ``0177.0.0.1``); None for a name."""
    text = host.strip().rstrip(".")
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    with suppress(ValueError):
        return ipaddress.ip_address(text.split("%", 1)[0])
    if text and set(text) <= _NUMERIC_HOST and text[0].isdigit():
        with suppress(OSError):
            return ipaddress.IPv4Address(socket.inet_aton(text))
    return None


def embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries: IPv4-mapped, NAT64 (64:ff9b::/96), IPv4-compatible or 6to4."""
    if isinstance(address, ipaddress.IPv4Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _COMPATIBLE and int(address) > 0xFFFF):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def host_names(host: str) -> set[str]:
    """The host lower-cased without a trailing dot, in its Unicode and punycode spellings, plus the
    canonical form of an IP literal (and of the IPv4 address it embeds)."""
    name = host.strip().lower().rstrip(".")
    if name.startswith("[") and name.endswith("]"):
        name = name[1:-1]
    names = {name}
    with suppress(UnicodeError):
        names.add(name.encode("idna").decode("ascii"))
    with suppress(UnicodeError):
        names.add(name.encode("ascii").decode("idna"))
    literal = parse_literal(name)
    if literal is not None:
        names.add(str(literal))
        embedded = embedded_ipv4(literal)
        if embedded is not None:
            names.add(str(embedded))
    return names


class OutboundPolicy:
    """The rules every outbound call of the server obeys. ``check_host`` judges the host before any
    resolving (an IP literal is judged completely); ``check_address`` judges one address the host
    resolved to. Each returns None when permitted, else the Refusal."""

    def __init__(self, allowed: Iterable[str] = (), denied: Iterable[str] = (),
                 mode: Mode | str = Mode.DEFAULT) -> None:
        self.allowed = Entries.parse(ALLOWED, allowed)
        self.denied = Entries.parse(DENIED, denied)
        self.mode = Mode(mode)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboundPolicy:
        return cls(settings.http_allowed_hosts, settings.http_denied_hosts, settings.outbound_policy)

    @property
    def restricted(self) -> bool:
        """Whether http_allowed_hosts limits the calls (it is not empty)."""
        return bool(self.allowed.globs or self.allowed.networks)

    def check_host(self, host: str) -> Refusal | None:
        names = host_names(host)
        pattern = self.denied.glob_matching(names)
        if pattern is not None:
            return Refusal(host, f"{host} matches {self.denied.setting} entry {pattern}")
        literal = parse_literal(host)
        if literal is not None:
            return self.check_address(host, literal)
        if self.restricted and not self.allowed.networks and self.allowed.glob_matching(names) is None:
            return Refusal(host, f"{host} is not in {self.allowed.setting}")
        return None

    def check_address(self, host: str, address: IPAddress) -> Refusal | None:
        """Judge ``address``, which ``host`` is (an IP literal) or resolved to."""
        forms = [address, *filter(None, [embedded_ipv4(address)])]
        for form in forms:
            refusal = self._check_form(host, address, form)
            if refusal is not None:
                return refusal
        if self.restricted and self.allowed.glob_matching(host_names(host)) is None \
                and not any(self.allowed.network_containing(form) for form in forms):
            shown = host if str(address) in host_names(host) else f"{host} ({address})"
            return Refusal(host, f"{shown} is not in {self.allowed.setting}")
        return None

    def _check_form(self, host: str, address: IPAddress, form: IPAddress) -> Refusal | None:
        label = _label(ALWAYS_REFUSED, form)
        if label is not None:
            return Refusal(host, f"{_kind(host, address, form, label)} (always refused)")
        label = _label(STRICT_REFUSED, form) if self.mode == Mode.STRICT else None
        if label is not None and self.allowed.network_containing(form) is None:
            return Refusal(host, f"{_kind(host, address, form, label)} (outbound_policy = strict)")
        entry = self.denied.network_containing(form) or self.denied.glob_matching({str(form)})
        if entry is not None:
            return Refusal(host, f"{form} matches {self.denied.setting} entry {entry}")
        return None


def _label(table: tuple[tuple[IPNetwork, str], ...], address: IPAddress) -> str | None:
    return next((label for net, label in table if address in net), None)


def _kind(host: str, address: IPAddress, form: IPAddress, label: str) -> str:
    """'loopback address' when the host is that address, else '127.0.0.1 is a loopback address' (or
    '... (embedded in ::ffff:7f00:1) is a ...')."""
    if form == address and str(form) == host.strip("[]"):
        return f"{label} address"
    article = "an" if label[0] in "aeiou" else "a"
    where = f" (embedded in {address})" if form != address else ""
    return f"{form}{where} is {article} {label} address"
