"""HTTPS delivery connects to the address it checked, yet verifies the certificate against the
URL's host name (SNI): a real TLS receiver on loopback with a certificate from a CA the test
makes (cryptography, a dependency of moto in requirements-dev.txt)."""

import datetime
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from standardwebhooks.webhooks import Webhook

from events import send as send_module
from events.models import new_secret


def _cert(tmp_path, host: str):
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Loupe test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
          .not_valid_after(now + datetime.timedelta(hours=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=1)).not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False).sign(ca_key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return ca.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch, request):
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            received.append((self.headers.get("host"), self.rfile.read(int(self.headers["content-length"])),
                             {k.lower(): v for k, v in self.headers.items()}))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    def start(cert_host: str):
        ca_pem = _cert(tmp_path, cert_host)
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        request.addfinalizer(server.shutdown)
        client_context = ssl.create_default_context(cadata=ca_pem)
        monkeypatch.setattr(send_module, "_SSL_CONTEXT", client_context)  # trust the test CA only
        return f"https://localhost:{server.server_address[1]}/hook", received

    return start


def test_https_goes_to_the_checked_address_with_the_hosts_certificate(tls_receiver, settings):
    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = True
    url, received = tls_receiver("localhost")
    secret = new_secret()
    when = datetime.datetime.now(datetime.UTC)
    result = send_module.send(url, secret, "msg_tls", {"type": "webhook.test", "data": {}}, when)
    assert result.ok and result.status_code == 204, result.error
    [(host, body, headers)] = received
    assert host == url.split("/")[2]  # the name, not the pinned address
    Webhook(secret).verify(body, headers)


def test_a_certificate_for_another_host_is_refused(tls_receiver, settings):
    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = True
    url, received = tls_receiver("hooks.example.com")
    result = send_module.send(url, new_secret(), "msg_tls", {"type": "webhook.test", "data": {}},
                              datetime.datetime.now(datetime.UTC))
    assert not result.ok and "certificate" in result.error.lower(), result.error
    assert received == []


def test_the_next_checked_address_is_tried_when_one_refuses(monkeypatch, settings):
    """localhost resolves to ::1 and 127.0.0.1; a receiver on 127.0.0.1 only is still reached."""
    import ipaddress

    from tests.events.receiver import Receiver

    settings.LOUPE_WEBHOOKS_ALLOW_PRIVATE = True
    receiver = Receiver().start()
    try:
        port = receiver.server.server_address[1]
        monkeypatch.setattr(send_module, "resolve", lambda url: [ipaddress.ip_address("::1"),
                                                                 ipaddress.ip_address("127.0.0.1")])
        receiver.secret = new_secret()
        result = send_module.send(f"http://localhost:{port}/hook", receiver.secret, "msg_2", {"data": {}},
                                  datetime.datetime.now(datetime.UTC))
        assert result.ok, result.error
        assert len(receiver.received) == 1 and receiver.received[0].verified
    finally:
        receiver.stop()
