#!/usr/bin/env python3
"""Side-by-side secret-scanner benchmark on a repository made by generate.py.

    run.py TARGET [--launchready PATH] [--out results.md] [--modes history,tree] [--tools ...]

TARGET is generate.py's OUT_DIR (holding repo/, planted.json, generator-stats.json) or the repository itself
(planted.json is then looked for beside it). Every tool runs under /usr/bin/time -v, one after the other, on the
same machine in the same run:

  history  launchready secrets REPO --format json --output F --show-secrets --fail-on info
           gitleaks git REPO --report-format json --report-path F --no-banner --exit-code 0 --redact=0
           kingfisher scan REPO/.git --git-history full --no-validate --no-update-check --format json --output F
           detect-secrets: no history mode (n/a)
  tree     launchready secrets REPO --no-history ...
           gitleaks dir REPO ...
           kingfisher scan REPO --git-history none ...
           detect-secrets scan --all-files REPO   (JSON on stdout; run with cwd=REPO)

Throughput is blob bytes / wall seconds: history = unique blob bytes of every ref (the generator's bookkeeping,
checked against `git cat-file --batch-all-objects`), tree = bytes of the files at HEAD. Recall is planted values
found / planted in scope (history: every plant, tree: plants present at HEAD). A plant counts as found when a
finding's secret, normalised (whitespace, quotes and literal \\n escapes removed), contains the planted value or is
an >= 8-character substring of exactly one planted value. detect-secrets only reports hashed secrets, so it is
matched by file and line instead. Findings that match no plant are "unplanted" (an upper bound on false positives:
the crate sources carry real-looking test keys); up to 20 samples per tool and mode go to the log.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

MIB = 1024 * 1024


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def locate(target):
    target = os.path.abspath(target)
    if os.path.isdir(os.path.join(target, "repo", ".git")):
        return os.path.join(target, "repo"), target
    if os.path.isdir(os.path.join(target, ".git")):
        return target, os.path.dirname(target)
    raise SystemExit("no repository at %s or %s/repo" % (target, target))


def repo_stats(repo, meta):
    path = os.path.join(meta, "generator-stats.json")
    if os.path.exists(path):
        with open(path) as f:
            st = json.load(f)
        return st["git_cat_file_blob_bytes"], st["head_bytes"], st
    blob_bytes = 0
    for line in sh(["git", "-C", repo, "cat-file", "--batch-all-objects",
                    "--batch-check=%(objecttype) %(objectsize)"]).splitlines():
        t, s = line.split()
        if t == "blob":
            blob_bytes += int(s)
    head = sum(int(l.split("\t")[0].split()[3]) for l in sh(["git", "-C", repo, "ls-tree", "-r", "-l", "HEAD"])
               .splitlines())
    return blob_bytes, head, {}


# ------------------------------------------------------------------------------------------------ running tools

def timed(cmd, out_stdout=None, cwd=None, timeout=None, log=None):
    """Run cmd under /usr/bin/time -v. Returns dict(wall, rss_mib, rc, stderr_tail)."""
    tf = tempfile.NamedTemporaryFile(prefix="bench-time-", delete=False)
    tf.close()
    full = ["/usr/bin/time", "-v", "-o", tf.name] + cmd
    if log:
        log.write("\n$ %s\n" % " ".join(cmd))
        log.flush()
    stdout = open(out_stdout, "w") if out_stdout else subprocess.DEVNULL
    errf = tempfile.TemporaryFile(mode="w+")
    t0 = time.monotonic()
    p = subprocess.Popen(full, stdout=stdout, stderr=errf, cwd=cwd, start_new_session=True)
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, 9)  # the tool and /usr/bin/time: its own process group
        p.wait()
        rc = "timeout"
    wall = time.monotonic() - t0
    if out_stdout:
        stdout.close()
    errf.seek(0)
    err = errf.read()
    rss = None
    with open(tf.name) as f:
        tv = f.read()
    os.unlink(tf.name)
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
    if m:
        rss = int(m.group(1)) / 1024
    m = re.search(r"Exit status: (\d+)", tv)
    if m and rc != "timeout":
        rc = int(m.group(1))
    if log:
        log.write("exit %s, wall %.2fs, peak RSS %s MiB\n%s\n" % (rc, wall, "%.0f" % rss if rss else "?",
                                                                 err[-1500:]))
        log.flush()
    return {"wall": wall, "rss": rss, "rc": rc, "stderr": err[-3000:]}


def tool_commands(tool, mode, repo, out, launchready):
    """(argv, stdout_file or None, cwd, ok_exit_codes) or None when the tool has no such mode."""
    if tool == "launchready":
        argv = [launchready, "secrets", repo, "--format", "json", "--output", out, "--show-secrets",
                "--fail-on", "info"]
        if mode == "tree":
            argv.append("--no-history")
        return argv, None, None, {0, 1}
    if tool == "gitleaks":
        argv = ["gitleaks", "git" if mode == "history" else "dir", repo, "--report-format", "json",
                "--report-path", out, "--no-banner", "--exit-code", "0", "--redact=0", "--log-level", "warn"]
        return argv, None, None, {0}
    if tool == "kingfisher":
        target = os.path.join(repo, ".git") if mode == "history" else repo
        argv = ["kingfisher", "scan", target, "--git-history", "full" if mode == "history" else "none",
                "--no-validate", "--no-update-check", "--format", "json", "--output", out, "--quiet"]
        return argv, None, None, {0, 200, 205}
    if tool == "detect-secrets":
        if mode == "history":
            return None
        return ["detect-secrets", "scan", "--all-files", "--exclude-files", r"(^|/)\.git/", "."], out, repo, {0}
    raise ValueError(tool)


# ------------------------------------------------------------------------------------------------ parsing

class F:
    __slots__ = ("secrets", "path", "line", "commit", "rule", "hashed")

    def __init__(self, secrets, path, line, commit, rule, hashed=None):
        self.secrets = [s for s in secrets if s]
        path = path or ""
        self.path = path[2:] if path.startswith("./") else path
        self.line = line
        self.commit = commit
        self.rule = rule
        self.hashed = hashed


def parse_launchready(path):
    with open(path) as f:
        doc = json.load(f)
    found = []

    def walk(x):
        if isinstance(x, dict):
            if "evidence" in x and "id" in x and isinstance(x.get("evidence"), list):
                secrets = [e[len("secret: "):] for e in x["evidence"] if isinstance(e, str) and e.startswith("secret: ")]
                loc = x.get("location") or {}
                found.append(F(secrets, loc.get("path"), loc.get("line"), loc.get("commit"), x["id"]))
                return
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
    walk(doc)
    return found


def parse_gitleaks(path):
    with open(path) as f:
        doc = json.load(f) or []
    return [F([d.get("Secret") or d.get("Match")], d.get("File"), d.get("StartLine"), d.get("Commit"),
              d.get("RuleID")) for d in doc]


def parse_kingfisher(path):
    with open(path) as f:
        text = f.read()
    try:
        doc = json.loads(text)
        items = doc.get("findings", []) if isinstance(doc, dict) else doc
    except json.JSONDecodeError:  # jsonl
        items = [json.loads(l) for l in text.splitlines() if l.strip()]
    out = []
    for it in items:
        fd = it.get("finding", it)
        secrets = [fd.get("snippet")] + list((fd.get("dependent_captures") or {}).values())
        commit = (((fd.get("git_metadata") or {}).get("commit")) or {}).get("id")
        rule = (it.get("rule") or {}).get("id")
        out.append(F(secrets, fd.get("path"), fd.get("line"), commit, rule))
    return out


def parse_detect_secrets(path):
    with open(path) as f:
        doc = json.load(f)
    out = []
    for fname, items in (doc.get("results") or {}).items():
        for d in items:
            out.append(F([], d.get("filename", fname), d.get("line_number"), None, d.get("type"),
                         hashed=d.get("hashed_secret")))
    return out


PARSERS = {"launchready": parse_launchready, "gitleaks": parse_gitleaks, "kingfisher": parse_kingfisher,
           "detect-secrets": parse_detect_secrets}


# ------------------------------------------------------------------------------------------------ scoring

def norm(s):
    return re.sub(r"\s+|\\n|\\r|[\"'`]", "", s)


def score(findings, plants, scope_ids, by_line):
    """Returns (found_ids, unplanted list of (key, finding), ambiguous count)."""
    nvals = {p["id"]: norm(p["value"]) for p in plants}
    paths = {p["id"]: p["path"] for p in plants}
    found, unplanted, ambiguous = set(), {}, 0
    long_lines = {p["id"]: [norm(l) for l in p["value"].split("\n") if len(norm(l)) >= 40 and "-----" not in l]
                  for p in plants if "\n" in p["value"]}
    if by_line:
        index = {}
        for p in plants:
            if p["line_at_head"] is None:
                continue
            lines = [p["line_at_head"]]
            if p["value"].startswith("-----BEGIN") and "\n" in p["value"]:
                lines.append(p["line_at_head"] - 1)  # the BEGIN line sits above the first body line
            for ln in lines:
                index.setdefault((p["path"], ln), []).append(p["id"])
        for f in findings:
            ids = index.get((f.path, f.line))
            if ids:
                found.update(ids)
            else:
                unplanted.setdefault(f.hashed or (f.path, f.line), f)
        return found & scope_ids, list(unplanted.items()), 0
    for f in findings:
        hit = False
        amb = False
        for s in f.secrets:
            ns = norm(s)
            if len(ns) < 8:
                continue
            covering = [pid for pid, nv in nvals.items() if nv and nv in ns]
            inside = [pid for pid, nv in nvals.items() if ns in nv]
            if covering:
                found.update(covering)
                hit = True
            elif len(inside) == 1:
                found.update(inside)
                hit = True
            elif len(inside) > 1:
                # Shared text (a PEM header, or a fixed DER prefix when a tool shows only the start of a key
                # body): disambiguate by the file the finding is in.
                same_file = [pid for pid in inside if paths[pid] and f.path
                             and (f.path == paths[pid] or f.path.endswith("/" + paths[pid]))]
                if len(same_file) == 1:
                    found.update(same_file)
                    hit = True
                else:
                    amb = True
            else:
                # A whole key block reported as it stands at HEAD may carry a line the history inserted into it
                # (an evolution comment inside a YAML block): credit the one plant whose >= 40-character body line
                # the finding contains.
                owners = [pid for pid, ls in long_lines.items() if any(l in ns for l in ls)]
                if len(owners) == 1:
                    found.update(owners)
                    hit = True
                    continue
                # A finding may report a transformed value (gitleaks decodes base64, so a Discord bot token's
                # first segment comes back decoded): credit a plant when one of its >= 16-char segments is unique
                # to it.
                for seg in re.split(r"[.:@/$]", ns):
                    if len(seg) >= 16:
                        ins = [pid for pid, nv in nvals.items() if seg in nv]
                        if len(ins) == 1:
                            found.update(ins)
                            hit = True
        if not hit:
            if amb:
                ambiguous += 1
            else:
                key = norm(f.secrets[0]) if f.secrets else (f.path, f.line)
                unplanted.setdefault(key, f)
    return found & scope_ids, list(unplanted.items()), ambiguous


# ------------------------------------------------------------------------------------------------ main

def warm(repo, log):
    """Read the pack files and the working tree once so no tool pays for a cold page cache."""
    t0 = time.monotonic()
    subprocess.run("tar cf - . > /dev/null", shell=True, cwd=repo, check=False)
    log.write("page cache warmed in %.1fs\n" % (time.monotonic() - t0))
    # kingfisher compiles its rule database on first use and caches it: do that outside the measurement.
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "x.txt"), "w") as f:
            f.write("nothing here\n")
        subprocess.run(["kingfisher", "scan", d, "--no-validate", "--no-update-check", "--quiet", "--format", "json",
                        "--output", os.path.join(d, "o.json")], capture_output=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target")
    ap.add_argument("--launchready", help="path to the launchready binary (skipped when absent)")
    ap.add_argument("--out", default="results.md")
    ap.add_argument("--log", help="log file (default: OUT with .log)")
    ap.add_argument("--work", help="directory for the tools' raw reports (default: beside --out)")
    ap.add_argument("--modes", default="history,tree")
    ap.add_argument("--tools", default="launchready,gitleaks,kingfisher,detect-secrets")
    ap.add_argument("--timeout", type=float, default=3600, help="per tool run, seconds")
    ap.add_argument("--repeat", type=int, default=1, help="runs per tool and mode; the table shows the median wall "
                    "time and the largest peak RSS")
    a = ap.parse_args()

    repo, meta = locate(a.target)
    with open(os.path.join(meta, "planted.json")) as f:
        plants = json.load(f)
    hist_bytes, tree_bytes, gstats = repo_stats(repo, meta)
    decoys = []  # mode B's look-alikes (decoys.json beside planted.json): findings on them are false alarms
    if os.path.exists(os.path.join(meta, "decoys.json")):
        with open(os.path.join(meta, "decoys.json")) as f:
            decoys = json.load(f)
    out_md = os.path.abspath(a.out)
    log_path = a.log or os.path.splitext(out_md)[0] + ".log"
    work = os.path.abspath(a.work or os.path.splitext(out_md)[0] + "-reports")
    os.makedirs(work, exist_ok=True)
    tools = [t for t in a.tools.split(",") if t]
    if "launchready" in tools and not a.launchready:
        tools.remove("launchready")
    modes = [m for m in a.modes.split(",") if m]
    log = open(log_path, "w")
    versions = {}
    for t, cmd in (("gitleaks", ["gitleaks", "version"]), ("kingfisher", ["kingfisher", "--version"]),
                   ("detect-secrets", ["detect-secrets", "--version"]),
                   ("launchready", [a.launchready or "true", "--version"])):
        if t in tools:
            try:
                versions[t] = subprocess.run(cmd, capture_output=True, text=True).stdout.strip()
            except OSError as e:
                versions[t] = "unavailable: %s" % e
    log.write("repo %s\nversions %s\n" % (repo, versions))
    warm(repo, log)

    rows = []
    for mode in modes:
        scope = {p["id"] for p in plants} if mode == "history" else {p["id"] for p in plants if p["in_worktree"]}
        nbytes = hist_bytes if mode == "history" else tree_bytes
        for tool in tools:
            out = os.path.join(work, "%s-%s.json" % (tool, mode))
            if os.path.exists(out):
                os.unlink(out)
            spec = tool_commands(tool, mode, repo, out, a.launchready)
            if spec is None:
                rows.append({"tool": tool, "mode": mode, "na": True})
                continue
            argv, stdout_file, cwd, ok = spec
            print("running %s %s ..." % (tool, mode), file=sys.stderr, flush=True)
            load = os.getloadavg()[0]
            runs = []
            for _ in range(max(1, a.repeat)):
                runs.append(timed(argv, out_stdout=stdout_file, cwd=cwd, timeout=a.timeout, log=log))
                if runs[-1]["rc"] == "timeout":
                    break
            r = dict(runs[-1])
            walls = sorted(x["wall"] for x in runs)
            r["wall"] = walls[len(walls) // 2]  # median (upper median for an even count)
            rsses = [x["rss"] for x in runs if x["rss"]]
            r["rss"] = max(rsses) if rsses else None
            if len(runs) > 1:
                log.write("walls: %s -> median %.2f\n" % (["%.2f" % w for w in walls], r["wall"]))
            row = {"tool": tool, "mode": mode, "cmd": " ".join(argv), "wall": r["wall"], "rss": r["rss"],
                   "rc": r["rc"], "bytes": nbytes, "scope": len(scope), "load": load}
            if r["rc"] not in ok:
                row["error"] = "exit %s" % r["rc"]
            try:
                findings = PARSERS[tool](out)
            except (OSError, ValueError) as e:
                row["error"] = (row.get("error", "") + " report unreadable: %s" % e).strip()
                rows.append(row)
                continue
            found, unplanted, amb = score(findings, plants, scope, by_line=(tool == "detect-secrets"))
            decoy_hits = [d for d in decoys if any(f.path and (f.path == d["path"] or f.path.endswith("/" + d["path"]))
                                                   and any(norm(s) and norm(s) in norm(d["text"]) for s in f.secrets)
                                                   for f in findings)]
            if decoys:
                log.write("%s %s: %d/%d decoys flagged: %s\n" % (tool, mode, len(decoy_hits), len(decoys),
                                                               [d["kind"] for d in decoy_hits]))
            row.update({"findings": len(findings), "found": len(found), "unplanted": len(unplanted),
                        "ambiguous": amb, "missed_kinds": sorted({p["kind"] for p in plants if p["id"] in scope
                                                                  and p["id"] not in found})})
            rows.append(row)
            log.write("%s %s: %d findings, recall %d/%d, %d unplanted unique values, %d ambiguous\n"
                      % (tool, mode, len(findings), len(found), len(scope), len(unplanted), amb))
            log.write("  missed kinds: %s\n" % ", ".join(row["missed_kinds"]))
            missed_by_ref = {}
            for p in plants:
                if p["id"] in scope and p["id"] not in found:
                    k = "deleted" if p["deleted_in"] else p["ref"]
                    missed_by_ref[k] = missed_by_ref.get(k, 0) + 1
            log.write("  missed by place: %s\n" % missed_by_ref)
            for key, f in unplanted[:20]:
                sec = (f.secrets[0] if f.secrets else "hashed:%s" % f.hashed)[:120].replace("\n", "\\n")
                log.write("  unplanted sample: rule=%s path=%s:%s secret=%s\n" % (f.rule, f.path, f.line, sec))
            log.flush()

    md = render(rows, hist_bytes, tree_bytes, plants, gstats, versions, repo)
    with open(out_md, "w") as f:
        f.write(md)
    print(md)
    print("log: %s\nraw reports: %s" % (log_path, work), file=sys.stderr)


def render(rows, hist_bytes, tree_bytes, plants, gstats, versions, repo):
    L = []
    L.append("# Secret-scanner benchmark\n")
    L.append("Repository `%s`: %.1f MiB unique blobs over all refs (%s commits), %.1f MiB at HEAD; %d plants "
             "(%d at HEAD, %d deleted later, %d only on a side branch or tag), %d kinds.\n"
             % (repo, hist_bytes / MIB, gstats.get("commits_all_refs", "?"), tree_bytes / MIB, len(plants),
                sum(p["in_worktree"] for p in plants), sum(p["deleted_in"] is not None for p in plants),
                sum(p["ref"] != "refs/heads/main" for p in plants), len({p["kind"] for p in plants})))
    L.append("Versions: %s; %d CPU cores.\n" % ("; ".join("%s %s" % kv for kv in versions.items()),
                                                 os.cpu_count()))
    L.append("The note column gives the 1-minute load average just before each run (other work on a 2-core "
             "machine shows up there).\n")
    L.append("| tool | mode | wall s | MiB/s | peak RSS MiB | recall (found/planted) | unplanted findings | "
             "findings (raw) | note |")
    L.append("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        if r.get("na"):
            L.append("| %s | %s | n/a | n/a | n/a | n/a | n/a | n/a | no such mode |" % (r["tool"], r["mode"]))
            continue
        mibs = r["bytes"] / MIB / r["wall"] if r["wall"] else 0
        r["mibs"] = mibs
        note = ("load %.1f before; " % r["load"]) + r.get("error", "")
        if r.get("ambiguous"):
            note = (note + " %d findings matched several plants' shared text" % r["ambiguous"]).strip()
        if r["tool"] == "detect-secrets":
            note = (note + " matched by file+line (hashed secrets only)").strip()
        if "found" in r:
            rec = "%.1f%% (%d/%d)" % (100 * r["found"] / max(1, r["scope"]), r["found"], r["scope"])
            unpl, raw = str(r["unplanted"]), str(r["findings"])
        else:
            rec = unpl = raw = "?"
        if r["rc"] == "timeout":
            r.pop("mibs")  # no ratio against an unfinished run
        L.append("| %s | %s | %.1f | %s | %s | %s | %s | %s | %s |"
                 % (r["tool"], r["mode"], r["wall"], ("< %.1f" if r["rc"] == "timeout" else "%.1f") % mibs, "%.0f" % r["rss"] if r["rss"] else "?", rec, unpl, raw,
                    note))
    lr = {r["mode"]: r for r in rows if r["tool"] == "launchready" and "mibs" in r}
    if lr:
        L.append("\nThroughput ratio, launchready / peer (goal: >= 2.0 vs kingfisher in both modes):\n")
        L.append("| mode | peer | ratio |")
        L.append("|---|---|---:|")
        for r in rows:
            if r["tool"] != "launchready" and "mibs" in r and r["mode"] in lr and r["mibs"]:
                L.append("| %s | %s | %.2f× |" % (r["mode"], r["tool"], lr[r["mode"]]["mibs"] / r["mibs"]))
    L.append("\nMissed kinds per run:\n")
    for r in rows:
        if r.get("missed_kinds") is not None:
            L.append("- %s %s: %s" % (r["tool"], r["mode"], ", ".join(r["missed_kinds"]) or "none"))
    L.append("\nCommands:\n")
    for r in rows:
        if r.get("cmd"):
            L.append("- `%s`" % r["cmd"])
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
