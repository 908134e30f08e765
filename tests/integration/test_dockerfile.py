#!/usr/bin/env python3
"""test_dockerfile.py - owns: proving deploy/Dockerfile is correct by construction, since docker
cannot run on the project's machines.

- Every FROM is Debian 12 slim (debian:bookworm-slim, optionally pinned by digest).
- The build stage installs its packages with deploy/install-deps.sh (the developer list) and
  copies that script before running it.
- The build is replayed here: exactly the files the build stage COPYs (minus .dockerignore) go
  into an empty directory, and the Dockerfile's own cmake command lines are run there, so a
  source directory the CMake build needs but the Dockerfile forgets fails this test.
- The file the runtime stage copies from the build stage exists in that replayed build, and it
  is the only thing copied into the runtime stage.
- Every NEEDED entry of that binary (readelf -d) resolves (ldd) to a file whose Debian package
  (dpkg -S) the runtime stage installs, or to libc6 (in the base image). Every runtime package is
  a real installed Debian package here and none is a -dev package.
- USER is numeric and not 0; ENTRYPOINT is exec form and names the copied binary; no HEALTHCHECK,
  no shell-form CMD/ENTRYPOINT; the replayed binary answers --version.
Usage: python3 test_dockerfile.py --binary B --source-dir S --work-dir W
"""
import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess

from lib.harness import Runner, check, parse_args

args = parse_args()
runner = Runner()
SRC = args.source_dir
DOCKERFILE = os.path.join(SRC, "deploy", "Dockerfile")
BASE_RE = re.compile(r"^debian:bookworm-slim(@sha256:[0-9a-f]{64})?$")
# In debian:bookworm-slim already (Essential / Priority required), so not installed again.
BASE_IMAGE_PKGS = {"libc6"}
TIMEOUT = 300


def parse_dockerfile(path):
    """Returns stages: [{"from": image, "name": alias, "instrs": [(INSTR, args)]}]."""
    with open(path) as f:
        text = f.read()
    logical, cur = [], ""
    for line in text.splitlines():
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue  # comment inside a continued instruction
        if line.rstrip().endswith("\\"):
            cur += line.rstrip()[:-1] + " "
            continue
        logical.append((cur + line).strip())
        cur = ""
    check(not cur, "Dockerfile ends inside a continued line")
    stages = []
    for instr_line in logical:
        instr, _, rest = instr_line.partition(" ")
        instr = instr.upper()
        rest = rest.strip()
        if instr == "FROM":
            parts = rest.split()
            alias = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else None
            check(len(parts) in (1, 3), f"FROM {rest}")
            stages.append({"from": parts[0], "name": alias, "instrs": []})
        else:
            check(stages or instr == "ARG", f"{instr} before FROM")
            if stages:
                stages[-1]["instrs"].append((instr, rest))
    return stages


STAGES = parse_dockerfile(DOCKERFILE)
BUILD, RUNTIME = (STAGES[0], STAGES[-1]) if len(STAGES) >= 2 else (None, None)


def instrs(stage, name):
    return [a for i, a in stage["instrs"] if i == name]


def run_commands(stage):
    """Shell commands of the stage's RUN lines, split on && (each as argv)."""
    out = []
    for cmd in instrs(stage, "RUN"):
        for part in cmd.split("&&"):
            out.append(shlex.split(part))
    return out


def stages_and_bases():
    check(len(STAGES) == 2, f"multi-stage: expected 2 stages, got {len(STAGES)}")
    for s in STAGES:
        check(BASE_RE.match(s["from"]), f"base image {s['from']} is not Debian 12 slim")
    check(BUILD["name"], "the build stage is named (COPY --from uses it)")


def build_stage_uses_install_deps():
    cmds = run_commands(BUILD)
    runs = [c for c in cmds if c[:2] == ["bash", "deploy/install-deps.sh"]]
    check(len(runs) == 1, f"build stage must run `bash deploy/install-deps.sh`: {cmds}")
    check("--test" not in runs[0], "the image needs the build packages, not the test ones")
    copies = [shlex.split(a) for a in instrs(BUILD, "COPY")]
    first_run = next(i for i, (k, a) in enumerate(BUILD["instrs"])
                     if k == "RUN" and "install-deps.sh" in a)
    copied_before = [c for c in (shlex.split(a) for k, a in BUILD["instrs"][:first_run]
                                 if k == "COPY") if "deploy/install-deps.sh" in c[:-1]]
    check(copied_before, f"install-deps.sh is copied before it runs: {copies}")
    # install-deps.sh without --test installs what CMake's find_package calls need; the replay
    # below builds with the packages of this machine, which the script also installed.
    p = subprocess.run(["bash", os.path.join(SRC, "deploy", "install-deps.sh")],
                       capture_output=True, text=True, timeout=TIMEOUT)
    check(p.returncode == 0, p.stderr)


def dockerignore_patterns():
    path = os.path.join(SRC, ".dockerignore")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [l.strip().rstrip("/") for l in f if l.strip() and not l.startswith("#")]


def ignored(rel, patterns):
    """.dockerignore semantics for the patterns used here: a pattern matches the path or one of
    its leading directories, from the context root; a leading **/ matches at any depth."""
    parts = rel.split(os.sep)
    prefixes = [os.sep.join(parts[:j]) for j in range(1, len(parts) + 1)]
    for pat in patterns:
        if pat.startswith("**/"):
            tails = [os.sep.join(parts[i:j]) for i in range(len(parts))
                     for j in range(i + 1, len(parts) + 1)]
            if any(fnmatch.fnmatch(t, pat[3:]) for t in tails):
                return True
        elif any(fnmatch.fnmatch(p, pat) for p in prefixes):
            return True
    return False


def replay_context(ctx):
    """Copies what the build stage COPYs (from the repository, as the docker context) into ctx,
    honouring .dockerignore. Only plain COPY SRC... DEST with DEST relative to WORKDIR /src."""
    patterns = dockerignore_patterns()
    workdir = instrs(BUILD, "WORKDIR")
    check(workdir == ["/src"], f"build WORKDIR {workdir}")
    for a in instrs(BUILD, "COPY"):
        parts = shlex.split(a)
        check(not any(p.startswith("--") for p in parts), f"COPY flags in build stage: {a}")
        *srcs, dest = parts
        for s in srcs:
            src_path = os.path.join(SRC, s)
            check(os.path.exists(src_path), f"COPY source {s} does not exist")
            target = os.path.join(ctx, dest if len(srcs) == 1 and not dest.endswith("/")
                                  else os.path.join(dest, os.path.basename(s)))
            if os.path.isdir(src_path):
                for root, dirs, files in os.walk(src_path):
                    for fn in files:
                        full = os.path.join(root, fn)
                        rel = os.path.relpath(full, SRC)
                        if ignored(rel, patterns):
                            continue
                        out = os.path.join(target, os.path.relpath(full, src_path))
                        os.makedirs(os.path.dirname(out), exist_ok=True)
                        shutil.copy2(full, out)
            else:
                check(not ignored(s, patterns), f"{s} is copied but .dockerignore drops it")
                os.makedirs(os.path.dirname(os.path.normpath(target)), exist_ok=True)
                shutil.copy2(src_path, os.path.normpath(target))


REPLAY = {}


def replayed_build_works():
    ctx = os.path.join(args.work_dir, "context")
    build_dir = os.path.join(args.work_dir, "build")
    replay_context(ctx)
    cmake_runs = [c for c in run_commands(BUILD) if c and c[0] == "cmake"]
    check(len(cmake_runs) == 2, f"expected a configure and a build cmake line: {cmake_runs}")
    for c in cmake_runs:
        argv = [build_dir if x == "/build" else x for x in c]
        argv = [re.sub(r'^-j.*', "-j2", x) for x in argv]
        p = subprocess.run(["nice", "-n", "10"] + argv, cwd=ctx, capture_output=True,
                           text=True, timeout=TIMEOUT)
        check(p.returncode == 0, f"{' '.join(argv)}:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    copies = [shlex.split(a) for a in instrs(RUNTIME, "COPY")]
    check(len(copies) == 1 and copies[0][0] == f"--from={BUILD['name']}" and len(copies[0]) == 3,
          f"the runtime stage copies exactly one file from the build stage: {copies}")
    _, src, dest = copies[0]
    check(src.startswith("/build/"), src)
    binary = os.path.join(build_dir, src[len("/build/"):])
    check(os.access(binary, os.X_OK), f"{src} is not what the build produces ({binary})")
    p = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30)
    check(p.returncode == 0 and p.stdout.startswith("comet-sidecar "), (p.returncode, p.stdout))
    REPLAY["binary"], REPLAY["dest"] = binary, dest


def runtime_packages():
    pkgs = []
    for c in run_commands(RUNTIME):
        if "apt-get" in c and "install" in c:
            pkgs += [x for x in c[c.index("install") + 1:] if not x.startswith("-")]
    return pkgs


def dpkg_owner(path):
    candidates = [path, os.path.realpath(path)]
    for p in list(candidates):
        if p.startswith("/lib"):
            candidates.append("/usr" + p)
        elif p.startswith("/usr/lib"):
            candidates.append(p[len("/usr"):])
    for p in candidates:
        r = subprocess.run(["dpkg", "-S", p], capture_output=True, text=True, timeout=30)
        if r.returncode == 0:
            return r.stdout.split(":")[0].strip()
    raise AssertionError(f"no Debian package owns {path}")


def runtime_libraries_cover_needed():
    check("binary" in REPLAY, "replayed build missing")
    pkgs = runtime_packages()
    check(pkgs, "the runtime stage installs no package")
    check(not [p for p in pkgs if p.endswith("-dev")], f"-dev packages at runtime: {pkgs}")
    check("ca-certificates" in pkgs, "TLS to CometAPI needs ca-certificates")
    for p in pkgs:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                           text=True, timeout=30)
        check("install ok installed" in r.stdout, f"{p} is not a Debian package installed here")
    elf = subprocess.run(["readelf", "-d", REPLAY["binary"]], capture_output=True, text=True,
                         timeout=30).stdout
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", elf)
    check(len(needed) >= 4, needed)
    ldd = subprocess.run(["ldd", REPLAY["binary"]], capture_output=True, text=True, timeout=30)
    paths = dict(re.findall(r"^\s*(\S+) => (/\S+)", ldd.stdout, re.M))
    mapping = {}
    for lib in needed:
        check(lib in paths, f"ldd does not resolve {lib}")
        mapping[lib] = dpkg_owner(paths[lib])
    missing = {lib: pkg for lib, pkg in mapping.items()
               if pkg not in pkgs and pkg not in BASE_IMAGE_PKGS}
    check(not missing, f"runtime stage lacks the packages of {missing}")
    unused = set(pkgs) - set(mapping.values()) - {"ca-certificates"}
    check(not unused, f"runtime packages no NEEDED entry uses: {unused}")
    print(f"     NEEDED -> package: {json.dumps(mapping)}", flush=True)


def user_entrypoint_healthcheck():
    for s in STAGES:
        check(not instrs(s, "HEALTHCHECK"), "no HEALTHCHECK: Kubernetes probes do that")
    users = instrs(RUNTIME, "USER")
    check(len(users) == 1, users)
    uid, _, gid = users[0].partition(":")
    check(uid.isdigit() and int(uid) != 0, f"USER {users[0]} must be a numeric non-root uid")
    check(not gid or (gid.isdigit() and int(gid) != 0), f"group of USER {users[0]}")
    eps = instrs(RUNTIME, "ENTRYPOINT")
    check(len(eps) == 1, eps)
    ep = json.loads(eps[0])  # exec form is a JSON array; shell form fails here
    check(isinstance(ep, list) and ep and all(isinstance(x, str) for x in ep), ep)
    check(ep[0] == REPLAY.get("dest") and ep[0].endswith("/comet-sidecar"),
          f"ENTRYPOINT {ep} is not the copied binary {REPLAY.get('dest')}")
    for cmd in instrs(RUNTIME, "CMD"):
        check(isinstance(json.loads(cmd), list), f"CMD {cmd} must be exec form")
    last_user = max(i for i, (k, _) in enumerate(RUNTIME["instrs"]) if k == "USER")
    check(not [k for k, _ in RUNTIME["instrs"][last_user:] if k == "RUN"],
          "no RUN after USER: the image needs no shell once it runs as the sidecar's user")


runner.run(stages_and_bases)
runner.run(build_stage_uses_install_deps)
runner.run(replayed_build_works)
runner.run(runtime_libraries_cover_needed)
runner.run(user_entrypoint_healthcheck)
runner.finish()
