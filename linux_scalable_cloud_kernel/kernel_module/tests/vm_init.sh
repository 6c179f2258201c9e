#!/bin/sh
# /init of the test VM: load lsck, check it against real traffic on loopback,
# unload it, print one "N passed, N failed" line and power off.
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
ip link set lo up
ip -6 addr add 2001:db8::1/128 dev lo
ip -6 addr add 2001:db8:1::5/128 dev lo
sleep 2   # let IPv6 duplicate address detection settle on lo

PASS=0
FAIL=0
check() {  # check NAME EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then
        PASS=$((PASS + 1)); echo "ok   $1"
    else
        FAIL=$((FAIL + 1)); echo "FAIL $1: expected '$2', got '$3'"
    fi
}
cmd() { lsck_probe write "$1"; }
conn() { lsck_probe connect "$1"; }
field() {  # field RULE KEY: a value from /proc/lsck/rules
    awk -v r="$1" -v k="$2" '$1 == r { for (i = 2; i < NF; i += 2) if ($i == k) print $(i + 1) }' /proc/lsck/rules
}

insmod /lsck.ko max_rules=8
check "load" "0" "$?"
check "device exists" "yes" "$([ -c /dev/lsck ] && echo yes)"
check "baseline passes" "open" "$(conn 127.0.0.2)"

check "add IPv4 exact" "ok" "$(cmd 'add 127.0.0.2')"
check "IPv4 exact dropped" "blocked" "$(conn 127.0.0.2)"
check "other source passes" "open" "$(conn 127.0.0.3)"

cmd 'add 127.0.0.4' >/dev/null
ping -c 3 -W 1 -I 127.0.0.4 127.0.0.1 >/dev/null 2>&1
check "ping counted: hits" "3" "$(field 127.0.0.4 hits)"
check "ping counted: bytes" "252" "$(field 127.0.0.4 bytes)"
check "stats drops" "yes" "$(awk '$1 == "dropped_ipv4" && $2 >= 4 { print "yes" }' /proc/lsck/stats)"

check "add IPv4 CIDR" "ok" "$(cmd 'add 127.0.1.0/24')"
check "CIDR member dropped" "blocked" "$(conn 127.0.1.9)"
check "outside CIDR passes" "open" "$(conn 127.0.2.1)"

check "add IPv6 exact" "ok" "$(cmd 'add 2001:db8::1')"
check "IPv6 exact dropped" "blocked" "$(conn 2001:db8::1)"
check "IPv6 other passes" "open" "$(conn ::1)"
check "add IPv6 prefix" "ok" "$(cmd 'add 2001:db8:1::/48')"
check "IPv6 prefix dropped" "blocked" "$(conn 2001:db8:1::5)"

check "del restores" "ok" "$(cmd 'del 127.0.0.2')"
check "deleted source passes" "open" "$(conn 127.0.0.2)"
check "del missing rule" "ENOENT" "$(cmd 'del 127.0.0.99')"

check "flush" "ok" "$(cmd 'flush')"
check "flush restores CIDR" "open" "$(conn 127.0.1.9)"
check "flush restores IPv6" "open" "$(conn 2001:db8:1::5)"
check "no rules after flush" "0" "$(wc -l < /proc/lsck/rules)"

check "add with ttl" "ok" "$(cmd 'add 127.0.0.5 ttl 5')"
check "ttl rule dropped" "blocked" "$(conn 127.0.0.5)"
sleep 8
check "ttl expired passes" "open" "$(conn 127.0.0.5)"
check "expired rule gone" "" "$(field 127.0.0.5 hits)"

check "bad batch refused" "EINVAL" "$(cmd 'batch\nadd 127.0.0.6\nadd 127.0.0.300\n')"
check "bad batch applied nothing" "open" "$(conn 127.0.0.6)"
check "good batch" "ok" "$(cmd 'batch\nadd 127.0.0.6\nadd 127.0.0.7\n')"
check "batch rule 1" "blocked" "$(conn 127.0.0.6)"
check "batch rule 2" "blocked" "$(conn 127.0.0.7)"

for bad in 'add' 'add 1.2.3.4/33' 'add 10.0.0.1/8' 'frobnicate 1.2.3.4' 'add 1.2.3.4 ttl 0' 'add 1.2.3.4\nadd 5.6.7.8'; do
    check "malformed '$bad'" "EINVAL" "$(cmd "$bad")"
done
check "malformed changed nothing" "2" "$(wc -l < /proc/lsck/rules)"

check "rule limit" "ENOSPC" "$(cmd 'batch\nadd 10.0.0.1\nadd 10.0.0.2\nadd 10.0.0.3\nadd 10.0.0.4\nadd 10.0.0.5\nadd 10.0.0.6\nadd 10.0.0.7\n')"
check "limit applied nothing" "2" "$(wc -l < /proc/lsck/rules)"

cmd 'batch\nadd 127.0.3.0/24\nadd 127.0.3.7 allow\n' >/dev/null
check "allowlist wins" "open" "$(conn 127.0.3.7)"
check "rest of prefix dropped" "blocked" "$(conn 127.0.3.8)"

cmd 'add 127.0.0.9' >/dev/null
check "second netns dropped" "blocked" "$(lsck_probe netns 127.0.0.9)"
check "second netns others pass" "open" "$(lsck_probe netns 127.0.0.10)"

if [ -f /userspace.batch ]; then
    cmd 'flush' >/dev/null
    check "userspace batch accepted" "ok" "$(lsck_probe write "$(cat /userspace.batch)")"
    check "userspace batch enforced" "blocked" "$(conn 127.0.4.4)"
    echo "BEGIN-PROC-RULES"
    cat /proc/lsck/rules
    echo "END-PROC-RULES"
fi

rmmod lsck
check "unload" "0" "$?"
check "device gone" "gone" "$([ -e /dev/lsck ] || echo gone)"
check "no leak or warning in dmesg" "0" "$(dmesg | grep -ciE 'leak|BUG:|WARNING:|refcount_t')"

echo "$PASS passed, $FAIL failed"
poweroff -f
