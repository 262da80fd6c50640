#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Kubernetes manifests (deploy/kubernetes): kubectl kustomize renders the
base, every overlay and the web-config component; every object validates
against the Kubernetes, prometheus-operator and SCC schemas
(tests/kubernetes/validate.mjs), which rejects bad objects; the DaemonSet
keeps its security promises; and the agent runs as the DaemonSet runs it:
its arguments with the downward API's values, its config file from the
ConfigMap, the host's /proc and /sys read-only where the DaemonSet mounts
them, its own pid namespace, a read-only root, no_new_privs and only the
documented capabilities. There it loads eBPF and names a host process's
executable, container and pod."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

from kepler_test import KEPLER, Cgroups, check, finish, free_port, parse, series, spawn_in
from kubelet_server import KubeletServer

ROOT = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEPLOY = os.path.join(ROOT, "deploy", "kubernetes")
VALIDATOR = os.path.join(ROOT, "tests", "kubernetes")

for tool in ("kubectl", "node", "unshare", "setpriv", "chroot"):
    if not shutil.which(tool):
        print(f"skipped: {tool} is not installed")
        sys.exit(77)
if not os.path.isdir(os.path.join(VALIDATOR, "node_modules")):
    print("skipped: tests/kubernetes/node_modules missing: run scripts/deps.sh")
    sys.exit(77)
if os.geteuid() != 0:
    print("skipped: needs root for namespaces, mounts and eBPF")
    sys.exit(77)

tmp = tempfile.mkdtemp(prefix="kepler-k8s-")


def documented_caps():
    """The capabilities docs/activity.md gives to run the agent, as Kubernetes names them."""
    with open(os.path.join(ROOT, "docs", "activity.md")) as f:
        m = re.search(r"setcap ((?:cap_\w+,?)+)\+ep", f.read())
    return {c[len("cap_"):].upper() for c in m.group(1).split(",")}


def render(name, kdir):
    """kubectl kustomize kdir into a file; its path, or None."""
    out = os.path.join(tmp, f"{name}.yaml")
    r = subprocess.run(["kubectl", "kustomize", kdir], capture_output=True, text=True)
    if not check(r.returncode == 0 and r.stdout.strip(), f"{name}: kubectl kustomize renders"):
        print(r.stderr)
        return None
    with open(out, "w") as f:
        f.write(r.stdout)
    return out


def validate(path):
    """(exit status, output, the objects read) of validate.mjs on one file."""
    js = path + ".json"
    r = subprocess.run(["node", os.path.join(VALIDATOR, "validate.mjs"), f"--json={js}", path],
                       capture_output=True, text=True)
    objs = []
    if os.path.exists(js):
        with open(js) as f:
            objs = json.load(f)
    return r.returncode, r.stdout + r.stderr, objs


def yaml_to_json(text):
    """A YAML document as Python data, through the yaml package validate.mjs uses."""
    r = subprocess.run(["node", "--input-type=module", "-e",
                        'import {parse} from "yaml"; import {readFileSync} from "node:fs";'
                        'console.log(JSON.stringify(parse(readFileSync(0, "utf8"))))'],
                       input=text, capture_output=True, text=True, cwd=VALIDATOR, check=True)
    return json.loads(r.stdout)


def find(objs, kind, name=None):
    return next((o for o in objs if o["kind"] == kind
                 and (name is None or o["metadata"]["name"] == name)), None)


# --- Render and validate --------------------------------------------------

BASE_KINDS = {"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap",
              "Service", "DaemonSet"}
# The web-config component is included the way a user's overlay would.
wc_dir = os.path.join(tmp, "web-config-overlay")
os.mkdir(wc_dir)
with open(os.path.join(wc_dir, "kustomization.yaml"), "w") as f:
    rel = os.path.relpath(DEPLOY, wc_dir)
    f.write(f"resources: [{rel}/base]\ncomponents: [{rel}/components/web-config]\n")
variants = {
    "base": (os.path.join(DEPLOY, "base"), set()),
    "gpu": (os.path.join(DEPLOY, "overlays", "gpu"), set()),
    "prometheus-operator": (os.path.join(DEPLOY, "overlays", "prometheus-operator"),
                            {"ServiceMonitor", "PrometheusRule"}),
    "openshift": (os.path.join(DEPLOY, "overlays", "openshift"),
                  {"SecurityContextConstraints", "Role", "RoleBinding"}),
    "web-config": (wc_dir, {"Secret"}),
}
rendered = {}
for name, (kdir, extra) in variants.items():
    path = render(name, kdir)
    if not path:
        continue
    rc, out, objs = validate(path)
    check(rc == 0 and "FAIL" not in out,
          f"{name}: every object validates ({len(objs)} objects)" + ("" if rc == 0 else f"\n{out}"))
    kinds = {o["kind"] for o in objs}
    check(kinds == BASE_KINDS | extra, f"{name}: the expected kinds: {sorted(kinds)}")
    rendered[name] = objs

# The validator rejects what the API server would.
base_yaml = os.path.join(tmp, "base.yaml")
with open(base_yaml) as f:
    text = f.read()
with open(os.path.join(tmp, "openshift.yaml")) as f:
    scc_text = f.read()
# what: (the text, the mutant, what the validator must say)
mutants = {
    "privileged: \"yes\"": (
        text, text.replace("privileged: false", 'privileged: "yes"'),
        "securityContext/privileged must be boolean"),
    "a port name as a number": (
        text, text.replace("containerPort: 28282", "containerPort: http"),
        "containerPort must be integer"),
    "no containers": (
        text, re.sub(r"      containers:\n(      [ -].*\n)*?      hostNetwork", "      hostNetwork",
                     text),
        "must have required property containers"),
    "an unknown kind": (
        text, text + "---\napiVersion: v1\nkind: Podd\nmetadata: {name: x}\n",
        "unknown kind Podd in v1"),
    "an SCC with a string for a boolean": (
        scc_text, scc_text.replace("allowHostPID: false", 'allowHostPID: "no"'),
        "allowHostPID must be boolean"),
    "an SCC with a misspelt field": (
        scc_text, scc_text.replace("allowHostIPC: false", "allowHostIpc: false"),
        "must have required property 'allowHostIPC'"),
}
for what, (source, bad, message) in mutants.items():
    check(bad != source, f"mutant {what}: the mutation applies")
    path = os.path.join(tmp, "mutant.yaml")
    with open(path, "w") as f:
        f.write(bad)
    rc, out, _ = validate(path)
    check(rc == 1 and message in out, f"mutant {what}: rejected ({message})")

# --- What the DaemonSet promises -----------------------------------------

CAPS = documented_caps()
check(CAPS == {"BPF", "PERFMON", "DAC_READ_SEARCH", "SYS_PTRACE"},
      f"docs/activity.md names the four capabilities: {sorted(CAPS)}")
for name, objs in rendered.items():
    ds = find(objs, "DaemonSet", "kepler")
    pod = ds["spec"]["template"]["spec"]
    c = pod["containers"][0]
    sc = c.get("securityContext", {})
    caps = sc.get("capabilities", {})
    check(sc.get("privileged") is False and sc.get("allowPrivilegeEscalation") is False
          and sc.get("readOnlyRootFilesystem") is True,
          f"{name}: not privileged, no privilege escalation, read-only root")
    check(caps.get("drop") == ["ALL"] and set(caps.get("add", [])) == CAPS
          and len(caps["add"]) == len(CAPS),
          f"{name}: drops ALL, adds exactly {sorted(CAPS)}: {caps}")
    check(not pod.get("hostNetwork") and not pod.get("hostIPC"),
          f"{name}: no host network or IPC")
    check(bool(pod.get("hostPID")) == (name == "gpu"),
          f"{name}: hostPID only where NVML needs it: {pod.get('hostPID')}")
    check(pod.get("priorityClassName") == "system-node-critical"
          and pod.get("tolerations") == [{"operator": "Exists"}],
          f"{name}: system-node-critical, tolerates every taint")
    res = c.get("resources", {})
    check(all(k in res.get(t, {}) for t in ("requests", "limits") for k in ("cpu", "memory")),
          f"{name}: CPU and memory requests and limits: {res}")
    env = {e["name"]: e for e in c.get("env", [])}
    check(env.get("NODE_NAME", {}).get("valueFrom") == {"fieldRef": {"fieldPath": "spec.nodeName"}}
          and "--kube.node-name=$(NODE_NAME)" in c.get("args", []),
          f"{name}: the node name from the downward API reaches --kube.node-name")
    port = next((p["containerPort"] for p in c.get("ports", []) if p["name"] == "http-metrics"),
                None)
    probes = [c.get(p, {}) for p in ("startupProbe", "livenessProbe", "readinessProbe")]
    if name == "web-config":
        check(all(p.get("tcpSocket", {}).get("port") == "http-metrics" for p in probes),
              f"{name}: with basic auth the probes only connect")
    else:
        check(all(p.get("httpGet", {}).get("path") == "/healthz"
                  and p["httpGet"].get("port") == "http-metrics" for p in probes),
              f"{name}: startup, liveness and readiness probes on /healthz")
    svc = find(objs, "Service", "kepler")
    check(port == 28282 and svc["spec"].get("clusterIP") == "None"
          and svc["spec"]["ports"][0]["port"] == 28282
          and svc["spec"]["ports"][0]["targetPort"] == "http-metrics",
          f"{name}: headless Service on 28282 to the container's port {port}")

    # The host's /proc and /sys read-only, where the config file says they are.
    vols = {v["name"]: v for v in pod["volumes"]}
    mounts = {vols[m["name"]].get("hostPath", {}).get("path"): m for m in c["volumeMounts"]
              if "hostPath" in vols[m["name"]]}
    config_vol = next(v for v in pod["volumes"] if "configMap" in v)
    config_mount = next(m for m in c["volumeMounts"] if m["name"] == config_vol["name"])
    cm = find(objs, "ConfigMap", config_vol["configMap"]["name"])
    config_text = cm["data"]["config.yaml"]
    config = yaml_to_json(config_text)
    for host, key in (("/proc", "procfs"), ("/sys", "sysfs")):
        m = mounts.get(host, {})
        check(m.get("readOnly") is True and m.get("recursiveReadOnly") == "IfPossible"
              and m.get("mountPath") == config["host"][key],
              f"{name}: host {host} read-only at host.{key} {config['host'][key]}: {m}")
    check(f"--config.file={config_mount['mountPath']}/config.yaml" in c["args"]
          and config["kube"]["enabled"] is True,
          f"{name}: the agent reads the ConfigMap's file, kube.enabled")
    rendered[name] = {"objs": objs, "container": c, "config": config_text}

ds = rendered["gpu"]["container"]
check(any(a == "--power.gpu.nvml.library=/host/nvidia-lib/libnvidia-ml.so.1" for a in ds["args"])
      and any(m["mountPath"] == "/host/nvidia-lib" and m.get("readOnly") for m in
              ds["volumeMounts"]),
      "gpu: the driver's library directory, read-only, named by power.gpu.nvml.library")
scc = find(rendered["openshift"]["objs"], "SecurityContextConstraints")
check(set(scc["allowedCapabilities"]) == CAPS and not scc["allowPrivilegedContainer"]
      and not scc["allowHostPID"] and not scc["allowHostNetwork"]
      and scc["readOnlyRootFilesystem"] and scc["allowPrivilegeEscalation"] is False
      and "namespace" not in scc["metadata"],
      "openshift: the SCC allows the four capabilities, nothing privileged, cluster-scoped")
role = find(rendered["openshift"]["objs"], "Role", "kepler-scc")
check(role["rules"] == [{"apiGroups": ["security.openshift.io"],
                         "resources": ["securitycontextconstraints"],
                         "resourceNames": ["kepler"], "verbs": ["use"]}],
      "openshift: kepler's service account may use that SCC alone")

# --- The agent as the DaemonSet runs it -----------------------------------


def expand(arg, env):
    """The kubelet's $(VAR) expansion of container arguments."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)),
                  arg)


def pod_root(config_text, config_mount):
    """A root for the container: the host's /usr (libraries) read-only, the
    binary, the config file where the ConfigMap mounts it, and empty mount
    points. The rest is mounted inside the pod's mount namespace."""
    r = os.path.join(tmp, "root")
    for d in ("usr", "proc", "sys", "dev", "host/proc", "host/sys", "kepler",
              config_mount.lstrip("/")):
        os.makedirs(os.path.join(r, d), exist_ok=True)
    for link in ("bin", "lib", "lib64", "sbin"):
        if os.path.islink("/" + link):
            os.symlink(os.readlink("/" + link), os.path.join(r, link))
    shutil.copy("/etc/ld.so.cache", os.path.join(r, "etc"))
    with open(os.path.join(r, config_mount.lstrip("/"), "config.yaml"), "w") as f:
        f.write(config_text)
    shutil.copy(KEPLER, os.path.join(r, "kepler", "kepler"))
    return r


# The pod: a new mount and pid namespace; the host's /proc and /sys bound
# read-only at the DaemonSet's mount paths (taken before the pod's own /proc
# is mounted), the root read-only, and the agent started by setpriv as the
# runtime starts it: uid 0, the bounding set cut to the container's
# capabilities, no inheritable ones, no_new_privs.
POD = r"""
set -eu
R=$1; shift
ro() { mount --rbind "$1" "$2" && mount -o remount,bind,ro "$2"; }
mount --bind "$R" "$R"
ro /usr "$R/usr"
ro /proc "$R/host/proc"
ro /sys "$R/host/sys"
ro /sys "$R/sys"
mount --rbind /dev "$R/dev"
mount -t proc proc "$R/proc"
mount -o remount,bind,ro "$R"
exec chroot "$R" /usr/bin/setpriv --no-new-privs --inh-caps=-all --bounding-set=-all,$CAPS "$@"
"""

c = rendered["base"]["container"]
config_mount = next(m["mountPath"] for m in c["volumeMounts"] if m["name"] == "config")
root = pod_root(rendered["base"]["config"], config_mount)
downward = {"NODE_NAME": "node-a", "NODE_IP": "127.0.0.1"}
args = [expand(a, downward) for a in c["args"]]
check("--kube.node-name=node-a" in args, f"the kubelet's expansion gives {args}")

tag = uuid.uuid4().hex[:8]
pod_uid = str(uuid.uuid4())
cid = uuid.uuid4().hex + uuid.uuid4().hex
cg = Cgroups()
busy = kubelet = pod = agent = None
try:
    scope = cg.make(f"kepler{tag}.slice/kubepods.slice/kubepods-besteffort.slice/"
                    f"kubepods-besteffort-pod{pod_uid.replace('-', '_')}.slice/"
                    f"cri-containerd-{cid}.scope")
    pods_file = os.path.join(tmp, "pods.json")
    with open(pods_file, "w") as f:
        json.dump({"kind": "PodList", "apiVersion": "v1", "items": [{
            "metadata": {"name": "burner-0", "namespace": "energy", "uid": pod_uid},
            "status": {"containerStatuses": [
                {"name": "burner", "containerID": f"containerd://{cid}"}]}}]}, f)
    kubelet = KubeletServer(pods_file)
    kubelet.start()
    busy = spawn_in(scope, duty=1.0)
    # In its container before the agent first sees it (a loaded machine can
    # take a while to start Python).
    deadline = time.monotonic() + 20
    while cid not in open(f"/proc/{busy.pid}/cgroup").read() and time.monotonic() < deadline:
        time.sleep(0.05)

    port = free_port()
    # The test's own: a free port instead of :28282, a short interval, the test
    # kubelet instead of https://$NODE_IP:10250.
    test_args = [f"--web.listen-address=127.0.0.1:{port}", "--monitor.interval=500ms",
                 f"--kube.kubelet-url={kubelet.url}"]
    log = open(os.path.join(tmp, "agent.log"), "w+")
    pod = subprocess.Popen(
        ["unshare", "--mount", "--pid", "--fork", "--kill-child", "--propagation", "private",
         "sh", "-c", POD, "pod", root, "/kepler/kepler", *args, *test_args],
        env={**os.environ, "CAPS": ",".join("+" + cap.lower() for cap in
                                            c["securityContext"]["capabilities"]["add"])},
        stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    m, deadline = None, time.monotonic() + 30
    while time.monotonic() < deadline and pod.poll() is None:
        try:
            with urllib.request.urlopen(url + "/metrics", timeout=2) as r:
                m = parse(r.read().decode())
            procs = series(m, "kepler_process_cpu_seconds_total")
            pods = series(m, "kepler_pod_cpu_joules_total")
            if any(("pid", str(busy.pid)) in k for k in procs) and \
                    any(("pod_name", "burner-0") in k for k in pods):
                break
        except OSError:
            pass
        time.sleep(0.3)
    if not check(m is not None, "the agent in the pod serves /metrics"):
        log.seek(0)
        print(log.read())
    m = m or {}
    with urllib.request.urlopen(url + "/healthz", timeout=2) as r:
        check(r.status == 200, "/healthz, the probes' path, answers 200")

    # The agent: pid 1 of its own pid namespace, as in a pod without hostPID.
    agent = int(open(f"/proc/{pod.pid}/task/{pod.pid}/children").read().split()[0])
    status = {line.split(":")[0]: line.split(":", 1)[1].split()
              for line in open(f"/proc/{agent}/status")}
    check(status["NSpid"][1:] == ["1"],
          f"the agent is pid 1 of its own namespace: {status['NSpid']}")
    check(status["NoNewPrivs"] == ["1"] and os.readlink(f"/proc/{agent}/root") == root,
          "no_new_privs, in the pod's root")
    check(int(status["CapBnd"][0], 16) == sum(1 << n for n in (2, 19, 38, 39)),
          f"bounded by the four capabilities: {status['CapBnd'][0]}")

    check(any(("activity_source", "ebpf") in k for k in series(m, "kepler_node_info")),
          "eBPF loads with BPF and PERFMON under no_new_privs")
    mine = [k for k in series(m, "kepler_process_cpu_seconds_total") if ("pid", str(busy.pid)) in k]
    labels = dict(mine[0]) if mine else {}
    check(labels.get("exe") == os.path.realpath(sys.executable),
          f"a host process by its host pid, its exe read through /host/proc: {labels.get('exe')}")
    check(labels.get("container_id") == cid, "its container from /host/proc/<pid>/cgroup")
    check(any(("pod_name", "burner-0") in k and ("pod_namespace", "energy") in k
              for k in series(m, "kepler_pod_cpu_joules_total")),
          "its pod named by the kubelet (kube.enabled from the ConfigMap)")
finally:
    if busy:
        busy.kill()
        busy.wait()
    if pod and pod.poll() is None:
        # unshare ignores SIGTERM; the agent (pid 1 of the pod) stops on it.
        # SIGKILL to unshare takes the agent too (--kill-child).
        if agent:
            os.kill(agent, signal.SIGTERM)
        try:
            pod.wait(10)
        except subprocess.TimeoutExpired:
            pod.kill()
            pod.wait()
    if kubelet:
        kubelet.stop()
    cg.cleanup()

# The example web config is one the agent accepts, and it guards /healthz.
wport = free_port()
agent = subprocess.Popen([KEPLER, f"--web.listen-address=127.0.0.1:{wport}",
                          "--web.config-file=" + os.path.join(DEPLOY, "components", "web-config",
                                                              "web-config.yml")],
                         stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
try:
    codes = {}
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and agent.poll() is None and len(codes) < 2:
        for who, auth in (("anonymous", None), ("prometheus", "cHJvbWV0aGV1czpjaGFuZ2UtbWU=")):
            req = urllib.request.Request(f"http://127.0.0.1:{wport}/healthz",
                                         headers={"Authorization": f"Basic {auth}"} if auth else {})
            try:
                with urllib.request.urlopen(req, timeout=2) as r:
                    codes[who] = r.status
            except urllib.error.HTTPError as e:
                codes[who] = e.code
            except OSError:
                pass
        time.sleep(0.2)
    check(codes.get("anonymous") == 401 and codes.get("prometheus") in (200, 503),
          f"web-config.yml: /healthz needs the password: {codes}")
finally:
    agent.terminate()
    agent.wait(10)

shutil.rmtree(tmp)
finish()
