#!/usr/bin/env python3
"""How good are the copy clusters nutgraf gives units at import?

Reads every unit of an index (`search "" --all --format jsonl`, every kind,
with its `cluster` column) and measures two things, independently of how
nutgraf found the clusters (this script compares normalised paragraph
texts itself):

1. Clusters inspected: a random sample of clusters of two or more units
   (--clusters, default 200). For each, the word-run Jaccard of every
   member against its nearest other member; a member whose nearest is
   under 0.2 shares little with anything in its cluster and is listed as
   suspect. --review FILE writes the sample for reading by eye (each
   cluster's first paragraph, then each other member's share and, when not
   verbatim, its text).

2. Near copies: pairs of units of different documents whose paragraphs
   overlap (Jaccard of 3-word runs from 0.3 to just under 1, found through
   shared rare runs, not through the clusters), a stratified random sample
   of --pairs (default 100). With --label FILE: a TSV of the sample with an
   empty `same` column is written when FILE does not exist, to be filled by
   hand (y: the two carry the same paragraph, edited; n: two different
   paragraphs); when it exists, precision and recall of "same cluster"
   against those labels are printed.

Usage (AllSides, after `nutgraf index`):
  scripts/copy_quality.py --config index-config/allsides.toml --index DIR \\
      [--nutgraf target/release/nutgraf] [--label eval/near-copies.tsv] \\
      [--review clusters.txt]
"""

import argparse
import collections
import csv
import hashlib
import json
import os
import random
import re
import subprocess
import sys

KINDS = ["body", "heading", "list-item", "caption", "byline", "bio", "disclaimer"]
WORD = re.compile(r"\w+", re.UNICODE)
RUN = 3
MIN_WORDS = 12  # as nutgraf clusters (text::shingles::MIN_WORDS)
BINS = [(0.3, 0.4), (0.4, 0.5), (0.5, 0.6), (0.6, 0.8), (0.8, 1.0)]


def words(text):
    # Letters and digits, lower case: as nutgraf normalises (the
    # underscore \w also admits is rare in news text).
    return [w.lower() for w in WORD.findall(text) if w != "_"]


def runs(ws):
    if len(ws) < RUN:
        return {" ".join(ws)}
    return {" ".join(ws[i : i + RUN]) for i in range(len(ws) - RUN + 1)}


def jaccard(a, b):
    union = len(a | b)
    return len(a & b) / union if union else 0.0


def run_key(run):
    return int.from_bytes(hashlib.blake2b(run.encode(), digest_size=8).digest(), "little")


def read_units(args):
    cmd = [args.nutgraf, "--config", args.config, "--index", args.index,
           "search", "", "--all", "--format", "jsonl"]
    for k in KINDS:
        cmd += ["--kind", k]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    units = []
    for line in out.splitlines():
        if line.strip():
            u = json.loads(line.lstrip("\ufeff"))
            units.append(u)
    return units


def inspect_clusters(units, args, rng):
    by_cluster = collections.defaultdict(list)
    for i, u in enumerate(units):
        if u.get("cluster"):
            by_cluster[u["cluster"]].append(i)
    shared = [c for c, m in by_cluster.items() if len(m) > 1]
    sizes = collections.Counter(min(len(by_cluster[c]), 10) for c in shared)
    print(f"clusters: {len(by_cluster)}, of two or more units: {len(shared)} "
          f"(units in them: {sum(len(by_cluster[c]) for c in shared)})")
    print("  sizes: " + ", ".join(f"{k if k < 10 else '10+'}: {v}" for k, v in sorted(sizes.items())))
    sample = rng.sample(sorted(shared), min(args.clusters, len(shared)))
    suspect = []
    verbatim_only = 0
    nearest_all = []
    review = []
    for c in sample:
        members = by_cluster[c]
        texts = [units[i]["text"] for i in members]
        sets = [runs(words(t)) for t in texts]
        normal = [" ".join(words(t)) for t in texts]
        if len(set(normal)) == 1:
            verbatim_only += 1
        lines = [f"== cluster {c}: {len(members)} units", f"  {units[members[0]]['id']} ({units[members[0]]['outlet']}): {texts[0]}"]
        for k, i in enumerate(members):
            nearest = max(jaccard(sets[k], sets[j]) for j in range(len(members)) if j != k)
            nearest_all.append(nearest)
            if nearest < 0.2:
                suspect.append((c, units[i]["id"], round(nearest, 3)))
            if k > 0:
                same = normal[k] == normal[0]
                lines.append(f"  {units[i]['id']} ({units[i]['outlet']}): nearest {nearest:.2f}"
                             + ("" if same else f": {texts[k]}"))
        review.append("\n".join(lines))
    if not sample:
        return
    nearest_all.sort()
    print(f"sampled {len(sample)} clusters: {verbatim_only} all verbatim; "
          f"members' share with their nearest copy: min {nearest_all[0]:.2f}, "
          f"5th percentile {nearest_all[len(nearest_all) // 20]:.2f}, median {nearest_all[len(nearest_all) // 2]:.2f}")
    print(f"  members sharing under 0.2 with every other member: {len(suspect)}")
    for s in suspect[:20]:
        print(f"    {s}")
    if args.review:
        with open(args.review, "w") as f:
            f.write("\n\n".join(review) + "\n")
        print(f"  review file: {args.review}")


def near_pairs(units, args, rng):
    """Pairs of units of different documents sharing one of their three
    rarest-hashing runs (a bottom-3 sketch), with their exact Jaccard."""
    sets = {}
    buckets = collections.defaultdict(list)
    for i, u in enumerate(units):
        ws = words(u["text"])
        if len(ws) < MIN_WORDS:
            continue
        rs = runs(ws)
        sets[i] = rs
        for key in sorted(run_key(r) for r in rs)[:3]:
            buckets[key].append(i)
    pairs = {}
    for members in buckets.values():
        if len(members) < 2 or len(members) > 50:
            continue
        for x in range(len(members)):
            for y in range(x + 1, len(members)):
                a, b = members[x], members[y]
                if units[a]["doc_id"] == units[b]["doc_id"] or (a, b) in pairs:
                    continue
                j = jaccard(sets[a], sets[b])
                if 0.3 <= j < 1.0 and " ".join(words(units[a]["text"])) != " ".join(words(units[b]["text"])):
                    pairs[(a, b)] = j
    print(f"near pairs found (Jaccard 0.3 to under 1, different documents): {len(pairs)}")
    per_bin = args.pairs // len(BINS)
    chosen = []
    for lo, hi in BINS:
        inside = sorted(p for p, j in pairs.items() if lo <= j < hi)
        chosen += rng.sample(inside, min(per_bin, len(inside)))
    return [(a, b, pairs[(a, b)]) for a, b in chosen]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", required=True)
    ap.add_argument("--index", required=True)
    ap.add_argument("--nutgraf", default="target/release/nutgraf")
    ap.add_argument("--clusters", type=int, default=200)
    ap.add_argument("--pairs", type=int, default=100)
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--label")
    ap.add_argument("--review")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    units = read_units(args)
    print(f"units: {len(units)}")
    inspect_clusters(units, args, rng)
    if not args.label:
        return
    index_of = {u["id"]: i for i, u in enumerate(units)}
    if not os.path.exists(args.label):
        sample = near_pairs(units, args, rng)
        with open(args.label, "w", newline="") as f:
            w = csv.writer(f, delimiter="\t")
            w.writerow(["a", "b", "jaccard", "same", "a_text", "b_text"])
            for a, b, j in sample:
                w.writerow([units[a]["id"], units[b]["id"], f"{j:.3f}", "",
                            units[a]["text"], units[b]["text"]])
        print(f"wrote {len(sample)} pairs to {args.label}: fill in `same` (y/n) by hand, then run again")
        return
    tp = fp = fn = tn = 0
    by_bin = collections.defaultdict(lambda: [0, 0, 0, 0])
    with open(args.label, newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            same = row["same"].strip().lower()
            if same not in ("y", "n"):
                sys.exit(f"{args.label}: pair {row['a']} {row['b']} has no label (y or n)")
            a, b = units[index_of[row["a"]]], units[index_of[row["b"]]]
            clustered = bool(a.get("cluster")) and a.get("cluster") == b.get("cluster")
            j = float(row["jaccard"])
            cell = by_bin[next(f"{lo}-{hi}" for lo, hi in BINS if lo <= j < hi)]
            if same == "y" and clustered:
                tp += 1; cell[0] += 1
            elif same == "n" and clustered:
                fp += 1; cell[1] += 1
            elif same == "y":
                fn += 1; cell[2] += 1
            else:
                tn += 1; cell[3] += 1
    print(f"labelled pairs: {tp + fp + fn + tn} ({tp + fn} the same paragraph, {fp + tn} different)")
    print(f"  same cluster and the same paragraph: {tp}; same cluster, different: {fp}; "
          f"apart, the same paragraph: {fn}; apart, different: {tn}")
    print(f"  precision {tp / max(tp + fp, 1):.3f}, recall {tp / max(tp + fn, 1):.3f}")
    for name, (t, p, n, d) in sorted(by_bin.items()):
        print(f"  Jaccard {name}: together {t} same / {p} different; apart {n} same / {d} different")


if __name__ == "__main__":
    main()
