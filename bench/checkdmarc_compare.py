#!/usr/bin/env python3
"""Compares launchready's SPF and DMARC verdicts with checkdmarc's for the same lab zones.

Started by `cargo bench -p launchready-audit --bench mail_peer`, which runs the mail lab and writes our verdicts
to a JSON file; this script asks checkdmarc the same questions through the lab's DNS server and prints a table of
both verdicts, then every disagreement with the reason for it.
"""

import argparse
import json
import sys

try:
    import dns.resolver
    from checkdmarc import dmarc as cd_dmarc
    from checkdmarc import spf as cd_spf
    import checkdmarc
except ImportError:
    sys.exit("checkdmarc is not installed: pip install checkdmarc")

# Why the tools disagree where they do, found by reading both outputs for the lab's domains. A disagreement
# without an entry here is printed as unexplained, which is the cue to look again.
REASONS = {
    ("spfptr.test", "spf.void_lookups"): (
        "checkdmarc looks up A/AAAA of the ptr mechanism's target domain and counts the empty answer as a void "
        "lookup; under RFC 7208 section 5.5 ptr asks for the PTR of the connecting IP and the A/AAAA of the names "
        "it returns, never the target domain's own addresses, so without an IP no void lookup can be known. "
        "launchready reports ptr as deprecated (email.spf.ptr) instead."
    ),
}


def checkdmarc_verdicts(domain, sending, resolver):
    out = {}
    try:
        spf = cd_spf.check_spf(domain, parked=not sending, resolver=resolver, timeout=2.0)
    except Exception as e:  # checkdmarc raises for several record problems
        spf = {"valid": False, "error": f"{type(e).__name__}: {e}"}
    out["spf"] = {
        "valid": bool(spf.get("valid")),
        "error": spf.get("error", ""),
        "dns_lookups": spf.get("dns_lookups"),
        "void_lookups": spf.get("void_dns_lookups"),
    }
    try:
        dm = cd_dmarc.check_dmarc(domain, parked=not sending, resolver=resolver, timeout=2.0)
    except Exception as e:
        dm = {"valid": False, "error": f"{type(e).__name__}: {e}"}
    tags = dm.get("tags") or {}
    policy = (tags.get("p") or {}).get("value")
    out["dmarc"] = {
        "valid": bool(dm.get("valid")),
        "error": dm.get("error", ""),
        "p": policy,
        "location": dm.get("location"),
    }
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--nameserver", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ours", required=True)
    args = parser.parse_args()

    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers = [args.nameserver]
    resolver.port = args.port
    resolver.timeout = 2.0
    resolver.lifetime = 4.0

    with open(args.ours) as f:
        ours = json.load(f)

    rows = []
    differences = []
    for entry in ours:
        domain = entry["domain"]
        theirs = checkdmarc_verdicts(domain, entry["sending"], resolver)
        pairs = [
            ("spf.valid", entry["spf"].get("valid"), theirs["spf"]["valid"]),
            ("dmarc.valid", entry["dmarc"].get("valid"), theirs["dmarc"]["valid"]),
        ]
        if entry["spf"].get("valid") and theirs["spf"]["valid"]:
            pairs.append(("spf.dns_lookups", entry["spf"].get("dns_lookups"), theirs["spf"]["dns_lookups"]))
            pairs.append(("spf.void_lookups", entry["spf"].get("void_lookups"), theirs["spf"]["void_lookups"]))
        if entry["dmarc"].get("valid") and theirs["dmarc"]["valid"]:
            pairs.append(("dmarc.p", entry["dmarc"].get("p"), theirs["dmarc"]["p"]))
        for field, a, b in pairs:
            rows.append((domain, field, a, b))
            if a != b:
                differences.append((domain, field, a, b, entry, theirs))

    print(f"checkdmarc {checkdmarc.__version__} vs launchready, {len(ours)} lab domains\n")
    print(f"{'domain':<16} {'field':<18} {'launchready':<14} {'checkdmarc':<14} agree")
    for domain, field, a, b in rows:
        print(f"{domain:<16} {field:<18} {str(a):<14} {str(b):<14} {'yes' if a == b else 'NO'}")
    agree = sum(1 for r in rows if r[2] == r[3])
    print(f"\n{agree}/{len(rows)} verdicts agree")
    for domain, field, a, b, entry, theirs in differences:
        aspect = field.split(".")[0]
        print(f"\n{domain} {field}: launchready {a}, checkdmarc {b}")
        print(f"  launchready: {entry[aspect].get('error') or entry[aspect]}")
        print(f"  checkdmarc:  {theirs[aspect].get('error') or theirs[aspect]}")
        print(f"  reason: {REASONS.get((domain, field), 'UNEXPLAINED')}")


if __name__ == "__main__":
    main()
