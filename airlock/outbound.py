"""Requests Airlock makes to addresses someone typed in: partner regulators' webhooks.

A webhook URL is a request the server makes on someone's say-so. Pointed at
http://169.254.169.254/ (a cloud's metadata service), http://127.0.0.1:6379/ (our Redis),
http://[::1]:5432/ or http://10.0.0.1/, it turns Airlock into a way into its own network
(server-side request forgery), and the delivery log's error text told reviewers which
internal ports answered. So:

- only https, unless PARTNER_WEBHOOK_ALLOW_HTTP (on in development and tests, off in
  production); no user name or password in the URL;
- the host is resolved, and every address it resolves to must be a public one: loopback,
  private, shared (carrier NAT), link-local, multicast, reserved and unspecified addresses
  are refused, as are IPv6 addresses that embed one (::ffff:127.0.0.1, 6to4, Teredo),
  unless PARTNER_WEBHOOK_ALLOWED_NETWORKS names their network (tests' local receivers);
- that check runs when the URL is saved (a field error) and again at every delivery, since
  DNS can change between the two; and the delivery connects to the very address it checked,
  so a name that resolves differently a moment later (DNS rebinding) gains nothing. TLS still
  checks the certificate against the host name.
"""

import http.client
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeDestination(ValueError):
    """The URL may not be requested; the message says why, in words."""


def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (a seam for tests: no test resolves real names)."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeDestination(f"{host} could not be found ({exc}).") from None
    # The scope of an IPv6 link-local address ("fe80::1%eth0") is not part of the address.
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0].split("%")[0]) for info in found))


def _embedded(address: Address) -> list[Address]:
    """The address itself, and any IPv4 address an IPv6 one carries inside it."""
    found: list[Address] = [address]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped:
            found.append(address.ipv4_mapped)
        if address.sixtofour:
            found.append(address.sixtofour)
        if address.teredo:
            found.extend(address.teredo)
    return found


def _not_public(address: Address) -> str | None:
    """What kind of non-public address this is ("a loopback address"), or None if public."""
    for inner in _embedded(address):
        for kind, flag in (
            ("a loopback", inner.is_loopback),
            ("a link-local", inner.is_link_local),
            ("a multicast", inner.is_multicast),
            ("an unspecified", inner.is_unspecified),
            ("a reserved", inner.is_reserved),
            ("a private", inner.is_private),
            ("a non-public", not inner.is_global),
        ):
            if flag:
                carried = f" (it carries {inner})" if inner != address else ""
                return f"{kind} address{carried}"
    return None


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        ipaddress.ip_network(network, strict=False)
        for network in settings.PARTNER_WEBHOOK_ALLOWED_NETWORKS
    ]


def _parse(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
    except ValueError:  # "http://[::1/", say
        raise UnsafeDestination("That is not a web address.") from None
    allowed = {"https", "http"} if settings.PARTNER_WEBHOOK_ALLOW_HTTP else {"https"}
    if parts.scheme not in allowed:
        raise UnsafeDestination(
            "Use an https:// address."
            if parts.scheme != "http"
            else "Use an https:// address: alerts are never sent unencrypted."
        )
    if parts.username is not None or parts.password is not None:
        raise UnsafeDestination("Leave the user name and password out of the address.")
    if not parts.hostname:
        raise UnsafeDestination("The address needs a host name.")
    try:
        parts.port  # noqa: B018 -- raises ValueError for a port out of range
    except ValueError:
        raise UnsafeDestination("The port is not a valid number.") from None
    return parts


@dataclass(frozen=True)
class Destination:
    parts: SplitResult
    addresses: list[Address]

    @property
    def port(self) -> int:
        return self.parts.port or (443 if self.parts.scheme == "https" else 80)


def destination(url: str) -> Destination:
    """The checked destination of `url`: its parts and the public addresses to connect to.
    Raises UnsafeDestination saying why not."""
    parts = _parse(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    addresses = resolve(parts.hostname, port)
    if not addresses:
        raise UnsafeDestination(f"{parts.hostname} could not be found.")
    allowed = _allowed_networks()
    for address in addresses:
        if any(address in network for network in allowed):
            continue
        kind = _not_public(address)
        if kind:
            # Every address must pass: a name with one public and one internal address
            # would otherwise reach the internal one whenever it came first.
            where = (
                f"{address} is"
                if parts.hostname == str(address)
                else f"{parts.hostname} resolves to {address},"
            )
            raise UnsafeDestination(f"{where} {kind}: webhooks must be on the public internet.")
    return Destination(parts=parts, addresses=addresses)


def post(url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> int:
    """POST `body` to `url` after checking where it goes, connecting only to the addresses
    checked; the response status. Raises UnsafeDestination, or OSError (and its kin from
    http.client) when the partner cannot be reached. Redirects are not followed: a
    redirected POST would arrive as a GET without the alert."""
    target = destination(url)
    parts = target.parts
    connection_class = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    connection = connection_class(parts.hostname, target.port, timeout=timeout)

    def connect_checked(_address, timeout=None, source_address=None):
        last_error: OSError | None = None
        for address in target.addresses:
            try:
                return socket.create_connection(
                    (str(address), target.port), timeout, source_address
                )
            except OSError as exc:
                last_error = exc
        raise last_error or OSError("no address to connect to")

    # http.client opens its socket through this attribute; TLS is then set up on that socket
    # for the host name, so the certificate is still checked against the partner's name.
    connection._create_connection = connect_checked
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    try:
        connection.request("POST", path, body=body, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()
