#!/bin/bash
# A swtpm TPM 2.0 is attached: /dev/tpm0 and /dev/tpmrm0 exist, and TPM2_GetRandom sent
# as raw bytes through the resource manager answers TPM_RC_SUCCESS with 8 bytes.
# vm: tpm timeout=60
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
test -c /dev/tpm0
test -c /dev/tpmrm0
grep -qx 2 /sys/class/tpm/tpm0/tpm_version_major
exec 3<>/dev/tpmrm0
# tag TPM_ST_NO_SESSIONS, size 12, TPM_CC_GetRandom, bytesRequested 8
printf '\x80\x01\x00\x00\x00\x0c\x00\x00\x01\x7b\x00\x08' >&3
resp=$(dd bs=64 count=1 <&3 2>/dev/null | od -An -tx1 | tr -d ' \n')
exec 3>&-
echo "GetRandom response: $resp"
# tag 8001, size 20, rc 0, TPM2B size 8, 8 bytes
[[ $resp =~ ^800100000014000000000008[0-9a-f]{16}$ ]]
echo "tpm: ok"
