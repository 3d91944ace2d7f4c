"""Integrity signals kept with each response: salted hashes, never raw identifiers."""

import hashlib
import hmac
import ipaddress


def salted_hash(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]


def network_of(address: str | None) -> str:
    """Return the client's network: /24 for IPv4, /48 for IPv6 (a shared Wi-Fi, a carrier NAT)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def network_hash(salt: str, address: str | None) -> str:
    return salted_hash(salt, "net:" + network_of(address))


def device_hash(salt: str, device_cookie: str) -> str:
    return salted_hash(salt, "dev:" + device_cookie)
