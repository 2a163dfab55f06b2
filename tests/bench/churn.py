#!/usr/bin/python3
"""Workload (g): python3 churn - dicts, strings and lists.

Each round builds a dict of records (small dicts holding strings and lists), rewrites a share
of them, joins and splits strings, sorts lists of tuples, and drops most of it, keeping a
bounded working set alive across rounds. Run as is (pymalloc serves small objects, the
allocator only sees its arenas and the larger blocks) and with PYTHONMALLOC=malloc (every
object goes through malloc). Prints a checksum that depends only on ROUNDS and SIZE.

usage: churn.py [ROUNDS] [SIZE]
"""
import sys


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    size = int(sys.argv[2]) if len(sys.argv) > 2 else 20000
    seed = 12345
    checksum = 0
    keep = {}
    for r in range(rounds):
        records = {}
        for i in range(size):
            seed = (seed * 6364136223846793005 + 1442695040888963407) & 0xFFFFFFFFFFFFFFFF
            key = "k%d_%d" % (r, seed >> 40)
            records[key] = {
                "name": "user-" + str(seed % 100003),
                "tags": ["t%d" % (seed >> (j * 8) & 63) for j in range(seed % 5 + 1)],
                "score": (seed >> 20) % 1000,
            }
        # Rewrite a third of them: new strings, longer lists.
        for n, (key, rec) in enumerate(records.items()):
            if n % 3 == 0:
                rec["name"] = rec["name"].upper() + "/" + key
                rec["tags"] = rec["tags"] + [key[-4:]] * 3
        # Strings: join, split, replace.
        text = ",".join(rec["name"] for rec in records.values())
        parts = text.replace("USER", "u").split(",")
        checksum = (checksum * 31 + len(text) + len(parts)) & 0xFFFFFFFF
        # Lists of tuples, sorted.
        ranked = sorted(((rec["score"], key) for key, rec in records.items()), reverse=True)
        for score, key in ranked[: size // 50]:
            keep[key] = records[key]
        # A bounded working set survives across rounds, oldest first out.
        while len(keep) > size // 2:
            del keep[next(iter(keep))]
        checksum = (checksum * 31 + sum(len(rec["tags"]) for rec in keep.values())) & 0xFFFFFFFF
        del records, text, parts, ranked
    print("checksum %016x" % checksum)


if __name__ == "__main__":
    main()
