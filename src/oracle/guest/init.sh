#!/bin/busybox sh
# gupcheck oracle: /init of the guest's initramfs (built by src/oracle/initramfs.ts).
# Mounts what the probe cases need, loads the kernel's modules listed in /modules.order,
# runs /probe over /cases and resets the machine (QEMU runs with -no-reboot, so it exits; a
# tinyconfig kernel has no ACPI to power off with). Every step that fails says so on the result port
# (/dev/ttyS1), so the host reports a clear error instead of a result that did not run.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
out=/dev/ttyS1
say() { echo "GUPCHECK-ORACLE $*" > $out; }
stty -F $out raw -echo 2>/dev/null
say BOOTED
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mkdir -p /tmp /dev/hugepages /mnt/ext4 /mnt/xfs /mnt/btrfs
mount -t tmpfs tmpfs /tmp || say "STEP-FAILED mount-tmpfs"
mount -t hugetlbfs hugetlbfs /dev/hugepages || say "STEP-FAILED mount-hugetlbfs"
for m in $(cat /modules.order); do
  insmod /lib/modules/$m 2>/tmp/insmod.err || say "STEP-FAILED insmod $m $(tr '\n' ' ' < /tmp/insmod.err)"
done
# The disks, in the order the host attaches them.
set -- $(cat /disks)
for fs in "$@"; do
  case $fs in ext4) dev=/dev/vda ;; xfs) dev=/dev/vdb ;; btrfs) dev=/dev/vdc ;; *) continue ;; esac
  i=0; while [ ! -b $dev ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
  mount -t $fs $dev /mnt/$fs 2>/tmp/mount.err || say "STEP-FAILED mount-$fs $(tr '\n' ' ' < /tmp/mount.err)"
done
echo "$(cat /proc/sys/vm/nr_hugepages)" > /tmp/nrhuge; say "HUGEPAGES $(cat /tmp/nrhuge)"
/probe /cases $out "$(cat /gupapi)" || say "STEP-FAILED probe-exit $?"
sync
say REBOOT
reboot -f
