#!/bin/bash
# keel's release binary runs in the guest: `keel-analyze verify` of the example units
# (copied into the initramfs) on a system whose /etc has no units at all.
# vm: timeout=60
set -euo pipefail
trap 'echo "FAILED: line $LINENO: $BASH_COMMAND (status $?)"' ERR
units=/usr/share/keel/examples/units
test ! -e /etc/systemd
keel-analyze --version
keel-analyze verify "$units"
keel-analyze verify --dump "$units/web.service" | grep -q "ExecStart"
echo "keel-analyze: ok"
