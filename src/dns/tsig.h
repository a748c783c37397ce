#pragma once
/*
 * TSIG (RFC 8945) for zone transfers and NOTIFY, computed by ldns: verifying
 * a signed request and signing the stream of response messages (the first
 * over the request MAC, each next one over the previous MAC).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/tsig_store.h"

#define TSIG_FUDGE 300
#define TSIG_MAC_MAX 130          /* 2-byte length + up to 128 bytes of MAC */
#define TSIG_RR_MAX 300           /* room to leave in a message for its TSIG record */

enum { TSIG_ERR_BADSIG = 16, TSIG_ERR_BADKEY = 17, TSIG_ERR_BADTIME = 18 };

typedef struct {
	tsig_key_t key;
	uint8_t mac[TSIG_MAC_MAX];    /* MAC rdata as on the wire: length, MAC */
	size_t mac_len;
	unsigned messages;            /* responses signed so far */
} tsig_ctx_t;

/* Finds a key by the name in a TSIG record.  Returns 0 or CD_ENOTFOUND. */
typedef int (*tsig_lookup_cb)(void *ctx, const char *name, tsig_key_t *key);

/*
 * Verifies the TSIG record at the end of a request.  Returns 0 and fills tc
 * (key, request MAC), or a TSIG error: BADKEY (unknown key or algorithm),
 * BADSIG (wrong MAC), BADTIME (outside the fudge).  key_name receives the
 * key's name either way, for messages.
 */
int tsig_verify_request(const uint8_t *wire, size_t len, tsig_lookup_cb lookup, void *lctx,
                        tsig_ctx_t *tc, char *key_name, size_t key_name_len);

/*
 * Signs a response message held in buf[0..len) of capacity cap, appending
 * its TSIG record.  Returns the new length, or 0 on failure.
 */
size_t tsig_sign_response(tsig_ctx_t *tc, uint8_t *buf, size_t len, size_t cap);

/*
 * Appends the unsigned TSIG record of an error answer (RFC 8945 5.3.2) to the
 * message in buf[0..len): the request's key name and algorithm, the current
 * time, an empty MAC and the TSIG error (BADSIG, BADKEY, BADTIME).  request
 * points at the TSIG record of the request inside pkt[0..pkt_len).  Returns
 * the new length (ARCOUNT raised), or len unchanged when it cannot.
 */
size_t tsig_append_error(uint8_t *buf, size_t len, size_t cap, const uint8_t *pkt,
                         size_t pkt_len, const uint8_t *request, uint16_t error);

/* Signs a request (e.g. NOTIFY) with a key; keeps its MAC in tc to verify the answer. */
size_t tsig_sign_request(tsig_ctx_t *tc, const tsig_key_t *key, uint8_t *buf, size_t len,
                         size_t cap);
