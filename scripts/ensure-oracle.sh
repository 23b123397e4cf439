#!/usr/bin/env bash
# Make sure `gupcheck oracle` can boot Debian's stock 6.1 and 6.12 kernels for test/oracle/.
# Part of `npm test` (the pretest script), so a fresh machine needs nothing done by hand:
# `gupcheck oracle --prepare` installs the Debian packages it needs when missing (qemu-system-x86,
# busybox-static, liburing-dev, gcc, e2fsprogs, xfsprogs, btrfs-progs; apt-get, saying so),
# downloads the two kernel packages into ~/.cache/gupcheck/oracle (GUPCHECK_CACHE_DIR), makes
# the ext4/xfs/btrfs images and builds the guest probe. Nothing is booted here.
#
# Exit status: 0 when everything is ready; otherwise gupcheck's own error (exit 4: what is
# missing and how to get it).
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/gupcheck.mjs oracle --prepare --kernel 6.1,6.12 >&2
