#!/usr/bin/env bash
# Container start: render the templates with the STADTRUF_* environment (as rootfs.sh's caller
# does), add the numbers dialplan that `stadtruf asterisk render` wrote into the shared
# /stadtruf/generated volume, and run Asterisk in the foreground. Without capacity.env there
# the ServiceCenter does not start (render-config.sh names the missing STADTRUF_RTP_START).
#   STADTRUF_TEMPLATES: "asterisk" (the ServiceCenter) or "asterisk testcaller" (test carrier)
set -euo pipefail
templates=()
for t in ${STADTRUF_TEMPLATES:-asterisk}; do templates+=("/opt/stadtruf/templates/$t"); done
# The ServiceCenter's RTP range and call limit come from service-center.yaml (capacity:), via
# the capacity.env that `stadtruf asterisk render` writes; they win over the environment.
if [ -f /stadtruf/generated/capacity.env ]; then set -a; . /stadtruf/generated/capacity.env; set +a; fi
rm -rf /stadtruf/etc
/opt/stadtruf/render-config.sh /stadtruf/etc "${templates[@]}"
cp -r /opt/stadtruf/dialplan /stadtruf/etc/dialplan
if [ -d /stadtruf/generated ]; then cp /stadtruf/generated/*.conf /stadtruf/etc/ 2>/dev/null || true; fi
mkdir -p /stadtruf/db /stadtruf/spool/recording /stadtruf/run /stadtruf/log
exec /usr/sbin/asterisk -f -C /stadtruf/etc/asterisk.conf
