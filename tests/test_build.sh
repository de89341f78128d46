#!/usr/bin/env bash
# The binary's own front door: --help, --version, unknown commands.
. "$(dirname "$0")/lib.sh"
check "casbench --help exits 0" "$CASBENCH" --help
check_eq "--help documents the exit statuses" 1 "$("$CASBENCH" --help | grep -c '^exit status:')"
check "casbench --version names the commit" bash -c "'$CASBENCH' --version | grep -Eq '^casbench [0-9]+\.[0-9]+\.[0-9]+ \(commit [0-9a-f]+|unknown\)'"
check_error "unknown command" 1 "$CASBENCH" frobnicate
check_error "no command" 1 "$CASBENCH"
