#!/usr/bin/env bash
# Container start: render the config the way the rootfs runner's caller does
# (stadtruf.asterisk.instance), then run Asterisk in the foreground.
#
#   STADTRUF_OVERLAY   empty: the ServiceCenter; "testcaller": the test carrier; "testagents":
#                      the test agents' phones (overlays on the base templates, see their README)
#   STADTRUF_BIND_ADDRESS, STADTRUF_SIP_PORT, STADTRUF_HTTP_PORT, STADTRUF_RTP_START,
#   STADTRUF_RTP_END, STADTRUF_ARI_USER, STADTRUF_ARI_PASSWORD and the overlay's own
#   (STADTRUF_CARRIER_ADDRESS ... ): every @@NAME@@ of the templates; a missing one stops the start.
#
# /stadtruf is the instance directory (a volume): generated/*.conf are linked into etc/
# (stadtruf-numbers.conf, pjsip_agents.conf, pjsip_phones.conf: `stadtruf asterisk render`
# writes them; a link, so that `render --reload` takes effect without a restart), sounds/ holds
# the rendered prompts, and Asterisk writes log/, db/, spool/ there.
set -euo pipefail
templates=(/opt/stadtruf/templates/asterisk)
for overlay in ${STADTRUF_OVERLAY:-}; do
  [ -d "/opt/stadtruf/templates/$overlay" ] || {
    echo "docker-entrypoint: unknown STADTRUF_OVERLAY $overlay (testcaller, testagents)" >&2
    exit 2
  }
  templates+=("/opt/stadtruf/templates/$overlay")
done
# The ServiceCenter's RTP range and call limit come from service-center.yaml (capacity:), via
# the capacity.env that `stadtruf asterisk render` writes; they win over the environment.
if [ -f /stadtruf/generated/capacity.env ]; then set -a; . /stadtruf/generated/capacity.env; set +a; fi
etc=/stadtruf/etc
rm -rf "$etc"
/opt/stadtruf/render-config.sh "$etc" "${templates[@]}"
cp -r /opt/stadtruf/dialplan "$etc/dialplan"
for f in /stadtruf/generated/*.conf; do
  [ -e "$f" ] && ln -s "$f" "$etc/$(basename "$f")"
done
# The rendered files hold the ARI password.
chmod -R go-rwx "$etc"
mkdir -p /stadtruf/db /stadtruf/spool/recording /stadtruf/run /stadtruf/log

# Asterisk looks up its own host name on start and per call: it must be in /etc/hosts, or every
# call waits for DNS (Docker's copy of the host's file may lack it).
host=$(hostname)
if ! grep -qE "[[:space:]]$host([[:space:]]|\$)" /etc/hosts; then
  echo "127.0.1.1 $host" >>/etc/hosts \
    || echo "docker-entrypoint: cannot add $host to /etc/hosts; calls may wait for DNS" >&2
fi
exec /usr/sbin/asterisk -f -C "$etc/asterisk.conf"
