#pragma once
/* Big-endian integer access for DNS wire data.  Callers check bounds first. */

#include <stdint.h>
#include <string.h>

#define DNS_HEADER_SIZE   12
#define DNS_MAX_NAME      255
#define DNS_MAX_LABEL     63
#define DNS_MAX_UDP       65535

/* Header flag bits in the second 16-bit word. */
#define DNS_FLAG_QR  0x8000
#define DNS_FLAG_AA  0x0400
#define DNS_FLAG_TC  0x0200
#define DNS_FLAG_RD  0x0100
#define DNS_FLAG_RA  0x0080
#define DNS_FLAG_AD  0x0020
#define DNS_FLAG_CD  0x0010

enum {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_FORMERR = 1,
	DNS_RCODE_SERVFAIL = 2,
	DNS_RCODE_NXDOMAIN = 3,
	DNS_RCODE_NOTIMP = 4,
	DNS_RCODE_REFUSED = 5,
	DNS_RCODE_YXDOMAIN = 6,
	DNS_RCODE_NOTAUTH = 9,
	DNS_RCODE_BADVERS = 16,   /* extended: needs OPT */
};

enum {
	DNS_TYPE_A = 1, DNS_TYPE_NS = 2, DNS_TYPE_CNAME = 5, DNS_TYPE_SOA = 6,
	DNS_TYPE_PTR = 12, DNS_TYPE_MX = 15, DNS_TYPE_TXT = 16, DNS_TYPE_AAAA = 28,
	DNS_TYPE_SRV = 33, DNS_TYPE_DNAME = 39, DNS_TYPE_OPT = 41, DNS_TYPE_DS = 43,
	DNS_TYPE_RRSIG = 46, DNS_TYPE_NSEC = 47, DNS_TYPE_TSIG = 250,
	DNS_TYPE_IXFR = 251, DNS_TYPE_AXFR = 252, DNS_TYPE_MAILB = 253,
	DNS_TYPE_MAILA = 254, DNS_TYPE_ANY = 255, DNS_TYPE_CAA = 257,
};

enum { DNS_CLASS_IN = 1, DNS_CLASS_CH = 3, DNS_CLASS_NONE = 254, DNS_CLASS_ANY = 255 };

enum { DNS_OPCODE_QUERY = 0, DNS_OPCODE_NOTIFY = 4, DNS_OPCODE_UPDATE = 5 };

static inline uint16_t wire_read_u16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint32_t wire_read_u32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static inline void wire_write_u16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void wire_write_u32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}
