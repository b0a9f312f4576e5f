"""The SSRF guard: webhook URLs must resolve to public addresses unless the operator allows them."""

import socket

import pytest

from interfaces.adapters.webhook_guard import UnsafeWebhookURL, check_url

PUBLIC_V4, PUBLIC_V6 = "93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def resolving_to(*addresses):
    """A fake resolver: every host name resolves to ``addresses``; it records what it was asked."""

    def resolver(host, port):
        resolver.asked.append((host, port))
        return list(addresses)

    resolver.asked = []
    return resolver


def unresolvable(host, port):
    raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.1.2.3", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.254", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),
        ("2002:7f00:1::1", "loopback"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("100.64.0.1", "not a public"),
        ("240.0.0.1", "reserved"),
    ],
)
def test_a_host_resolving_to_a_non_public_address_is_refused(address, kind):
    with pytest.raises(UnsafeWebhookURL, match=kind) as refused:
        check_url("https://hooks.example.com/in", [], resolver=resolving_to(address))
    assert "hooks.example.com" in str(refused.value)
    assert "LEDGERFLOW_WEBHOOK_ALLOWED_HOSTS" in str(refused.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://10.0.0.5/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://0.0.0.0/hook",
        "http://169.254.169.254/latest/meta-data",
    ],
)
def test_an_ip_literal_is_judged_without_resolving(url):
    resolver = resolving_to(PUBLIC_V4)
    with pytest.raises(UnsafeWebhookURL):
        check_url(url, [], resolver=resolver)
    assert resolver.asked == []


def test_a_host_with_one_private_address_among_public_ones_is_refused():
    with pytest.raises(UnsafeWebhookURL, match=r"10\.0\.0\.7"):
        check_url("https://mixed.example.com/", [], resolver=resolving_to(PUBLIC_V4, "10.0.0.7"))


def test_a_host_resolving_only_to_public_addresses_passes_and_is_resolved_on_its_port():
    resolver = resolving_to(PUBLIC_V4, PUBLIC_V6)
    check_url("https://hooks.example.com:8443/in", [], resolver=resolver)
    assert resolver.asked == [("hooks.example.com", 8443)]
    check_url("http://hooks.example.com/in", [], resolver=resolver)
    assert resolver.asked[-1] == ("hooks.example.com", 80)


def test_an_unresolvable_host_is_refused():
    with pytest.raises(UnsafeWebhookURL, match="cannot be resolved"):
        check_url("https://nowhere.invalid/", [], resolver=unresolvable)


def test_an_allowed_address_passes_and_so_does_its_ipv4_mapped_form():
    check_url("http://127.0.0.1:9000/hook", ["127.0.0.1"])
    check_url("http://[::ffff:127.0.0.1]:9000/hook", ["127.0.0.1"])
    check_url("http://localhost-alias.test/", ["127.0.0.1"], resolver=resolving_to("127.0.0.1"))
    with pytest.raises(UnsafeWebhookURL):
        check_url("http://127.0.0.2/hook", ["127.0.0.1"])


def test_an_allowed_cidr_admits_the_addresses_inside_it_only():
    allowed = [" 10.0.0.0/8 ", "fd00::/8"]
    check_url("http://10.20.30.40/hook", allowed)
    check_url("http://[fd00::5]/hook", allowed)
    with pytest.raises(UnsafeWebhookURL, match=r"192\.168\.0\.1"):
        check_url("http://192.168.0.1/hook", allowed)


def test_an_allowed_host_name_is_trusted_whatever_it_resolves_to():
    resolver = resolving_to("10.0.0.9")
    check_url("https://Hooks.Internal./in", ["hooks.internal"], resolver=resolver)
    assert resolver.asked == []
    with pytest.raises(UnsafeWebhookURL):
        check_url("https://other.internal/in", ["hooks.internal"], resolver=resolver)


def test_a_url_without_a_host_is_refused():
    with pytest.raises(UnsafeWebhookURL, match="no host"):
        check_url("http:///path", [])


def test_the_real_resolver_finds_localhost_to_be_loopback():
    with pytest.raises(UnsafeWebhookURL, match="loopback"):
        check_url("http://localhost:1/hook", [])
