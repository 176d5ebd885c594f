#!/bin/bash
# The bash completion of lpc (shell/completion/lpc): its option lists match
# `lpc COMMAND --help`, and PORT completes below the mount. No mount is
# needed: a directory stands in for it.
#
#   completion.sh LPC_BINARY COMPLETION_FILE
set -u
LPC=${1:?usage: $0 LPC_BINARY COMPLETION_FILE}
COMPLETION=${2:?usage: $0 LPC_BINARY COMPLETION_FILE}
# shellcheck source=checks.sh
. "$(dirname "$0")/checks.sh"
TMP=$(mktemp -d /tmp/lpc-completion.XXXXXX)
trap 'rm -rf "$TMP"' EXIT


# shellcheck source=../../shell/completion/lpc
. "$COMPLETION"

# The candidates for the last word of the line, sorted, one per line.
complete_line() {
  COMP_WORDS=("$@")
  COMP_CWORD=$(($# - 1))
  COMP_LINE="$*"
  COMP_POINT=${#COMP_LINE}
  COMPREPLY=()
  # compopt works only inside a real completion; its complaint is noise here.
  _lpc 2>/dev/null
  printf '%s\n' "${COMPREPLY[@]}" | sort
}

# The options a help text lists ("  -m, --mount DIR ..."), sorted.
help_options() {
  grep -oE '^ +(-[a-zA-Z], )?--[a-z-]+' | tr -s ' ,' '\n' | grep . | sort
}

# Commands: those of `lpc --help`, and the top-level options.
want=$("$LPC" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF {print $1}'
       printf '%s\n' -h --help --version)
check_eq "lpc <TAB>: the commands of lpc --help" "$(sort <<<"$want")" \
  "$(complete_line lpc '')"
check_eq "lpc help <TAB>" "$(printf '%s\n' call ls monitor serve stat top wait)" \
  "$(complete_line lpc help '')"

for command in serve call wait ls stat top monitor; do
  check_eq "lpc $command -<TAB>: the options of lpc $command --help" \
    "$("$LPC" "$command" --help | help_options)" \
    "$(complete_line lpc "$command" -)"
done

# A stand-in mount: two ports, a folder with a port, and the dot files.
mnt=$TMP/mnt
mkdir -p "$mnt/svc" "$mnt/.conn" "$TMP/other/elsewhere"
touch "$mnt/echo" "$mnt/upper" "$mnt/svc/echo" "$mnt/.stats" \
  "$TMP/other/port"
export LPC_MOUNT=$mnt

check_eq "lpc call <TAB>: ports and folders, no dot files" \
  "$(printf '%s\n' echo svc/ upper)" "$(complete_line lpc call '')"
check_eq "lpc call e<TAB>" "echo" "$(complete_line lpc call e)"
check_eq "lpc call svc/<TAB>: inside a folder" "svc/echo" \
  "$(complete_line lpc call svc/)"
check_eq "lpc call .<TAB>: dot files when asked" \
  "$(printf '%s\n' .conn/ .stats)" "$(complete_line lpc call .)"
check_eq "lpc call -t 2 -l <TAB>: after options" \
  "$(printf '%s\n' echo svc/ upper)" "$(complete_line lpc call -t 2 -l '')"
check_eq "lpc call -- <TAB>" "$(printf '%s\n' echo svc/ upper)" \
  "$(complete_line lpc call -- '')"
check_eq "lpc call echo <TAB>: messages, nothing to offer" "" \
  "$(complete_line lpc call echo '')"
check_eq "lpc stat u<TAB>" "upper" "$(complete_line lpc stat u)"
check_eq "lpc ls <TAB>: no operand" "" "$(complete_line lpc ls '')"
check_eq "lpc monitor <TAB>: ports and folders" \
  "$(printf '%s\n' echo svc/ upper)" "$(complete_line lpc monitor '')"
check_eq "lpc monitor echo <TAB>: more ports" \
  "$(printf '%s\n' echo svc/ upper)" "$(complete_line lpc monitor echo '')"
check_eq "lpc monitor --payload <TAB>: the formats" "$(printf '%s\n' hex text)" \
  "$(complete_line lpc monitor --payload '')"
check_eq "lpc monitor -c 5 --json <TAB>" "$(printf '%s\n' echo svc/ upper)" \
  "$(complete_line lpc monitor -c 5 --json '')"
check_eq "lpc stat --mount DIR <TAB>: that mount" "$(printf '%s\n' elsewhere/ port)" \
  "$(complete_line lpc stat --mount "$TMP/other" '')"
check_eq "lpc call -m DIR <TAB>" "$(printf '%s\n' elsewhere/ port)" \
  "$(complete_line lpc call -m "$TMP/other" '')"
check_eq "lpc call --mount=DIR <TAB>" "$(printf '%s\n' elsewhere/ port)" \
  "$(complete_line lpc call "--mount=$TMP/other" '')"
check_eq "lpc call /abs<TAB>: a path like any other" "$TMP/other/port" \
  "$(complete_line lpc call "$TMP/other/p")"
check_eq "lpc call --mount <TAB>: directories" "$TMP/other/elsewhere" \
  "$(complete_line lpc call --mount "$TMP/other/e")"
check_eq "lpc call -u ro<TAB>: users" "root" \
  "$(complete_line lpc call -u ro | grep -x root)"

check_eq "lpc serve <TAB>: folders only (the port is new)" "svc/" \
  "$(complete_line lpc serve '')"
check_eq "lpc serve -M 0600 <TAB>" "svc/" \
  "$(complete_line lpc serve -M 0600 '')"
check_eq "lpc serve PORT <TAB>: the required --" "--" \
  "$(complete_line lpc serve svc/new '')"
check_eq "lpc serve PORT -- ca<TAB>: commands" "cat" \
  "$(complete_line lpc serve svc/new -- ca | grep -x cat)"

if [ "$failures" -ne 0 ]; then
  echo "$failures check(s) failed" >&2
  exit 1
fi
