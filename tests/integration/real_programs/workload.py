"""Allocation-heavy Python workload for the real_programs/python3 test.

Dicts, strings, lists, tuples, sets and objects built and torn down by 8 threads at once. Every
thread's result depends only on its index, and results are printed in thread order, so the output
is the same on every run (PYTHONHASHSEED is fixed by the test as well).
"""
import hashlib
import random
import sys
import threading

THREADS = 8
ROUNDS = 60


class Node:
    __slots__ = ("key", "value", "children")

    def __init__(self, key, value):
        self.key = key
        self.value = value
        self.children = []


def build_tree(rng, depth, fanout):
    root = Node("root", 0)
    frontier = [root]
    for level in range(depth):
        next_frontier = []
        for node in frontier:
            for i in range(fanout):
                child = Node(f"{node.key}/{level}.{i}", rng.randrange(1 << 30))
                node.children.append(child)
                next_frontier.append(child)
        frontier = next_frontier
    return root


def tree_digest(node, h):
    h.update(node.key.encode())
    h.update(node.value.to_bytes(4, "little"))
    for child in node.children:
        tree_digest(child, h)


def work(index, results):
    rng = random.Random(1000 + index)
    h = hashlib.sha256()
    totals = {}
    for round_no in range(ROUNDS):
        # dicts: word counts over generated text
        words = ["".join(rng.choice("abcdefghij") for _ in range(rng.randrange(1, 8)))
                 for _ in range(800)]
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
        h.update(repr(top).encode())
        # strings: joins, splits, formatting, replacement
        text = " ".join(words)
        text = text.upper().replace("A", "<a>").lower()
        pieces = text.split("<a>")
        h.update(str(len(pieces)).encode())
        h.update("|".join(f"{p[:3]}:{len(p)}" for p in pieces[:50]).encode())
        # lists: sort, slices, comprehensions, nested lists
        nums = [rng.randrange(100000) for _ in range(3000)]
        nums.sort()
        matrix = [[(r * c + round_no) % 97 for c in range(40)] for r in range(40)]
        transposed = [list(col) for col in zip(*matrix)]
        h.update(bytes(x % 256 for x in nums[::37]))
        h.update(bytes(transposed[round_no % 40]))
        # sets, tuples and a tree of small objects
        evens = {n for n in nums if n % 2 == 0}
        pairs = tuple((n, n * n) for n in sorted(evens)[:100])
        h.update(repr(pairs[-3:]).encode())
        if round_no % 8 == 0:
            tree = build_tree(rng, 4, 5)
            tree_digest(tree, h)
        # a dict that grows and shrinks
        big = {i: str(i) * (i % 7 + rng.randrange(3)) for i in range(2000)}
        for i in range(0, 2000, 3):
            del big[i]
        totals[round_no % 4] = totals.get(round_no % 4, 0) + sum(len(v) for v in big.values())
    results[index] = (h.hexdigest(), sorted(totals.items()))


def main():
    results = [None] * THREADS
    threads = [threading.Thread(target=work, args=(i, results)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, (digest, totals) in enumerate(results):
        print(f"thread {i}: {digest} {totals}")
    combined = hashlib.sha256("".join(r[0] for r in results).encode()).hexdigest()
    print(f"combined {combined}")
    print("hash of str is seeded:", hash("poolscope") & 0xffff, file=sys.stderr)


if __name__ == "__main__":
    main()
