#!/usr/bin/env bash
# Build lsck against Debian 12's kernel headers, boot Debian's own 6.1 kernel
# in QEMU (TCG) with a busybox initramfs that loads the module and tests it on
# real loopback traffic, and check the VM's "N passed, N failed" line.
#
# Installs what it needs (root, Debian): linux-headers-amd64, sparse,
# qemu-system-x86, busybox-static, cpio, gcc; fetches the matching kernel
# image package with `apt-get download` and unpacks only vmlinuz.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
module_dir="$(dirname "$here")"
expected=49
work="${LSCK_VM_WORK:-$(mktemp -d)}"
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"   # apt-get download runs as _apt and must reach it

need=()
for pkg in linux-headers-amd64 sparse qemu-system-x86 busybox-static cpio gcc libc6-dev kmod; do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

kver=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 | grep -oE 'linux-headers-[0-9][^ ,]*-amd64' | head -1 | sed 's/^linux-headers-//')
echo "kernel ABI: $kver"

echo "== build (W=1, sparse)"
make -s -C "$module_dir" clean KVER="$kver" >/dev/null
make_log=$(make -C "/lib/modules/$kver/build" M="$module_dir" W=1 C=2 modules 2>&1)
if echo "$make_log" | grep -E "warning:|error:" ; then
    echo "build produced warnings (W=1 / sparse): failing" >&2
    exit 1
fi
test -f "$module_dir/lsck.ko"

echo "== checkpatch --strict (from Debian's linux-source-6.1, only the script and its data)"
src_ver=${kver%%-amd64}; src_ver=${src_ver%.0-*}
(cd "$work" && apt-get download -q "linux-source-$src_ver" >/dev/null 2>&1)
dpkg-deb --fsys-tarfile "$work"/linux-source-*.deb | tar -x -C "$work" --wildcards './usr/src/linux-source-*.tar.xz'
tar -xJf "$work"/usr/src/linux-source-*.tar.xz -C "$work" --wildcards \
    '*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch'
rm -f "$work"/usr/src/linux-source-*.tar.xz "$work"/linux-source-*.deb
perl "$work"/linux-source-*/scripts/checkpatch.pl --strict --no-tree -q -f \
    "$module_dir"/lsck_*.c "$module_dir"/lsck.h "$here"/lsck_probe.c
echo "checkpatch: clean"

echo "== kernel image"
(cd "$work" && { apt-get download -q "linux-image-$kver-unsigned" >/dev/null 2>&1 || apt-get download -q "linux-image-$kver" >/dev/null 2>&1; })
dpkg-deb --fsys-tarfile "$work"/linux-image-*.deb | tar -x -C "$work" --wildcards './boot/vmlinuz-*'
vmlinuz=$(ls "$work"/boot/vmlinuz-*)

echo "== initramfs"
root="$work/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev}
cp /bin/busybox "$root/bin/busybox"
for applet in sh ip ping awk wc grep sleep cat mount insmod rmmod dmesg poweroff; do
    ln -s busybox "$root/bin/$applet"
done
gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/lsck_probe" "$here/lsck_probe.c"
cp "$module_dir/lsck.ko" "$root/lsck.ko"
cp "$here/vm_init.sh" "$root/init"
# Optionally, a batch rendered by the Python toolkit (`lsck module push`'s
# exact bytes), applied in the VM to prove the two halves speak one protocol.
if [ -n "${LSCK_USERSPACE_BATCH:-}" ]; then
    cp "$LSCK_USERSPACE_BATCH" "$root/userspace.batch"
    expected=$((expected + 2))
fi
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1 > "$work/initramfs.gz")

echo "== boot"
start=$(date +%s)
timeout 600 qemu-system-x86_64 -accel tcg -m 512 -smp 2 -nic none -nographic -no-reboot \
    -kernel "$vmlinuz" -initrd "$work/initramfs.gz" \
    -append "console=ttyS0 panic=-1 quiet loglevel=3" > "$work/serial.log" 2>&1 || true
echo "booted and tested in $(( $(date +%s) - start )) s"
tr -d '\r' < "$work/serial.log" > "$work/serial.txt"  # the serial console ends lines with CR LF
grep -aE "^(ok|FAIL) " "$work/serial.txt" || true
sed -n '/^BEGIN-PROC-RULES$/,/^END-PROC-RULES$/p' "$work/serial.txt"
summary=$(grep -aoE "^[0-9]+ passed, [0-9]+ failed" "$work/serial.txt" | tail -1 || true)
if [ -z "$summary" ]; then
    echo "no summary line from the VM; serial log tail:" >&2
    tail -40 "$work/serial.txt" >&2
    exit 1
fi
echo "$summary"
passed=${summary%% passed*}
failed=$(echo "$summary" | sed -E 's/.* ([0-9]+) failed/\1/')
if [ "$failed" != 0 ] || [ "$passed" != "$expected" ]; then
    echo "expected $expected passed, 0 failed" >&2
    exit 1
fi
