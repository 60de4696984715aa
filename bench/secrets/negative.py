#!/usr/bin/env python3
"""Negative corpus: real package sources with no planted secret, where every finding is a false alarm until a
reviewer lists it as a true hit (a test key published in a package is a real hit of a kind).

    negative.py build OUT [--crates 200] [--python DIR] [--npm DIR]
    negative.py run OUT [--launchready PATH] [--tools launchready,gitleaks,kingfisher] [--repeat N] [--out F]

`build` copies, into OUT/tree (a plain directory, scanned as a working tree):
  crates/   200 crate sources from the cargo registry (~/.cargo/registry/src/*/), evenly spread over the sorted list;
  python/   a Python project tree installed from PyPI (`pip install --no-deps --target DIR ...`);
  npm/      an npm project's node_modules (`npm install ...`), renamed so no tool skips it as node_modules.
The Python and npm trees are installed by `build` when --python/--npm are not given (see PY_PACKAGES, NPM_PACKAGES).

`run` scans OUT/tree with each tool (tree mode, under /usr/bin/time -v) and writes a table: wall seconds, MiB/s,
peak RSS, findings, distinct secret values, and for launchready how many are at or above the default --fail-on
(high). Every finding goes to the log for review.
"""

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as bench  # noqa: E402  (the side-by-side runner: timing and report parsers)

PY_PACKAGES = ["django", "flask", "werkzeug", "jinja2", "requests", "urllib3", "sqlalchemy", "pydantic", "click",
               "itsdangerous"]
NPM_PACKAGES = ["express", "axios", "stripe", "@supabase/supabase-js", "jsonwebtoken", "dotenv", "react", "react-dom",
                "vite"]
MIB = 1024 * 1024


def build(out, n_crates, python_dir, npm_dir):
    tree = os.path.join(out, "tree")
    if os.path.exists(tree):
        raise SystemExit("%s exists; remove it to rebuild" % tree)
    os.makedirs(os.path.join(tree, "crates"))
    crates = sorted({d for root in glob.glob(os.path.expanduser("~/.cargo/registry/src/*/"))
                     for d in glob.glob(os.path.join(root, "*")) if os.path.isdir(d)},
                    key=os.path.basename)
    step = max(1, len(crates) / float(n_crates))
    chosen = [crates[int(i * step)] for i in range(min(n_crates, len(crates)))]
    for d in chosen:
        shutil.copytree(d, os.path.join(tree, "crates", os.path.basename(d)), symlinks=True)
    if not python_dir:
        python_dir = os.path.join(out, "pip-target")
        subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", python_dir]
                       + PY_PACKAGES, check=True, timeout=900)
    shutil.copytree(python_dir, os.path.join(tree, "python"), symlinks=True)
    if not npm_dir:
        npm_dir = os.path.join(out, "npm-project")
        os.makedirs(npm_dir, exist_ok=True)
        subprocess.run(["npm", "init", "-y"], cwd=npm_dir, check=True, capture_output=True, timeout=120)
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"] + NPM_PACKAGES, cwd=npm_dir, check=True,
                       timeout=900)
    src = os.path.join(npm_dir, "node_modules")
    shutil.copytree(src if os.path.isdir(src) else npm_dir, os.path.join(tree, "npm"), symlinks=True)
    size = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(tree) for f in fs
               if not os.path.islink(os.path.join(dp, f)))
    with open(os.path.join(out, "negative-stats.json"), "w") as f:
        json.dump({"crates": [os.path.basename(c) for c in chosen], "bytes": size,
                   "python_packages": PY_PACKAGES, "npm_packages": NPM_PACKAGES}, f, indent=1)
    print("negative corpus: %d crates + python + npm, %.1f MiB at %s" % (len(chosen), size / MIB, tree))


def commands(tool, tree, out, launchready):
    if tool == "launchready":
        return [launchready, "secrets", tree, "--no-history", "--format", "json", "--output", out, "--show-secrets",
                "--fail-on", "info"], {0, 1}
    if tool == "gitleaks":
        return ["gitleaks", "dir", tree, "--report-format", "json", "--report-path", out, "--no-banner",
                "--exit-code", "0", "--redact=0", "--log-level", "warn"], {0}
    if tool == "kingfisher":
        return ["kingfisher", "scan", tree, "--git-history", "none", "--no-validate", "--no-update-check", "--format",
                "json", "--output", out, "--quiet"], {0, 200, 205}
    raise ValueError(tool)


def severities(path):
    """launchready's findings as (severity, id, location, secret)."""
    with open(path) as f:
        doc = json.load(f)
    out = []
    for fd in doc.get("findings", []):
        sec = next((e[len("secret: "):] for e in fd.get("evidence", []) if e.startswith("secret: ")), "")
        out.append((fd.get("severity"), fd.get("id"), fd.get("subject"), sec))
    return out


def run(out, launchready, tools, repeat, out_md):
    tree = os.path.join(out, "tree")
    with open(os.path.join(out, "negative-stats.json")) as f:
        stats = json.load(f)
    work = os.path.splitext(os.path.abspath(out_md))[0] + "-reports"
    os.makedirs(work, exist_ok=True)
    log = open(os.path.splitext(os.path.abspath(out_md))[0] + ".log", "w")
    subprocess.run("tar cf - . > /dev/null", shell=True, cwd=tree, check=False)  # warm the page cache
    rows = []
    for tool in tools:
        report = os.path.join(work, "%s-negative.json" % tool)
        argv, ok = commands(tool, tree, report, launchready)
        runs = [bench.timed(argv, timeout=3600, log=log) for _ in range(max(1, repeat))]
        walls = sorted(r["wall"] for r in runs)
        wall = walls[len(walls) // 2]
        rss = max((r["rss"] or 0) for r in runs)
        findings = bench.PARSERS[tool](report)
        values = {}
        for fd in findings:
            key = bench.norm(fd.secrets[0]) if fd.secrets else (fd.path, fd.line)
            values.setdefault(key, fd)
        row = {"tool": tool, "wall": wall, "rss": rss, "findings": len(findings), "values": len(values),
               "rc": runs[-1]["rc"], "ok": runs[-1]["rc"] in ok}
        log.write("\n%s: %d findings, %d distinct values\n" % (tool, len(findings), len(values)))
        for key, fd in sorted(values.items(), key=lambda kv: (kv[1].path or "", kv[1].line or 0)):
            sec = (fd.secrets[0] if fd.secrets else "")[:100].replace("\n", "\\n")
            log.write("  %s %s:%s %s\n" % (fd.rule, fd.path, fd.line, sec))
        if tool == "launchready":
            sev = severities(report)
            row["failing"] = len({(i, s, v) for (lvl, i, s, v) in sev if lvl in ("high", "blocker")})
            row["by_severity"] = {lvl: sum(1 for x in sev if x[0] == lvl) for lvl in
                                  ("blocker", "high", "medium", "low", "info")}
        rows.append(row)
    L = ["# Negative corpus\n",
         "`%s`: %d crates from the cargo registry + Python packages (%s) + npm packages (%s), %.1f MiB; no planted "
         "secret, so every finding is a false alarm unless the review lists it as a true hit.\n"
         % (tree, len(stats["crates"]), " ".join(stats["python_packages"]), " ".join(stats["npm_packages"]),
            stats["bytes"] / MIB),
         "| tool | wall s | MiB/s | peak RSS MiB | findings | distinct values | note |",
         "|---|---:|---:|---:|---:|---:|---|"]
    for r in rows:
        note = "" if r["ok"] else "exit %s" % r["rc"]
        if "failing" in r:
            note = ("%d at high or above (counted by the default --fail-on); by severity %s"
                    % (r["failing"], r["by_severity"]) + (" " + note if note else ""))
        L.append("| %s | %.1f | %.1f | %.0f | %d | %d | %s |" % (r["tool"], r["wall"], stats["bytes"] / MIB / r["wall"],
                                                               r["rss"], r["findings"], r["values"], note))
    md = "\n".join(L) + "\n"
    with open(out_md, "w") as f:
        f.write(md)
    print(md)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("out")
    b.add_argument("--crates", type=int, default=200)
    b.add_argument("--python", help="an existing pip --target tree (default: install PY_PACKAGES)")
    b.add_argument("--npm", help="an existing npm project directory (default: install NPM_PACKAGES)")
    r = sub.add_parser("run")
    r.add_argument("out")
    r.add_argument("--launchready")
    r.add_argument("--tools", default="launchready,gitleaks,kingfisher")
    r.add_argument("--repeat", type=int, default=1)
    r.add_argument("--out", dest="out_md", default="negative-results.md")
    a = ap.parse_args()
    if a.cmd == "build":
        build(a.out, a.crates, a.python, a.npm)
    else:
        tools = [t for t in a.tools.split(",") if t and (t != "launchready" or a.launchready)]
        run(a.out, a.launchready, tools, a.repeat, a.out_md)


if __name__ == "__main__":
    main()
