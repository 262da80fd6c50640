# SPDX-License-Identifier: Apache-2.0
"""A test Redfish BMC: HTTPS (a test CA made with the openssl command line), sessions or
basic auth, and the shapes real BMCs come in, built from DMTF's public mockups
(tests/fixtures/redfish/bmc/). The power a shape serves is live: a function of time the
server also integrates, so a test can compare the agent's joules with the server's own.
Every request is recorded (method, path, which kind of auth it carried, the answer),
never the secret itself.

    python3 redfish_bmc.py [SHAPE]   serves one shape on a free port until ^C (by hand)
"""

import base64
import copy
import json
import os
import secrets
import shutil
import ssl
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIXTURES = os.environ.get("FIXTURES", os.path.join(os.path.dirname(__file__), "..", "fixtures"))
MOCKUPS = os.path.join(FIXTURES, "redfish", "bmc")
SESSIONS = "/redfish/v1/SessionService/Sessions"


def make_certs(directory):
    """A test CA, a server certificate for 127.0.0.1/localhost signed by it, and an
    untrusted self-signed certificate for the same names. Returns their paths."""
    def openssl(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)

    p = {k: os.path.join(directory, k) for k in
         ("ca.key", "ca.crt", "server.key", "server.csr", "server.crt", "self.key", "self.crt",
          "ext.cnf")}
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    san = "subjectAltName=IP:127.0.0.1,DNS:localhost"
    openssl("req", "-x509", *ec, "-keyout", p["ca.key"], "-out", p["ca.crt"], "-days", "2",
            "-subj", "/CN=kepler test BMC CA",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    openssl("req", *ec, "-keyout", p["server.key"], "-out", p["server.csr"],
            "-subj", "/CN=localhost")
    with open(p["ext.cnf"], "w") as f:
        f.write(f"{san}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                "keyUsage=critical,digitalSignature\n")
    openssl("x509", "-req", "-in", p["server.csr"], "-CA", p["ca.crt"], "-CAkey", p["ca.key"],
            "-CAcreateserial", "-out", p["server.crt"], "-days", "2", "-extfile", p["ext.cnf"])
    openssl("req", "-x509", *ec, "-keyout", p["self.key"], "-out", p["self.crt"], "-days", "2",
            "-subj", "/CN=localhost", "-addext", san)
    return p


class Power:
    """Watts as a step function of the time since start: steps is [(seconds, watts), ...]
    from 0. energy() is its exact integral."""

    def __init__(self, steps, t0=None):
        self.steps = sorted(steps)
        self.t0 = time.monotonic() if t0 is None else t0

    def watts(self, t=None):
        s = (time.monotonic() if t is None else t) - self.t0
        w = self.steps[0][1]
        for at, watts in self.steps:
            if s >= at:
                w = watts
        return w

    def energy(self, t):
        """Joules served from the start to t (monotonic): what an energy counter reads."""
        b = t - self.t0
        edges = [0.0] + [at for at, _ in self.steps if 0 < at < b] + [b]
        return sum(self.watts(self.t0 + lo) * (hi - lo) for lo, hi in zip(edges, edges[1:]))


def load_mockup(name):
    """{normalised @odata.id: document} of one mockup directory."""
    docs = {}
    directory = os.path.join(MOCKUPS, name)
    for f in sorted(os.listdir(directory)):
        if f.endswith(".json"):
            with open(os.path.join(directory, f)) as fh:
                doc = json.load(fh)
            docs[norm(doc["@odata.id"])] = doc
    return docs


def norm(path):
    """The key a path is served under: no fragment, query or trailing slash."""
    path = path.split("#")[0].split("?")[0]
    return path.rstrip("/") or "/"


def link(path):
    return {"@odata.id": path}


def chassis(cid, odata_id, links=None, **resources):
    """A minimal Chassis document; resources: name=@odata.id (Power, EnvironmentMetrics...)."""
    doc = {"@odata.type": "#Chassis.v1_28_0.Chassis", "@odata.id": odata_id, "Id": cid,
           "Name": f"Chassis {cid}", "ChassisType": "RackMount", "PowerState": "On",
           "Status": {"State": "Enabled", "Health": "OK"}, "Links": links or {}}
    doc.update({k: link(v) for k, v in resources.items()})
    return doc


def legacy_power(odata_id, controls):
    """A legacy Power document with these PowerControl entries."""
    return {"@odata.type": "#Power.v1_7_3.Power", "@odata.id": odata_id, "Id": "Power",
            "Name": "Power", "PowerControl": controls}


def control(odata_id, watts, context=None, name="System Input Power"):
    c = {"@odata.id": odata_id, "MemberId": odata_id.rsplit("/", 1)[-1], "Name": name,
         "PowerConsumedWatts": watts, "Status": {"State": "Enabled", "Health": "OK"}}
    if context:
        c["PhysicalContext"] = context
    return c


class Shape:
    """One BMC: its documents, where the live power goes, and its odd behaviour.

    docs      {path: document}; live {path: fn(document, watts, joules)} fills in the
              live value of a document as it is served
    power     the Power served (watts over time)
    sessions  POST to Sessions makes a session (else 405: basic auth only)
    ttl       seconds a session token lives (then 401)
    delay     seconds every answer waits
    fail      (from, to) seconds since start during which every request answers 500
    huge      {path: bytes}: that path answers a body of this size
    invalid   paths that answer text that is not JSON
    """

    def __init__(self, docs, live, power, sessions=True, ttl=None, delay=0.0, fail=None,
                 huge=None, invalid=()):
        self.docs, self.live, self.power = docs, live, power
        self.sessions, self.ttl, self.delay, self.fail = sessions, ttl, delay, fail
        self.huge, self.invalid = huge or {}, set(invalid)


def set_control(i):
    """Live setter: PowerControl[i].PowerConsumedWatts = watts."""
    def f(doc, w, e):
        doc["PowerControl"][i]["PowerConsumedWatts"] = w
    return f


def shape_legacy():
    """Legacy Power only (rackmount1 without PowerSubsystem/EnvironmentMetrics links)."""
    docs = load_mockup("rackmount1")
    c = docs["/redfish/v1/Chassis/1U"]
    for k in ("PowerSubsystem", "EnvironmentMetrics", "Sensors", "ThermalSubsystem", "Controls",
              "TrustedComponents", "Thermal"):
        c.pop(k, None)
    return docs, {"/redfish/v1/Chassis/1U/Power": set_control(0)}


def shape_subsystem():
    """PowerSubsystem + EnvironmentMetrics (liquid-cooled server): the power is
    EnvironmentMetrics.PowerWatts; the power supply's input power (served 60 W higher,
    as a PSU's input is) must not be taken when EnvironmentMetrics has a reading."""
    docs = load_mockup("liquid-cooled-server")
    c = docs["/redfish/v1/Chassis/1U"]
    for k in ("Sensors", "ThermalSubsystem", "Controls", "TrustedComponents"):
        c.pop(k, None)
    # One supply, its metrics linked from it (the mockup lists Bay2 but has no file).
    psus = docs["/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies"]
    bay1 = "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1"
    psus["Members"] = [link(bay1)]
    psus["Members@odata.count"] = 1
    docs[bay1] = {"@odata.type": "#PowerSupply.v1_5_0.PowerSupply", "@odata.id": bay1,
                  "Id": "Bay1", "Name": "Power Supply Bay 1",
                  "Metrics": link(bay1 + "/Metrics")}
    metrics = docs[bay1 + "/Metrics"]
    metrics.pop("EnergykWh", None)

    def env(doc, w, e):
        doc["PowerWatts"]["Reading"] = w

    def psu(doc, w, e):
        doc["InputPowerWatts"]["Reading"] = w + 60
    return docs, {"/redfish/v1/Chassis/1U/EnvironmentMetrics": env, bay1 + "/Metrics": psu}


PSU_SHARES = (0.6, 0.4)


def shape_psus():
    """PowerSubsystem only (no EnvironmentMetrics): the power is the power supplies' input,
    two supplies sharing it 60/40, so the agent must sum them."""
    docs, _ = shape_subsystem()
    del docs["/redfish/v1/Chassis/1U"]["EnvironmentMetrics"]
    del docs["/redfish/v1/Chassis/1U/EnvironmentMetrics"]
    psus = "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies"
    bays = [psus + "/Bay1", psus + "/Bay2"]
    docs[psus]["Members"] = [link(b) for b in bays]
    docs[psus]["Members@odata.count"] = 2
    docs[bays[1]] = dict(docs[bays[0]], **{"@odata.id": bays[1], "Id": "Bay2",
                                          "Metrics": link(bays[1] + "/Metrics")})
    docs[bays[1] + "/Metrics"] = dict(copy.deepcopy(docs[bays[0] + "/Metrics"]),
                                      **{"@odata.id": bays[1] + "/Metrics"})

    def share(k):
        def f(doc, w, e):
            doc["InputPowerWatts"]["Reading"] = w * k
        return f
    return docs, {b + "/Metrics": share(k) for b, k in zip(bays, PSU_SHARES)}


ENERGY_COUNTER_RATIO = 1.10
ENERGY_COUNTER_START_KWH = 12345.678


def shape_energy():
    """EnvironmentMetrics with an EnergykWh counter that runs 10 % faster than PowerWatts
    says (the counter is the better measurement: the agent must follow it), starting
    from a large value (which must not become energy)."""
    docs, live = shape_subsystem()

    def env(doc, w, e):
        doc["PowerWatts"]["Reading"] = w
        doc["EnergykWh"] = {"Reading": ENERGY_COUNTER_START_KWH +
                            e * ENERGY_COUNTER_RATIO / 3.6e6,
                            "DataSourceUri": "/redfish/v1/Chassis/1U/Sensors/TotalEnergy"}
    live["/redfish/v1/Chassis/1U/EnvironmentMetrics"] = env
    return docs, live


MULTI_CPU_W, MULTI_MEM_W = 120.0, 35.0


def shape_multi():
    """Legacy Power with several PowerControl entries: CPU and Memory subsystems first,
    then the whole chassis (PhysicalContext "Chassis"). The agent must take the chassis
    entry (the contract's rule: the entry for the whole chassis), not the first one and
    not the sum."""
    docs, _ = shape_legacy()
    p = "/redfish/v1/Chassis/1U/Power"
    docs[p]["PowerControl"] = [
        control(p + "#/PowerControl/0", MULTI_CPU_W, "CPU", "CPU Power"),
        control(p + "#/PowerControl/1", MULTI_MEM_W, "Memory", "Memory Power"),
        control(p + "#/PowerControl/2", 0, "Chassis", "System Input Power"),
    ]
    return docs, {p: set_control(2)}


def shape_blades():
    """An enclosure (1500 W for all its blades) containing Blade1 (the live power) and
    Blade2 (210 W); each blade says it is ContainedBy the enclosure."""
    docs = load_mockup("bladed")
    encl = "/redfish/v1/Chassis/MultiBladeEncl"
    blades = ["/redfish/v1/Chassis/Blade1", "/redfish/v1/Chassis/Blade2"]
    docs["/redfish/v1/Chassis"]["Members"] = [link(encl)] + [link(b) for b in blades]
    docs["/redfish/v1/Chassis"]["Members@odata.count"] = 3
    docs[encl]["Links"]["Contains"] = [link(b) for b in blades]
    docs[encl].pop("Thermal", None)
    docs[encl + "/Power"]["PowerControl"] = [control(encl + "/Power#/PowerControl/0", 1500.0,
                                                     "Chassis", "Enclosure Input Power")]
    for b, w in zip(blades, (0.0, 210.0)):
        bid = b.rsplit("/", 1)[1]
        docs[b] = chassis(bid, b, {"ContainedBy": link(encl)}, Power=b + "/Power")
        docs[b]["ChassisType"] = "Blade"
        docs[b + "/Power"] = legacy_power(b + "/Power", [control(b + "/Power#/PowerControl/0",
                                                                 w, "Chassis")])
    return docs, {blades[0] + "/Power": set_control(0)}


def shape_nested():
    """The node's chassis (telemetry mockup's Chassis/1, live power) contains a tray
    chassis (Tray_1, 450 W, Links.ContainedBy Chassis/1) with its own reading: by the
    default rule the agent takes the chassis no other contains, and counts nothing twice.
    Members@odata.count is wrong, as in the mockup."""
    docs = load_mockup("telemetry")
    node, tray = "/redfish/v1/Chassis/1", "/redfish/v1/Chassis/Tray_1"
    docs["/redfish/v1/Chassis"]["Members"] = [link(tray), link(node)]
    docs[node]["Links"]["Contains"] = [link(tray)]
    docs[tray]["Links"]["ContainedBy"] = link(node)
    for c in (node, tray):
        docs[c].pop("Thermal", None)
        docs[c].pop("Assembly", None)
    docs[tray + "/Power"]["PowerControl"] = docs[tray + "/Power"]["PowerControl"][:1]
    docs[tray + "/Power"]["PowerControl"][0]["PowerConsumedWatts"] = 450
    return docs, {node + "/Power": set_control(0)}


ODD_ID = "Node/1"


def shape_odd():
    """The odd details of real BMCs: a null member, a member that answers 404, a wrong
    Members@odata.count, an Id with a slash (a URL built from it answers 404 and is
    recorded), trailing slashes and a # fragment in @odata.id links, a null PowerControl
    entry, and the watts as a numeric string."""
    docs = load_mockup("rackmount1")
    del docs["/redfish/v1/Chassis/1U"], docs["/redfish/v1/Chassis/1U/Power"]
    c = "/redfish/v1/Chassis/Node1"
    docs["/redfish/v1/Chassis"]["Members"] = [None, link("/redfish/v1/Chassis/Gone"),
                                              link(c + "/")]
    docs["/redfish/v1/Chassis"]["Members@odata.count"] = 7
    docs[c] = chassis(ODD_ID, c + "/", Power=c + "/Power/#/")
    docs[c]["PowerSubsystem"] = None
    docs[c + "/Power"] = legacy_power(c + "/Power/", [None, control(c + "/Power#/PowerControl/1",
                                                                    "0", "Chassis")])

    def f(doc, w, e):
        doc["PowerControl"][1]["PowerConsumedWatts"] = f"{w:.1f}"
    return docs, {c + "/Power": f}


class BMC:
    """One shape served on its own port. requests: what it received."""

    def __init__(self, shape, certfile, keyfile, username, password):
        self.shape, self.username, self.password = shape, username, password
        self.requests = []
        self.lock = threading.Lock()
        self.tokens = {}  # token -> (session path, expiry or None)
        self.issued = []  # every token handed out, for the test to look for in logs
        self.next_session = 1
        self.logouts = []
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        bmc = self

        class Handler(Handler_):
            pass
        Handler.bmc = bmc
        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        # The handshake on the handler's thread (its first read), not in accept(): a
        # slow or refusing client holds up no one else.
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True,
                                            do_handshake_on_connect=False)
        self.port = self.httpd.server_address[1]
        self.url = f"https://127.0.0.1:{self.port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def record(self, **r):
        with self.lock:
            self.requests.append({"t": time.monotonic(), **r})

    def seen(self, **want):
        """The recorded requests that match every key given."""
        with self.lock:
            return [r for r in self.requests if all(r.get(k) == v for k, v in want.items())]

    def auth_kind(self, headers):
        """none, token, token-expired, token-unknown, basic, basic-bad, other."""
        token = headers.get("X-Auth-Token")
        if token is not None:
            with self.lock:
                s = self.tokens.get(token)
            if s is None:
                return "token-unknown"
            return "token-expired" if s[1] is not None and time.monotonic() > s[1] else "token"
        auth = headers.get("Authorization")
        if auth is None:
            return "none"
        if auth.startswith("Basic "):
            good = base64.b64encode(f"{self.username}:{self.password}".encode()).decode()
            return "basic" if secrets.compare_digest(auth[6:], good) else "basic-bad"
        return "other"


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that refused the certificate or hung up is no error of the server."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ssl.SSLError, ConnectionError)):
            super().handle_error(request, client_address)


class Handler_(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    bmc = None

    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", headers=(), kind="none"):
        self.bmc.record(method=self.command, path=self.path, auth=kind, status=status)
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("OData-Version", "4.0")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def error(self, status, kind, message):
        self.answer(status, {"error": {"code": "Base.1.0.GeneralError", "message": message}},
                    kind=kind)

    def common(self):
        """Delay and outage; False when the request was answered already."""
        shape = self.bmc.shape
        if shape.delay:
            time.sleep(shape.delay)
        if shape.fail:
            s = time.monotonic() - shape.power.t0
            if shape.fail[0] <= s < shape.fail[1]:
                self.error(500, self.bmc.auth_kind(self.headers), "internal error")
                return False
        return True

    def do_GET(self):
        bmc, shape = self.bmc, self.bmc.shape
        kind = bmc.auth_kind(self.headers)
        if not self.common():
            return
        path = norm(self.path)
        # The service root answers without authentication, as Redfish says.
        if path != "/redfish/v1" and kind not in ("token", "basic"):
            self.error(401, kind, "authentication required")
            return
        if path in shape.huge:
            self.send_huge(shape.huge[path], kind)
            return
        if path in shape.invalid:
            self.answer(200, b'{"@odata.id": "' + path.encode() + b'", "PowerControl": [{',
                        kind=kind)
            return
        doc = shape.docs.get(path)
        if doc is None:
            self.error(404, kind, "not found")
            return
        if path in shape.live:
            doc = copy.deepcopy(doc)
            now = time.monotonic()
            shape.live[path](doc, shape.power.watts(now), shape.power.energy(now))
        self.answer(200, doc, kind=kind)

    def send_huge(self, size, kind):
        """A body of size bytes, valid JSON, sent in chunks (never held whole)."""
        self.bmc.record(method=self.command, path=self.path, auth=kind, status=200)
        head, tail = b'{"Id": "Power", "Padding": "', b'"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(size))
        self.end_headers()
        chunk = b"x" * (1 << 20)
        try:
            self.wfile.write(head)
            left = size - len(head) - len(tail)
            while left > 0:
                self.wfile.write(chunk[:min(left, len(chunk))])
                left -= len(chunk)
            self.wfile.write(tail)
        except OSError:
            pass  # the agent hung up: it refused the body, as it should
        self.close_connection = True

    def do_POST(self):
        bmc, shape = self.bmc, self.bmc.shape
        kind = bmc.auth_kind(self.headers)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not self.common():
            return
        if norm(self.path) != SESSIONS:
            self.error(405, kind, "method not allowed")
            return
        if not shape.sessions:
            self.error(405, kind, "sessions are not supported here: use basic authentication")
            return
        try:
            creds = json.loads(body)
            ok = (secrets.compare_digest(str(creds.get("UserName")), bmc.username) and
                  secrets.compare_digest(str(creds.get("Password")), bmc.password))
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            bmc.record(method="POST", path=self.path, auth="login-bad", status=401)
            self.send_response(401)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with bmc.lock:
            sid = str(bmc.next_session)
            bmc.next_session += 1
            token = secrets.token_hex(16)
            expiry = time.monotonic() + shape.ttl if shape.ttl else None
            bmc.tokens[token] = (f"{SESSIONS}/{sid}", expiry)
            bmc.issued.append(token)
        location = f"{SESSIONS}/{sid}"
        self.answer(201, {"@odata.id": location, "Id": sid, "UserName": bmc.username},
                    headers=(("X-Auth-Token", token), ("Location", location)), kind="login")

    def do_DELETE(self):
        bmc = self.bmc
        kind = bmc.auth_kind(self.headers)
        if not self.common():
            return
        token = self.headers.get("X-Auth-Token")
        path = norm(self.path)
        with bmc.lock:
            s = bmc.tokens.get(token)
            mine = s is not None and s[0] == path
            if mine:
                del bmc.tokens[token]
        if not mine:
            self.error(404 if kind in ("token", "basic") else 401, kind, "no such session")
            return
        bmc.logouts.append(path)
        self.answer(204, kind="logout")


SHAPES = {
    "legacy": shape_legacy, "subsystem": shape_subsystem, "psus": shape_psus,
    "energy": shape_energy,
    "multi": shape_multi, "blades": shape_blades, "nested": shape_nested, "odd": shape_odd,
}


def make_shape(builder, steps, t0=None, **kw):
    """A Shape from a builder above, serving Power(steps, t0); kw: Shape's options."""
    power = Power(steps, t0)
    docs, live = builder()
    return Shape(docs, live, power, **kw)


def main():
    name = sys.argv[1] if len(sys.argv) > 1 else "legacy"
    d = tempfile.mkdtemp(prefix="kepler-bmc-")
    certs = make_certs(d)
    bmc = BMC(make_shape(SHAPES[name], [(0, 250.0)]), certs["server.crt"],
              certs["server.key"], "admin", "password")
    print(f"{name} at {bmc.url}/redfish/v1 (CA {certs['ca.crt']}, admin/password); ^C ends")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        bmc.stop()
        shutil.rmtree(d)


if __name__ == "__main__":
    main()
