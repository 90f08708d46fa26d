"""Which address the throttles count: the socket peer, or what a trusted proxy appended."""

from tierslieu.clients import client_key, resolve_client
from tierslieu.settings import Settings

PROXIES = ("10.0.0.0/8", "::1/128")


def test_without_trusted_proxies_the_peer_is_the_client():
    assert resolve_client("127.0.0.1", ["6.6.6.6"], ()) == "127.0.0.1"


def test_an_untrusted_peer_cannot_name_another_client():
    assert resolve_client("203.0.113.9", ["10.1.1.1"], PROXIES) == "203.0.113.9"


def test_the_right_most_untrusted_hop_is_the_client():
    assert resolve_client("10.0.0.5", ["6.6.6.6, 198.51.100.7, 10.0.0.4"], PROXIES) == (
        "198.51.100.7"
    )
    # Several header lines are one chain; IPv6 peers work too.
    assert resolve_client("::1", ["6.6.6.6", "198.51.100.7"], PROXIES) == "198.51.100.7"


def test_edge_cases_of_the_chain():
    assert resolve_client("10.0.0.5", [], PROXIES) == "10.0.0.5"
    assert resolve_client("10.0.0.5", [" , "], PROXIES) == "10.0.0.5"
    assert resolve_client("10.0.0.5", ["10.0.0.9, 10.0.0.8"], PROXIES) == "10.0.0.9"


def test_client_keys_have_a_fixed_length_whatever_the_value():
    settings = Settings(secret_key="k")
    short, long = client_key("1.2.3.4", settings), client_key("A" * 5000, settings)
    assert len(short) == len(long) == 64 and short != long
    assert client_key("A" * 100, settings) != client_key("A" * 101, settings)
