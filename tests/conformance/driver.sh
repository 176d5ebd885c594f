#!/bin/bash
# Conformance driver in bash: runs scenarios.tsv against MOUNT.
#
#   driver.sh SCENARIOS MOUNT
#
# Prints "NAME<TAB>RESULTS" per scenario (scenarios.tsv says how).
# connect is a redirection (exec 3<>PORT) and write is printf, one write(2).
# bash has no builtin that does one read(2) of N bytes (read -N N waits for
# N bytes, across messages), so a read step is `dd bs=N count=1`. bash
# cannot poll: read -t has no effect on regular files (lpc.7 BUGS), so
# scenarios with a poll step are skipped. And <> always opens with O_CREAT,
# so a missing port fails ECONNREFUSED rather than ENOENT (run.sh).
set -u
table=$1
mount=$2
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT

# The errno names of the texts bash prints for a failed redirection.
errno_name() {
  case "$1" in
  *"No such file or directory") echo ENOENT ;;
  *"Connection refused") echo ECONNREFUSED ;;
  *"Permission denied") echo EACCES ;;
  *"Connection timed out") echo ETIMEDOUT ;;
  *) echo "unknown error: $1" ;;
  esac
}

# run STEPS: one scenario on descriptor 3; prints its results.
run() {
  local steps=$1 results=() step op arg data
  if [[ "; $steps" == *"; poll "* ]]; then
    echo "skip: bash cannot poll (read -t ignores regular files, lpc.7 BUGS)"
    return
  fi
  while [ -n "$steps" ]; do
    step=${steps%%; *}
    if [ "$step" = "$steps" ]; then steps=""; else steps=${steps#*; }; fi
    op=${step%% *}
    arg=${step#* }
    case "$op" in
    connect)
      # The braces keep 2> to this line; exec's 3<> stays for the scenario.
      if ! { exec 3<>"$mount/$arg"; } 2>"$errors"; then
        results+=("$(errno_name "$(cat "$errors")")")
        break
      fi
      results+=(ok)
      ;;
    write)
      printf '%b' "$arg" >&3 && results+=(ok)
      ;;
    read)
      # The x keeps a trailing newline from being cut by $( ).
      data=$(dd bs="$arg" count=1 status=none <&3; printf x)
      data=${data%x}
      if [ -z "$data" ]; then results+=(eof); else results+=("${data//$'\n'/\\n}"); fi
      ;;
    *)
      results+=("unknown step $step")
      ;;
    esac
  done
  exec 3>&-
  echo "${results[*]}"
}

while IFS=$'\t' read -r name steps _; do
  [[ -z "$name" || "$name" == "#"* ]] && continue
  printf '%s\t%s\n' "$name" "$(run "$steps")"
done <"$table"
