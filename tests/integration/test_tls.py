#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The real binary with --web.config-file, and curl as the real TLS client: HTTPS,
client certificates, basic auth, plain HTTP to the TLS port, and bad web configs
that must stop kepler with one clear line (exit 2)."""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from kepler_test import FIXTURES, KEPLER, Agent, check, finish, free_port

TLS = os.path.join(FIXTURES, "tls")
EMPTY = os.path.join(FIXTURES, "sysfs", "empty")
ARGS = [f"--host.sysfs={EMPTY}", "--activity.source=procfs", "--monitor.interval=1s"]
# bcrypt cost 4 for "wonderland"; the committed fixture web-config.yml uses the same.
ALICE = "$2b$04$zdwDd/2/1iTx9J7puxB94uytrjKdZ.1CemuytU1SOa5vl8T0Xd4HK"

CURL = shutil.which("curl")
if not CURL:
    print("SKIP: curl not found (Debian package curl)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="kepler-tls-")


def web_config(text):
    fd, path = tempfile.mkstemp(suffix=".yml", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    return path


def curl(url, *args):
    """(curl exit status, HTTP status, headers, body) for one GET."""
    out = os.path.join(tmp, "body")
    hdr = os.path.join(tmp, "headers")
    for p in (out, hdr):
        if os.path.exists(p):
            os.unlink(p)
    p = subprocess.run([CURL, "-sS", "--max-time", "10", "--noproxy", "*", "-o", out,
                        "-D", hdr, "-w", "%{http_code}", *args, url],
                       capture_output=True, text=True, timeout=20)
    headers, body = "", ""
    if os.path.exists(hdr):
        with open(hdr, errors="replace") as f:
            headers = f.read()
    if os.path.exists(out):
        with open(out, errors="replace") as f:
            body = f.read()
    code = int(p.stdout) if p.stdout.isdigit() else 0
    return p.returncode, code, headers, body + p.stderr


def https(agent, path, *args):
    return curl(f"https://127.0.0.1:{agent.port}{path}", "--cacert",
                os.path.join(TLS, "ca.crt"), *args)


def client_cert(name):
    return ["--cert", os.path.join(TLS, f"{name}.crt"), "--key", os.path.join(TLS, f"{name}.key")]


def wait_https(agent, *args, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if agent.proc.poll() is not None:
            raise RuntimeError(f"kepler exited {agent.proc.returncode}: {agent.output()}")
        rc, code, _, _ = https(agent, "/metrics", *args)
        if rc == 0 and code == 200:
            return
        time.sleep(0.1)
    raise RuntimeError(f"kepler not ready over https after {timeout}s: {agent.output()}")


# 1. TLS and basic auth, no client certificates.
cfg = web_config(f"""tls_server_config:
  cert_file: {TLS}/server.crt
  key_file: {TLS}/server.key
basic_auth_users:
  alice: {ALICE}
http_server_config:
  headers:
    Strict-Transport-Security: max-age=31536000
""")
with Agent(*ARGS, f"--web.config-file={cfg}") as a:
    wait_https(a, "-u", "alice:wonderland")
    rc, code, h, body = https(a, "/metrics", "-u", "alice:wonderland")
    check(rc == 0 and code == 200 and "kepler_" in body, f"https, right password: {rc} {code}")
    check("strict-transport-security: max-age=31536000" in h.lower(),
          "the configured extra header is sent")
    for what, args in [("wrong password", ["-u", "alice:wrong"]),
                       ("unknown user", ["-u", "mallory:wonderland"]),
                       ("no credentials", [])]:
        rc, code, h, _ = https(a, "/metrics", *args)
        check(rc == 0 and code == 401 and 'www-authenticate: basic realm="kepler"' in h.lower(),
              f"https, {what}: {rc} {code}")
    rc, code, _, _ = https(a, "/healthz")
    check(code == 401, f"/healthz is behind auth too: {code}")
    rc, code, _, _ = https(a, "/healthz", "-u", "alice:wonderland")
    check(code == 200, f"/healthz with the password: {code}")
    rc, code, _, _ = https(a, "/metrics", "-u", "alice:wonderland", "--tls-max", "1.2")
    check(rc == 0 and code == 200, f"a TLS 1.2 client is served (min_version TLS12): {rc} {code}")
    # The client checks the server too: another CA does not vouch for it.
    rc, code, _, err = curl(f"https://127.0.0.1:{a.port}/metrics", "--cacert",
                            os.path.join(TLS, "other-ca.crt"), "-u", "alice:wonderland")
    check(rc != 0, f"a client trusting another CA refuses the server: curl exit {rc}")

    # Plain HTTP to the TLS port: refused cleanly, kepler keeps serving.
    rc, code, _, err = curl(f"http://127.0.0.1:{a.port}/metrics", "-u", "alice:wonderland")
    check(rc != 0 and code != 200, f"plain HTTP to the TLS port fails: curl exit {rc}, {code}")
    check(a.proc.poll() is None, "kepler still runs after a plain HTTP request")
    rc, code, _, _ = https(a, "/metrics", "-u", "alice:wonderland")
    check(rc == 0 and code == 200, f"https still served afterwards: {rc} {code}")

# 2. Client certificates required and verified (the committed example, relative paths).
with Agent(*ARGS, f"--web.config-file={os.path.join(TLS, 'web-config.yml')}") as a:
    wait_https(a, "-u", "alice:wonderland", *client_cert("client"))
    rc, code, h, body = https(a, "/metrics", "-u", "alice:wonderland", *client_cert("client"))
    check(rc == 0 and code == 200 and "kepler_" in body,
          f"client certificate from the CA and the password: {rc} {code}")
    check("x-content-type-options: nosniff" in h.lower(), "extra header from the example")
    rc, code, _, _ = https(a, "/metrics", *client_cert("client"))
    check(rc == 0 and code == 401, f"client certificate but no password: {rc} {code}")
    rc, code, _, err = https(a, "/metrics", "-u", "alice:wonderland")
    check(rc != 0 and code == 0, f"no client certificate: refused, curl exit {rc}")
    rc, code, _, err = https(a, "/metrics", "-u", "alice:wonderland", *client_cert("other-client"))
    check(rc != 0 and code == 0, f"client certificate from another CA: refused, curl exit {rc}")
    check(a.proc.poll() is None, "kepler still runs after refused handshakes")
    rc, code, _, _ = https(a, "/metrics", "-u", "alice:wonderland", *client_cert("client"))
    check(rc == 0 and code == 200, f"and serves the right client again: {rc} {code}")

# 3. Bad web config files: exit 2, one line naming the file and the key, nothing started.
bad = [
    (web_config("tls_server_config:\n  cert_file: nope.crt\n  key_file: nope.key\n"),
     "tls_server_config.cert_file"),
    (web_config(f"tls_server_config:\n  cert_file: {TLS}/server.crt\n"
                f"  key_file: {TLS}/client.key\n"), "tls_server_config.key_file"),
    (web_config("basic_auth_users:\n  alice: wonderland\n"), "basic_auth_users.alice"),
    (web_config("tls_server_config:\n  cert_file: a\n  key_file: b\n  colour: blue\n"),
     "tls_server_config.colour"),
    (web_config("tls_server_config:\n  cipher_suites: [x]\n"), "not supported"),
    (os.path.join(tmp, "missing.yml"), "missing.yml"),
]
for path, needle in bad:
    p = subprocess.run([KEPLER, *ARGS, f"--web.config-file={path}",
                        f"--web.listen-address=127.0.0.1:{free_port()}"],
                       capture_output=True, text=True, timeout=10)
    lines = [l for l in p.stderr.splitlines() if l.strip()]
    check(p.returncode == 2 and len(lines) == 1 and needle in lines[0],
          f"bad web config ({needle}) -> exit {p.returncode}: {lines[:2]}")

shutil.rmtree(tmp, ignore_errors=True)
finish()
