"""Certificates made for a test with the openssl command: a CA of the test's own and a certificate it
signs for 127.0.0.1 and localhost (nothing of a real authority is needed or trusted)."""

import subprocess
from pathlib import Path


def make_certificates(folder: Path) -> dict[str, str]:
    """A CA, a certificate it signs for 127.0.0.1 and localhost, its key, and a key of another pair;
    the files' paths by name."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=xWrap test CA")
    openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (folder / "names").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl(
        "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "2", "-extfile", "names",
    )  # fmt: skip
    openssl("pkey", "-in", "server.key", "-aes256", "-passout", "pass:secret", "-out", "encrypted.key")
    return {name: str(folder / f"{name.replace('_', '.')}") for name in ("ca_pem", "server_pem", "server_key")} | {
        "other_key": str(folder / "ca.key"),
        "encrypted_key": str(folder / "encrypted.key"),
    }
