#pragma once
/*
 * Reading what an ACME server sends, as pure functions: no I/O, no client
 * state.  acme_client.c parses HTTP replies with them and engine.c the
 * objects (RFC 8555 7.1: directory, order, authorization, challenge; RFC 7807
 * problem documents; RFC 8288 Link headers; RFC 9773 renewalInfo).  Every
 * input is untrusted: any bytes, any JSON shape.
 *
 * Pointers handed out point into the JSON or text given and live as long as
 * it does; nothing here takes a reference.
 */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "acme/acme_client.h"

/* The JSON object in body[0..len), or NULL (not JSON, or JSON but not an object).  The caller owns it. */
json_t *acme_parse_json_object(const char *body, size_t len);

/*
 * Reads a directory object.  Fills dir (its json member is d) and returns 0,
 * or CD_EPROTO with *bad naming the member that is required but missing, or
 * present but not a string.
 */
int acme_parse_directory(const json_t *d, acme_directory_t *dir, const char **bad);

/* One line of HTTP response header as libcurl delivers it (CRLF included, not NUL-terminated). */
typedef enum {
	ACME_HEADER_OTHER = 0,     /* a blank line or no colon: nothing to read */
	ACME_HEADER_STATUS,        /* "HTTP/...": a new response starts (after a 1xx) */
	ACME_HEADER_FIELD,         /* name[0..name_len): value[0..value_len), value trimmed */
} acme_header_kind_t;

typedef struct {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
} acme_header_t;

acme_header_kind_t acme_parse_header_line(const char *data, size_t n, acme_header_t *h);

/* True when the field is the named header (case-insensitive). */
bool acme_header_is(const acme_header_t *h, const char *name);

/*
 * A Link header value (RFC 8288): '<url>;rel="alternate", <url2>;rel="up"'.
 * Appends the URL of every link whose rel is alternate to *alternates (an
 * array, created when NULL).  Returns 0 or CD_ENOMEM.
 */
int acme_parse_link_alternates(const char *value, size_t n, json_t **alternates);

/*
 * A problem document (RFC 7807, RFC 8555 6.7) in one line: "TYPE: DETAIL",
 * then "; IDENTIFIER: DETAIL" per subproblem, cut to fit out.  Returns false
 * (and writes "") when the document has neither type nor detail.
 */
bool acme_problem_describe(const json_t *problem, char *out, size_t outlen);

/* The "status" string of an order, authorization, challenge or account, or NULL. */
const char *acme_parse_status(const json_t *obj);

/* An authorization (RFC 8555 7.1.4), as the engine needs it. */
typedef struct {
	const char *status;              /* NULL when missing */
	const char *identifier;          /* identifier.value, NULL when missing */
	bool wildcard;
	const char *dns01_token;         /* the (last) dns-01 challenge's token and URL, */
	const char *dns01_url;           /* NULL when there is none or it lacks them */
	const json_t *error;             /* a challenge's error problem document, or NULL */
} acme_authz_t;

void acme_parse_authorization(const json_t *authz, acme_authz_t *out);

/*
 * The name an authorization is for, as the certificate request spells it:
 * "*.IDENT" for a wildcard, "?" when the identifier is missing.  Always
 * terminates out.
 */
void acme_authz_name(const acme_authz_t *a, char *out, size_t outlen);

/* An order (RFC 8555 7.1.3). */
typedef struct {
	const char *status;
	const json_t *authorizations;    /* the array as sent (NULL when not an array) */
	const char *finalize;
	const char *certificate;         /* NULL until the order is valid */
	const json_t *error;
} acme_order_t;

void acme_parse_order(const json_t *order, acme_order_t *out);

/*
 * An RFC 3339 date-time ("2026-11-29T15:20:30Z", "...30.25+02:00") in seconds
 * since the epoch; 0 when it is not one.
 */
long acme_parse_rfc3339(const char *text);

/*
 * ARI renewalInfo (RFC 9773 4.2): the suggestedWindow.  Returns 0 with start
 * <= end, or CD_EPROTO when the window is missing or invalid.
 */
int acme_parse_renewal_info(const json_t *info, long *start, long *end);
