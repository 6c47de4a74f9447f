#!/usr/bin/env bash
# Container start: render the templates with the STADTRUF_* environment (as rootfs.sh's caller
# does), add the numbers dialplan that `stadtruf asterisk render` wrote into the shared
# /stadtruf/generated volume, and run Asterisk in the foreground.
#   STADTRUF_TEMPLATES: "asterisk" (the ServiceCenter) or "asterisk testcaller" (test carrier)
set -euo pipefail
templates=()
for t in ${STADTRUF_TEMPLATES:-asterisk}; do templates+=("/opt/stadtruf/templates/$t"); done
rm -rf /stadtruf/etc
/opt/stadtruf/render-config.sh /stadtruf/etc "${templates[@]}"
cp -r /opt/stadtruf/dialplan /stadtruf/etc/dialplan
if [ -d /stadtruf/generated ]; then cp /stadtruf/generated/*.conf /stadtruf/etc/ 2>/dev/null || true; fi
mkdir -p /stadtruf/db /stadtruf/spool/recording /stadtruf/run /stadtruf/log
exec /usr/sbin/asterisk -f -C /stadtruf/etc/asterisk.conf
