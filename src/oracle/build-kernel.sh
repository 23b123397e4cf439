#!/bin/bash
# Builds a CONFIG_GUP_TEST kernel for `gupcheck oracle --build-kernel` (src/oracle/kernels.ts):
#   build-kernel.sh SOURCE_TARBALL BUILD_DIR FRAGMENT OUT_BZIMAGE
# SOURCE_TARBALL is unpacked into BUILD_DIR/linux once (then it may be '-'): a later build with
# another fragment, or after a failure, goes on in the same tree.
# tinyconfig plus FRAGMENT, every option of FRAGMENT checked after olddefconfig (a line that
# did not stick is an error, not a silently different kernel). Output goes to OUT_BZIMAGE
# only on success.
set -euo pipefail
src=$1 build=$2 frag=$3 out=$4
mkdir -p "$build"
cd "$build"
if [ ! -f .unpacked ]; then
  rm -rf linux
  mkdir linux
  tar -xf "$src" -C linux --strip-components=1
  touch .unpacked
fi
cd linux
make -s tinyconfig
scripts/kconfig/merge_config.sh -m .config "$frag" >/dev/null
make -s olddefconfig
bad=0
while IFS= read -r line; do
  case "$line" in ''|'#'*) continue ;; esac
  opt=${line%%=*} val=${line#*=}
  if [ "$val" = n ]; then
    if grep -q "^$opt=" .config; then echo "build-kernel: $opt is set but the fragment says n" >&2; bad=1; fi
  elif ! grep -qx "$line" .config; then
    echo "build-kernel: $line did not stick (.config has: $(grep "^$opt=\|# $opt is not set" .config || echo nothing))" >&2; bad=1
  fi
done < "$frag"
[ $bad = 0 ] || exit 4
make -j"${JOBS:-2}" bzImage
cp arch/x86/boot/bzImage "$out.tmp"
mv "$out.tmp" "$out"
