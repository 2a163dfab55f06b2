"""Writes a large generated C file for gcc.sh: many functions with loops, switches and
structs, so the compiler's optimisers allocate a lot. Deterministic: no randomness at all."""
import sys

FUNCTIONS = int(sys.argv[1]) if len(sys.argv) > 1 else 400
out = ["#include <stdint.h>", "struct pair { uint64_t a, b; };"]
for f in range(FUNCTIONS):
    out.append(f"static uint64_t f{f}(uint64_t x) {{")
    out.append(f"  struct pair p = {{x + {f}, x ^ {f * 2654435761 % 2**32}u}};")
    out.append(f"  for (int i = 0; i < {f % 7 + 3}; ++i) {{")
    out.append("    switch ((p.a + i) % 5) {")
    for c in range(5):
        out.append(f"      case {c}: p.b = p.b * {c * 31 + f % 13 + 3} + p.a; p.a ^= p.b >> {c + 1}; break;")
    out.append("    }")
    out.append("  }")
    if f > 0:
        out.append(f"  return p.a + p.b + (x & 1 ? f{f - 1}(x >> 1) : 0);")
    else:
        out.append("  return p.a + p.b;")
    out.append("}")
out.append("uint64_t generated_checksum(uint64_t seed) {")
out.append("  uint64_t s = 0;")
for f in range(0, FUNCTIONS, 7):
    out.append(f"  s = s * 31 + f{f}(seed + {f});")
out.append("  return s;")
out.append("}")
print("\n".join(out))
