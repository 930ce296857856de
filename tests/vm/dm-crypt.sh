#!/bin/bash
# dm-crypt works: LUKS2 on the VM's blank virtio disk, opened, written through the mapping,
# read back; the plaintext is not on the raw disk. Then keel-cryptenroll enrols a password and
# a recovery key on the block device and wipes the original slot: the kernel's dm-crypt opens
# the volume with each new secret (same data read back), and the old passphrase is gone.
# vm: disk=32M timeout=90
set -euo pipefail
step() { echo "== $* (uptime $(cut -d" " -f1 /proc/uptime))"; }
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
test -b /dev/vda
key=/tmp/key
printf 'keel-vm-passphrase' > "$key"
step luksFormat
cryptsetup luksFormat --batch-mode --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 \
    --key-file "$key" /dev/vda
step open
cryptsetup open --key-file "$key" /dev/vda keelsec
dmsetup table keelsec | grep -q " crypt aes-xts-plain64 "
msg="keel-plaintext-$RANDOM$RANDOM"
printf '%s' "$msg" | dd of=/dev/mapper/keelsec bs=4096 conv=sync,fsync status=none
test "$(head -c "${#msg}" /dev/mapper/keelsec)" = "$msg"
step close
cryptsetup close keelsec
test ! -e /dev/mapper/keelsec
cryptsetup luksDump /dev/vda | grep -q "^Version:.*2"
# The first data block on the raw disk (after the LUKS2 header) holds ciphertext.
off=$(cryptsetup luksDump /dev/vda | awk '/^Data segments:/ {d = 1} d && /offset:/ {print $2; exit}')
echo "data offset: $off bytes"
raw=$(dd if=/dev/vda bs=4096 skip=$((off / 4096)) count=1 status=none | od -An -c | tr -d ' \n')
case "$raw" in
    *keel-plaintext*) echo "plaintext found on the raw disk"; exit 1 ;;
    '') echo "nothing read from the raw disk"; exit 1 ;;
esac
if [ "$(dd if=/dev/vda bs=4096 skip=$((off / 4096)) count=1 status=none | tr -d '\0' | wc -c)" -eq 0 ]; then
    echo "raw data block is all zeros: nothing was encrypted there"
    exit 1
fi

step keel-cryptenroll
test "$(keel-cryptenroll /dev/vda)" = "$(printf 'SLOT TYPE\n   0 password')"
PASSWORD=keel-vm-passphrase NEWPASSWORD=keel-new-password keel-cryptenroll --password \
    --pbkdf=argon2id --pbkdf-memory=32 --pbkdf-force-iterations=4 --pbkdf-parallel=1 /dev/vda
PASSWORD=keel-new-password keel-cryptenroll --recovery-key /dev/vda > /tmp/recovery
grep -Eq '^([cbdefghijklnrtuv]{8}-){7}[cbdefghijklnrtuv]{8}$' /tmp/recovery
keel-cryptenroll --wipe-slot=0 /dev/vda
test "$(keel-cryptenroll /dev/vda)" = "$(printf 'SLOT TYPE\n   1 password\n   2 recovery')"
cryptsetup luksDump /dev/vda | grep -q 'systemd-recovery'
for secret in keel-new-password "$(cat /tmp/recovery)"; do
    printf '%s' "$secret" > "$key"
    cryptsetup open --key-file "$key" /dev/vda keelsec
    test "$(head -c "${#msg}" /dev/mapper/keelsec)" = "$msg"
    cryptsetup close keelsec
done
printf 'keel-vm-passphrase' > "$key"
if cryptsetup open --test-passphrase --key-file "$key" /dev/vda; then
    echo "the wiped slot's passphrase still opens the volume"
    exit 1
fi
echo "dm-crypt: ok"
