#pragma once
/*
 * DNS Cookies (RFC 7873) with interoperable server cookies (RFC 9018):
 * version 1, three reserved bytes, a 32-bit Unix timestamp, and the
 * SipHash-2-4 of client cookie | version | reserved | timestamp | client
 * address under a 16-byte server secret.  Servers that share the secret
 * (certdnsd --cookie-secret-file) accept each other's cookies.
 *
 * Cookies are offered, never required: a query without a valid server cookie
 * is answered as usual, and only escapes response rate limiting when it has
 * one.  Nothing here allocates; checking and answering are on the query path.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "dns/query.h"

#define COOKIE_SECRET_SIZE 16
#define COOKIE_SECRETS_MAX 4
#define COOKIE_SERVER_SIZE 16          /* the server cookies we make (RFC 9018) */
#define COOKIE_MAX_AGE 3600            /* accepted up to an hour old ... */
#define COOKIE_MAX_FUTURE 300          /* ... or five minutes ahead of our clock */
#define COOKIE_REFRESH_AGE 1800        /* older than half an hour: send a fresh one */
#define DNS_RCODE_BADCOOKIE 23

/* Server secrets: secret[0] makes new cookies, every one of them is accepted. */
typedef struct {
	uint8_t secret[COOKIE_SECRETS_MAX][COOKIE_SECRET_SIZE];
	unsigned count;
} cookie_secrets_t;

/* One fresh random secret (getrandom).  Returns 0 or CD_EIO (errno set). */
int cookie_secrets_generate(cookie_secrets_t *s);

/*
 * Reads the secrets from a file: one per line as 32 hex digits (16 bytes,
 * e.g. `openssl rand -hex 16`), at most COOKIE_SECRETS_MAX; empty lines and
 * lines starting with '#' are skipped.  The first secret makes new cookies;
 * the others are still accepted, so a new secret can be rolled out on every
 * server before the old one is removed.  Returns 0, CD_EIO (the file cannot
 * be read) or CD_ESYNTAX (no secret, too many, or a line that is not one); err
 * then says which file and line, and what is expected.
 */
int cookie_secrets_load(cookie_secrets_t *s, const char *path, char *err, size_t errlen);

typedef enum {
	COOKIE_NONE = 0,     /* the query has no COOKIE option */
	COOKIE_CLIENT_ONLY,  /* a client cookie alone: the client is learning our cookie */
	COOKIE_BAD,          /* a server cookie we did not make for this client, or out of date */
	COOKIE_VALID,        /* a server cookie we made for this client cookie and address, in time */
} cookie_verdict_t;

typedef struct {
	cookie_verdict_t verdict;
	uint8_t server[COOKIE_SERVER_SIZE];   /* the server cookie to return (not for COOKIE_NONE) */
} cookie_t;

/*
 * Judges q's cookie, from a client at peer (AF_INET or AF_INET6), at now
 * (Unix seconds), and prepares the server cookie to return: the client's own
 * when it is valid, made with secret[0] and at most half an hour old; else a
 * fresh one.
 */
void cookie_check(const cookie_secrets_t *s, const dns_query_t *q, const struct sockaddr *peer,
                  uint32_t now, cookie_t *out);

/* The RFC 9018 server cookie for a client cookie and address (4 or 16 bytes) at a time. */
void cookie_make(const uint8_t secret[COOKIE_SECRET_SIZE], const uint8_t client[COOKIE_CLIENT_SIZE],
                 const uint8_t *addr, size_t addr_len, uint32_t timestamp,
                 uint8_t out[COOKIE_SERVER_SIZE]);

/*
 * Appends the COOKIE option (the query's client cookie, then c->server) to
 * the empty OPT record that ends the answer resp[0..len), using the room the
 * response builder kept for it.  The answer to a query for a server cookie
 * alone (no question, RFC 7873 5.4) becomes BADCOOKIE when the cookie it
 * presented was bad.  Returns the new length; len when there is nothing to do
 * (no cookie, no empty OPT at the end, or cap too small).
 */
size_t cookie_put(const dns_query_t *q, const cookie_t *c, uint8_t *resp, size_t len, size_t cap);

/*
 * Sets the extended rcode BADCOOKIE in an answer that carries an OPT record
 * (RFC 7873 5.2.3: the client retries with the server cookie it was given).
 * Returns false when the answer has no OPT record.
 */
bool cookie_set_badcookie(uint8_t *resp, size_t len);
