#!/usr/bin/env bash
# Render Asterisk config templates into an instance's etc directory.
#
#   render-config.sh OUT_DIR SRC_DIR [OVERLAY_DIR ...]
#
# Copies every *.conf of SRC_DIR, then of each OVERLAY_DIR (same name replaces), into OUT_DIR
# and replaces each @@NAME@@ with the environment variable STADTRUF_NAME. A placeholder whose
# variable is unset or empty is an error: an instance must never start with a half-filled
# config (for instance an ARI user without a password). Used by the Docker entrypoint and by
# rootfs.sh alike, so both run the same configuration.
set -euo pipefail

[ $# -ge 2 ] || { echo "usage: $0 OUT_DIR SRC_DIR [OVERLAY_DIR ...]" >&2; exit 2; }
out=$1; shift
mkdir -p "$out"
for src in "$@"; do
  for f in "$src"/*.conf; do
    [ -e "$f" ] || continue
    cp "$f" "$out/"
  done
done

# ari.conf keeps the ARI password only as a SHA-512 crypt hash (password_format = crypt): a
# copy of the config (backup, support ticket) does not give away the password. Derived here
# from STADTRUF_ARI_PASSWORD unless given; perl is in every Debian system (perl-base), the
# container included, and crypt(3) there knows $6$. The password goes in by environment, not
# argv, so that ps does not show it.
# Asterisk checks the hash on every ARI request (~24 per call): at crypt's default 5000 rounds
# that was 2.6 ms each, about 65 ms of Asterisk CPU per call, more than half of what the whole
# native call flow costs (docs/benchmarks.md). 1000 rounds (crypt's minimum) cost 0.5 ms; the
# password must be a long random secret (as `stadtruf up` makes; docs/security.md), so the rounds
# add nothing against guessing it.
ROUNDS=1000
if [ -z "${STADTRUF_ARI_PASSWORD_CRYPT-}" ] && [ -n "${STADTRUF_ARI_PASSWORD-}" ]; then
  salt=$(head -c 12 /dev/urandom | base64 | tr '+' '.')
  STADTRUF_ARI_PASSWORD_CRYPT=$(SALT=$salt ROUNDS=$ROUNDS perl -e 'print crypt($ENV{STADTRUF_ARI_PASSWORD}, q($6$rounds=) . $ENV{ROUNDS} . q($) . $ENV{SALT})')
  case $STADTRUF_ARI_PASSWORD_CRYPT in
    '$6$'*) ;;
    *) echo "render-config: could not hash the ARI password (perl crypt)" >&2; exit 1 ;;
  esac
fi

missing=0
for f in "$out"/*.conf; do
  for name in $(grep -o '@@[A-Z0-9_]*@@' "$f" | sort -u | tr -d '@'); do
    var="STADTRUF_$name"
    value=${!var-}
    if [ -z "$value" ] && [ "$name" = ARI_PASSWORD_CRYPT ]; then
      echo "render-config: $f needs \$STADTRUF_ARI_PASSWORD (kept there only as its crypt hash), which is not set" >&2
      missing=1
      continue
    fi
    if [ -z "$value" ]; then
      echo "render-config: $f needs \$$var, which is not set" >&2
      missing=1
      continue
    fi
    # The value goes into a sed replacement: escape its special characters.
    escaped=$(printf '%s' "$value" | sed -e 's/[\/&|]/\\&/g')
    sed -i "s|@@${name}@@|${escaped}|g" "$f"
  done
done
exit $missing
