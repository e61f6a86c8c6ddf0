#!/bin/bash
# Scenario (inside UML, no topology): builds a varied IPVS table with ipvsadm, sends one UDP
# datagram so that counters are non-zero, waits for the 2 s estimator, then records the kernel's
# generic-netlink replies as hex (test/ipvs/fixtures/capture.mjs) and ipvsadm's own requests
# (strace -e write=3). $REPO is set by the wrapper that test/beds/uml-ipvs-driver.test.ts and
# test/ipvs/fixtures/recapture.ts write. Writes to $SCENARIO_OUT: *.hex, ipvsadm-*.strace, list.txt.
set -eu
O=$SCENARIO_OUT
ip addr add 192.0.2.101/32 dev lo
# 1. TCP, IPv4, wrr, three tunnel destinations (ipip, gue with port and checksum, gre) and thresholds
ipvsadm -A -t 192.0.2.100:80 -s wrr
ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.11:80 -i -w 3 -x 100 -y 10
ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.12:80 -i -w 2 --tun-type gue --tun-port 6080 --tun-csum
ipvsadm -a -t 192.0.2.100:80 -r 198.51.100.13:80 -i -w 0 --tun-type gre
# 2. UDP, IPv4, rr, one-packet scheduling, persistence 300 s with a /24 netmask; DR and NAT
ipvsadm -A -u 192.0.2.101:53 -s rr -o -p 300 -M 255.255.255.0
ipvsadm -a -u 192.0.2.101:53 -r 198.51.100.11:53 -g -w 1
ipvsadm -a -u 192.0.2.101:53 -r 198.51.100.12:5353 -m -w 5
# 3. fwmark 7, IPv6, wlc, one tunnel destination
ipvsadm -A -f 7 -6 -s wlc
ipvsadm -a -f 7 -6 -r '[2001:db8::11]:0' -i -w 4
# 4. TCP, IPv6 address, rr, persistence 60 s with /64
ipvsadm -A -t '[2001:db8::100]:443' -s rr -p 60 -M 64
# ipvsadm's own request bytes, for the encoder goldens
strace -o "$O/ipvsadm-add-dest.strace" -e trace=sendmsg -e write=3 \
  ipvsadm -a -t '[2001:db8::100]:443' -r '[2001:db8::12]:443' -i -w 2
strace -o "$O/ipvsadm-add-service.strace" -e trace=sendmsg -e write=3 \
  ipvsadm -A -t 192.0.2.102:8080 -s wlc -p 120
# one datagram through service 2 (locally generated traffic is scheduled at LOCAL_OUT)
echo vigil >/dev/udp/192.0.2.101/53 || true
sleep 2.2 # IPVS counters are copied by the 2 s estimator
node "$REPO/test/ipvs/fixtures/capture.mjs" "$O"
ipvsadm -Ln >"$O/list.txt"
ipvsadm -Sn >"$O/save.txt"
echo "scenario ipvs-driver-capture: done"
