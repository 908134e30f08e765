#!/usr/bin/env python3
"""test_k8s_manifests.py - owns: proving the Kubernetes manifests, the Collector example and
every YAML file of deploy/ and dashboards/ with real tools.

- `kubectl kustomize` renders every overlay under deploy/k8s/overlays/ and deploy/k8s/monitoring
  (Debian 12's kubectl 1.20 with its embedded kustomize v2.0.3, or any newer kubectl; the
  variable KUBECTL picks another binary).
- Every rendered object, and dashboards/alerts/prometheusrule.yaml, validates offline against the
  Kubernetes schemas (tests/k8s_validate: the npm package kubernetes-models, which knows
  initContainers[].restartPolicy). Deliberately broken objects fail that validator, so it is
  proven to validate.
- The rendered pod is what the README promises: the native sidecar (init container with
  restartPolicy Always) in one overlay and a plain container, otherwise identical, in the other;
  probes on /healthz and /readyz of an explicit 0.0.0.0 health bind; the downward-API variables
  the resource code reads; the shared emptyDir holding the access log and the checkpoint; the key
  from a Secret file; the config from a ConfigMap that `comet-sidecar --check-config` accepts;
  the hardening fields; resources; a grace period above the shutdown deadline; the gateway's
  nginx.conf is the example's (deploy/examples/nginx.conf) but for a resolvable fallback host.
- The Collector example only uses otelcol-contrib components, wires batch into every pipeline
  and sends metrics to Prometheus and traces to an OTLP backend.
- `yamllint --strict` passes on every YAML file of deploy/ and dashboards/.
Usage: python3 test_k8s_manifests.py --binary B --source-dir S --work-dir W
"""
import copy
import glob
import json
import os
import re
import shutil
import subprocess

import yaml

from lib.harness import Runner, check, parse_args

args = parse_args()
runner = Runner()
SRC = args.source_dir
K8S = os.path.join(SRC, "deploy", "k8s")
VALIDATOR = os.path.join(SRC, "tests", "k8s_validate")
TIMEOUT = 120
KUBECTL = os.environ.get("KUBECTL") or shutil.which("kubectl")
RENDERED = {}


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, **kw)


def kustomize_dirs():
    dirs = sorted(glob.glob(os.path.join(K8S, "overlays", "*"))) + [os.path.join(K8S, "monitoring")]
    return [d for d in dirs if os.path.exists(os.path.join(d, "kustomization.yaml"))]


def validate(objs, name):
    path = os.path.join(args.work_dir, f"{name}.json")
    with open(path, "w") as f:
        json.dump(objs, f)
    p = run(["node", os.path.join(VALIDATOR, "validate.js"), path])
    check(p.returncode in (0, 1), f"validator failed to run: {p.stderr}")
    return p.returncode, [json.loads(l) for l in p.stdout.splitlines() if l.strip()]


def kubectl_renders_every_overlay():
    check(KUBECTL, "kubectl not found: deploy/install-deps.sh --test installs Debian's "
                   "kubernetes-client")
    ver = run([KUBECTL, "version", "--client"])
    print(f"     {KUBECTL}: {ver.stdout.strip().splitlines()[0] if ver.stdout else ver.stderr}",
          flush=True)
    dirs = kustomize_dirs()
    check(len(dirs) >= 3, f"expected native, classic and monitoring: {dirs}")
    for d in dirs:
        p = run([KUBECTL, "kustomize", d])
        check(p.returncode == 0, f"kubectl kustomize {d}: {p.stderr}")
        docs = [x for x in yaml.safe_load_all(p.stdout) if x]
        check(docs, f"{d} rendered nothing")
        RENDERED[os.path.basename(d)] = docs
        with open(os.path.join(args.work_dir, os.path.basename(d) + ".yaml"), "w") as f:
            f.write(p.stdout)
    check({"native-sidecar", "classic-sidecar", "monitoring"} <= set(RENDERED), RENDERED.keys())


def rendered_objects_validate():
    with open(os.path.join(SRC, "dashboards", "alerts", "prometheusrule.yaml")) as f:
        rule = [x for x in yaml.safe_load_all(f) if x]
    objs = [o for docs in RENDERED.values() for o in docs] + rule
    rc, results = validate(objs, "all")
    bad = [r for r in results if not r["ok"]]
    check(rc == 0 and not bad and len(results) == len(objs), bad or (rc, len(results)))
    kinds = sorted({r["kind"] for r in results})
    check(kinds == ["ConfigMap", "Deployment", "PodMonitor", "PrometheusRule", "Service"], kinds)


def broken_objects_fail_validation():
    dep = copy.deepcopy(deployment("native-sidecar"))
    wrong_type = copy.deepcopy(dep)
    sidecar_of(wrong_type)["ports"][0]["containerPort"] = "13133"
    no_containers = copy.deepcopy(dep)
    del no_containers["spec"]["template"]["spec"]["containers"]
    bad_probe = copy.deepcopy(dep)
    sidecar_of(bad_probe)["livenessProbe"]["periodSeconds"] = "ten"
    unknown_kind = {"apiVersion": "v1", "kind": "NoSuchKind", "metadata": {"name": "x"}}
    cases = [wrong_type, no_containers, bad_probe, unknown_kind]
    rc, results = validate(cases, "broken")
    check(rc == 1 and len(results) == len(cases), (rc, results))
    for r in results:
        check(not r["ok"] and r["error"], r)
    check("containerPort" in results[0]["error"], results[0])
    check("containers" in results[1]["error"], results[1])
    check("periodSeconds" in results[2]["error"], results[2])
    rc, results = validate([dep], "good")  # the same object unbroken is valid
    check(rc == 0 and results[0]["ok"], results)


def deployment(overlay):
    deps = [o for o in RENDERED[overlay] if o["kind"] == "Deployment"]
    check(len(deps) == 1, deps)
    return deps[0]


def sidecar_of(dep):
    spec = dep["spec"]["template"]["spec"]
    found = [c for c in spec.get("initContainers", []) + spec["containers"]
             if c["name"] == "comet-sidecar"]
    check(len(found) == 1, "exactly one comet-sidecar container")
    return found[0]


def native_and_classic_sidecar():
    native = deployment("native-sidecar")["spec"]["template"]["spec"]
    classic = deployment("classic-sidecar")["spec"]["template"]["spec"]
    check([c["name"] for c in native["initContainers"]] == ["comet-sidecar"], native)
    check(native["initContainers"][0].get("restartPolicy") == "Always", "native sidecar")
    check("comet-sidecar" not in [c["name"] for c in native["containers"]], "not twice")
    check(not classic.get("initContainers"), classic.get("initContainers"))
    classic_sc = [c for c in classic["containers"] if c["name"] == "comet-sidecar"]
    check(len(classic_sc) == 1 and "restartPolicy" not in classic_sc[0], classic["containers"])
    same = dict(native["initContainers"][0])
    del same["restartPolicy"]
    check(same == classic_sc[0], "the classic container is the native one without restartPolicy")
    n, c = dict(native), dict(classic)
    for d in (n, c):
        d.pop("initContainers", None)
        d["containers"] = [x for x in d["containers"] if x["name"] != "comet-sidecar"]
    check(n == c, "the overlays differ only in where the sidecar is")


def config_map(overlay, prefix):
    cms = [o for o in RENDERED[overlay] if o["kind"] == "ConfigMap"
           and o["metadata"]["name"].startswith(prefix)]
    check(len(cms) == 1, [o["metadata"]["name"] for o in RENDERED[overlay]])
    return cms[0]


def mount_of(container, spec, path):
    """The volume (from spec) whose mount in container holds path, and the mount."""
    best = None
    for m in container.get("volumeMounts", []):
        mp = m["mountPath"].rstrip("/") + "/"
        if path.startswith(mp) and (best is None or len(mp) > len(best[1]["mountPath"])):
            vol = [v for v in spec["volumes"] if v["name"] == m["name"]]
            check(len(vol) == 1, m)
            best = (vol[0], m)
    check(best, f"{container['name']} has no volume mounted at {path}")
    return best


def sidecar_pod_contract():
    dep = deployment("native-sidecar")
    spec = dep["spec"]["template"]["spec"]
    sc = sidecar_of(dep)
    gw = [c for c in spec["containers"] if c["name"] != "comet-sidecar"]
    check(len(gw) == 1, "one gateway container")
    gw = gw[0]
    argv = sc["args"]
    check("--set=health.endpoint=0.0.0.0:13133" in argv, argv)
    ports = {p["name"]: p["containerPort"] for p in sc["ports"]}
    check(ports.get("health") == 13133, ports)
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        g = sc[probe]["httpGet"]
        check(g["path"] == path and g["port"] in ("health", 13133), (probe, g))
    # Downward API: exactly the variables the resource code reads.
    with open(os.path.join(SRC, "sidecar", "src", "telemetry", "resource.h")) as f:
        wanted = set(re.findall(r'#define SC_RESOURCE_ENV_\w+\s+"(K8S_\w+)"', f.read()))
    check(len(wanted) == 5, wanted)
    env = {e["name"]: e for e in sc["env"]}
    check(wanted <= set(env), wanted - set(env))
    for name in wanted - {"K8S_CONTAINER_NAME"}:
        check("fieldRef" in env[name].get("valueFrom", {}), env[name])
    check(env["K8S_CONTAINER_NAME"].get("value") == "comet-sidecar", env["K8S_CONTAINER_NAME"])
    check(env["OTEL_EXPORTER_OTLP_ENDPOINT"]["value"].endswith(":4318"), "collector OTLP/HTTP")
    # Hardening.
    psc = spec["securityContext"]
    check(psc.get("runAsNonRoot") is True, psc)
    check(psc.get("seccompProfile", {}).get("type") == "RuntimeDefault", psc)
    for c in (sc, gw):
        csc = c["securityContext"]
        check(csc.get("readOnlyRootFilesystem") is True, (c["name"], csc))
        check(csc.get("allowPrivilegeEscalation") is False, (c["name"], csc))
        check(csc.get("capabilities", {}).get("drop") == ["ALL"], (c["name"], csc))
        check(isinstance(csc.get("runAsUser"), int) and csc["runAsUser"] != 0, (c["name"], csc))
    # Resources sized from the benchmark (19 MiB peak RSS): requested, and a limit with room.
    res = sc["resources"]
    mib = {"Mi": 1, "Gi": 1024}
    def to_mib(v):
        m = re.fullmatch(r"(\d+)(Mi|Gi)", v)
        check(m, v)
        return int(m.group(1)) * mib[m.group(2)]
    check(to_mib(res["requests"]["memory"]) >= 19 and to_mib(res["limits"]["memory"]) >= 38, res)
    check(res["requests"].get("cpu") and res["limits"].get("cpu"), res)
    # The configuration the sidecar gets.
    config_arg = [a for a in argv if a.startswith("--config=")]
    check(len(config_arg) == 1, argv)
    config_path = config_arg[0].split("=", 1)[1]
    vol, _ = mount_of(sc, spec, config_path)
    cm = config_map("native-sidecar", vol["configMap"]["name"].rsplit("-", 1)[0])
    check(cm["metadata"]["name"] == vol["configMap"]["name"], "the volume names the ConfigMap")
    cfg = json.loads(cm["data"][os.path.basename(config_path)])
    # The key: a file of a Secret volume.
    vol, m = mount_of(sc, spec, cfg["cometapi"]["api_key_file"])
    check("secret" in vol and m.get("readOnly") is True, (vol, m))
    check(vol["secret"].get("defaultMode", 0o644) & 0o022 == 0, "not group/world-writable")
    # The shared emptyDir: the gateway writes the log there, the sidecar reads it and keeps its
    # checkpoint there.
    log = cfg["access_log"]["path"]
    vol_sc, _ = mount_of(sc, spec, log)
    vol_gw, _ = mount_of(gw, spec, log)
    check(vol_sc["name"] == vol_gw["name"] and "emptyDir" in vol_sc, (vol_sc, vol_gw))
    vol_cp, _ = mount_of(sc, spec, cfg["access_log"]["checkpoint_path"])
    check(vol_cp["name"] == vol_sc["name"], "checkpoint on the shared volume")
    vol_ev, m_ev = mount_of(sc, spec, cfg["evidence"]["path"])
    check("emptyDir" in vol_ev and not m_ev.get("readOnly"), "evidence on a writable emptyDir")
    nginx_cm = config_map("native-sidecar", "llm-gateway-nginx")
    nginx_conf = nginx_cm["data"]["nginx.conf"]
    with open(os.path.join(SRC, "deploy", "examples", "nginx.conf")) as f:
        example = f.read()
    # The example with a resolvable fallback host, and a header saying so; nothing else differs
    # (so the llm_json log_format is the one the sidecar's default format is tested against).
    header_end = nginx_conf.index("# deploy/examples/nginx.conf - ")
    check(nginx_conf[:header_end].startswith("# deploy/k8s/base/nginx.conf - "), "header")
    check(nginx_conf[header_end:] == example.replace("llm-fallback.example.internal",
                                                     "api.cometapi.com"),
          "the ConfigMap's nginx.conf is deploy/examples/nginx.conf but for the fallback host")
    check(re.search(r"access_log\s+" + re.escape(log) + r"\s+llm_json;", nginx_conf), log)
    # The drill probes, as deploy/examples/drill.json has them.
    with open(os.path.join(SRC, "deploy", "examples", "drill.json")) as f:
        check(cfg["probes"] == json.load(f)["probes"], "probes are drill.json's")
    # The sidecar itself accepts the configuration (with the rendered arguments).
    key = os.path.join(args.work_dir, "api-key")
    with open(key, "w") as f:
        f.write("sk-test-k8s-manifest-0123456789\n")
    os.chmod(key, 0o440)
    cfg_file = os.path.join(args.work_dir, "sidecar.json")
    with open(cfg_file, "w") as f:
        f.write(cm["data"][os.path.basename(config_path)])
    p = run([args.binary, "--check-config", "--config", cfg_file]
            + [a for a in argv if a.startswith("--set=")]
            + ["--set", "cometapi.api_key_file=" + key])
    check(p.returncode == 0, f"--check-config: {p.stdout[-1500:]} {p.stderr[-1500:]}")
    effective = json.loads(p.stdout)
    check(effective["health"]["endpoint"] == "0.0.0.0:13133", effective["health"])
    # The grace period covers the effective shutdown deadline.
    m = re.fullmatch(r"(\d+)(ms|s|m)", str(effective["shutdown"]["deadline"]))
    check(m, effective["shutdown"])
    deadline_ms = int(m.group(1)) * {"ms": 1, "s": 1000, "m": 60000}[m.group(2)]
    check(spec["terminationGracePeriodSeconds"] * 1000 > deadline_ms,
          (spec["terminationGracePeriodSeconds"], deadline_ms))


# The otelcol-contrib components this example may use (each is in the official
# opentelemetry-collector-releases contrib manifest).
CONTRIB = {
    "receivers": {"otlp", "prometheus", "hostmetrics", "k8s_cluster", "kubeletstats"},
    "processors": {"batch", "memory_limiter", "k8sattributes", "resource", "attributes",
                   "filter", "transform", "resourcedetection"},
    "exporters": {"prometheusremotewrite", "prometheus", "otlp", "otlphttp", "debug"},
    "extensions": {"health_check", "pprof", "zpages"},
}


def collector_config():
    with open(os.path.join(SRC, "deploy", "collector", "otel-collector.yaml")) as f:
        cfg = yaml.safe_load(f)
    for section, allowed in CONTRIB.items():
        for name in cfg.get(section, {}):
            check(name.split("/")[0] in allowed, f"{section}.{name} is not an otelcol-contrib one")
    svc = cfg["service"]
    for ext in svc.get("extensions", []):
        check(ext in cfg["extensions"], ext)
    pipes = svc["pipelines"]
    check(set(pipes) == {"metrics", "traces"}, pipes.keys())
    for name, pipe in pipes.items():
        for kind in ("receivers", "processors", "exporters"):
            for comp in pipe[kind]:
                check(comp in cfg[kind], f"pipeline {name}: {kind} {comp} is not defined")
        check(pipe["receivers"] == ["otlp"], pipe)
        check("batch" in pipe["processors"], f"{name}: batch processor")
        check(pipe["processors"][0] == "memory_limiter", f"{name}: memory_limiter first")
    check(all(e.split("/")[0] in ("prometheusremotewrite", "prometheus")
              for e in pipes["metrics"]["exporters"]), pipes["metrics"])
    check(all(e.split("/")[0] in ("otlp", "otlphttp") for e in pipes["traces"]["exporters"]),
          pipes["traces"])
    check(cfg["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318"),
          "the sidecar sends OTLP/HTTP to 4318")


def yamllint_everything():
    yl = shutil.which("yamllint")
    check(yl, "yamllint not found: deploy/install-deps.sh --test installs Debian's yamllint")
    files = sorted(f for d in ("deploy", "dashboards") for ext in ("yml", "yaml")
                   for f in glob.glob(os.path.join(SRC, d, "**", "*." + ext), recursive=True))
    check(len(files) >= 10, files)
    p = run([yl, "--strict", "-f", "parsable"] + [os.path.relpath(f, SRC) for f in files], cwd=SRC)
    check(p.returncode == 0, p.stdout + p.stderr)
    print(f"     yamllint --strict: {len(files)} files clean", flush=True)
    # ...and it does fail on a broken file, with the same configuration.
    bad = os.path.join(args.work_dir, "broken.yaml")
    with open(bad, "w") as f:
        f.write("key: value\nkey: duplicate\n")
    p = run([yl, "--strict", "-c", os.path.join(SRC, ".yamllint.yaml"), bad])
    check(p.returncode != 0 and "duplication" in p.stdout, p.stdout)

p = run(["bash", os.path.join(VALIDATOR, "install.sh")])
if p.returncode != 0:
    print(f"FAIL tests/k8s_validate/install.sh: {p.stderr}", flush=True)
    print("0 passed, 1 failed")
    raise SystemExit(1)
runner.run(kubectl_renders_every_overlay)
runner.run(rendered_objects_validate)
runner.run(broken_objects_fail_validation)
runner.run(native_and_classic_sidecar)
runner.run(sidecar_pod_contract)
runner.run(collector_config)
runner.run(yamllint_everything)
runner.finish()
