# `meson install` puts the library, the CLI, the public headers and a pkg-config file in place,
# and the installed CLI finds the installed library. Usage: install.sh BUILD_DIR
source "$(dirname "$0")/../harness.sh"
build=${1:?build directory}
root=$WORK/root
meson install -C "$build" --no-rebuild --destdir "$root" >"$WORK/install.log" 2>&1 ||
  { cat "$WORK/install.log" >&2; fail "meson install failed"; }
prefix=$(meson introspect "$build" --buildoptions |
  "$PYTHON" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions |
  "$PYTHON" -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
for f in "$prefix/$libdir/libpoolscope.so" "$prefix/bin/poolscope" \
  "$prefix/include/poolscope/poolscope.h" "$prefix/include/poolscope/trace_format.h" \
  "$prefix/$libdir/pkgconfig/poolscope.pc"; do
  [[ -e $root$f ]] || fail "not installed: $f"
done
PKG_CONFIG_SYSROOT_DIR=$root PKG_CONFIG_PATH=$root$prefix/$libdir/pkgconfig \
  pkg-config --cflags --libs poolscope >"$WORK/pc" || fail "pkg-config cannot read poolscope.pc"
grep -q -- "-lpoolscope" "$WORK/pc" || fail "poolscope.pc does not link the library: $(cat "$WORK/pc")"
# A program can use the public API header with nothing but the installed include directory.
printf '#include <poolscope/poolscope.h>\n#include <poolscope/trace_format.h>\nint main(void) { return 0; }\n' >"$WORK/api.cc"
c++ -std=c++20 -I"$root$prefix/include" -fsyntax-only "$WORK/api.cc" || fail "public headers do not compile"
# The installed CLI runs a program on the installed library (named explicitly: the build-tree
# path baked into it would otherwise win).
POOLSCOPE_LIB=$root$prefix/$libdir/libpoolscope.so "$root$prefix/bin/poolscope" run --trace off \
  --stats -- true 2>"$WORK/err" || fail "installed CLI failed: $(cat "$WORK/err")"
grep -q "poolscope: stats" "$WORK/err" || fail "installed library did not run: $(cat "$WORK/err")"
echo "ok: installed under $prefix (DESTDIR $root)"
