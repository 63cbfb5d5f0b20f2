#!/usr/bin/env bash
# tests/container/k8s.sh: deploy/k8s.yaml parses (every document well-formed
# YAML with apiVersion, kind and metadata.name) and agrees with itself and
# with the image: selectors match the pod labels, the Service and the probes
# name a declared port, the server's --port is that port, probes on /healthz
# (startup, liveness) and /readyz (readiness), a rolling update that never
# goes below the replica count, preStop + --drain-timeout + 5 s margin within
# terminationGracePeriodSeconds, memory request <= limit, non-root as the
# image's USER, read-only root, the model volume read-only and its claim
# declared, the same --drain-timeout as the image's CMD. There is no
# Kubernetes API server or kubeconform here, so the schema itself is not
# checked (a misspelled field would pass). Needs python3-yaml (scripts/deps.sh container).
# Usage: tests/container/k8s.sh [K8S_YAML [CONTAINERFILE]]
set -euo pipefail
manifest=$(realpath "${1:-$(dirname "$0")/../../deploy/k8s.yaml}")
containerfile=$(realpath "${2:-$(dirname "$0")/../../deploy/Containerfile}")
cd "$(dirname "$0")/../.."
python3 -c 'import yaml' 2>/dev/null || scripts/deps.sh container
python3 - "$manifest" "$containerfile" <<'EOF'
import json, re, sys, yaml

manifest, containerfile = sys.argv[1], sys.argv[2]
errors = []
def check(cond, what):
    if not cond:
        errors.append(what)
    return cond

with open(manifest) as f:
    try:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    except yaml.YAMLError as e:
        sys.exit(f"k8s.sh: {manifest}: {e}")
for i, d in enumerate(docs):
    check(isinstance(d, dict) and d.get("apiVersion") and d.get("kind")
          and (d.get("metadata") or {}).get("name"),
          f"document {i + 1}: no apiVersion/kind/metadata.name")
by_kind = {}
for d in docs:
    by_kind.setdefault(d["kind"], []).append(d)
for k in ("Deployment", "Service", "PersistentVolumeClaim", "PodDisruptionBudget"):
    check(len(by_kind.get(k, [])) == 1, f"expected one {k}, found {len(by_kind.get(k, []))}")
if errors:
    sys.exit("k8s.sh: " + "; ".join(errors))

dep = by_kind["Deployment"][0]["spec"]
pod = dep["template"]["spec"]
labels = dep["template"]["metadata"]["labels"]
def matches(selector):
    return all(labels.get(k) == v for k, v in selector.items())
check(matches(dep["selector"]["matchLabels"]), "Deployment selector does not match the pod labels")
check(dep.get("replicas", 1) >= 2, "fewer than 2 replicas")
st = dep.get("strategy", {})
ru = st.get("rollingUpdate", {})
check(st.get("type") == "RollingUpdate" and ru.get("maxUnavailable") == 0 and ru.get("maxSurge") == 1,
      f"strategy is not RollingUpdate maxUnavailable 0 maxSurge 1: {st}")
check(len(pod["containers"]) == 1, "expected one container")
c = pod["containers"][0]
ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
args = [str(a) for a in c.get("args", [])]
def flag(name):
    return args[args.index(name) + 1] if name in args and args.index(name) + 1 < len(args) else None
check(args[:1] == ["serve"], f"args do not start with serve: {args}")
check(flag("--port") is not None and int(flag("--port")) in ports.values(),
      f"--port {flag('--port')} is not a declared containerPort {ports}")
check(flag("--bind") == "0.0.0.0", "--bind is not 0.0.0.0 (the probes come from the node)")
drain = flag("--drain-timeout")
check(drain is not None and re.fullmatch(r"[0-9]+", drain), f"no numeric --drain-timeout: {args}")

def probe(name, path):
    p = c.get(name)
    if not check(p is not None, f"no {name}"):
        return
    g = p.get("httpGet", {})
    check(g.get("path") == path, f"{name} path {g.get('path')}, expected {path}")
    check(g.get("port") in ports or g.get("port") in ports.values(), f"{name} port {g.get('port')} not declared")
probe("livenessProbe", "/healthz")
probe("readinessProbe", "/readyz")
probe("startupProbe", "/healthz")

grace = pod.get("terminationGracePeriodSeconds", 30)
pre = c.get("lifecycle", {}).get("preStop", {})
pre_s = pre.get("sleep", {}).get("seconds", 0)
check(pre_s > 0, f"no preStop sleep: {pre}")
if drain:
    check(pre_s + int(drain) + 5 <= grace,
          f"preStop {pre_s} s + drain {drain} s + 5 s margin > terminationGracePeriodSeconds {grace}")

def mib(q):
    m = re.fullmatch(r"([0-9.]+)(Ki|Mi|Gi)?", str(q))
    if not m:
        return None
    return float(m.group(1)) * {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, None: 1 / 1048576}[m.group(2)]
res = c.get("resources", {})
req, lim = mib(res.get("requests", {}).get("memory")), mib(res.get("limits", {}).get("memory"))
check(req is not None and lim is not None and req <= lim, f"memory request/limit missing or request > limit: {res}")
check(res.get("requests", {}).get("cpu") is not None, "no cpu request")

sc, csc = pod.get("securityContext", {}), c.get("securityContext", {})
with open(containerfile) as f:
    cf = f.read()
user = re.search(r"^USER\s+([0-9]+)", cf, re.M)
check(user is not None, "Containerfile has no numeric USER")
check(sc.get("runAsNonRoot") is True, "runAsNonRoot is not true")
if user:
    check(str(sc.get("runAsUser")) == user.group(1), f"runAsUser {sc.get('runAsUser')} != image USER {user.group(1)}")
check(csc.get("readOnlyRootFilesystem") is True, "root filesystem not read-only")
check(csc.get("allowPrivilegeEscalation") is False, "privilege escalation allowed")
check("ALL" in csc.get("capabilities", {}).get("drop", []), "capabilities not all dropped")

model = args[1] if len(args) > 1 else ""
mounts = [m for m in c.get("volumeMounts", []) if model.startswith(m["mountPath"].rstrip("/") + "/")]
if check(len(mounts) == 1, f"the model {model} is on no volume mount"):
    m = mounts[0]
    check(m.get("readOnly") is True, "the model volume is not mounted read-only")
    vols = {v["name"]: v for v in pod.get("volumes", [])}
    v = vols.get(m["name"], {})
    claim = v.get("persistentVolumeClaim", {}).get("claimName")
    check(claim == by_kind["PersistentVolumeClaim"][0]["metadata"]["name"],
          f"volume {m['name']} claims {claim}, not the declared PVC")

svc = by_kind["Service"][0]["spec"]
check(matches(svc["selector"]), "Service selector does not match the pod labels")
for p in svc["ports"]:
    check(p["targetPort"] in ports or p["targetPort"] in ports.values(), f"Service targetPort {p['targetPort']} not declared")
check(matches(by_kind["PodDisruptionBudget"][0]["spec"]["selector"]["matchLabels"]),
      "PodDisruptionBudget selector does not match the pod labels")

cmd = re.search(r"^CMD\s+(\[.*\])\s*$", cf, re.M)
if check(cmd is not None, "Containerfile has no CMD array"):
    cmd_args = json.loads(cmd.group(1))
    i = cmd_args.index("--drain-timeout") if "--drain-timeout" in cmd_args else -1
    check(i >= 0 and cmd_args[i + 1] == drain, f"image CMD --drain-timeout differs from k8s.yaml's {drain}")
    check(cmd_args[:2] == args[:2], f"image CMD {cmd_args[:2]} and k8s args {args[:2]} serve different models")
hc = re.search(r'CMD \["/usr/local/bin/cs-probe", "([0-9]+)", "(/[a-z]+)"', cf)
check(hc is not None and int(hc.group(1)) in ports.values() and hc.group(2) == "/readyz",
      "the image HEALTHCHECK does not probe /readyz on the container port")

if errors:
    sys.exit("k8s.sh: " + "\n  ".join([manifest + ":"] + errors))
print(f"k8s.sh: ok ({len(docs)} documents; grace {grace} s >= preStop {pre_s} s + drain {drain} s + 5 s)")
EOF
