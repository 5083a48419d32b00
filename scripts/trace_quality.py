#!/usr/bin/env python3
"""How much of a verbatim copy group `nutgraf trace` finds, on AllSides.

Groups are found here, independently of nutgraf: paragraphs (split on
blank lines) of at least 120 characters whose normalised text (lower
case, letters and digits, single spaces) is the same in articles of two
or more outlets. A random sample of groups (fixed seed) is traced from one
member: the unit of that article holding the paragraph is found with an
exact-phrase search, then `/api/trace/{id}` is asked, and the group's
other articles are looked for among the copies.

    nutgraf --config index-config/allsides.toml --index DIR serve --addr 127.0.0.1:7790 &
    python3 scripts/trace_quality.py --url http://127.0.0.1:7790 \\
        --corpus ../shared/data/allsides/articles.jsonl.gz --groups 200

Prints the share of the other members found (the bar: 98%), how many
groups were found whole, the median trace time, and the misses.
"""

import argparse
import collections
import gzip
import json
import random
import re
import statistics
import sys
import urllib.parse
import urllib.request


def normalise(text):
    return " ".join(re.findall(r"\w+", text.lower()))


def groups(corpus):
    by_text = collections.defaultdict(dict)
    with gzip.open(corpus, "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            for p in re.split(r"\n\s*\n", d.get("content_original") or ""):
                p = p.strip()
                if len(p) >= 120:
                    by_text[normalise(p)].setdefault(d["ID"], (d.get("source", ""), p))
    out = []
    for key, docs in by_text.items():
        if len({o for o, _ in docs.values()}) >= 2:
            out.append(docs)
    return out


def get(url):
    with urllib.request.urlopen(url, timeout=60) as r:
        return json.load(r)


def unit_of(base, doc_id, paragraph):
    words = re.findall(r"\w+", paragraph)[:10]
    q = '"' + " ".join(words) + '"'
    kinds = "&".join(f"kind={k}" for k in ["body", "heading", "list-item", "caption", "byline", "bio", "disclaimer"])
    found = get(f"{base}/api/search?q={urllib.parse.quote(q)}&limit=100&{kinds}")
    for hit in found.get("hits", []):
        if hit["doc_id"] == doc_id:
            return hit["id"]
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", required=True, help="a running `nutgraf serve` on the AllSides index")
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--groups", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261204)
    args = ap.parse_args()

    all_groups = groups(args.corpus)
    random.Random(args.seed).shuffle(all_groups)
    found_share, whole, times, misses, traced = [], 0, [], [], 0
    for docs in all_groups:
        if traced >= args.groups:
            break
        doc_id, (_, paragraph) = sorted(docs.items())[0]
        unit = unit_of(args.url, doc_id, paragraph)
        if unit is None:
            continue  # split differently by nutgraf (a heading, merged lines)
        traced += 1
        answer = get(f"{args.url}/api/trace/{urllib.parse.quote(unit, safe='')}")
        times.append((answer["took_us"] / 1000, unit))
        carried = {c["doc_id"] for c in answer["copies"]}
        others = set(docs) - {doc_id}
        got = len(others & carried) / len(others)
        found_share.append(got)
        whole += got == 1.0
        if got < 1.0:
            misses.append((unit, sorted(others - carried)[:3]))
    if not found_share:
        sys.exit("no group could be traced: is the server on the AllSides index?")
    print(f"{len(all_groups)} cross-outlet verbatim groups in the corpus; {traced} traced")
    print(f"other members found: {100 * statistics.mean(found_share):.2f}%  (groups found whole: {whole}/{traced})")
    ms = sorted(t for t, _ in times)
    slowest = max(times)
    print(f"trace time: median {statistics.median(ms):.1f} ms, 99th percentile "
          f"{ms[min(len(ms) - 1, len(ms) * 99 // 100)]:.1f} ms, max {slowest[0]:.1f} ms ({slowest[1]})")
    for unit, missed in misses[:10]:
        print(f"  {unit}: missed {', '.join(missed)}")


if __name__ == "__main__":
    main()
