#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Redfish meter against the test BMC (redfish_bmc.py), one agent per BMC shape, all at
once over HTTPS with a test CA: the platform joules follow what each BMC serves (within 1 %
over a window of at least 10 intervals, from the right chassis, the right entry, the power
supplies summed, an energy counter followed; a BMC that reads 0 W has no meter), no
counter decreases, an outage neither invents energy nor leaves a spike, a slow BMC does not
slow the interval loop, sessions expire and come back and end with a logout, basic auth
where there are no sessions, a 50 MB body and invalid JSON are refused, TLS is verified,
and the credentials (and session tokens) appear in no log and no /metrics body."""

import base64
import os
import re
import shutil
import sys
import tempfile
import threading
import time

import redfish_bmc as rb
from kepler_test import Agent, check, finish, parse, series, value

# meson test sets MALLOC_PERTURB_, which makes every allocation resident: the RSS figures
# here are for the agent as it runs.
os.environ.pop("MALLOC_PERTURB_", None)

USER, PASSWORD = "kepler-bmc-user-a1b2", "pw-Zq8x9-n0t-in-logs"
DURATION = 75.0     # seconds every agent is watched
SETTLE = 12.0       # a window starts after discovery and the first readings, on a busy machine
SCRAPE_EVERY = 0.5  # more often than the 1 s interval: every interval is seen
STEP_AT = 30.0      # the legacy BMC's power steps up here
OUTAGE = (20.0, 32.0)  # the outage BMC answers 500 in this window (seconds since start)
HUGE = 50 * 1000 * 1000
RSS_GROWTH_MAX = 24 * 1024 * 1024  # far below the 50 MB body

if not shutil.which("openssl"):
    print("skipped: no openssl command (Debian package openssl: scripts/deps.sh)")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="kepler-redfish-")
certs = rb.make_certs(tmp)
creds = os.path.join(tmp, "credentials.yaml")
fd = os.open(creds, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(f'username: "{USER}"\npassword: "{PASSWORD}"\n')
SECRETS = [USER, PASSWORD, base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()]

T0 = time.monotonic()
LEGACY_POWER = "/redfish/v1/Chassis/1U/Power"
# name: (builder, power steps, Shape options, the agent's redfish keys, expected watts)
# expected None: the agent must have no reading at all.
CASES = {
    "legacy": (rb.shape_legacy, [(0, 250.0), (STEP_AT, 310.0)], {}, {}, 310.0),
    "subsystem": (rb.shape_subsystem, [(0, 180.0)], {}, {}, 180.0),
    "psus": (rb.shape_psus, [(0, 330.0)], {}, {}, 330.0),
    "energy": (rb.shape_energy, [(0, 200.0)], {}, {}, 200.0 * rb.ENERGY_COUNTER_RATIO),
    "multi": (rb.shape_multi, [(0, 400.0)], {}, {}, 400.0),
    "blade-by-path": (rb.shape_blades, [(0, 350.0)], {},
                      {"chassis": "/redfish/v1/Chassis/Blade1"}, 350.0),
    "blade-by-id": (rb.shape_blades, [(0, 350.0)], {}, {"chassis": "Blade2"}, 210.0),
    "nested": (rb.shape_nested, [(0, 520.0)], {}, {}, 520.0),
    "odd": (rb.shape_odd, [(0, 287.5)], {}, {}, 287.5),
    "sessions": (rb.shape_legacy, [(0, 260.0)], {"ttl": 3.0}, {}, 260.0),
    "basic": (rb.shape_legacy, [(0, 240.0)], {"sessions": False}, {}, 240.0),
    "slow": (rb.shape_legacy, [(0, 230.0)], {"delay": 8.0},
             {"interval": "5s", "timeout": "10s"}, 230.0),
    "outage": (rb.shape_legacy, [(0, 270.0)], {"fail": OUTAGE}, {}, 270.0),
    # A BMC without a power meter reads 0 W: no reading, not an idle machine.
    "no-meter": (rb.shape_legacy, [(0, 0.0)], {}, {}, None),
    "huge": (rb.shape_legacy, [(0, 300.0)], {"huge": {LEGACY_POWER: HUGE}}, {}, None),
    "invalid": (rb.shape_legacy, [(0, 300.0)], {"invalid": [LEGACY_POWER]}, {}, None),
    # The same self-signed certificate, not from the test CA: refused while the CA file is
    # the only trust, accepted with insecureSkipVerify.
    "tls-untrusted": (rb.shape_legacy, [(0, 255.0)], {}, {}, None),
    "tls-insecure": (rb.shape_legacy, [(0, 255.0)], {},
                     {"insecureSkipVerify": "true", "caFile": None}, 255.0),
}
SELF_SIGNED = ("tls-untrusted", "tls-insecure")


def agent_config(url, keys):
    redfish = {"endpoint": url, "credentialsFile": creds, "caFile": certs["ca.crt"],
               "interval": "1s", "timeout": "5s", **keys}
    lines = "".join(f"    {k}: {v}\n" for k, v in redfish.items() if v is not None)
    return f"monitor:\n  interval: 1s\npower:\n  redfish:\n{lines}"


class Watch(threading.Thread):
    """Scrapes one agent every SCRAPE_EVERY until stopped: [(seconds since T0, metrics)],
    and every body that held a secret."""

    def __init__(self, agent):
        super().__init__(daemon=True)
        self.agent, self.scrapes, self.leaks = agent, [], []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.wait(SCRAPE_EVERY):
            try:
                status, _, text = self.agent.scrape_text()
            except OSError:
                continue
            if status != 200:
                continue
            self.leaks += [s for s in SECRETS if s in text]
            self.scrapes.append((time.monotonic() - T0, parse(text)))

    def at(self, t):
        """The first scrape at or after t seconds."""
        return next((s for s in self.scrapes if s[0] >= t), None)


def platform(m, name="kepler_node_platform_joules_total"):
    return value(m, name, source="redfish")


def rate(first, last):
    """Platform watts between two scrapes, timed by the agent's own intervals (1 s each:
    the loop keeps absolute deadlines)."""
    j0, j1 = platform(first), platform(last)
    n = (value(last, "kepler_exporter_intervals_total") -
         value(first, "kepler_exporter_intervals_total"))
    if j0 is None or j1 is None or n <= 0:
        return None, n
    return (j1 - j0) / n, n


def per_interval_watts(scrapes):
    """Watts of each stretch between consecutive scrapes that has intervals in it."""
    out = []
    for (t0, a), (t1, b) in zip(scrapes, scrapes[1:]):
        w, n = rate(a, b)
        if w is not None and n > 0:
            out.append((t1, w))
    return out


def decreasing(scrapes):
    """Node, exporter and process counters that went down between two scrapes. Not the
    workloads' (a series of a pid that ended comes back new when the pid is reused:
    test_churn's matter)."""
    bad = []
    for (_, prev), (t, cur) in zip(scrapes, scrapes[1:]):
        for key, v in cur.items():
            if not key[0].startswith(("kepler_node_", "kepler_exporter_", "process_")):
                continue
            if key[0].endswith("_total") and key in prev and v < prev[key]:
                bad.append((t, key[0], prev[key], v))
    return bad


def read_errors(m):
    return value(m, "kepler_exporter_meter_read_errors_total", source="redfish",
                 zone="platform") or 0


def rss(m):
    return value(m, "process_resident_memory_bytes") or 0


def near(got, want, tol=0.01):
    return got is not None and abs(got - want) <= tol * want


bmcs, agents, watches = {}, {}, {}
try:
    for name, (builder, steps, opts, keys, _) in CASES.items():
        cert = "self" if name in SELF_SIGNED else "server"
        bmcs[name] = rb.BMC(rb.make_shape(builder, steps, T0, **opts),
                            certs[f"{cert}.crt"], certs[f"{cert}.key"], USER, PASSWORD)
    for name, (_, _, _, keys, _) in CASES.items():
        agents[name] = Agent("--activity.source=procfs",
                             config=agent_config(bmcs[name].url, keys))
    for name, agent in agents.items():
        agent.wait_ready(timeout=30)
        watches[name] = Watch(agent)
        watches[name].start()
    time.sleep(max(0.0, DURATION - (time.monotonic() - T0)))
    for w in watches.values():
        w.stopped.set()
        w.join()
    stops = {}
    for name, agent in agents.items():
        t = time.monotonic()
        stops[name] = (agent.stop(), time.monotonic() - t)
    logs = {name: agent.output() for name, agent in agents.items()}
finally:
    for agent in agents.values():
        agent.stop()
    for b in bmcs.values():
        b.stop()
    shutil.rmtree(tmp, ignore_errors=True)

end = DURATION - 1.0
for name, (_, steps, opts, keys, want) in CASES.items():
    bmc, scrapes, log = bmcs[name], watches[name].scrapes, logs[name]
    print(f"-- {name}")
    if not check(len(scrapes) > DURATION / SCRAPE_EVERY / 3,
                 f"{name}: {len(scrapes)} scrapes"):
        print(log[-3000:])
        continue
    last = scrapes[-1][1]
    bad = decreasing(scrapes)
    check(not bad, f"{name}: no counter decreases over {len(scrapes)} scrapes {bad[:3]}")
    check(not watches[name].leaks, f"{name}: no credential in any /metrics body")
    leaked = [i for i, s in enumerate(SECRETS) if s in log]
    check(not leaked, f"{name}: no credential in the agent's log (leaked: {leaked})")
    tokens = [t for t in bmc.issued if t in log]
    check(not tokens, f"{name}: no session token in the agent's log "
          f"({len(tokens)} of {len(bmc.issued)})")
    rc, took = stops[name]
    check(rc == 0 and took < 4, f"{name}: SIGTERM ends the agent cleanly in {took:.1f} s "
          f"(exit {rc})")
    if want is None:
        j = [platform(m) for _, m in scrapes if platform(m)]
        check(not j, f"{name}: no platform energy from a BMC that gave no reading "
              f"({j[-1] if j else 0} J)")
        check(read_errors(last) > 10, f"{name}: read errors counted ({read_errors(last)})")
        continue
    start = STEP_AT + 4 if name == "legacy" else OUTAGE[1] + 10 if name == "outage" \
        else 20.0 if name == "energy" else SETTLE
    # ... and after the first reading (a slow BMC's discovery takes tens of seconds).
    reading = next((t for t, m in scrapes if platform(m)), None)
    first = watches[name].at(max(start, (reading or DURATION) + 3))
    if first is None:
        check(False, f"{name}: a scrape after {start} s")
        continue
    got, n = rate(first[1], last)
    check(n >= 10 and near(got, want),
          f"{name}: platform {got if got is None else round(got, 2)} W over {n:.0f} intervals "
          f"from {first[0]:.0f} s, BMC serves {want} W")
    gauge = platform(last, "kepler_node_platform_watts")
    check(near(gauge, want, 0.02), f"{name}: kepler_node_platform_watts {gauge} ~ {want}")
    info = series(last, "kepler_node_info")
    check(any(("platform_power_source", "redfish") in ls for ls in info),
          f"{name}: kepler_node_info says platform_power_source=redfish")
    top = max([want] + [w for _, w in steps])
    # The agent's watts of each interval (its own energy over its own time) never above
    # what was served; ...
    gauges = [(round(t), round(g, 1)) for t, m in scrapes
              if (g := platform(m, "kepler_node_platform_watts")) and g > top * 1.05]
    check(not gauges, f"{name}: kepler_node_platform_watts never above the {top} W served "
          f"{gauges[:5]}")
    # ... nor the energy between two scrapes, timed by the intervals between them: one or
    # two, whose length jitters by 10-20 % on a busy machine, while energy dumped after a
    # gap is several times the power.
    spikes = [(round(t), round(w, 1)) for t, w in per_interval_watts(scrapes)
              if w > top * 1.5]
    check(not spikes, f"{name}: no stretch between scrapes above 1.5 x the {top} W served "
          f"{spikes[:5]}")
    # The BMC's platform energy flows through idle and active to the processes, whole.
    active = platform(last, "kepler_node_platform_active_joules_total")
    shares = sum(v for (n, _), v in last.items() if n == "kepler_process_platform_joules_total")
    check(active is not None and abs(shares - active) <= 1e-4 * active + 1e-3,
          f"{name}: the processes' platform energy {shares:.4f} J is the node's active "
          f"{active} J")
    auths = {r["auth"] for r in bmc.requests}
    check("basic-bad" not in auths and "login-bad" not in auths,
          f"{name}: the credentials were right every time ({sorted(auths)})")

# Where the power lives: the right entry, the right chassis, not a sum.
print("-- shape details")
wrong = {"multi": (rb.MULTI_CPU_W, 400 + rb.MULTI_CPU_W + rb.MULTI_MEM_W),
         "blade-by-path": (1500.0, 1850.0, 2060.0), "nested": (450.0, 970.0),
         "subsystem": (240.0,), "energy": (200.0,),
         "psus": tuple(330.0 * k for k in rb.PSU_SHARES)}
for name, values in wrong.items():
    m = watches[name].scrapes[-1][1] if watches[name].scrapes else {}
    gauge = platform(m, "kepler_node_platform_watts")
    check(gauge is not None and all(abs(gauge - v) > 0.02 * v for v in values),
          f"{name}: {gauge} W is none of the wrong readings {values}")
legacy = watches["legacy"]
before = legacy.at(STEP_AT - 3)
gauge = before and platform(before[1], "kepler_node_platform_watts")
check(near(gauge, 250.0, 0.02), f"legacy: {gauge} W before the step, BMC served 250 W")
m = watches["energy"].scrapes[-1][1] if watches["energy"].scrapes else {}
check((platform(m) or 0) < 200 * DURATION * 2,
      f"energy: the counter's {rb.ENERGY_COUNTER_START_KWH} kWh start is not energy "
      f"({platform(m)} J)")
odd = bmcs["odd"].requests
check(not [r for r in odd if "Node/1" in r["path"] or "%2F" in r["path"].upper()],
      "odd: no URL built from the Id 'Node/1'")
check(not [r for r in odd if "#" in r["path"] or "%23" in r["path"]],
      "odd: no # fragment sent")

# Sessions: expiry, login again, logout on exit; basic where sessions are refused.
print("-- auth")
s = bmcs["sessions"]
logins = s.seen(auth="login")
expired = s.seen(auth="token-expired")
check(len(logins) >= 5, f"sessions: logged in again after expiry ({len(logins)} logins, "
      f"{len(expired)} requests with an expired token answered 401)")
check(expired and all(any(l["t"] > e["t"] for l in logins) for e in expired),
      "sessions: every 401 for an expired token is followed by a new login")
check(not s.seen(auth="basic"), "sessions: no basic auth where sessions work")
check(not s.seen(auth="token-unknown"), "sessions: never a token the BMC did not issue")
# The slow BMC takes 8 s over the DELETE too: the agent gives up on it (and still exits
# at once, checked above).
for name in CASES:
    if bmcs[name].shape.sessions and bmcs[name].seen(auth="login") and name != "slow":
        check(bmcs[name].logouts, f"{name}: the session was deleted on exit "
              f"({len(bmcs[name].seen(auth='login'))} logins, {bmcs[name].logouts})")
b = bmcs["basic"]
posts = b.seen(method="POST")
check(posts and all(r["status"] == 405 for r in posts), "basic: the session POST tried, 405")
check(len(posts) <= 3, f"basic: basic auth remembered, not a POST per poll ({len(posts)})")
check(len(b.seen(auth="basic", status=200)) >= 20,
      f"basic: {len(b.seen(auth='basic', status=200))} reads with basic auth")

# The outage: errors counted, nothing invented, no spike, back afterwards.
print("-- outage")
o = watches["outage"]
a, z = o.at(OUTAGE[0] - 6), o.at(OUTAGE[1] + 6)
if check(a and z, "outage: scrapes around the outage"):
    check(read_errors(z[1]) - read_errors(a[1]) >= 3,
          f"outage: read errors counted ({read_errors(a[1])} -> {read_errors(z[1])})")
    got, n = rate(a[1], z[1])
    served = 270.0 * n
    missing = served - (got or 0) * n
    # The last reading holds at most 3 intervals into the outage (then stale); the
    # rest of the 12 s is not invented, nor is it dumped into one interval afterwards.
    check(missing >= 270.0 * (OUTAGE[1] - OUTAGE[0] - 5),
          f"outage: {missing:.0f} J of the {served:.0f} J served over {n:.0f} intervals "
          f"not reported ({missing / 270:.1f} s at 270 W)")
check(re.search(r"500|Internal Server Error", logs["outage"]),
      "outage: the log names the HTTP 500")

# A slow BMC does not slow the interval loop.
print("-- slow")
sl = watches["slow"].scrapes
a = watches["slow"].at(SETTLE)
if check(a and sl, "slow: scrapes"):
    n = (value(sl[-1][1], "kepler_exporter_intervals_total") -
         value(a[1], "kepler_exporter_intervals_total"))
    span = sl[-1][0] - a[0]
    check(n >= 0.9 * span - 1, f"slow: {n:.0f} intervals in {span:.0f} s")
    durs = [value(m, "kepler_exporter_interval_duration_seconds") or 0 for _, m in sl]
    check(max(durs) < 0.5, f"slow: the longest interval took {max(durs):.3f} s")

# A 50 MB body and invalid JSON: refused with a clear error, memory unmoved.
print("-- refusals")
h = watches["huge"].scrapes
check(re.search(r"too large|too big|exceeds|larger than|over \d+", logs["huge"], re.I),
      "huge: the log says the body was too large")
if h:
    growth = max(rss(m) for _, m in h) - rss(h[0][1])
    check(growth < RSS_GROWTH_MAX, f"huge: resident memory grew {growth / 2**20:.1f} MiB "
          f"(from {rss(h[0][1]) / 2**20:.1f} MiB)")
check(len(bmcs["huge"].seen(path=LEGACY_POWER)) >= 3, "huge: the body was asked for again")
check(re.search(r"json|parse", logs["invalid"], re.I), "invalid: the log says the JSON is bad")
check(re.search(r"reads 0 W: the BMC has no power meter", logs["no-meter"]),
      "no-meter: the log says why there is no platform energy")

# TLS.
print("-- tls")
check(re.search(r"certificate", logs["tls-untrusted"], re.I) and
      "caFile" in logs["tls-untrusted"],
      "tls-untrusted: refused with a certificate error that names power.redfish.caFile")
check(not bmcs["tls-untrusted"].requests, "tls-untrusted: no request got through")
check(re.search(r"insecureSkipVerify", logs["tls-insecure"]),
      "tls-insecure: the warning about insecureSkipVerify is logged")
for name in ("legacy", "huge", "tls-untrusted", "invalid"):
    print(f"---- {name} log (tail)\n{logs[name][-1500:]}")
finish()
