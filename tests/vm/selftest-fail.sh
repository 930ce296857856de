#!/bin/bash
# A scenario that fails on purpose: `cargo xtask vm selftest` checks that the harness
# reports it as a failure (exit status 3) and prints the guest log. Never part of `vm test`.
# vm: timeout=60
echo "keel-vm-selftest: failing on purpose"
exit 3
