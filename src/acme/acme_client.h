#pragma once
/*
 * A blocking ACME client (RFC 8555) on one libcurl easy handle.
 *
 * Each call performs its HTTPS requests before it returns: it is meant for a
 * thread of its own (the daemon's ACME thread), never the query path.  A
 * client is not thread-safe: one thread uses it at a time.  It keeps the
 * directory (fetched on first use), a pool of nonces (every Replay-Nonce the
 * CA sends; HEAD newNonce when the pool is empty) and the account key and URL.
 *
 * Process setup: libcurl needs curl_global_init(CURL_GLOBAL_DEFAULT) once in
 * main(), before any thread starts, and curl_global_cleanup() at exit; this
 * module keeps no global state and calls neither.
 *
 * Transport: HTTPS only (RFC 8555 section 6.1), peer and host name verified
 * (against ca_file when given, else the system store), no redirects
 * followed, a connect timeout and a whole-request timeout on every request
 * (acme_client_set_timeouts), responses larger than 4 MiB refused.
 *
 * Results: every operation fills an acme_result_t with what the CA answered:
 * the HTTP status, the JSON body, the Location header (the account URL of
 * newAccount, the order URL of newOrder), Retry-After in seconds, and on
 * failure the problem document (RFC 7807) exactly as the CA sent it.  The
 * result belongs to the caller, who calls acme_result_clear() after every
 * operation whatever it returned (it may be NULL when the caller needs
 * nothing from it).  acme_client_error() describes the last failure in one
 * line naming the method, URL, HTTP status and the CA's problem type and
 * detail.
 *
 * Return codes of every operation below:
 *   0              the CA answered with a 2xx status
 *   CD_EACME       the CA answered with another status (after the badNonce
 *                  retries); res->problem holds its problem document when it
 *                  sent one (a JSON body), res->http_status the status
 *   CD_ERETRYLATER the CA answered 429 (rateLimited) or 503: back off for
 *                  res->retry_after seconds (-1 when it gave no Retry-After;
 *                  choose a delay), res->problem as for CD_EACME
 *   CD_ENET        no HTTP answer: DNS, connect, TLS verification or timeout
 *   CD_EPROTO      an answer that breaks RFC 8555: a body that is not JSON
 *                  where JSON is due, a missing Location or Replay-Nonce, a
 *                  directory without a required URL, a body over 4 MiB
 *   CD_EINVAL      bad arguments, or no account key (or account URL, where a
 *                  kid is needed) set on the client
 *   CD_ENOMEM, CD_ECRYPTO
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Times a request is re-signed with a fresh nonce after a badNonce error. */
#define ACME_BADNONCE_RETRIES 5

#define ACME_DEFAULT_CONNECT_TIMEOUT_MS 10000
#define ACME_DEFAULT_TIMEOUT_MS 60000

typedef struct acme_client acme_client_t;

/* The directory (RFC 8555 section 7.1.1).  Strings belong to the client. */
typedef struct {
	const char *new_nonce;
	const char *new_account;
	const char *new_order;
	const char *revoke_cert;          /* NULL when absent */
	const char *key_change;           /* NULL when absent */
	const char *new_authz;            /* NULL when the CA does not offer pre-authorization */
	const char *renewal_info;         /* NULL when the CA does not offer ARI (RFC 9773) */
	const char *terms_of_service;     /* meta.termsOfService, or NULL */
	bool external_account_required;   /* meta.externalAccountRequired */
	const json_t *json;               /* the whole directory object as served */
} acme_directory_t;

/* What the CA answered.  Every member belongs to the caller: acme_result_clear(). */
typedef struct {
	long http_status;     /* 0 when no HTTP answer was received */
	json_t *body;         /* the JSON body of a 2xx answer (account, order, authorization,
	                         challenge), or NULL */
	char *location;       /* the Location header, or NULL */
	char *pem;            /* acme_certificate_download: the PEM chain, NUL-terminated */
	json_t *alternates;   /* acme_certificate_download: array of the URLs of alternate
	                         chains (Link rel="alternate"), or NULL when none */
	long retry_after;     /* Retry-After in seconds from now (0 or more), -1 when absent */
	json_t *problem;      /* the problem document of a failed request, or NULL */
} acme_result_t;

/* Frees what res holds and resets it to empty (retry_after -1).  NULL is allowed. */
void acme_result_clear(acme_result_t *res);

/* The "type" of res->problem ("urn:ietf:params:acme:error:rateLimited", ...), or NULL. */
const char *acme_result_problem_type(const acme_result_t *res);

/*
 * Creates a client for the CA whose directory is directory_url (https://).
 * ca_file, when not NULL, is a PEM bundle that replaces the system trust
 * store (e.g. Pebble's test CA).  No network I/O happens here.
 * Returns 0, CD_EINVAL (not an https URL), CD_ENOMEM (including when
 * curl_easy_init fails).
 */
int acme_client_new(acme_client_t **out, const char *directory_url, const char *ca_file);

/* Frees the client, its handle, nonces and its reference to the account key.  NULL is allowed. */
void acme_client_free(acme_client_t *c);

/* Sets the connect timeout and the whole-request timeout, in milliseconds (0: the defaults). */
void acme_client_set_timeouts(acme_client_t *c, long connect_ms, long total_ms);

/*
 * From now on a request gives up within about a second once *cancel is true
 * (set by another thread, e.g. when the daemon stops; it must outlive the
 * client): the operation returns CD_ENET.  NULL: requests run to their timeouts.
 */
void acme_client_set_cancel(acme_client_t *c, const atomic_bool *cancel);

/*
 * Sets the account: key signs every request (the client takes a reference of
 * its own: EVP_PKEY_up_ref), account_url is its kid (copied; NULL for a key
 * not registered yet, acme_account_new sets it).  key NULL forgets the account.
 * Returns 0, CD_EINVAL (key type not supported), CD_ENOMEM.
 */
int acme_client_set_account(acme_client_t *c, EVP_PKEY *key, const char *account_url);

/* The account URL (kid), or NULL.  Valid until the account changes or the client is freed. */
const char *acme_client_account_url(const acme_client_t *c);

/* The account key (the client's reference; up_ref it to keep it), or NULL. */
EVP_PKEY *acme_client_account_key(const acme_client_t *c);

/* One line describing the last failure ("" when none).  Valid until the next call. */
const char *acme_client_error(const acme_client_t *c);

/*
 * The directory, fetched (GET directory_url) on the first call and kept.
 * *dir points into the client, valid until it is freed.  res may be NULL.
 * Returns as described at the top; CD_EPROTO when the object lacks newNonce,
 * newAccount or newOrder (the operations that need revokeCert or keyChange
 * return CD_EPROTO when the CA does not offer them).
 */
int acme_client_directory(acme_client_t *c, const acme_directory_t **dir, acme_result_t *res);

/*
 * Signed POST of payload (NULL: POST-as-GET) to url with the account's kid,
 * the general form of every operation below.  Takes a nonce from the pool
 * (HEAD newNonce when empty), keeps the nonce of every answer, and on a
 * badNonce error re-signs with the nonce that answer carried, up to
 * ACME_BADNONCE_RETRIES times.  res->body holds a JSON answer.
 */
int acme_post(acme_client_t *c, const char *url, const json_t *payload, acme_result_t *res);

/* Options of a newAccount request (RFC 8555 section 7.3). */
typedef struct {
	const char *const *contacts;  /* "mailto:..." URLs, n_contacts of them (may be 0) */
	size_t n_contacts;
	bool terms_agreed;            /* termsOfServiceAgreed */
	bool only_return_existing;    /* look up the account of the key; never create one */
	const char *eab_kid;          /* External Account Binding key id, or NULL */
	const char *eab_hmac_key;     /* its HMAC key, base64url as the CA gave it */
} acme_account_opts_t;

/*
 * newAccount, signed with the jwk of the account key (acme_client_set_account).
 * On success the account URL (res->location, also kept as the client's kid)
 * and the account object (res->body); http_status 201 for a new account,
 * 200 for an existing one.  With only_return_existing and no such account:
 * CD_EACME with problem type ...:accountDoesNotExist.
 * Also CD_EINVAL when only one of eab_kid/eab_hmac_key is given or the HMAC
 * key is not base64url, CD_EPROTO when the CA sent no Location.
 */
int acme_account_new(acme_client_t *c, const acme_account_opts_t *opts, acme_result_t *res);

/*
 * newOrder for n DNS identifiers (names without a trailing dot; "*.x" for a
 * wildcard).  replaces, when not NULL, is the ARI certificate ID of the
 * certificate this order renews (RFC 9773 section 5).  res->location is the
 * order URL, res->body the order (status, authorizations, finalize).
 * CD_EPROTO when the CA sent no Location.
 */
int acme_order_new(acme_client_t *c, const char *const *names, size_t n, const char *replaces,
                   acme_result_t *res);

/* POST-as-GET of url (order, authorization, challenge, account): res->body. */
int acme_post_as_get(acme_client_t *c, const char *url, acme_result_t *res);

/* Tells the CA to validate a challenge: POST {} to its URL; res->body the challenge. */
int acme_challenge_respond(acme_client_t *c, const char *challenge_url, acme_result_t *res);

/* Finalizes an order with a DER CSR (certs/csr.h): res->body the order. */
int acme_order_finalize(acme_client_t *c, const char *finalize_url, const uint8_t *csr_der,
                        size_t csr_len, acme_result_t *res);

/*
 * Downloads the certificate chain (POST-as-GET with Accept:
 * application/pem-certificate-chain): res->pem, and res->alternates when the
 * CA offers other chains.  CD_EPROTO when the body is empty.
 */
int acme_certificate_download(acme_client_t *c, const char *cert_url, acme_result_t *res);

/*
 * revokeCert for a DER certificate.  reason is an RFC 5280 CRLReason code,
 * or -1 to send none.  cert_key NULL signs with the account (kid); a
 * certificate's own key signs with its jwk (RFC 8555 section 7.6).
 */
int acme_certificate_revoke(acme_client_t *c, const uint8_t *cert_der, size_t cert_len,
                            int reason, EVP_PKEY *cert_key, acme_result_t *res);

/*
 * Account key rollover (RFC 8555 section 7.3.5): keyChange with an inner JWS
 * signed by new_key.  On success the client signs with new_key from then on
 * (it takes a reference); on failure it keeps the old key.
 * CD_EINVAL when new_key is not a supported type or no account URL is set.
 */
int acme_account_key_change(acme_client_t *c, EVP_PKEY *new_key, acme_result_t *res);

/* Deactivates the account (POST {"status":"deactivated"} to its URL): res->body. */
int acme_account_deactivate(acme_client_t *c, acme_result_t *res);

/*
 * Fetches the ARI renewal information of a certificate (RFC 9773: an
 * unauthenticated GET of renewalInfo/cert_id): res->body holds
 * suggestedWindow, res->retry_after when to ask again.
 * CD_ENOTFOUND when the CA's directory has no renewalInfo.
 */
int acme_renewal_info(acme_client_t *c, const char *cert_id, acme_result_t *res);

/*
 * The ARI certificate ID of a DER certificate (RFC 9773 section 4.1):
 * base64url(authority key identifier) "." base64url(serial number DER
 * content octets), into *id (malloc'd).  Also the value of "replaces".
 * Returns 0, CD_EINVAL (not a certificate, or no authority key identifier),
 * CD_ENOMEM.
 */
int acme_ari_cert_id(const uint8_t *cert_der, size_t cert_len, char **id);

/*
 * Parses a Retry-After value (RFC 9110 section 10.2.3): delay-seconds or an
 * HTTP date, the latter relative to now.  *seconds is never negative (a date
 * in the past gives 0).  Returns 0 or CD_EINVAL.
 */
int acme_parse_retry_after(const char *value, time_t now, long *seconds);
