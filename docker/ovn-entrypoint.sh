#!/bin/sh
# Entrypoint of the ycloud OVN image (Debian's OVN and Open vSwitch). One role per container:
#   nb | sb   one member of the clustered (RAFT) Northbound / Southbound database, in the foreground. Member 0 of
#             the StatefulSet creates the cluster, the others join it through member 0; the database file on the
#             volume keeps a member's identity across restarts.
#   northd    ovn-northd against the clustered databases, in the foreground.
#   node      ovsdb-server, ovs-vswitchd and ovn-controller of one node (host network), logs followed.
#   central   standalone NB, SB and northd in one container (docker-compose.yml; no RAFT).
# Settings come from the environment (deploy/base, the Helm chart):
#   POD_NAME, OVN_RAFT_DOMAIN  this member's stable DNS name is $POD_NAME.$OVN_RAFT_DOMAIN (headless Service)
#   OVN_NB_DB, OVN_SB_DB       client remotes, e.g. tcp:a:6641,tcp:b:6641 (northd, node)
#   OVN_REMOTE                 Southbound remote(s) for ovn-controller (node)
#   OVN_TLS=true               serve and dial ssl: with /etc/ovn/tls/{tls.key,tls.crt,ca.crt} (mutual TLS)
#   OVS_DATAPATH_TYPE          system (kernel module, default) or netdev (userspace)
set -eu
ovn_ctl=/usr/share/ovn/scripts/ovn-ctl
ovs_ctl=/usr/share/openvswitch/scripts/ovs-ctl
role="${1:-central}"
tls_dir=/etc/ovn/tls
proto=tcp
tls_args=""
if [ "${OVN_TLS:-false}" = true ]; then
  proto=ssl
  tls_args="--private-key=$tls_dir/tls.key --certificate=$tls_dir/tls.crt --ca-cert=$tls_dir/ca.crt"
fi

# Foreground clustered database: $1 is nb or sb.
run_db() {
  db=$1
  case "$db" in
    nb) port=6641 raft_port=6643 schema_name=OVN_Northbound ;;
    sb) port=6642 raft_port=6644 schema_name=OVN_Southbound ;;
  esac
  : "${POD_NAME:?POD_NAME (the StatefulSet pod name) is required}"
  : "${OVN_RAFT_DOMAIN:?OVN_RAFT_DOMAIN (headless Service domain) is required}"
  file="/var/lib/ovn/ovn${db}_db.db"
  local_addr="$proto:$POD_NAME.$OVN_RAFT_DOMAIN:$raft_port"
  first="${POD_NAME%-*}-0"
  if [ ! -e "$file" ]; then
    if [ "$POD_NAME" = "$first" ]; then
      ovsdb-tool create-cluster "$file" "/usr/share/ovn/ovn-${db}.ovsschema" "$local_addr"
    else
      ovsdb-tool join-cluster "$file" "$schema_name" "$local_addr" "$proto:$first.$OVN_RAFT_DOMAIN:$raft_port"
    fi
  fi
  mkdir -p /var/run/ovn /var/log/ovn
  # shellcheck disable=SC2086
  exec ovsdb-server "$file" --remote="p$proto:$port" --remote=punix:/var/run/ovn/ovn${db}_db.sock \
    --unixctl=/var/run/ovn/ovn${db}_db.ctl $tls_args -vconsole:info -vfile:off
}

case "$role" in
  nb | sb) run_db "$role" ;;
  northd)
    : "${OVN_NB_DB:?OVN_NB_DB is required}" "${OVN_SB_DB:?OVN_SB_DB is required}"
    mkdir -p /var/run/ovn
    # shellcheck disable=SC2086
    exec ovn-northd --ovnnb-db="$OVN_NB_DB" --ovnsb-db="$OVN_SB_DB" $tls_args -vconsole:info -vfile:off
    ;;
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
      external_ids:ovn-bridge-datapath-type="${OVS_DATAPATH_TYPE:-system}"
    if [ "$proto" = ssl ]; then
      "$ovn_ctl" --ovn-controller-ssl-key=$tls_dir/tls.key --ovn-controller-ssl-cert=$tls_dir/tls.crt \
        --ovn-controller-ssl-ca-cert=$tls_dir/ca.crt start_controller
    else
      "$ovn_ctl" start_controller
    fi
    logs="/var/log/openvswitch/ovs-vswitchd.log /var/log/ovn/ovn-controller.log"
    ;;
  --version)
    ovsdb-server --version | head -1
    ovn-northd --version | head -1
    exit 0
    ;;
  --help | -h | help)
    sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 nb|sb|northd|node|central|--version|--help" >&2
    exit 2
    ;;
esac
# shellcheck disable=SC2086
exec tail -F $logs
