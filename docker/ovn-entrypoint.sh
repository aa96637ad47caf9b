#!/bin/sh
# Entrypoint of the ycloud OVN image (Debian's OVN and Open vSwitch). One role per container:
#   nb | sb   one member of the clustered (RAFT) Northbound / Southbound database, in the foreground. The member on
#             the first address of OVN_CENTRAL_ADDRESSES creates the cluster, the others join it; the database
#             file on the volume keeps a member's identity across restarts.
#   northd    ovn-northd against the clustered databases, in the foreground.
#   node      ovsdb-server, ovs-vswitchd and ovn-controller of one node (host network); exits when one of them
#             does, stops them on SIGTERM.
#   central   standalone NB, SB and northd in one container (docker-compose.yml; no RAFT).
# Settings come from the environment (deploy/base, the Helm chart):
#   POD_IP                     this member's address (host network: its node's); it serves and peers there
#   OVN_CENTRAL_ADDRESSES      every member's address, comma-separated (the OVN central nodes' IPs)
#   OVN_NB_PORT, OVN_SB_PORT, OVN_NB_RAFT_PORT, OVN_SB_RAFT_PORT   6641, 6642, 6643, 6644 unless set
#   OVN_NB_DB, OVN_SB_DB       northd's remotes (default: every member)
#   OVN_REMOTE                 Southbound remote(s) for ovn-controller (node)
#   OVN_TLS=true               serve and dial ssl: with /etc/ovn/tls/{tls.key,tls.crt,ca.crt} (mutual TLS)
#   OVS_DATAPATH_TYPE          system (kernel module, default) or netdev (userspace; no kernel module)
set -eu
ovn_ctl=/usr/share/ovn/scripts/ovn-ctl
role="${1:-central}"
tls_dir=/etc/ovn/tls
proto=tcp
tls_args=""
if [ "${OVN_TLS:-false}" = true ]; then
  proto=ssl
  tls_args="--private-key=$tls_dir/tls.key --certificate=$tls_dir/tls.crt --ca-cert=$tls_dir/ca.crt"
fi
nb_port=${OVN_NB_PORT:-6641} sb_port=${OVN_SB_PORT:-6642}
nb_raft_port=${OVN_NB_RAFT_PORT:-6643} sb_raft_port=${OVN_SB_RAFT_PORT:-6644}

# An address as it goes into an OVSDB remote (IPv6 in brackets).
host() { case "$1" in *:*) echo "[$1]" ;; *) echo "$1" ;; esac; }
members() {
  : "${OVN_CENTRAL_ADDRESSES:?OVN_CENTRAL_ADDRESSES (the OVN central nodes' IPs, comma-separated) is required}"
  echo "$OVN_CENTRAL_ADDRESSES" | tr ',' ' '
}
# Every member's remote on port $1, comma-separated.
remotes() {
  out=""
  for a in $(members); do out="${out:+$out,}$proto:$(host "$a"):$1"; done
  echo "$out"
}

# Foreground clustered database: $1 is nb or sb.
run_db() {
  db=$1
  case "$db" in
    nb) port=$nb_port raft_port=$nb_raft_port schema_name=OVN_Northbound ;;
    sb) port=$sb_port raft_port=$sb_raft_port schema_name=OVN_Southbound ;;
  esac
  : "${POD_IP:?POD_IP (status.podIP: the node's address on the host network) is required}"
  case ",$OVN_CENTRAL_ADDRESSES," in
    *",$POD_IP,"*) ;;
    *)
      echo "this node's address $POD_IP is not in OVN_CENTRAL_ADDRESSES ($OVN_CENTRAL_ADDRESSES): run OVN central only on the nodes listed there" >&2
      exit 1
      ;;
  esac
  file="/var/lib/ovn/ovn${db}_db.db"
  local_addr="$proto:$(host "$POD_IP"):$raft_port"
  if [ ! -e "$file" ]; then
    if [ "$POD_IP" = "$(members | cut -d' ' -f1)" ]; then
      ovsdb-tool create-cluster "$file" "/usr/share/ovn/ovn-${db}.ovsschema" "$local_addr"
    else
      peers=""
      for a in $(members); do [ "$a" = "$POD_IP" ] || peers="$peers $proto:$(host "$a"):$raft_port"; done
      # shellcheck disable=SC2086
      ovsdb-tool join-cluster "$file" "$schema_name" "$local_addr" $peers
    fi
  fi
  mkdir -p /var/run/ovn /var/log/ovn
  # shellcheck disable=SC2086
  exec ovsdb-server "$file" --remote="p$proto:$port:$(host "$POD_IP")" --remote=punix:/var/run/ovn/ovn${db}_db.sock \
    --unixctl=/var/run/ovn/ovn${db}_db.ctl $tls_args -vconsole:info -vfile:off
}

# The node's daemons, in the background with pidfiles in their run directories (where the agent and
# `ycloud diagnose` look); this shell waits and stops them.
run_node() {
  : "${OVN_REMOTE:?set OVN_REMOTE to the Southbound database, e.g. tcp:10.0.0.2:6642}"
  datapath=${OVS_DATAPATH_TYPE:-system}
  mkdir -p /var/run/openvswitch /var/log/openvswitch /etc/openvswitch /var/run/ovn /var/log/ovn
  conf=/etc/openvswitch/conf.db schema=/usr/share/openvswitch/vswitch.ovsschema
  if [ ! -e "$conf" ]; then
    ovsdb-tool create "$conf" "$schema"
  elif [ "$(ovsdb-tool needs-conversion "$conf" "$schema")" = yes ]; then
    ovsdb-tool convert "$conf" "$schema"
  fi
  ovsdb-server "$conf" --remote=punix:/var/run/openvswitch/db.sock \
    --remote=db:Open_vSwitch,Open_vSwitch,manager_options --pidfile --detach --log-file
  ovs-vsctl --no-wait init
  ovs-vsctl --no-wait set open_vswitch . external_ids:system-id="${OVN_SYSTEM_ID:-$(hostname)}"
  if [ "$datapath" = system ] && [ ! -e /sys/module/openvswitch ]; then
    modprobe openvswitch || {
      echo "no openvswitch kernel module on this node: load it, or set OVS_DATAPATH_TYPE=netdev" >&2
      exit 1
    }
  fi
  ovs-vswitchd --pidfile --detach --log-file
  encap_ip="${OVN_ENCAP_IP:-$(hostname -i | cut -d' ' -f1)}"
  ovs-vsctl set open_vswitch . \
    external_ids:ovn-remote="$OVN_REMOTE" \
    external_ids:ovn-encap-type=geneve \
    external_ids:ovn-encap-ip="$encap_ip" \
    external_ids:ovn-bridge-datapath-type="$datapath"
  if [ "$proto" = ssl ]; then
    ovn-controller --pidfile --detach --log-file \
      --private-key=$tls_dir/tls.key --certificate=$tls_dir/tls.crt --ca-cert=$tls_dir/ca.crt
  else
    ovn-controller --pidfile --detach --log-file
  fi
  tail -n +1 -F /var/log/openvswitch/ovs-vswitchd.log /var/log/ovn/ovn-controller.log &
  # --restart: the chassis and its flows stay for the next ovn-controller (a rolling update). The kernel datapath
  # keeps forwarding while ovs-vswitchd restarts; the userspace one dies with it, so its ports (tap devices such as
  # br-int in the node's namespace) go too.
  cleanup=""
  [ "$datapath" = system ] || cleanup=--cleanup
  trap 'ovn-appctl -t ovn-controller exit --restart || true; ovs-appctl -t ovs-vswitchd exit $cleanup || true; ovs-appctl -t ovsdb-server exit || true; exit 0' TERM INT
  while :; do
    for p in /var/run/openvswitch/ovsdb-server.pid /var/run/openvswitch/ovs-vswitchd.pid /var/run/ovn/ovn-controller.pid; do
      kill -0 "$(cat "$p" 2>/dev/null || echo 0)" 2>/dev/null || {
        echo "$(basename "$p" .pid) exited" >&2
        exit 1
      }
    done
    sleep 2 &
    wait $! || true
  done
}

case "$role" in
  nb | sb) run_db "$role" ;;
  northd)
    mkdir -p /var/run/ovn
    # shellcheck disable=SC2086
    exec ovn-northd --ovnnb-db="${OVN_NB_DB:-$(remotes "$nb_port")}" --ovnsb-db="${OVN_SB_DB:-$(remotes "$sb_port")}" \
      $tls_args -vconsole:info -vfile:off
    ;;
  central)
    "$ovn_ctl" --db-nb-create-insecure-remote=yes --db-sb-create-insecure-remote=yes start_northd
    logs="/var/log/ovn/ovsdb-server-nb.log /var/log/ovn/ovsdb-server-sb.log /var/log/ovn/ovn-northd.log"
    ;;
  node) run_node ;;
  --version)
    ovsdb-server --version | head -1
    ovn-northd --version | head -1
    exit 0
    ;;
  --help | -h | help)
    sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "usage: $0 nb|sb|northd|node|central|--version|--help" >&2
    exit 2
    ;;
esac
# shellcheck disable=SC2086
exec tail -F $logs
