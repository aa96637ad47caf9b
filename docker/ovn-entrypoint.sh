#!/bin/sh
# Starts one role of the compose stack's OVN side and then follows its logs, so the container lives as long as
# the daemons do (the ctl scripts daemonize them).
set -eu
ovn_ctl=/usr/share/ovn/scripts/ovn-ctl
ovs_ctl=/usr/share/openvswitch/scripts/ovs-ctl
role="${1:-central}"
case "$role" in
  central)
    "$ovn_ctl" --db-nb-create-insecure-remote=yes --db-sb-create-insecure-remote=yes start_northd
    logs="/var/log/ovn/ovsdb-server-nb.log /var/log/ovn/ovsdb-server-sb.log /var/log/ovn/ovn-northd.log"
    ;;
  node)
    : "${OVN_REMOTE:?set OVN_REMOTE to the Southbound database, e.g. tcp:ovn-central:6642}"
    "$ovs_ctl" --no-ovs-vswitchd start --system-id="${OVN_SYSTEM_ID:-$(hostname)}"
    "$ovs_ctl" --no-ovsdb-server start
    encap_ip="${OVN_ENCAP_IP:-$(hostname -i | cut -d' ' -f1)}"
    ovs-vsctl set open_vswitch . \
      external_ids:ovn-remote="$OVN_REMOTE" \
      external_ids:ovn-encap-type=geneve \
      external_ids:ovn-encap-ip="$encap_ip" \
      external_ids:ovn-bridge-datapath-type=netdev
    "$ovn_ctl" start_controller
    logs="/var/log/openvswitch/ovs-vswitchd.log /var/log/ovn/ovn-controller.log"
    ;;
  *)
    echo "usage: $0 central|node" >&2
    exit 2
    ;;
esac
# shellcheck disable=SC2086
exec tail -F $logs
