# OVN / Open vSwitch image for the local compose stack, from Debian's packages (OVN 23.03, OVS 3.1).
# `ovn-entrypoint.sh central` runs the NB/SB databases and ovn-northd; `ovn-entrypoint.sh node` runs
# ovsdb-server, ovs-vswitchd (userspace datapath, no kernel module needed) and ovn-controller.
FROM debian:bookworm
RUN apt-get update \
 && apt-get install -y --no-install-recommends ovn-central ovn-host openvswitch-switch iproute2 procps \
 && rm -rf /var/lib/apt/lists/*
COPY docker/ovn-entrypoint.sh /usr/local/bin/ovn-entrypoint.sh
RUN chmod 0755 /usr/local/bin/ovn-entrypoint.sh
ENTRYPOINT ["/usr/local/bin/ovn-entrypoint.sh"]
CMD ["central"]
