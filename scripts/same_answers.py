#!/usr/bin/env python3
"""Checks that two nutgraf builds give the same answers: the same hits in
the same order, the same counts, facets and snippets (everything in the
search JSON but the time taken), query by query.

A speed change must change no result. Run the build before it and the
build after it on one index and the same query files:

    python3 scripts/same_answers.py --old OLD/nutgraf --new target/release/nutgraf \\
        --config index-config/allsides.toml --index DIR \\
        benches/queries/*.txt ../shared/peers/queries/allsides-generated.txt

An import change (how segments are laid out, say) is checked the same
way with one build and two indexes of the same data: `--new-index DIR2`
(the new build then reads DIR2). Hits of equal score come in the order
the units lie in the index, which another layout changes: `--ties` takes
such hits in any order (and, at the end of the page, any of them).

Query files are the bench files' format: a query per line, optional
filters after tabs (`stance=left`); `#` starts a comment. Both builds are
started as servers on free loopback ports and asked through the API
(`/api/search`, page size 10, and once more with `histogram=auto` when
`--histogram` is given, and with `collapse=true` when `--collapse` is).
Exit 0 when every answer is the same, 1 with the first differences
listed otherwise.
"""

import argparse
import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(binary, config, index):
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--config", config, "--index", index, "serve", "--addr", f"127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).read()
            return proc, url
        except (urllib.error.URLError, ConnectionError):
            if proc.poll() is not None:
                sys.exit(f"{binary} serve stopped before answering")
            time.sleep(0.1)
    proc.kill()
    sys.exit(f"{binary} serve did not answer within a minute")


def queries(paths):
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                line = line.rstrip("\n")
                if not line.strip() or line.lstrip().startswith("#"):
                    continue
                q, *filters = line.split("\t")
                params = [("q", q.strip())]
                for flt in filters:
                    if "=" in flt:
                        k, v = flt.split("=", 1)
                        params.append((k.strip(), v.strip()))
                yield f"{path}:{n}", params


def answer(url, params):
    qs = urllib.parse.urlencode(params + [("limit", "10")])
    try:
        with urllib.request.urlopen(f"{url}/api/search?{qs}", timeout=60) as r:
            body = json.load(r)
            status = r.status
    except urllib.error.HTTPError as e:
        body = json.load(e)
        status = e.code
    body.pop("took_us", None)
    return status, body


def untied(body):
    """The answer with hits of equal score in one order: sorted by id
    within a score, and the page's last run of equal scores kept as its
    score and length only (which of the tied units fill the page is the
    index's layout)."""
    hits = body.get("hits")
    if not hits:
        return body
    last = hits[-1]["score"]
    kept = sorted((h for h in hits if h["score"] != last), key=lambda h: (-h["score"], h["id"]))
    tail = sum(1 for h in hits if h["score"] == last)
    return dict(body, hits=kept, tied_at_end=(last, tail))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--old", required=True, help="the nutgraf binary before the change")
    ap.add_argument("--new", required=True, help="the nutgraf binary after it")
    ap.add_argument("--config", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--new-index", help="the index the new build reads (default: --index)")
    ap.add_argument("--histogram", action="store_true", help="also compare histograms (both builds must have them)")
    ap.add_argument("--collapse", action="store_true", help="also compare answers with copies folded")
    ap.add_argument("--ties", action="store_true", help="hits of equal score in any order")
    ap.add_argument("files", nargs="+", help="query files")
    args = ap.parse_args()

    old, old_url = start(args.old, args.config, args.index)
    new, new_url = start(args.new, args.config, args.new_index or args.index)
    checked, differ = 0, []
    try:
        for source, params in queries(args.files):
            variants = [params] + ([params + [("histogram", "auto")]] if args.histogram else [])
            variants += [params + [("collapse", "true")]] if args.collapse else []
            for p in variants:
                a, b = answer(old_url, p), answer(new_url, p)
                if args.ties:
                    a, b = (a[0], untied(a[1])), (b[0], untied(b[1]))
                checked += 1
                if a != b:
                    differ.append((source, p, a, b))
    finally:
        old.kill()
        new.kill()
    for source, p, a, b in differ[:10]:
        print(f"{source}: {urllib.parse.urlencode(p)} differs")
        for key in sorted(set(a[1]) | set(b[1])):
            if a[1].get(key) != b[1].get(key):
                print(f"  {key}: {json.dumps(a[1].get(key))[:200]}")
                print(f"  {' ' * len(key)}  {json.dumps(b[1].get(key))[:200]}")
    print(f"{checked} answers compared, {len(differ)} differ")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main())
