#!/usr/bin/env python3
"""The quote test: can nutgraf find a paragraph from a fragment of it?

A reader who remembers a few words of a paragraph pastes them into the
search box, without quotation marks. This script measures how often the
paragraph they came from (or a verbatim copy of it) comes first.

Subcommands (run from the project's root; standard library only):

  draw      draws fragments at random from the body paragraphs of at least
            25 words of the AllSides corpus, with a fixed seed, and writes
            them as TSV. The paragraphs are nutgraf's own units: candidates
            are found by splitting `content_original` as nutgraf does, and
            every drawn one is read back from the index (`nutgraf show`) and
            kept only if the index holds the same text as a `body` unit.
            Columns: fragment, unit_id, doc_id, word_offset, word_count
            (where the fragment starts in the paragraph and how many words
            it has) and source_text (the paragraph, whitespace normalised).

      python3 scripts/quotes.py draw --nutgraf target/release/nutgraf \\
          --config index-config/allsides.toml --index IDX \\
          --corpus ../shared/data/allsides/articles.jsonl.gz \\
          --output target/quotes-allsides.tsv

  score     runs every fragment through `nutgraf search --json` (one
            process per fragment) and reports how often the source
            paragraph, or a unit whose text equals it after whitespace
            normalisation, is the first hit, in the top 3, in the top 10,
            and how many fragments found nothing; then lists the misses
            with their rank. `--json` prints the same as one JSON object.

      python3 scripts/quotes.py score --nutgraf target/release/nutgraf \\
          --index IDX --config index-config/allsides.toml target/quotes-allsides.tsv

            `--rewrite NAME` searches a rewrite of every fragment instead
            (titles left out, a phrase added...) to measure what a change
            of ranking would bring before making it.

  diagnose  re-runs each miss of `score` in variants that isolate one cause
            at a time (query syntax neutralised, title left out, the
            fragment as a phrase) and names the likeliest cause of each.

      python3 scripts/quotes.py diagnose --nutgraf target/release/nutgraf \\
          --index IDX --config index-config/allsides.toml target/quotes-allsides.tsv

What a pasted fragment means to nutgraf's query language (the fragments are
kept exactly as typed; `score` does not escape anything):

  "  “  ”  „   open or close a phrase; an unclosed one runs to the end of the
               query. The words of a fragment are consecutive in its source,
               so a phrase cut out of it still matches the source.
  ( )          group; an unclosed `(` is closed at the end, a stray `)` is a
               space. Harmless for a fragment.
  -word +word  a `-` or `+` directly before a word (not before a space) makes
               it excluded or required: `-word` drops every unit holding the
               word, the source included, whenever the source holds it.
               `--` or a lone `-` analyse to no word and are ignored.
  name:value   a scope when `name` is text, title, author, outlet, stance,
               genre or kind (`title:` restricts the word to titles; a facet
               value that names nothing is an error); any other `word:` is
               a plain word.
  OR || AND && NOT
               operators when written in upper case as separate words:
               `OR` splits the fragment into alternatives, `NOT` excludes
               the next word.
  word*        a prefix search (fewer than two letters before `*` is an
               error); `word~` or `word~N` a fuzzy search (N > 2 an error).
"""

import argparse
import array
import gzip
import json
import random
import re
import signal
import subprocess
import sys
import time
import unicodedata
import zlib

DEFAULT_SEED = 20261204
DEFAULT_COUNT = 400
MIN_PARAGRAPH_WORDS = 25
FRAGMENT_WORDS = (6, 12)
TSV_COLUMNS = ["fragment", "unit_id", "doc_id", "word_offset", "word_count", "source_text"]

# Characters and words that nutgraf's query language reads as syntax.
QUOTES = '"“”„'
OPERATORS = {"OR", "||", "AND", "&&", "NOT"}
SCOPES = {"text", "title", "author", "outlet", "stance", "genre", "kind"}


# --- splitting, as nutgraf splits a document into paragraphs --------------

FURNITURE_WORDS = re.compile(
    r"(?:breadcrumbs?|topics|tags|related|share(?: this(?: article)?)?|advertisement|read more)",
    re.IGNORECASE,
)


def is_furniture(text):
    """nutgraf's built-in page furniture: navigation labels, lone punctuation."""
    if FURNITURE_WORDS.fullmatch(text):
        return True
    return all(c.isspace() or unicodedata.category(c)[0] in "PS" for c in text)


def ends_sentence(text):
    return text.rstrip("\"”’')]").endswith((".", "!", "?", "…", ":", ";"))


def paragraphs(text):
    """A document's paragraph texts in nutgraf's order and numbering.

    A non-empty line starts a paragraph unless it continues the sentence of
    the line before (no closing punctuation there, lower case here);
    whitespace is normalised; furniture is dropped and a paragraph repeated
    right after itself is kept once. Kinds are not replicated here: they are
    read back from the index.
    """
    blocks = []
    continuable = False
    for line in text.split("\n"):
        line = " ".join(line.split())
        if not line:
            continuable = False
            continue
        if continuable and line[0].islower() and blocks and not ends_sentence(blocks[-1]):
            blocks[-1] += " " + line
        else:
            blocks.append(line)
        continuable = True
    kept = []
    for block in blocks:
        if is_furniture(block) or (kept and kept[-1] == block):
            continue
        kept.append(block)
    return kept


def clean_id(raw):
    """A document id as nutgraf writes it into unit ids."""
    return "".join("-" if c == "#" or c.isspace() else c for c in raw.strip())


def normalise(text):
    return " ".join(text.split())


def fingerprint(text):
    return zlib.crc32(normalise(text).encode("utf-8"))


# --- running nutgraf ------------------------------------------------------


class Nutgraf:
    """The nutgraf binary with one index and config."""

    def __init__(self, binary, config, index):
        self.base = [binary, "--config", config, "--index", index]

    def run(self, *args):
        """(exit code, parsed JSON or None, stderr) of one command."""
        done = subprocess.run(
            self.base + list(args), capture_output=True, text=True, encoding="utf-8"
        )
        try:
            answer = json.loads(done.stdout) if done.stdout.strip() else None
        except json.JSONDecodeError:
            answer = None
        return done.returncode, answer, done.stderr.strip()

    def show(self, unit_id):
        code, answer, err = self.run("show", unit_id, "--context", "0", "--json")
        if code != 0 or not answer:
            return None
        return next((u for u in answer["units"] if u.get("focus")), None)

    def search(self, query, limit=10):
        """(exit code, response or None, stderr). `--` keeps a fragment that
        starts with `-` from being read as a flag; the query is unchanged."""
        return self.run("search", "--json", "--limit", str(limit), "--", query)


# --- draw -----------------------------------------------------------------


def read_frame(corpus):
    """Every paragraph of at least MIN_PARAGRAPH_WORDS words, in file order:
    (document ids, and parallel arrays of document index, paragraph number
    and text fingerprint)."""
    documents = {}
    with gzip.open(corpus, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            text = record.get("content_original") or ""
            if text.strip():
                documents[clean_id(str(record["ID"]))] = text  # last record wins
    doc_ids = list(documents)
    doc_of, number_of, print_of = array.array("I"), array.array("I"), array.array("I")
    for d, doc_id in enumerate(doc_ids):
        for n, text in enumerate(paragraphs(documents[doc_id]), start=1):
            if len(text.split()) >= MIN_PARAGRAPH_WORDS:
                doc_of.append(d)
                number_of.append(n)
                print_of.append(fingerprint(text))
    return doc_ids, doc_of, number_of, print_of


def draw(args):
    started = time.monotonic()
    nutgraf = Nutgraf(args.nutgraf, args.config, args.index)
    doc_ids, doc_of, number_of, print_of = read_frame(args.corpus)
    frame = len(doc_of)
    rng = random.Random(args.seed)
    seen = set()
    rows = []
    rejected = {"not a body unit": 0, "text differs from the index": 0, "not in the index": 0}
    while len(rows) < args.count:
        if len(seen) == frame:
            sys.exit(f"only {len(rows)} usable paragraphs in the corpus")
        i = rng.randrange(frame)
        if i in seen:
            continue
        seen.add(i)
        doc_id = doc_ids[doc_of[i]]
        unit_id = f"{doc_id}#{number_of[i]}"
        unit = nutgraf.show(unit_id)
        if unit is None:
            rejected["not in the index"] += 1
            continue
        if fingerprint(unit["text"]) != print_of[i]:
            rejected["text differs from the index"] += 1
            continue
        if unit["kind"] != "body":
            rejected["not a body unit"] += 1
            continue
        words = unit["text"].split()
        length = rng.randint(*FRAGMENT_WORDS)
        offset = rng.randrange(len(words) - length + 1)
        fragment = " ".join(words[offset : offset + length])
        source = normalise(unit["text"])
        if "\t" in fragment or "\t" in source:
            sys.exit(f"{unit_id}: a tab in the text cannot be written as TSV")
        rows.append([fragment, unit_id, doc_id, str(offset), str(length), source])
    with open(args.output, "w", encoding="utf-8", newline="\n") as out:
        out.write("\t".join(TSV_COLUMNS) + "\n")
        for row in rows:
            out.write("\t".join(row) + "\n")
    straight = sum(1 for r in rows if '"' in r[0])
    curly = sum(1 for r in rows if any(q in r[0] for q in QUOTES[1:]))
    with_syntax = sum(1 for r in rows if syntax_in(r[0]))
    print(
        f"{len(rows)} fragments, one from each of {len(rows)} paragraphs drawn from the {frame} "
        f"of at least {MIN_PARAGRAPH_WORDS} words in {len(doc_ids)} documents (seed {args.seed}) -> {args.output}",
        file=sys.stderr,
    )
    print(f"  candidates skipped: {rejected}", file=sys.stderr)
    print(
        f"  with a straight double quote: {straight}; with a curly one: {curly}; "
        f"with any query syntax: {with_syntax}",
        file=sys.stderr,
    )
    print(f"  took {time.monotonic() - started:.1f} s", file=sys.stderr)


def syntax_in(fragment):
    """The query-language features a fragment uses, as typed (see the top)."""
    found = []
    tokens = fragment.split()
    if any(q in fragment for q in QUOTES):
        found.append("quote")
    if any(c in fragment for c in "()"):
        found.append("parenthesis")
    if any(t.lstrip("(")[:1] == "-" and re.search(r"\w", t) for t in tokens):
        found.append("-exclusion")
    if any(t.lstrip("(")[:1] == "+" and re.search(r"\w", t) for t in tokens):
        found.append("+required")
    if any(t.strip(QUOTES + "()") in OPERATORS for t in tokens):
        found.append("operator")
    if any(":" in t and t.lstrip(QUOTES + "(-+").split(":", 1)[0].lower() in SCOPES for t in tokens):
        found.append("scope")
    if any(len(t) > 1 and t.rstrip(QUOTES + ")").endswith("*") for t in tokens):
        found.append("prefix*")
    if any(re.search(r"[^~\s]~\d*$", t.rstrip(QUOTES + ")")) for t in tokens):
        found.append("fuzzy~")
    return found


# --- score ----------------------------------------------------------------


def read_fragments(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        if header != TSV_COLUMNS:
            sys.exit(f"{path}: expected the columns {' '.join(TSV_COLUMNS)}")
        return [dict(zip(TSV_COLUMNS, line.rstrip("\n").split("\t"))) for line in f if line.strip()]


def rank_of(hits, row):
    """1-based rank of the first hit that is the source unit or a verbatim
    copy of it, or None."""
    source = normalise(row["source_text"])
    for i, hit in enumerate(hits, start=1):
        if hit["id"] == row["unit_id"] or normalise(hit["text"]) == source:
            return i
    return None


def find(nutgraf, query, row, limit, deep):
    """Runs one query; the rank of the source (searching `deep` hits when it
    is not in the first `limit`) and what the search said."""
    code, answer, err = nutgraf.search(query, limit)
    result = {"exit": code, "error": err if code == 2 else None}
    if answer is None:
        result.update(rank=None, total_hits=0, relaxed=False, hits=[])
        return result
    rank = rank_of(answer["hits"], row)
    if rank is None and deep > limit and answer["total_hits"] > limit:
        _, deeper, _ = nutgraf.search(query, deep)
        if deeper:
            rank = rank_of(deeper["hits"], row)
    result.update(
        rank=rank,
        total_hits=answer["total_hits"],
        relaxed=answer.get("relaxed", False),
        took_us=answer.get("took_us"),
        hits=answer["hits"],
    )
    return result


def score_all(nutgraf, rows, deep, how="typed"):
    results = []
    for row in rows:
        r = find(nutgraf, rewrite(row["fragment"], how), row, 10, deep)
        results.append(
            {
                "fragment": row["fragment"],
                "unit_id": row["unit_id"],
                "rank": r["rank"],
                "total_hits": r["total_hits"],
                "relaxed": r["relaxed"],
                "error": r["error"],
                "top_hit": r["hits"][0]["id"] if r["hits"] else None,
                "took_us": r.get("took_us"),
                "syntax": syntax_in(row["fragment"]),
            }
        )
    return results


def summary(results, seconds):
    n = len(results)

    def share(k):
        return round(k / n, 4) if n else 0.0

    top = {k: sum(1 for r in results if r["rank"] is not None and r["rank"] <= k) for k in (1, 3, 10)}
    no_hits = sum(1 for r in results if r["total_hits"] == 0)
    copies = sum(1 for r in results if r["rank"] == 1 and r["top_hit"] != r["unit_id"])
    took = sorted(r["took_us"] for r in results if r.get("took_us") is not None)
    errors = sum(1 for r in results if r["error"])
    return {
        "fragments": n,
        "top1": top[1],
        "top3": top[3],
        "top10": top[10],
        "no_hits": no_hits,
        "errors": errors,
        "top1_share": share(top[1]),
        "top3_share": share(top[3]),
        "top10_share": share(top[10]),
        "no_hits_share": share(no_hits),
        "first_hit_a_copy": copies,
        "with_double_quote": sum(1 for r in results if "quote" in r["syntax"]),
        "search_ms_median": round(took[len(took) // 2] / 1000, 1) if took else None,
        "search_ms_max": round(took[-1] / 1000, 1) if took else None,
        "seconds": round(seconds, 1),
    }


def rank_text(result, deep):
    if result["rank"] is not None:
        return f"rank {result['rank']}"
    if result["total_hits"] > deep:
        return f"not in top {deep}"
    return "not found"


def score(args):
    started = time.monotonic()
    nutgraf = Nutgraf(args.nutgraf, args.config, args.index)
    rows = read_fragments(args.fragments)
    results = score_all(nutgraf, rows, args.deep, args.rewrite)
    figures = summary(results, time.monotonic() - started)
    figures["rewrite"] = args.rewrite
    misses = [r for r in results if r["rank"] != 1]
    if args.json:
        print(json.dumps({"summary": figures, "misses": misses, "results": results}, ensure_ascii=False, indent=1))
        return
    n = figures["fragments"]
    print(f"quote test: {n} fragments from {args.fragments} ({figures['seconds']} s)")
    if args.rewrite != "typed":
        print(f"  searched as: {REWRITES[args.rewrite]}")
    for label, key in [("first hit", "top1"), ("in top 3", "top3"), ("in top 10", "top10"), ("no hits", "no_hits")]:
        print(f"  {label:<10} {figures[key]:>5}  {100 * figures[key] / n:6.2f} %")
    if figures["errors"]:
        print(f"  {'errors':<10} {figures['errors']:>5}")
    print(f"  (first hits that are a verbatim copy of the source: {figures['first_hit_a_copy']})")
    print(f"  (fragments with a double quote character: {figures['with_double_quote']})")
    print(f"  (search time inside nutgraf: median {figures['search_ms_median']} ms, max {figures['search_ms_max']} ms)")
    print(f"misses ({len(misses)}):")
    for r in sorted(misses, key=lambda r: (r["rank"] is None, r["rank"] or 0)):
        note = f" [{', '.join(r['syntax'])}]" if r["syntax"] else ""
        err = f" error: {r['error']}" if r["error"] else ""
        print(f"  {rank_text(r, args.deep):<16} {r['unit_id']:<24} {r['fragment']}{note}{err}")


# --- diagnose -------------------------------------------------------------


def neutral(fragment):
    """The fragment's words with every piece of query syntax taken out."""
    words = []
    for token in fragment.split():
        for c in QUOTES + "()":
            token = token.replace(c, " ")
        for part in token.split():
            part = re.sub(r"~\d*$", "", part.lstrip("-+").rstrip("*"))
            if part.split(":", 1)[0].lower() in SCOPES:
                part = part.replace(":", " ", 1)
            words.extend(w for w in part.split() if w not in OPERATORS)
    return words


def word_key(text):
    """Lower-case words, punctuation ignored: to tell a near copy."""
    return re.findall(r"\w+", text.lower())


# Rewrites of a fragment that stand in for a change of ranking, to measure
# what the change would bring before making it (`score --rewrite`).
REWRITES = {
    "typed": "the fragment as typed",
    "no-syntax": "its words without quotes, parentheses, signs, operators or scopes",
    "text-only": "every word scoped to the paragraph (`text:`), so titles do not count",
    "phrase": "its words as one quoted phrase",
    "phrase-boost": "its words, OR the same words as a phrase (a match in order scores more)",
    "text-only-phrase-boost": "text-only words, OR a text-only phrase",
}


def rewrite(fragment, how):
    words = neutral(fragment)
    plain = " ".join(words)
    text_only = " ".join("text:" + w for w in words)
    return {
        "typed": fragment,
        "no-syntax": plain,
        "text-only": text_only,
        "phrase": f'"{plain}"',
        "phrase-boost": f'({plain}) OR "{plain}"',
        "text-only-phrase-boost": f'({text_only}) OR text:"{plain}"',
    }[how]


CAUSES = {
    "syntax": "query syntax (the fragment's own quotes, dashes, operators or scopes)",
    "error": "query error or no hits",
    "relaxed": "relaxed (no unit had every word)",
    "near copy": "a near copy above (the same words, other punctuation or case)",
    "title only": "title-only hits above (a fragment word only in their article's title)",
    "title weight": "title weight (hits above have the words in their title too)",
    "proximity": "no proximity (the words, scattered, outrank them in order)",
    "shared": "the fragment is in other paragraphs too (ranked above even as a phrase)",
}


def diagnose_one(nutgraf, row, deep):
    """Ranks of the source under variants of the query, and the likeliest
    cause of the miss: the first of these tests that explains it, in order:
    the query fails or finds nothing; taking the syntax out brings the
    source first; the search was relaxed; a hit above has the source's words
    with other punctuation; leaving titles out brings it first (and a hit
    above needed its title to match at all, or only gained from it); the
    fragment as a phrase brings it first; else other paragraphs hold the
    fragment too."""
    fragment = row["fragment"]
    plain = rewrite(fragment, "no-syntax")
    text_only = rewrite(fragment, "text-only")
    typed = find(nutgraf, fragment, row, 10, deep)
    ranks = {"as typed": typed["rank"]}
    for name, query in [
        ("no syntax", plain),
        ("text only", text_only),
        ("phrase", f'"{plain}"'),
        ("phrase, text only", f'text:"{plain}"'),
    ]:
        ranks[name] = find(nutgraf, query, row, 10, deep)["rank"]
    above = typed["hits"][: (typed["rank"] or 11) - 1]
    _, in_text, _ = nutgraf.search(text_only, deep)
    in_text_ids = {h["id"] for h in in_text["hits"]} if in_text else set()
    source_key = word_key(row["source_text"])
    syntax = syntax_in(fragment)
    if typed["error"] or typed["total_hits"] == 0:
        cause = "error"
    elif syntax and ranks["no syntax"] == 1:
        cause = "syntax"
    elif typed["relaxed"]:
        cause = "relaxed"
    elif any(word_key(h["text"]) == source_key for h in above):
        cause = "near copy"
    elif ranks["text only"] == 1:
        complete = in_text is not None and in_text["total_hits"] <= deep
        needed_title = complete and any(h["id"] not in in_text_ids for h in above)
        cause = "title only" if needed_title else "title weight"
    elif ranks["phrase"] == 1 or ranks["phrase, text only"] == 1:
        cause = "proximity"
    else:
        cause = "shared"
        _, as_phrase, _ = nutgraf.search(f'text:"{plain}"', 10)
        if as_phrase:
            above = as_phrase["hits"][: (ranks["phrase, text only"] or 11) - 1]
    return {
        "fragment": fragment,
        "unit_id": row["unit_id"],
        "cause": cause,
        "syntax": syntax,
        "ranks": ranks,
        "total_hits": typed["total_hits"],
        "relaxed": typed["relaxed"],
        "error": typed["error"],
        "above": [
            {
                "id": h["id"],
                "same_doc": h["doc_id"] == row["doc_id"],
                "kind": h.get("kind"),
                "title": h.get("title"),
                "text": h["text"][:300],
            }
            for h in above[:3]
        ],
    }


def diagnose(args):
    started = time.monotonic()
    nutgraf = Nutgraf(args.nutgraf, args.config, args.index)
    rows = read_fragments(args.fragments)
    by_id = {r["unit_id"]: r for r in rows}
    results = score_all(nutgraf, rows, args.deep)
    misses = [by_id[r["unit_id"]] for r in results if r["rank"] != 1]
    found = [diagnose_one(nutgraf, row, args.deep) for row in misses]
    causes = {}
    for d in found:
        causes[d["cause"]] = causes.get(d["cause"], 0) + 1
    if args.json:
        print(json.dumps({"summary": summary(results, time.monotonic() - started), "causes": causes, "misses": found}, ensure_ascii=False, indent=1))
        return
    print(f"{len(found)} misses of {len(rows)} ({time.monotonic() - started:.1f} s)")
    for cause, count in sorted(causes.items(), key=lambda kv: -kv[1]):
        print(f"  {count:>4}  {CAUSES[cause]}")
    for d in found:
        ranks = ", ".join(f"{k}: {v if v is not None else '-'}" for k, v in d["ranks"].items())
        syntax = f" [{', '.join(d['syntax'])}]" if d["syntax"] else ""
        print(f"\n{d['unit_id']}  [{d['cause']}]\n  {d['fragment']}{syntax}\n  ranks: {ranks}")
        for h in d["above"]:
            where = "same article" if h["same_doc"] else "other article"
            print(f"  above: {h['id']} ({where}, {h['kind']}) {h['text'][:160]}")


# --- command line ---------------------------------------------------------


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)

    def nutgraf_args(p):
        p.add_argument("--nutgraf", default="target/release/nutgraf", help="the nutgraf binary")
        p.add_argument("--config", default="index-config/allsides.toml", help="the index config")
        p.add_argument("--index", required=True, help="the index folder")

    p = sub.add_parser("draw", help="draw fragments from the corpus into a TSV file")
    nutgraf_args(p)
    p.add_argument("--corpus", default="../shared/data/allsides/articles.jsonl.gz")
    p.add_argument("-n", "--count", type=int, default=DEFAULT_COUNT)
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("-o", "--output", default="target/quotes-allsides.tsv")
    p.set_defaults(run=draw)

    for name, run, text in [
        ("score", score, "run every fragment and report the ranks of their sources"),
        ("diagnose", diagnose, "re-run each miss in variants and name its likeliest cause"),
    ]:
        p = sub.add_parser(name, help=text)
        nutgraf_args(p)
        p.add_argument("fragments", nargs="?", default="target/quotes-allsides.tsv")
        p.add_argument("--deep", type=int, default=1000, help="hits searched for a source not in the top 10")
        p.add_argument("--json", action="store_true", help="print one JSON object")
        if name == "score":
            p.add_argument(
                "--rewrite",
                choices=list(REWRITES),
                default="typed",
                help="search a rewrite of each fragment instead, to measure a change of ranking "
                + "; ".join(f"{k}: {v}" for k, v in REWRITES.items()),
            )
        p.set_defaults(run=run)

    args = parser.parse_args()
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # quiet under `| head`
    args.run(args)


if __name__ == "__main__":
    main()
