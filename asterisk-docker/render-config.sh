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

# ari.conf keeps the ARI password only as a crypt(3) hash (password_format = crypt): a copy of
# the config (backup, support ticket) does not give away the password. Derived here from
# STADTRUF_ARI_PASSWORD unless given; perl is in every Debian system (perl-base), the container
# included. The password goes in by environment, not argv, so that ps does not show it.
# Asterisk checks the hash on every ARI request (~24 per call), so the hash must be cheap: as
# SHA-512 crypt at its default 5000 rounds that was 2.6 ms a check, ~65 ms of Asterisk CPU per
# call, more than half the whole native call flow; even at its minimum of 1000 rounds 0.5 ms,
# a third of a core at 60 calls/s (docs/benchmarks-flow.md, decisions #15). sha1crypt ($sha1$,
# HMAC-SHA1 iterated, in Debian's libcrypt) lets us choose the count: 64 iterations cost
# 0.05 ms. What stands against guessing the password from a copied hash is its length: ARI
# passwords under 20 characters are refused (stadtruf.core.credentials.ARI_MIN_LENGTH),
# `stadtruf up` makes random ones.
ITERATIONS=64
if [ -z "${STADTRUF_ARI_PASSWORD_CRYPT-}" ] && [ -n "${STADTRUF_ARI_PASSWORD-}" ]; then
  salt=$(head -c 12 /dev/urandom | base64 | tr '+' '.')
  STADTRUF_ARI_PASSWORD_CRYPT=$(SALT=$salt ITERATIONS=$ITERATIONS perl -e 'print crypt($ENV{STADTRUF_ARI_PASSWORD}, q($sha1$) . $ENV{ITERATIONS} . q($) . $ENV{SALT} . q($))')
  case $STADTRUF_ARI_PASSWORD_CRYPT in
    '$sha1$'*) ;;
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
