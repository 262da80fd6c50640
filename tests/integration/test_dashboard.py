#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Grafana dashboard (deploy/grafana/kepler.json) and the PrometheusRule
(deploy/kubernetes/overlays/prometheus-operator/prometheusrule.yaml) against a real
Prometheus that scrapes three agents started as three nodes of one cluster: RAPL on a
two-socket fixture with eBPF, an AMD RAPL fixture with a GPU from the stand-in NVML,
and the estimator with an ACPI platform meter; each with its own test kubelet naming
the pods whose containers are real processes in real cgroups, and a qemu guest.

Checked: the dashboard's structure (datasource variable everywhere, unique ids, no
overlapping panels, every variable defined); promtool parses every rule and every
dashboard expression, and its unit tests fire each alert when it should and not
before; every panel's query returns data with the variables set to values that exist
(per node, GPU and platform panels on the node that has them, and with "All"); every
variable's label_values query finds its values; every recording rule equals the
figure computed here from the raw samples at its evaluation time, and the node, GPU
and platform rules the power the fixtures draw; the alerts load, stay quiet while
all is well, and go pending when an agent stops and when a meter fails."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import kepler_test
from kepler_test import (Agent, Cgroups, CounterWriter, cgroup_root_or_skip, check, copy_fixture,
                         finish, free_port, spawn_in)
from kubelet_server import KubeletServer

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DASHBOARD = os.path.join(SRC, "deploy", "grafana", "kepler.json")
KUSTOMIZATION = os.path.join(SRC, "deploy", "grafana", "kustomization.yaml")
RULES_CR = os.path.join(SRC, "deploy", "kubernetes", "overlays", "prometheus-operator",
                        "prometheusrule.yaml")
FAKE_NVML = os.environ.get("FAKE_NVML", "build/tests/fake-nvml/libnvidia-ml.so.1")

prometheus = shutil.which("prometheus")
promtool = shutil.which("promtool")
if not prometheus or not promtool:
    print("prometheus or promtool not found (Debian package prometheus): scripts/deps.sh "
          "installs it")
    sys.exit(1)
MOUNT = cgroup_root_or_skip()

CLUSTER = "kepler-test"
WINDOW = 60  # the recording rules' [1m]
# Grafana's built-in variables, as Grafana would set them for a 1 s scrape interval.
BUILTINS = {"__rate_interval": "5s", "__interval": "1s", "__range": "30s"}

# What each recording rule must be, written here from its name and docs/deploy.md, not
# read from the rule: the counter it rates and the labels it keeps.
RULES = {
    "node_zone:kepler_node_cpu_joules:rate1m":
        ("kepler_node_cpu_joules_total", ("cluster", "node_name", "zone")),
    "node_zone:kepler_node_cpu_active_joules:rate1m":
        ("kepler_node_cpu_active_joules_total", ("cluster", "node_name", "zone")),
    "node_zone:kepler_node_cpu_idle_joules:rate1m":
        ("kepler_node_cpu_idle_joules_total", ("cluster", "node_name", "zone")),
    "namespace_zone:kepler_pod_cpu_joules:rate1m":
        ("kepler_pod_cpu_joules_total", ("cluster", "pod_namespace", "zone")),
    "node_namespace_pod_zone:kepler_pod_cpu_joules:rate1m":
        ("kepler_pod_cpu_joules_total",
         ("cluster", "node_name", "pod_namespace", "pod_name", "zone")),
    "node_gpu:kepler_node_gpu_joules:rate1m":
        ("kepler_node_gpu_joules_total", ("cluster", "node_name", "gpu", "gpu_uuid", "vendor")),
    "node_gpu:kepler_node_gpu_active_joules:rate1m":
        ("kepler_node_gpu_active_joules_total",
         ("cluster", "node_name", "gpu", "gpu_uuid", "vendor")),
    "node_gpu:kepler_node_gpu_idle_joules:rate1m":
        ("kepler_node_gpu_idle_joules_total",
         ("cluster", "node_name", "gpu", "gpu_uuid", "vendor")),
    "namespace:kepler_pod_gpu_joules:rate1m":
        ("kepler_pod_gpu_joules_total", ("cluster", "pod_namespace")),
    "node_namespace_pod_gpu:kepler_pod_gpu_joules:rate1m":
        ("kepler_pod_gpu_joules_total",
         ("cluster", "node_name", "pod_namespace", "pod_name", "gpu")),
    "node:kepler_node_platform_joules:rate1m":
        ("kepler_node_platform_joules_total", ("cluster", "node_name")),
}
ALERTS = {"KeplerAgentDown", "KeplerAgentsMissing", "KeplerMeterReadErrors",
          "KeplerBPFEventsDropped"}


# --- the dashboard's structure ---------------------------------------------------------

with open(DASHBOARD) as f:
    dash = json.load(f)
check(os.path.getsize(DASHBOARD) < 256 * 1024,
      f"the dashboard is {os.path.getsize(DASHBOARD)} bytes, under the 256 KiB that "
      "kubectl apply's last-applied annotation allows a ConfigMap")
check(dash.get("schemaVersion", 0) >= 36 and dash.get("uid") and dash.get("title"),
      f"schemaVersion {dash.get('schemaVersion')}, uid {dash.get('uid')!r}, a title")

variables = {v["name"]: v for v in dash["templating"]["list"]}
ds = variables.get("datasource", {})
check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
      "a datasource variable of type prometheus")
DS = {"type": "prometheus", "uid": "${datasource}"}
for name in ("cluster", "node", "namespace", "pod"):
    v = variables.get(name, {})
    q = v.get("definition", "")
    check(v.get("type") == "query" and v.get("datasource") == DS and
          q == v.get("query", {}).get("query") and q.startswith("label_values(") and
          v.get("includeAll") and v.get("allValue") == ".*",
          f"variable {name}: label_values on the datasource variable, All is .*: {q}")

if not all(n in variables for n in ("cluster", "node", "namespace", "pod")):
    finish()  # what follows sets each of them

rows = [p for p in dash["panels"] if p["type"] == "row"]
panels = [p for p in dash["panels"] if p["type"] != "row"]
check([r["title"] for r in rows] == ["Cluster", "Node", "Namespace", "Pod", "Container",
                                     "Process", "Virtual machines", "GPU", "Platform",
                                     "Agent health"],
      f"rows: {[r['title'] for r in rows]}")
ids = [p["id"] for p in dash["panels"]]
check(len(ids) == len(set(ids)), f"{len(ids)} panel ids, all different")
check(not any(p.get("panels") for p in rows), "no panel hidden in a collapsed row")

cells = {}
overlaps = []
for p in dash["panels"]:
    g = p["gridPos"]
    if g["x"] + g["w"] > 24:
        overlaps.append((p["id"], "wider than the grid"))
    for x in range(g["x"], g["x"] + g["w"]):
        for y in range(g["y"], g["y"] + g["h"]):
            if (x, y) in cells:
                overlaps.append((p["id"], cells[(x, y)]))
            cells[(x, y)] = p["id"]
check(not overlaps, f"no two panels overlap ({sorted(set(overlaps))[:3]})")

used = set()
exprs = []  # (panel, target)
no_ds, no_doc = [], []
for p in panels:
    if not (p.get("datasource") == DS and p.get("targets") and
            all(t.get("datasource") == DS and t.get("expr", "").strip() for t in p["targets"])
            and len({t["refId"] for t in p["targets"]}) == len(p["targets"])):
        no_ds.append((p["id"], p["title"]))
    if not (p.get("description") and
            (p["type"] == "table" or p.get("fieldConfig", {}).get("defaults", {}).get("unit"))):
        no_doc.append((p["id"], p["title"]))
    for t in p["targets"]:
        exprs.append((p, t))
        used |= set(re.findall(r"\$\{?(\w+)", t["expr"]))
check(not no_ds, f"each of the {len(panels)} panels and each of its {len(exprs)} targets "
      f"queries the datasource variable, every target has an expr and its own refId: {no_ds}")
check(not no_doc, f"every panel has a description, and a unit unless a table: {no_doc}")
for v in variables.values():
    used |= set(re.findall(r"\$\{?(\w+)", v.get("definition", "")))
check(used <= set(variables) | set(BUILTINS),
      f"every variable used is defined: {sorted(used - set(variables) - set(BUILTINS))}")
with open(KUSTOMIZATION) as f:
    kust = f.read()
check(re.search(r"files:\s*\n\s*- kepler\.json\b", kust) and
      re.search(r'grafana_dashboard: "1"', kust),
      "kustomization.yaml generates the sidecar's ConfigMap from kepler.json")

# --- the rules as promtool reads them --------------------------------------------------

tmp = tempfile.mkdtemp(prefix="kepler-dashboard-")
with open(RULES_CR) as f:
    cr = f.read().splitlines()
start = cr.index("spec:") + 1
bad = [ln for ln in cr[start:] if ln and not ln.startswith("  ")]
check(cr[0].startswith("# SPDX") and not bad and
      re.search(r"^kind: PrometheusRule$", "\n".join(cr), re.M),
      f"a PrometheusRule whose spec is its last key ({bad[:1]})")
rules_file = os.path.join(tmp, "kepler-rules.yaml")
with open(rules_file, "w") as f:
    f.write("\n".join(ln[2:] for ln in cr[start:]) + "\n")


def run_promtool(*args):
    p = subprocess.run([promtool, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, (p.stdout + p.stderr).strip()


rc, out = run_promtool("check", "rules", rules_file)
check(rc == 0 and f"{len(RULES) + len(ALERTS)} rules found" in out,
      f"promtool check rules on the PrometheusRule's spec: {out[-300:]}")

# The alerts' unit tests: each fires after its `for:`, not before, and a passing
# error does not fire at all. Annotations are compared as rendered.
node_down = ("Prometheus has not scraped the kepler agent at 10.0.0.1:28282 (job kepler) for "
             "5 minutes: its node's energy is not measured.")
meter = ("The rapl meter of zone dram on node n1 has failed reads for 15 minutes; its energy "
         "is carried by the next good read, but no power is reported while it fails.")
drops = ("The agent's eBPF maps on n2 have been full for 15 minutes, so some processes' CPU "
         "time is not seen; raise --activity.max-processes.")
alert_tests = {
    "rule_files": [rules_file],
    "evaluation_interval": "1m",
    "tests": [{
        "interval": "1m",
        "input_series": [
            {"series": 'up{job="kepler", instance="10.0.0.1:28282", node_name="n1"}',
             "values": "1 1 0x40"},
            {"series": 'up{job="kepler", instance="10.0.0.2:28282", node_name="n2"}',
             "values": "1x42"},
            {"series": 'kepler_exporter_meter_read_errors_total{job="kepler", node_name="n1", '
                       'source="rapl", zone="dram"}', "values": "0 0 1+1x40"},
            {"series": 'kepler_exporter_meter_read_errors_total{job="kepler", node_name="n2", '
                       'source="rapl", zone="package"}', "values": "0 1 1x40"},
            {"series": 'kepler_exporter_bpf_dropped_total{job="kepler", node_name="n2"}',
             "values": "0x5 10+10x36"},
        ],
        "alert_rule_test": [
            {"eval_time": "6m", "alertname": "KeplerAgentDown", "exp_alerts": []},
            {"eval_time": "8m", "alertname": "KeplerAgentDown", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "job": "kepler",
                               "instance": "10.0.0.1:28282", "node_name": "n1"},
                "exp_annotations": {"summary": "Kepler agent 10.0.0.1:28282 is down.",
                                    "description": node_down}}]},
            {"eval_time": "30m", "alertname": "KeplerAgentsMissing", "exp_alerts": []},
            {"eval_time": "10m", "alertname": "KeplerMeterReadErrors", "exp_alerts": []},
            {"eval_time": "25m", "alertname": "KeplerMeterReadErrors", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "node_name": "n1", "source": "rapl",
                               "zone": "dram"},
                "exp_annotations": {
                    "summary": "Kepler on n1 cannot read the dram meter.",
                    "description": meter}}]},
            {"eval_time": "15m", "alertname": "KeplerBPFEventsDropped", "exp_alerts": []},
            {"eval_time": "30m", "alertname": "KeplerBPFEventsDropped", "exp_alerts": [{
                "exp_labels": {"severity": "warning", "node_name": "n2"},
                "exp_annotations": {
                    "summary": "Kepler on n2 is losing eBPF activity events.",
                    "description": drops}}]},
        ]}, {
        "interval": "1m",
        "input_series": [{"series": 'up{job="node-exporter", instance="a"}', "values": "1x30"}],
        "alert_rule_test": [
            {"eval_time": "10m", "alertname": "KeplerAgentsMissing", "exp_alerts": []},
            {"eval_time": "20m", "alertname": "KeplerAgentsMissing", "exp_alerts": [{
                "exp_labels": {"severity": "warning"},
                "exp_annotations": {
                    "summary": "No kepler agent is scraped.",
                    "description": "Prometheus has no target in a job named like kepler: the "
                                   "ServiceMonitor selects no Service, or no agent runs."}}]},
        ]}],
}
alerts_test_file = os.path.join(tmp, "alerts-test.yaml")  # JSON is YAML
with open(alerts_test_file, "w") as f:
    json.dump(alert_tests, f, indent=1)
rc, out = run_promtool("test", "rules", alerts_test_file)
check(rc == 0, f"promtool test rules: the alerts fire when they should: {out[-1500:]}")


def substitute(expr, values):
    for name, v in sorted({**BUILTINS, **values}.items(), key=lambda kv: -len(kv[0])):
        expr = expr.replace("${" + name + "}", v).replace("$" + name, v)
    return expr


# Every dashboard expression, and the selector of every label_values, as a recording
# rule: promtool parses it.
ALL = {"cluster": ".*", "node": ".*", "namespace": ".*", "pod": ".*"}
parse_rules = [{"record": f"dashboard:panel_{p['id']}_{t['refId']}:check",
                "expr": substitute(t["expr"], ALL)} for p, t in exprs]
LABEL_VALUES = re.compile(r"^label_values\((.*),\s*(\w+)\)$")
for name in ("cluster", "node", "namespace", "pod"):
    m = LABEL_VALUES.match(variables[name]["definition"])
    parse_rules.append({"record": f"dashboard:variable_{name}:check",
                        "expr": substitute(m.group(1), ALL)})
dash_rules_file = os.path.join(tmp, "dashboard-rules.yaml")
with open(dash_rules_file, "w") as f:
    json.dump({"groups": [{"name": "dashboard", "rules": parse_rules}]}, f, indent=1)
rc, out = run_promtool("check", "rules", dash_rules_file)
check(rc == 0 and f"{len(parse_rules)} rules found" in out,
      f"promtool parses the {len(exprs)} panel expressions and 4 variable selectors: "
      f"{out[-500:]}")


# --- three nodes, a real Prometheus ---------------------------------------------------

class Prom:
    """A real Prometheus on a free loopback port, its storage in tmp."""

    def __init__(self, targets):
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                       "scrape_timeout": "1s"},
            "rule_files": [rules_file],
            "scrape_configs": [{
                "job_name": "kepler",
                # The agent's own node_name, where it exports one, wins; it is the same.
                "honor_labels": True,
                "static_configs": [{"targets": [f"127.0.0.1:{port}"],
                                    "labels": {"node_name": node, "cluster": CLUSTER}}
                                   for node, port in targets.items()]}],
        }
        path = os.path.join(tmp, "prometheus.yml")
        with open(path, "w") as f:
            json.dump(config, f, indent=1)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(
            [prometheus, f"--config.file={path}", f"--storage.tsdb.path={tmp}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT)

    def api(self, path, **params):
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}"
        if params:
            url += "?" + urllib.parse.urlencode(params, doseq=True)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        if body.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {body}")
        return body["data"]

    def query(self, expr, at=None):
        params = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        return self.api("query", **params)["result"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def output(self):
        self.log.seek(0)
        return self.log.read()


def labels_of(s):
    return {k: v for k, v in s["metric"].items() if k != "__name__"}


def extrapolated_rate(samples, t_ms, window_s):
    """Prometheus 2.x rate(): the increase over [t - window, t], counter resets added,
    extrapolated to the window's edges when the samples come close to them."""
    if len(samples) < 2:
        return None
    (t0, v0), (tn, vn) = samples[0], samples[-1]
    delta, last = vn - v0, 0.0
    for _, v in samples:
        if v < last:
            delta += last
        last = v
    to_start = (t0 - (t_ms - window_s * 1000)) / 1000
    to_end = (t_ms - tn) / 1000
    sampled = (tn - t0) / 1000
    avg = sampled / (len(samples) - 1)
    if delta > 0 and v0 >= 0:
        to_start = min(to_start, sampled * v0 / delta)
    span = sampled
    span += to_start if to_start < avg * 1.1 else avg / 2
    span += to_end if to_end < avg * 1.1 else avg / 2
    return delta * span / sampled / window_s


NODES = {
    "node-rapl": {"namespace": "shop", "pod": "web-7d4b9", "container": "app"},
    "node-gpu": {"namespace": "ml", "pod": "trainer-0", "container": "cuda"},
    "node-estimator": {"namespace": "data", "pod": "db-0", "container": "postgres"},
}
RAPL_W = {"intel-rapl:0": 40.0, "intel-rapl:1": 30.0, "intel-rapl:0:0": 25.0,
          "intel-rapl:1:0": 15.0, "intel-rapl:0:1": 6.0, "intel-rapl:1:1": 4.0,
          "intel-rapl:2": 90.0}
AMD_W = {"intel-rapl:0": 50.0, "intel-rapl:0:0": 30.0}
GPU_W, GPU_IDLE_W = 150.0, 40.0
PLATFORM_FILE = ("class", "hwmon", "hwmon0", "power1_average")

tag = uuid.uuid4().hex[:8]
cg = Cgroups()
procs, writers, kubelets, agents = [], [], [], {}
prom = None
try:
    # One pod per node, a container of it busy a little; every agent sees every process
    # (they share this machine), but only its node's kubelet names the pod.
    for i, (node, want) in enumerate(NODES.items()):
        want["uid"] = str(uuid.uuid4())
        cid = uuid.uuid4().hex + uuid.uuid4().hex
        if i == 2:  # a cri-o besteffort pod, cgroupfs layout
            d = cg.make(f"kepler{tag}/kubepods/besteffort/pod{want['uid']}/crio-{cid}")
            runtime = "cri-o"
        else:
            d = cg.make(f"kepler{tag}.slice/kubepods.slice/kubepods-burstable.slice/"
                        f"kubepods-burstable-pod{want['uid'].replace('-', '_')}.slice/"
                        f"cri-containerd-{cid}.scope")
            runtime = "containerd"
        want["proc"] = spawn_in(d, duty=0.1)
        procs.append(want["proc"])
        pods = {"kind": "PodList", "apiVersion": "v1", "items": [{
            "metadata": {"name": want["pod"], "namespace": want["namespace"],
                         "uid": want["uid"]},
            "status": {"containerStatuses": [{"name": want["container"],
                                              "containerID": f"{runtime}://{cid}"}]}}]}
        pods_file = os.path.join(tmp, f"pods-{node}.json")
        with open(pods_file, "w") as f:
            json.dump(pods, f)
        kubelets.append(KubeletServer(pods_file).start())
        want["kubelet"] = kubelets[-1].url

    # A qemu guest: a burner whose argv[0] is qemu-system-x86_64 (a link to Python).
    qemu = os.path.join(tmp, "qemu-system-x86_64")
    os.symlink(sys.executable, qemu)
    vm_uuid = str(uuid.uuid4())
    procs.append(subprocess.Popen(
        [qemu, "-c", "import time\nwhile True:\n    t = time.monotonic()\n"
         "    while time.monotonic() - t < 0.002: pass\n    time.sleep(0.018)\n",
         "-name", "guest=vm-dash,debug-threads=on", "-uuid", vm_uuid, "-accel", "kvm"]))
    vm_pid = procs[-1].pid
    for want in NODES.values():
        p = want["proc"]
        deadline = time.monotonic() + 10
        while "kubepods" not in open(f"/proc/{p.pid}/cgroup").read() and \
                time.monotonic() < deadline:
            time.sleep(0.01)

    # node-rapl: two sockets, every zone at a known power, eBPF.
    root = copy_fixture("rapl-2socket")
    base = os.path.join(root, "class", "powercap")
    writers.append(CounterWriter({os.path.join(base, z): w for z, w in RAPL_W.items()}))
    # node-gpu: AMD RAPL (package, core) and a GPU, procfs.
    amd = copy_fixture("rapl-amd")
    writers.append(CounterWriter({os.path.join(amd, "class", "powercap", z): w
                                  for z, w in AMD_W.items()}))
    for w in writers:
        w.start()
    nvml_script = os.path.join(tmp, "fake-nvml")
    with open(nvml_script, "w") as f:
        since = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        f.write(f'gpu uuid=GPU-dash0000 name="Fake H100" pci=00000000:3B:00.0 energy_mj=1000 '
                f'since_ns={since} power_mw={int(GPU_W * 1000)} util=60\n'
                f'proc gpu=0 pid={NODES["node-gpu"]["proc"].pid} sm=40\n'
                f'proc gpu=0 pid={vm_pid} sm=20\n')
    # node-estimator: no CPU meter, an ACPI platform meter, procfs.
    acpi = copy_fixture("hwmon-power-meter")
    with open(os.path.join(acpi, *PLATFORM_FILE)) as f:
        platform_w = int(f.read()) / 1e6

    common = ["--monitor.interval=1s", "--kube.enable"]
    setups = {
        "node-rapl": ([f"--host.sysfs={root}", "--activity.source=ebpf"],
                      "power: {idle: {package: 30, core: 20, dram: 5, psys: 60}}\n", None),
        "node-gpu": ([f"--host.sysfs={amd}", "--activity.source=procfs",
                      "--power.gpu.source=nvml", f"--power.gpu.nvml.library={FAKE_NVML}"],
                     f"power: {{idle: {{package: 20, core: 10}}, "
                     f"gpu: {{idleWatts: {GPU_IDLE_W}}}}}\n",
                     {"FAKE_NVML_SCRIPT": nvml_script}),
        "node-estimator": ([f"--host.sysfs={acpi}", "--activity.source=procfs",
                            "--power.source=estimator,acpi"], None, None),
    }
    for node, (args, config, env) in setups.items():
        agents[node] = Agent(*common, *args, f"--kube.node-name={node}",
                             f"--kube.kubelet-url={NODES[node]['kubelet']}",
                             config=config, env=env)
    for a in agents.values():
        a.wait_ready()
    prom = Prom({node: a.port for node, a in agents.items()})

    targets = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            targets = prom.api("targets")["activeTargets"]
            if len(targets) == 3 and all(t["health"] == "up" for t in targets):
                break
        except OSError:
            pass
        time.sleep(0.2)
    up_since = time.time()
    check(len(targets) == 3 and all(t["health"] == "up" for t in targets),
          f"Prometheus scrapes the three agents: "
          f"{[(t['labels'].get('node_name'), t['health'], t['lastError']) for t in targets]}")

    # The names every rule and panel uses exist (a misspelt family would make a rule
    # or a panel silently empty on every cluster).
    time.sleep(3)
    names = set(prom.api("label/__name__/values"))
    with open(rules_file) as f:
        rules_text = f.read()
    # (recorded names, level:metric:operations, are not families: the lookarounds)
    used_names = set(re.findall(r"(?<![:\w])(kepler_\w+|process_\w+)(?![:\w])", rules_text +
                                "".join(t["expr"] for _, t in exprs) +
                                "".join(v.get("definition", "") for v in variables.values())))
    check(used_names <= names,
          f"the {len(used_names)} families the rules and the dashboard name are all scraped: "
          f"missing {sorted(used_names - names)}")

    # --- every panel returns data ------------------------------------------------------
    def want_nodes(expr):
        """GPU panels have data on the GPU node, platform panels on the one with a
        platform meter; every other panel on every node."""
        if "_gpu_" in expr:
            return ["node-gpu"]
        if "platform" in expr:
            return ["node-estimator"]
        return list(NODES)

    def has_data(q):
        """Asked three times: a scrape that timed out on a loaded machine leaves a
        target's series stale for a second."""
        for _ in range(3):
            if prom.query(q):
                return True
            time.sleep(0.5)
        return False

    empty = []
    for p, t in exprs:
        for node in want_nodes(t["expr"]):
            values = {"cluster": CLUSTER, "node": node, "namespace": NODES[node]["namespace"],
                      "pod": NODES[node]["pod"]}
            q = substitute(t["expr"], values)
            if not has_data(q):
                empty.append(f"panel {p['id']} {p['title']!r} {t['refId']} on {node}: {q}")
        if not has_data(substitute(t["expr"], {**ALL, "cluster": CLUSTER})):
            empty.append(f"panel {p['id']} {p['title']!r} {t['refId']} with All")
    check(not empty, f"every one of the {len(exprs)} panel queries returns data on the nodes "
          f"that have it and with All: " + "; ".join(empty))

    for name, wanted in (("cluster", {CLUSTER}), ("node", set(NODES))):
        m = LABEL_VALUES.match(variables[name]["definition"])
        got = set(prom.api(f"label/{m.group(2)}/values",
                           **{"match[]": substitute(m.group(1), {**ALL, "cluster": CLUSTER})}))
        check(got >= wanted, f"variable {name} finds {sorted(got)}")
    for node, want in NODES.items():
        values = {"cluster": CLUSTER, "node": node, "namespace": want["namespace"]}
        for name in ("namespace", "pod"):
            m = LABEL_VALUES.match(variables[name]["definition"])
            got = set(prom.api(f"label/{m.group(2)}/values",
                               **{"match[]": substitute(m.group(1), values)}))
            check(want[name] in got, f"on {node}, variable {name} finds {want[name]}: "
                  f"{sorted(got)}")

    # --- the recording rules -----------------------------------------------------------
    time.sleep(max(0.0, up_since + WINDOW + 3 - time.time()))  # full windows
    groups = prom.api("rules")["groups"]
    loaded = [r for g in groups for r in g["rules"]]
    recording = {r["name"]: r for r in loaded if r["type"] == "recording"}
    alerting = {r["name"]: r for r in loaded if r["type"] == "alerting"}
    check(set(recording) == set(RULES) and set(alerting) == ALERTS,
          f"Prometheus loaded the {len(RULES)} recording rules and {len(ALERTS)} alerts "
          f"this test knows: {sorted(set(recording) ^ set(RULES))} "
          f"{sorted(set(alerting) ^ ALERTS)}")
    broken = [(r["name"], r.get("lastError")) for r in loaded
              if r["health"] != "ok" or r.get("lastError")]
    check(not broken, f"every rule evaluates: {broken}")
    check(all(r["state"] == "inactive" for r in alerting.values()),
          f"no alert while all is well: {[(n, r['state']) for n, r in alerting.items()]}")

    worst = 0.0
    recorded = {}
    for name, (source, by) in RULES.items():
        if name not in recording:
            continue
        # An evaluation a few seconds old: every series of the rule has a sample at it.
        got = prom.query(f"{name}[10s]")
        stamps = sorted({ts for s in got for ts, _ in s["values"]})
        if not check(len(stamps) >= 4, f"{name}: recorded ({len(got)} series)"):
            continue
        t = stamps[-3]
        at_t = {}
        for s in got:
            for ts, v in s["values"]:
                if ts == t:
                    at_t[tuple(sorted(labels_of(s).items()))] = float(v)
        t_ms = round(t * 1000)
        raw = prom.query(f"{source}[{WINDOW}s]", at=t)
        # A scrape that began before t but was stored after the rule ran is in the raw
        # samples and was not in the rule's: each target's newest sample, when within
        # the last scrape interval, may or may not have been seen. The figure must match
        # one of these cases exactly.
        instances = sorted({s["metric"]["instance"] for s in raw})
        best = None
        for case in range(1 << len(instances)):
            late = {i for n, i in enumerate(instances) if case >> n & 1}
            want = {}
            for s in raw:
                pts = [(round(ts * 1000), float(v)) for ts, v in s["values"]]
                if s["metric"]["instance"] in late and pts and pts[-1][0] > t_ms - 1000:
                    pts = pts[:-1]
                r = extrapolated_rate(pts, t_ms, WINDOW)
                if r is None:
                    continue
                ls = labels_of(s)
                key = tuple(sorted((k, ls[k]) for k in by if ls.get(k)))
                want[key] = want.get(key, 0.0) + r
            err = float("inf")
            if want and set(want) == set(at_t):
                err = max(abs(at_t[k] - v) / max(abs(v), 1e-3) for k, v in want.items())
            if best is None or err < best[0]:
                best = (err, want, sorted(late))
        err, want, late = best
        recorded[name] = at_t
        worst = max(worst, err)
        check(err < 1e-6,
              f"{name}: its {len(at_t)} series are the rates computed here from the raw "
              f"{source} samples (relative difference {err:.1e}"
              + (f"; scrapes stored after the evaluation: {late})" if late else ")")
              + ("" if err < 1e-6 else f": recorded {sorted(at_t.items())}, "
                 f"computed {sorted(want.items())}"))
    print(f"note: largest difference between a recorded series and its figure from the raw "
          f"samples: {worst:.1e} (relative)")

    # What the fixtures draw. The counters Prometheus sees are the agent's at its last
    # interval, which a loaded machine delays by a second or two at either end of the
    # minute: 10 %, which still tells a socket or a zone missing from a sum.
    ABS_TOL = 0.10

    def rec(name, **labels):
        return [v for k, v in recorded.get(name, {}).items()
                if set(labels.items()) <= set(k)]

    pkg = rec("node_zone:kepler_node_cpu_joules:rate1m", node_name="node-rapl", zone="package")
    check(pkg and abs(pkg[0] - 70.0) < ABS_TOL * 70.0,
          f"node-rapl package over a minute: {pkg} W, the 70 W the fixture draws (10 %)")
    act = rec("node_zone:kepler_node_cpu_active_joules:rate1m", node_name="node-rapl",
              zone="package")
    check(act and abs(act[0] - 40.0) < ABS_TOL * 40.0,
          f"node-rapl package active: {act} W, 70 W less the configured 30 W idle (10 %)")
    gpu = rec("node_gpu:kepler_node_gpu_joules:rate1m", node_name="node-gpu", gpu="0")
    check(gpu and abs(gpu[0] - GPU_W) < ABS_TOL * GPU_W,
          f"node-gpu GPU 0: {gpu} W, the scripted {GPU_W} W (10 %)")
    plat = rec("node:kepler_node_platform_joules:rate1m", node_name="node-estimator")
    check(plat and abs(plat[0] - platform_w) < ABS_TOL * platform_w,
          f"node-estimator platform: {plat} W, the meter's {platform_w} W (10 %)")
    for name in ("node_namespace_pod_zone:kepler_pod_cpu_joules:rate1m",
                 "namespace_zone:kepler_pod_cpu_joules:rate1m"):
        for node, want in NODES.items():
            got = rec(name, pod_namespace=want["namespace"])
            check(got and all(v > 0 for v in got),
                  f"{name}: namespace {want['namespace']} draws power ({got})")
    got = rec("node_namespace_pod_gpu:kepler_pod_gpu_joules:rate1m", node_name="node-gpu",
              pod_name="trainer-0", gpu="0")
    check(got and got[0] > 0, f"the GPU pod's GPU power: {got} W")

    # --- the alerts live ---------------------------------------------------------------
    # A meter fails: the package counter of node-rapl's socket 0 vanishes.
    pkg0 = os.path.join(base, "intel-rapl:0", "energy_uj")
    writers[0].stop()
    os.rename(pkg0, pkg0 + ".gone")
    agents["node-estimator"].stop()
    pending = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and len(pending) < 2:
        for a in prom.api("alerts")["alerts"]:
            if a["state"] == "pending":
                pending.add((a["labels"]["alertname"], a["labels"].get("node_name"),
                             a["labels"].get("zone")))
        time.sleep(0.5)
    check(("KeplerAgentDown", "node-estimator", None) in pending,
          f"a stopped agent makes KeplerAgentDown pending on its node: {sorted(pending)}")
    check(("KeplerMeterReadErrors", "node-rapl", "package") in pending,
          f"a vanished meter makes KeplerMeterReadErrors pending: {sorted(pending)}")
finally:
    for w in writers:
        if w.is_alive():
            w.stop()
    if prom:
        prom.stop()
        if "level=error" in prom.output():
            print(prom.output()[-3000:])
    for node, a in agents.items():
        a.stop()
        if kepler_test.failures:
            print(f"-- {node}'s log:\n{a.output()[-3000:]}")
    for k in kubelets:
        k.stop()
    for p in procs:
        p.kill()
        p.wait()
    cg.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)
finish()
