#!/usr/bin/env python3
"""Unit kinds on AllSides: how often the splitting rules name the right kind,
and whether short non-body units crowd body paragraphs out of the top 10.

Every paragraph ("unit") gets a kind from the built-in rules of
src/ingest/split.rs: body, heading, list-item, caption, byline, bio or
disclaimer. Captions and disclaimers are left out of searches by default, so a
paragraph of ordinary prose filed as either is lost to every reader who does
not ask for it.

Subcommands (run from the project's root; standard library only):

  sample    for each non-body kind, enumerates every unit of that kind in the
            index (`nutgraf search "" --kind K --json`, an empty query matching
            every unit, paged with --offset), sorts them by document id and
            paragraph, draws N of them (300 by default, all of them when fewer
            exist) with a fixed seed, and writes one TSV per kind,
            OUTDIR/kinds-<kind>.tsv. Each drawn unit is read back with
            `nutgraf show ID --context 1` so that the units before and after it
            stand beside it for whoever labels it. Columns:

              id        unit id, `<document id>#<paragraph>`
              kind      the kind the rules gave it
              outlet    the article's outlet
              position  paragraph / paragraphs in the document
              chars     the unit's length in characters
              text      the unit's text (tabs and newlines as spaces)
              prev      the unit before it, as `kind: text` (cut at 300 chars)
              next      the unit after it, likewise
              label     empty, to be filled: `ok` or `wrong`
              should_be when wrong, the kind it should have: body, heading,
                        list-item, caption, byline, bio, disclaimer, or
                        `furniture` (page furniture: navigation, promotion,
                        sharing or sign-up prompts, that no kind fits and that
                        is not prose either). `body` means a paragraph of
                        ordinary prose: a sentence of the article's text.
              note      free text: the error's pattern, for rule fixes

      python3 scripts/kinds.py sample --nutgraf target/release/nutgraf \\
          --index IDX --config index-config/allsides.toml --outdir target/kinds

            Options: --n 300, --seed 20201116, --kinds heading,list-item,...;
            a TSV that already holds labels is not overwritten without --force.

  score     reads labelled TSVs and prints, per kind, the number labelled, the
            precision (ok / labelled) with a 95% Wilson interval, what the
            wrong ones should have been, then, separately, every wrongly kinded
            unit that is ordinary prose (should_be = body) filed as caption or
            disclaimer, and the most common notes (error patterns) per kind.
            An unlabelled row is an error unless --partial is given.

      python3 scripts/kinds.py score eval/kinds-labels.tsv   # the shipped judgements (ids, no text)

  view      prints the rows of a TSV one by one, for reading and labelling:
            id, kind, position, prev, text, next, and any label already there.

      python3 scripts/kinds.py view target/kinds/kinds-caption.tsv --start 0 --count 50

  crowding  runs each query of a list with `--json --limit 10` and compares
            the kinds of the top 10 with the kinds of all matching units
            (`facets.kind`, captions and disclaimers left out as search leaves
            them out): are headings, bylines, bios and list items over-
            represented at the top? It also counts short units (at most
            --short-words words, any kind) in the top 10 against their share
            among all matches, which it reads by fetching every match
            (--limit 100000). Each line of the query file is a query, then
            optionally a tab and a stance (`impeachment<TAB>right`); blank
            lines and lines starting with `#` are skipped. `--json FILE`
            writes every query's figures and top 10 as well.

      python3 scripts/kinds.py crowding --nutgraf target/release/nutgraf \\
          --index IDX --config index-config/allsides.toml \\
          eval/crowding-queries.txt --json eval/crowding-results.json
"""

import argparse
import collections
import csv
import json
import math
import os
import random
import statistics
import subprocess
import sys

KINDS = ["heading", "list-item", "caption", "byline", "bio", "disclaimer"]
ALL_KINDS = ["body"] + KINDS
SHOULD_BE = set(ALL_KINDS) | {"furniture"}
COLUMNS = ["id", "kind", "outlet", "position", "chars", "text", "prev", "next",
           "label", "should_be", "note"]
PAGE = 100000  # the most hits `nutgraf search --limit` returns at once
HIDDEN = {"caption", "disclaimer"}  # kinds search leaves out by default
SHORT_KINDS = ["heading", "byline", "bio", "list-item"]


def nutgraf(args, cmd):
    base = [args.nutgraf]
    if args.config:
        base += ["--config", args.config]
    if args.index:
        base += ["--index", args.index]
    out = subprocess.run(base + cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def flat(text, limit=None):
    text = " ".join(str(text).split())
    if limit and len(text) > limit:
        text = text[:limit - 1] + "…"
    return text


def unit_key(unit_id):
    doc, _, para = unit_id.rpartition("#")
    return (doc, int(para))


def enumerate_kind(args, kind):
    """Every unit of one kind: (id, hit) sorted by document and paragraph."""
    hits, offset = [], 0
    while True:
        page = nutgraf(args, ["search", "", "--kind", kind, "--json",
                              "--limit", str(PAGE), "--offset", str(offset),
                              "--facet-limit", "1"])
        hits += page["hits"]
        offset += len(page["hits"])
        if not page["hits"] or offset >= page["total_hits"]:
            break
    hits = [h for h in hits if h["kind"] == kind]
    hits.sort(key=lambda h: unit_key(h["id"]))
    return hits


def cmd_sample(args):
    kinds = args.kinds.split(",") if args.kinds else KINDS
    for kind in kinds:
        hits = enumerate_kind(args, kind)
        rng = random.Random(f"{args.seed}-{kind}")
        drawn = hits if len(hits) <= args.n else rng.sample(hits, args.n)
        drawn.sort(key=lambda h: unit_key(h["id"]))
        path = f"{args.outdir}/kinds-{kind}.tsv"
        if not args.force and os.path.exists(path) and any(
                r["label"].strip() for r in read_tsv(path)):
            sys.exit(f"{path} already holds labels; pass --force to overwrite it")
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, delimiter="\t", lineterminator="\n",
                           quoting=csv.QUOTE_MINIMAL)
            w.writerow(COLUMNS)
            for h in drawn:
                shown = nutgraf(args, ["show", h["id"], "--context", "1", "--json"])
                units = shown["units"]
                i = next(j for j, u in enumerate(units) if u["id"] == h["id"])
                prev = units[i - 1] if i > 0 else None
                nxt = units[i + 1] if i + 1 < len(units) else None
                side = lambda u: f"{u['kind']}: {flat(u['text'], 300)}" if u else ""
                w.writerow([h["id"], h["kind"], h["outlet"],
                            f"{h['paragraph']}/{h['paragraphs_in_doc']}",
                            len(h["text"]), flat(h["text"]), side(prev), side(nxt),
                            "", "", ""])
        print(f"{kind}: {len(hits)} units, {len(drawn)} drawn -> {path}",
              file=sys.stderr)


def read_tsv(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_MINIMAL))


def wilson(k, n, z=1.96):
    if n == 0:
        return (0.0, 0.0)
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def cmd_score(args):
    rows = []
    for path in args.tsv:
        for r in read_tsv(path):
            label = r["label"].strip()
            if label not in ("ok", "wrong"):
                if args.partial and not label:
                    continue
                sys.exit(f"{path}: {r['id']}: label must be ok or wrong, not {label!r}")
            if label == "wrong" and r["should_be"].strip() not in SHOULD_BE:
                sys.exit(f"{path}: {r['id']}: should_be {r['should_be']!r} is not one of "
                         + ", ".join(sorted(SHOULD_BE)))
            if label == "ok" and r["should_be"].strip() not in ("", r["kind"]):
                sys.exit(f"{path}: {r['id']}: ok but should_be {r['should_be']!r}")
            rows.append(r)
    by_kind = collections.defaultdict(list)
    for r in rows:
        by_kind[r["kind"]].append(r)

    print("Precision per kind (ok / labelled, 95% Wilson interval)\n")
    print(f"{'kind':<11} {'n':>4} {'ok':>4} {'precision':>9}  {'95% CI':<13}  wrong ones should be")
    for kind in [k for k in ALL_KINDS if k in by_kind]:
        rs = by_kind[kind]
        ok = sum(r["label"] == "ok" for r in rs)
        lo, hi = wilson(ok, len(rs))
        should = collections.Counter(r["should_be"] for r in rs if r["label"] == "wrong")
        should_s = ", ".join(f"{k} {v}" for k, v in should.most_common())
        print(f"{kind:<11} {len(rs):>4} {ok:>4} {ok / len(rs):>8.1%}  "
              f"{lo:.1%}–{hi:.1%}  {should_s}")

    prose = [r for r in rows if r["kind"] in HIDDEN and r["label"] == "wrong"
             and r["should_be"] == "body"]
    print(f"\nOrdinary prose filed as caption or disclaimer: {len(prose)}")
    for kind in sorted(HIDDEN):
        n = len(by_kind.get(kind, []))
        k = sum(r["kind"] == kind for r in prose)
        if n:
            print(f"  {kind}: {k} of {n} labelled ({k / n:.1%})")
    for r in prose:
        print(f"  {r['id']}\t{r['kind']}\t{flat(r.get('text', ''))}")

    print(f"\nMost common error patterns per kind (note column, top {args.top})")
    for kind in [k for k in ALL_KINDS if k in by_kind]:
        wrong = [r for r in by_kind[kind] if r["label"] == "wrong"]
        if not wrong:
            continue
        notes = collections.Counter(r["note"].strip() or "(no note)" for r in wrong)
        print(f"\n{kind} ({len(wrong)} wrong)")
        for note, count in notes.most_common(args.top):
            example = next(r for r in wrong if (r["note"].strip() or "(no note)") == note)
            print(f"  {count:>3}  {note}\n       e.g. {example['id']}: "
                  f"{flat(example.get('text', ''), args.width)}")


def cmd_view(args):
    rows = read_tsv(args.tsv)
    for i, r in enumerate(rows[args.start:args.start + args.count], args.start):
        print(f"[{i}] {r['id']}  {r['kind']}  ¶{r['position']}  {r['outlet']}")
        if r["prev"]:
            print(f"   < {flat(r['prev'], args.width)}")
        print(f"   = {r['text']}")
        if r["next"]:
            print(f"   > {flat(r['next'], args.width)}")
        if r["label"]:
            print(f"   label: {r['label']} {r['should_be']} {r['note']}")


def read_queries(path):
    queries = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            query, _, stance = line.partition("\t")
            queries.append((query.strip(), stance.strip() or None))
    return queries


def cmd_crowding(args):
    results = []
    for query, stance in read_queries(args.queries):
        filt = ["--stance", stance] if stance else []
        top = nutgraf(args, ["search", query, "--json", "--limit", "10",
                             "--facet-limit", "0"] + filt)
        everything = nutgraf(args, ["search", query, "--json", "--limit", str(PAGE),
                                    "--facet-limit", "1"] + filt)
        counts = {k: v for k, v in top["facets"]["kind"].items() if k not in HIDDEN}
        total = sum(counts.values())
        hits = top["hits"]
        all_hits = everything["hits"]
        short = lambda h: len(h["text"].split()) <= args.short_words
        words = lambda hs: statistics.median([len(h["text"].split()) for h in hs]) if hs else 0
        results.append({
            "query": query,
            "stance": stance,
            "matches": total,
            "relaxed": top.get("relaxed", False),
            "match_kinds": counts,
            "top_kinds": dict(collections.Counter(h["kind"] for h in hits)),
            "top_n": len(hits),
            "match_short": sum(short(h) for h in all_hits),
            "match_fetched": len(all_hits),
            "top_short": sum(short(h) for h in hits),
            "match_median_words": words(all_hits),
            "top_median_words": words(hits),
            "top": [{"rank": i, "id": h["id"], "kind": h["kind"],
                     "words": len(h["text"].split()), "score": h["score"],
                     "text": flat(h["text"], 400), "title": h["title"]}
                    for i, h in enumerate(hits, 1)],
        })
    report_crowding(args, results)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, ensure_ascii=False, indent=1)


def report_crowding(args, results):
    print(f"{len(results)} query runs; top 10 against all matching units "
          f"(captions and disclaimers left out, as search does)\n")
    print(f"{'query':<28} {'stance':<6} {'matches':>7}  "
          f"{'non-body top10':>14}  {'expected':>8}  {'short top10':>11}  {'expected':>8}"
          f"  {'median words top10/all':>22}")
    tot = collections.Counter()
    exp = collections.Counter()
    tot_short = exp_short = tot_n = 0
    for r in results:
        n = r["top_n"]
        tot_n += n
        m = r["matches"] or 1
        nb = sum(r["top_kinds"].get(k, 0) for k in SHORT_KINDS)
        nb_exp = n * sum(r["match_kinds"].get(k, 0) for k in SHORT_KINDS) / m
        for k in SHORT_KINDS:
            tot[k] += r["top_kinds"].get(k, 0)
            exp[k] += n * r["match_kinds"].get(k, 0) / m
        s_exp = n * r["match_short"] / max(r["match_fetched"], 1)
        tot_short += r["top_short"]
        exp_short += s_exp
        print(f"{flat(r['query'], 28):<28} {r['stance'] or '':<6} {r['matches']:>7}  "
              f"{nb:>14}  {nb_exp:>8.2f}  {r['top_short']:>11}  {s_exp:>8.2f}"
              f"  {r['top_median_words']:>10g} / {r['match_median_words']:<9g}")
    print(f"\nOver {tot_n} top-10 slots:")
    print(f"  {'kind':<10} {'in top 10':>9} {'expected':>9} {'ratio':>6}")
    for k in SHORT_KINDS:
        ratio = tot[k] / exp[k] if exp[k] else float("nan")
        print(f"  {k:<10} {tot[k]:>9} {exp[k]:>9.1f} {ratio:>6.2f}")
    all_nb, all_exp = sum(tot.values()), sum(exp.values())
    print(f"  {'all four':<10} {all_nb:>9} {all_exp:>9.1f} "
          f"{all_nb / all_exp if all_exp else float('nan'):>6.2f}")
    print(f"  {'≤' + str(args.short_words) + ' words':<10} {tot_short:>9} {exp_short:>9.1f} "
          f"{tot_short / exp_short if exp_short else float('nan'):>6.2f}   (any kind)")
    print(f"\n  median of per-query median length: top 10 "
          f"{statistics.median(r['top_median_words'] for r in results):g} words, "
          f"all matches {statistics.median(r['match_median_words'] for r in results):g} words")
    worst = []
    for r in results:
        for h in r["top"]:
            if h["kind"] in SHORT_KINDS or h["words"] <= args.short_words:
                worst.append((h["rank"], h["words"], r["query"], r["stance"], h))
    worst.sort(key=lambda t: (t[0], t[1]))
    print(f"\nShort or non-body units in the top 10, best-ranked first (first {args.examples}):")
    for rank, words, query, stance, h in worst[:args.examples]:
        st = f" --stance {stance}" if stance else ""
        print(f"  {query}{st}  #{rank}  {h['kind']}  {words}w  {h['id']}  {flat(h['text'], 100)}")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)

    def common(sp):
        sp.add_argument("--nutgraf", default="target/release/nutgraf")
        sp.add_argument("--config", default="index-config/allsides.toml")
        sp.add_argument("--index", default=None)

    sp = sub.add_parser("sample")
    common(sp)
    sp.add_argument("--outdir", default="eval")
    sp.add_argument("--n", type=int, default=300)
    sp.add_argument("--seed", default="20201116")
    sp.add_argument("--kinds", default=None)
    sp.add_argument("--force", action="store_true")
    sp.set_defaults(func=cmd_sample)

    sp = sub.add_parser("score")
    sp.add_argument("tsv", nargs="+")
    sp.add_argument("--partial", action="store_true")
    sp.add_argument("--top", type=int, default=5)
    sp.add_argument("--width", type=int, default=200)
    sp.set_defaults(func=cmd_score)

    sp = sub.add_parser("view")
    sp.add_argument("tsv")
    sp.add_argument("--start", type=int, default=0)
    sp.add_argument("--count", type=int, default=50)
    sp.add_argument("--width", type=int, default=160)
    sp.set_defaults(func=cmd_view)

    sp = sub.add_parser("crowding")
    common(sp)
    sp.add_argument("queries")
    sp.add_argument("--short-words", type=int, default=8)
    sp.add_argument("--examples", type=int, default=25)
    sp.add_argument("--json", default=None)
    sp.set_defaults(func=cmd_crowding)

    args = p.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
