/* DNS messages (RFC 1035): parse a one-question query, check a resolver's reply, build our own answers. Every read is
 * bounds-checked against the message length: the bytes come from any container on a network (fuzzed in
 * tests/Pester/NetworksDns.Tests.ps1). */
#include "dns.h"

#include <stdio.h>
#include <string.h>

static uint16_t get16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint8_t lower(uint8_t c) { return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c; }

int dns_opcode(const struct dns_query *q) { return (q->flags >> 11) & 0xF; }

int dns_parse_query(const uint8_t *m, size_t len, struct dns_query *q)
{
    if (len < 12)
        return -1;
    q->id = get16(m);
    q->flags = get16(m + 2);
    if ((q->flags & 0x8000) || get16(m + 4) != 1)
        return -1;
    size_t pos = 12, out = 0;
    for (;;) {
        if (pos >= len)
            return -1;
        size_t l = m[pos++];
        if (l == 0)
            break;
        if (l > 63 || pos + l > len)   /* no compression pointer in a question we accept */
            return -1;
        if (out > 0)
            q->name[out++] = '.';
        if (out + l > 253)
            return -1;
        for (size_t i = 0; i < l; i++) {
            uint8_t c = m[pos + i];
            if (c == 0 || c == '.')   /* a name we could not tell apart from another as a string */
                return -1;
            q->name[out++] = (char)lower(c);
        }
        pos += l;
    }
    q->name[out] = 0;
    if (pos + 4 > len)
        return -1;
    q->type = get16(m + pos);
    q->qclass = get16(m + pos + 2);
    q->question_end = pos + 4;
    return 0;
}

int dns_is_reply_to(const uint8_t *sent, size_t sent_len, const struct dns_query *q, const uint8_t *reply, size_t len)
{
    if (len < q->question_end || sent_len < q->question_end)
        return 0;
    if (get16(reply) != get16(sent))
        return 0;
    uint16_t flags = get16(reply + 2);
    if (!(flags & 0x8000) || ((flags >> 11) & 0xF) != dns_opcode(q))
        return 0;
    if (get16(reply + 4) != 1)
        return 0;
    /* The sent question parsed, so its labels end before question_end, and reply is at least as long. */
    size_t pos = 12;
    for (;;) {
        uint8_t l = sent[pos];
        if (reply[pos] != l)
            return 0;
        pos++;
        if (l == 0)
            break;
        for (size_t i = 0; i < l; i++, pos++)
            if (lower(sent[pos]) != lower(reply[pos]))
                return 0;
    }
    return memcmp(reply + pos, sent + pos, 4) == 0;
}

/* Appends name as labels at out[*pos]; 0, or -1 when it does not fit in cap. */
static int put_name(uint8_t *out, size_t cap, size_t *pos, const char *name)
{
    const char *p = name;
    while (*p) {
        const char *dot = strchr(p, '.');
        size_t l = dot ? (size_t)(dot - p) : strlen(p);
        if (l > 63 || *pos + 1 + l >= cap)
            return -1;
        if (l > 0) {
            out[(*pos)++] = (uint8_t)l;
            memcpy(out + *pos, p, l);
            *pos += l;
        }
        p += l;
        if (*p == '.')
            p++;
    }
    if (*pos >= cap)
        return -1;
    out[(*pos)++] = 0;
    return 0;
}

size_t dns_build_response(uint8_t *out, size_t cap, const uint8_t *query, const struct dns_query *q, int rcode,
                          const uint32_t *addresses, size_t count, const char *pointer)
{
    if (q->question_end > cap)
        return 0;
    unsigned flags = 0x8000u | ((unsigned)dns_opcode(q) << 11) | 0x0400u /* AA */ | (q->flags & 0x0100u) /* RD */
                     | 0x0080u /* RA */ | ((unsigned)rcode & 0xFu);
    memcpy(out + 12, query + 12, q->question_end - 12);
    size_t pos = q->question_end, answers = 0;
    for (size_t i = 0; i < count && pos + 16 <= cap; i++, answers++) {
        put16(out + pos, 0xC00C);   /* the name: a pointer to the question's */
        put16(out + pos + 2, DNS_TYPE_A);
        put16(out + pos + 4, DNS_CLASS_IN);
        put16(out + pos + 6, 0);
        put16(out + pos + 8, DNS_TTL);
        put16(out + pos + 10, 4);
        memcpy(out + pos + 12, &addresses[i], 4);
        pos += 16;
    }
    if (pointer && pos + 12 < cap) {
        size_t start = pos;
        put16(out + pos, 0xC00C);
        put16(out + pos + 2, DNS_TYPE_PTR);
        put16(out + pos + 4, DNS_CLASS_IN);
        put16(out + pos + 6, 0);
        put16(out + pos + 8, DNS_TTL);
        pos += 12;
        size_t data = pos;
        if (put_name(out, cap, &pos, pointer) == 0) {
            put16(out + data - 2, (unsigned)(pos - data));
            answers++;
        } else {
            pos = start;
        }
    }
    put16(out, q->id);
    put16(out + 2, flags);
    put16(out + 4, 1);
    put16(out + 6, (unsigned)answers);
    put16(out + 8, 0);
    put16(out + 10, 0);
    return pos;
}

int dns_reverse_address(const char *name, uint32_t *address)
{
    static const char suffix[] = ".in-addr.arpa";
    size_t len = strlen(name), sl = sizeof suffix - 1;
    if (len <= sl || strcmp(name + len - sl, suffix) != 0)
        return -1;
    unsigned part[4];
    int used = 0;
    char rest[64];
    if (len - sl >= sizeof rest)
        return -1;
    memcpy(rest, name, len - sl);
    rest[len - sl] = 0;
    if (sscanf(rest, "%3u.%3u.%3u.%3u%n", &part[0], &part[1], &part[2], &part[3], &used) != 4 || rest[used] != 0)
        return -1;
    for (int i = 0; i < 4; i++)
        if (part[i] > 255)
            return -1;
    for (int i = 0; i < (int)(len - sl); i++)
        if (!(rest[i] == '.' || (rest[i] >= '0' && rest[i] <= '9')))
            return -1;
    uint8_t b[4] = {(uint8_t)part[3], (uint8_t)part[2], (uint8_t)part[1], (uint8_t)part[0]};
    memcpy(address, b, 4);
    return 0;
}
