#include "acme/acme_client.h"

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "acme/acme_parse.h"
#include "acme/jws.h"
#include "certs/keys.h"
#include "common/error.h"
#include "common/log.h"

#define NONCE_POOL_SIZE 8
#define MAX_RESPONSE_BODY ((size_t)4 << 20)
#define PROBLEM_BAD_NONCE "urn:ietf:params:acme:error:badNonce"
#define CONTENT_TYPE_JOSE "Content-Type: application/jose+json"
#define ACCEPT_PEM_CHAIN "Accept: application/pem-certificate-chain"

struct acme_client {
	CURL *curl;
	char *directory_url;
	char *ca_file;
	long connect_ms;
	long total_ms;
	json_t *dir_json;             /* the directory once fetched; dir points into it */
	acme_directory_t dir;
	char *nonces[NONCE_POOL_SIZE];
	size_t n_nonces;
	EVP_PKEY *key;
	char *kid;
	char curl_error[CURL_ERROR_SIZE];
	char error[1024];
	const atomic_bool *cancel;    /* acme_client_set_cancel, or NULL */
};

/* What one HTTP exchange returned, before it is judged. */
typedef struct {
	long status;
	char *body;
	size_t len;
	size_t cap;
	bool too_large;
	bool oom;
	char *location;
	char *nonce;
	char *retry_after;
	json_t *alternates;
} reply_t;

/* How a 2xx body is read into the result. */
typedef enum {
	BODY_JSON,           /* a JSON object is required */
	BODY_JSON_OPTIONAL,  /* a JSON object when there is a body */
	BODY_PEM,            /* text, required */
	BODY_NONE,           /* ignored */
} body_kind_t;

typedef enum { HTTP_GET, HTTP_HEAD, HTTP_POST } http_method_t;

static const char *method_name(http_method_t m)
{
	return m == HTTP_GET ? "GET" : m == HTTP_HEAD ? "HEAD" : "POST";
}

static void set_error(acme_client_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void set_error(acme_client_t *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

/* ---- results ---- */

static void result_init(acme_result_t *res)
{
	memset(res, 0, sizeof(*res));
	res->retry_after = -1;
}

void acme_result_clear(acme_result_t *res)
{
	if (res == NULL) {
		return;
	}
	json_decref(res->body);
	json_decref(res->problem);
	json_decref(res->alternates);
	free(res->location);
	free(res->pem);
	result_init(res);
}

const char *acme_result_problem_type(const acme_result_t *res)
{
	return res != NULL ? json_string_value(json_object_get(res->problem, "type")) : NULL;
}

/* Every operation starts the same way: a clean result (a local one when the caller passes NULL). */
static acme_result_t *result_begin(acme_client_t *c, acme_result_t *res, acme_result_t *local)
{
	c->error[0] = '\0';
	acme_result_t *r = res != NULL ? res : local;
	result_init(r);
	return r;
}

static void result_end(acme_result_t *r, acme_result_t *local)
{
	if (r == local) {
		acme_result_clear(local);
	}
}

/* ---- Retry-After ---- */

int acme_parse_retry_after(const char *value, time_t now, long *seconds)
{
	if (value == NULL) {
		return CD_EINVAL;
	}
	while (*value == ' ' || *value == '\t') {
		value++;
	}
	if (*value >= '0' && *value <= '9') {
		char *end;
		errno = 0;
		unsigned long long v = strtoull(value, &end, 10);
		while (*end == ' ' || *end == '\t') {
			end++;
		}
		if (*end != '\0') {
			return CD_EINVAL;
		}
		*seconds = (errno == ERANGE || v > LONG_MAX) ? LONG_MAX : (long)v;
		return CD_OK;
	}
	time_t t = curl_getdate(value, NULL);
	if (t == (time_t)-1) {
		return CD_EINVAL;
	}
	*seconds = t > now ? (long)(t - now) : 0;
	return CD_OK;
}

/* ---- the nonce pool ---- */

static void nonce_push(acme_client_t *c, char *nonce)
{
	if (c->n_nonces == NONCE_POOL_SIZE) {
		/* Full: the oldest is the likeliest to have expired at the CA. */
		free(c->nonces[0]);
		memmove(&c->nonces[0], &c->nonces[1], (NONCE_POOL_SIZE - 1) * sizeof(c->nonces[0]));
		c->n_nonces--;
	}
	c->nonces[c->n_nonces++] = nonce;
}

static void nonce_pool_clear(acme_client_t *c)
{
	while (c->n_nonces > 0) {
		free(c->nonces[--c->n_nonces]);
	}
}

/* ---- HTTP ---- */

static void reply_free(reply_t *r)
{
	free(r->body);
	free(r->location);
	free(r->nonce);
	free(r->retry_after);
	json_decref(r->alternates);
	memset(r, 0, sizeof(*r));
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *ud)
{
	reply_t *r = ud;
	size_t n = size * nmemb;
	if (r->len + n > MAX_RESPONSE_BODY) {
		r->too_large = true;
		return 0;
	}
	if (r->len + n + 1 > r->cap) {
		size_t cap = r->cap != 0 ? r->cap : 4096;
		while (cap < r->len + n + 1) {
			cap *= 2;
		}
		char *b = realloc(r->body, cap);
		if (b == NULL) {
			r->oom = true;
			return 0;
		}
		r->body = b;
		r->cap = cap;
	}
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Replaces *field with a copy of the n bytes at v. */
static void take_header(reply_t *r, char **field, const char *v, size_t n)
{
	char *s = strndup(v, n);
	if (s == NULL) {
		r->oom = true;
		return;
	}
	free(*field);
	*field = s;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *ud)
{
	reply_t *r = ud;
	size_t n = size * nmemb;
	acme_header_t h;
	acme_header_kind_t kind = acme_parse_header_line(data, n, &h);
	if (kind == ACME_HEADER_STATUS) {
		/* A new status line (after a 1xx): forget the headers seen so far. */
		free(r->location);
		free(r->nonce);
		free(r->retry_after);
		json_decref(r->alternates);
		r->location = r->nonce = r->retry_after = NULL;
		r->alternates = NULL;
		return n;
	}
	if (kind != ACME_HEADER_FIELD) {
		return n;
	}
	if (acme_header_is(&h, "Replay-Nonce")) {
		take_header(r, &r->nonce, h.value, h.value_len);
	} else if (acme_header_is(&h, "Location")) {
		take_header(r, &r->location, h.value, h.value_len);
	} else if (acme_header_is(&h, "Retry-After")) {
		take_header(r, &r->retry_after, h.value, h.value_len);
	} else if (acme_header_is(&h, "Link") &&
	           acme_parse_link_alternates(h.value, h.value_len, &r->alternates) != CD_OK) {
		r->oom = true;
	}
	return n;
}

/* libcurl calls this about once a second, waiting or not: a non-zero return aborts. */
static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	const acme_client_t *c = ud;
	return atomic_load(c->cancel) ? 1 : 0;
}

#define SETOPT(opt, val)                                                  \
	do {                                                              \
		if (curl_easy_setopt(c->curl, opt, val) != CURLE_OK) {    \
			goto setopt_failed;                               \
		}                                                         \
	} while (0)

static int http_request(acme_client_t *c, http_method_t method, const char *url,
                        const char *post_body, const char *accept, reply_t *r)
{
	struct curl_slist *headers = NULL, *h;
	memset(r, 0, sizeof(*r));
	curl_easy_reset(c->curl);   /* options only: connections and TLS sessions are kept */
	c->curl_error[0] = '\0';
	if (method == HTTP_POST) {
		if ((h = curl_slist_append(headers, CONTENT_TYPE_JOSE)) == NULL) {
			goto oom;
		}
		headers = h;
		/* No "Expect: 100-continue" round trip for larger JWS bodies. */
		if ((h = curl_slist_append(headers, "Expect:")) == NULL) {
			goto oom;
		}
		headers = h;
	}
	if (accept != NULL) {
		if ((h = curl_slist_append(headers, accept)) == NULL) {
			goto oom;
		}
		headers = h;
	}
	SETOPT(CURLOPT_URL, url);
	SETOPT(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file != NULL) {
		SETOPT(CURLOPT_CAINFO, c->ca_file);
	}
	SETOPT(CURLOPT_CONNECTTIMEOUT_MS, c->connect_ms);
	SETOPT(CURLOPT_TIMEOUT_MS, c->total_ms);
	SETOPT(CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	SETOPT(CURLOPT_ERRORBUFFER, c->curl_error);
	SETOPT(CURLOPT_WRITEFUNCTION, on_body);
	SETOPT(CURLOPT_WRITEDATA, r);
	SETOPT(CURLOPT_HEADERFUNCTION, on_header);
	SETOPT(CURLOPT_HEADERDATA, r);
	if (c->cancel != NULL) {
		SETOPT(CURLOPT_NOPROGRESS, 0L);
		SETOPT(CURLOPT_XFERINFOFUNCTION, on_progress);
		SETOPT(CURLOPT_XFERINFODATA, c);
	}
	if (headers != NULL) {
		SETOPT(CURLOPT_HTTPHEADER, headers);
	}
	if (method == HTTP_HEAD) {
		SETOPT(CURLOPT_NOBODY, 1L);
	} else if (method == HTTP_POST) {
		SETOPT(CURLOPT_POSTFIELDS, post_body);
		SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(post_body));
	} else {
		SETOPT(CURLOPT_HTTPGET, 1L);
	}

	CURLcode cc = curl_easy_perform(c->curl);
	if (cc == CURLE_OK &&
	    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &r->status) != CURLE_OK) {
		r->status = 0;
	}
	curl_slist_free_all(headers);
	headers = NULL;
	/* Leave no pointer to the freed list or to r behind in the reused handle. */
	curl_easy_reset(c->curl);
	if (r->oom) {
		reply_free(r);
		return CD_ENOMEM;
	}
	if (r->too_large) {
		set_error(c, "%s %s: the response is larger than %zu bytes", method_name(method), url,
		          MAX_RESPONSE_BODY);
		reply_free(r);
		return CD_EPROTO;
	}
	if (cc != CURLE_OK) {
		const char *hint = "";
		if (cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE ||
		    cc == CURLE_SSL_CONNECT_ERROR) {
			hint = c->ca_file != NULL ? " (does the CA file trust this server?)"
			                          : " (is the server's CA in the system trust store?)";
		}
		set_error(c, "%s %s: %s%s", method_name(method), url,
		          c->curl_error[0] != '\0' ? c->curl_error : curl_easy_strerror(cc), hint);
		reply_free(r);
		return CD_ENET;
	}
	return CD_OK;

setopt_failed:
	set_error(c, "%s %s: libcurl refused an option (a libcurl built without HTTPS?)",
	          method_name(method), url);
	curl_slist_free_all(headers);
	reply_free(r);
	return CD_EINVAL;
oom:
	curl_slist_free_all(headers);
	return CD_ENOMEM;
}

#undef SETOPT

/*
 * Judges a reply: keeps its nonce, copies the headers into res, parses the
 * body as kind asks on success or as a problem document on failure.
 */
static int judge(acme_client_t *c, http_method_t method, const char *url, reply_t *r,
                 body_kind_t kind, acme_result_t *res)
{
	const char *m = method_name(method);
	if (r->nonce != NULL) {
		nonce_push(c, r->nonce);
		r->nonce = NULL;
	}
	res->http_status = r->status;
	free(res->location);
	res->location = r->location;
	r->location = NULL;
	res->retry_after = -1;
	long secs;
	if (r->retry_after != NULL && acme_parse_retry_after(r->retry_after, time(NULL), &secs) == CD_OK) {
		res->retry_after = secs;
	}
	bool ok = r->status >= 200 && r->status <= 299;
	json_t *json = NULL;
	/* Errors carry a problem document whatever was asked for (a badNonce on a PEM download too). */
	if (r->len > 0 && (kind != BODY_PEM || !ok)) {
		json = acme_parse_json_object(r->body, r->len);
	}

	if (!ok) {
		res->problem = json;
		char problem[sizeof(c->error)];
		if (acme_problem_describe(json, problem, sizeof(problem))) {
			set_error(c, "%s %s: HTTP %ld: %s", m, url, r->status, problem);
		} else {
			set_error(c, "%s %s: HTTP %ld without a problem document", m, url, r->status);
		}
		if (r->status == 429 || r->status == 503) {
			size_t used = strlen(c->error);
			if (res->retry_after >= 0) {
				snprintf(c->error + used, sizeof(c->error) - used, " (retry after %ld s)",
				         res->retry_after);
			}
			return CD_ERETRYLATER;
		}
		return CD_EACME;
	}

	switch (kind) {
	case BODY_JSON:
		if (json == NULL) {
			set_error(c, "%s %s: HTTP %ld but the body is not a JSON object", m, url, r->status);
			return CD_EPROTO;
		}
		res->body = json;
		break;
	case BODY_JSON_OPTIONAL:
		res->body = json;
		break;
	case BODY_PEM:
		if (r->len == 0 || memchr(r->body, '\0', r->len) != NULL) {
			set_error(c, "%s %s: HTTP %ld but no certificate chain in the body", m, url,
			          r->status);
			return CD_EPROTO;
		}
		res->pem = r->body;
		r->body = NULL;
		res->alternates = r->alternates;
		r->alternates = NULL;
		break;
	case BODY_NONE:
		json_decref(json);
		break;
	}
	return CD_OK;
}

/* One unsigned request, judged. */
static int plain_request(acme_client_t *c, http_method_t method, const char *url, body_kind_t kind,
                         acme_result_t *res)
{
	reply_t r;
	int ret = http_request(c, method, url, NULL, NULL, &r);
	if (ret != CD_OK) {
		return ret;
	}
	ret = judge(c, method, url, &r, kind, res);
	reply_free(&r);
	return ret;
}

/* ---- the client ---- */

int acme_client_new(acme_client_t **out, const char *directory_url, const char *ca_file)
{
	if (directory_url == NULL || strncasecmp(directory_url, "https://", 8) != 0 ||
	    directory_url[8] == '\0') {
		return CD_EINVAL;
	}
	acme_client_t *c = calloc(1, sizeof(*c));
	if (c == NULL) {
		return CD_ENOMEM;
	}
	c->connect_ms = ACME_DEFAULT_CONNECT_TIMEOUT_MS;
	c->total_ms = ACME_DEFAULT_TIMEOUT_MS;
	c->directory_url = strdup(directory_url);
	c->ca_file = ca_file != NULL ? strdup(ca_file) : NULL;
	c->curl = curl_easy_init();
	if (c->directory_url == NULL || (ca_file != NULL && c->ca_file == NULL) || c->curl == NULL) {
		acme_client_free(c);
		return CD_ENOMEM;
	}
	*out = c;
	return CD_OK;
}

void acme_client_free(acme_client_t *c)
{
	if (c == NULL) {
		return;
	}
	if (c->curl != NULL) {
		curl_easy_cleanup(c->curl);
	}
	nonce_pool_clear(c);
	json_decref(c->dir_json);
	EVP_PKEY_free(c->key);
	free(c->kid);
	free(c->directory_url);
	free(c->ca_file);
	free(c);
}

void acme_client_set_cancel(acme_client_t *c, const atomic_bool *cancel)
{
	c->cancel = cancel;
}

void acme_client_set_timeouts(acme_client_t *c, long connect_ms, long total_ms)
{
	c->connect_ms = connect_ms > 0 ? connect_ms : ACME_DEFAULT_CONNECT_TIMEOUT_MS;
	c->total_ms = total_ms > 0 ? total_ms : ACME_DEFAULT_TIMEOUT_MS;
}

int acme_client_set_account(acme_client_t *c, EVP_PKEY *key, const char *account_url)
{
	if (key != NULL && jws_alg(key) == NULL) {
		return CD_EINVAL;
	}
	char *kid = NULL;
	if (key != NULL && account_url != NULL && (kid = strdup(account_url)) == NULL) {
		return CD_ENOMEM;
	}
	if (key != NULL && EVP_PKEY_up_ref(key) != 1) {
		free(kid);
		return CD_ECRYPTO;
	}
	EVP_PKEY_free(c->key);
	free(c->kid);
	c->key = key;
	c->kid = kid;
	return CD_OK;
}

const char *acme_client_account_url(const acme_client_t *c)
{
	return c->kid;
}

EVP_PKEY *acme_client_account_key(const acme_client_t *c)
{
	return c->key;
}

const char *acme_client_error(const acme_client_t *c)
{
	return c->error;
}

static int load_directory(acme_client_t *c, acme_result_t *res)
{
	if (c->dir_json != NULL) {
		return CD_OK;
	}
	int ret = plain_request(c, HTTP_GET, c->directory_url, BODY_JSON, res);
	if (ret != CD_OK) {
		return ret;
	}
	acme_directory_t dir;
	const char *bad;
	if (acme_parse_directory(res->body, &dir, &bad) != CD_OK) {
		set_error(c, "GET %s: the directory has no %s URL", c->directory_url, bad);
		return CD_EPROTO;
	}
	c->dir_json = json_incref(res->body);
	c->dir = dir;
	return CD_OK;
}

int acme_client_directory(acme_client_t *c, const acme_directory_t **dir, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = load_directory(c, r);
	if (ret == CD_OK) {
		*dir = &c->dir;
	}
	result_end(r, &local);
	return ret;
}

/* A nonce from the pool, or a fresh one from newNonce.  *nonce is the caller's. */
static int take_nonce(acme_client_t *c, char **nonce)
{
	if (c->n_nonces > 0) {
		*nonce = c->nonces[--c->n_nonces];
		return CD_OK;
	}
	acme_result_t r;
	result_init(&r);
	int ret = plain_request(c, HTTP_HEAD, c->dir.new_nonce, BODY_NONE, &r);
	acme_result_clear(&r);
	if (ret != CD_OK) {
		return ret;
	}
	if (c->n_nonces == 0) {
		set_error(c, "HEAD %s: no Replay-Nonce in the answer", c->dir.new_nonce);
		return CD_EPROTO;
	}
	*nonce = c->nonces[--c->n_nonces];
	return CD_OK;
}

/*
 * Signs payload (NULL: POST-as-GET) with key, as kid (NULL: with the jwk),
 * POSTs it to url and judges the answer; on badNonce signs again with the
 * nonce that answer carried.
 */
static int signed_post(acme_client_t *c, const char *url, const json_t *payload, EVP_PKEY *key,
                       const char *kid, const char *accept, body_kind_t kind, acme_result_t *res)
{
	int ret = load_directory(c, res);
	if (ret != CD_OK) {
		return ret;
	}
	acme_result_clear(res);
	for (int attempt = 0;; attempt++) {
		char *nonce = NULL, *text = NULL;
		json_t *jws = NULL;
		if ((ret = take_nonce(c, &nonce)) != CD_OK) {
			return ret;
		}
		ret = jws_sign(key, kid, nonce, url, payload, &jws);
		free(nonce);
		if (ret != CD_OK) {
			set_error(c, "POST %s: signing the request failed: %s", url, cd_strerror(ret));
			return ret;
		}
		text = json_dumps(jws, JSON_COMPACT);
		json_decref(jws);
		if (text == NULL) {
			return CD_ENOMEM;
		}
		reply_t r;
		ret = http_request(c, HTTP_POST, url, text, accept, &r);
		free(text);
		if (ret != CD_OK) {
			return ret;
		}
		ret = judge(c, HTTP_POST, url, &r, kind, res);
		reply_free(&r);
		const char *type = acme_result_problem_type(res);
		if (ret == CD_EACME && type != NULL && strcmp(type, PROBLEM_BAD_NONCE) == 0 &&
		    attempt < ACME_BADNONCE_RETRIES) {
			log_debug("POST %s: badNonce, signing again with the nonce of the answer", url);
			acme_result_clear(res);
			continue;
		}
		return ret;
	}
}

/* Signed by the account, as its kid. */
static int account_post(acme_client_t *c, const char *url, const json_t *payload,
                        const char *accept, body_kind_t kind, acme_result_t *res)
{
	if (url == NULL || *url == '\0') {
		set_error(c, "POST: no URL given");
		return CD_EINVAL;
	}
	if (c->key == NULL || c->kid == NULL) {
		set_error(c, "POST %s: no ACME account (key and account URL) is set", url);
		return CD_EINVAL;
	}
	return signed_post(c, url, payload, c->key, c->kid, accept, kind, res);
}

int acme_post(acme_client_t *c, const char *url, const json_t *payload, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = account_post(c, url, payload, NULL, BODY_JSON_OPTIONAL, r);
	result_end(r, &local);
	return ret;
}

int acme_post_as_get(acme_client_t *c, const char *url, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = account_post(c, url, NULL, NULL, BODY_JSON, r);
	result_end(r, &local);
	return ret;
}

/* ---- operations ---- */

static json_t *account_payload(const acme_account_opts_t *opts)
{
	json_t *p = json_object();
	if (p == NULL) {
		return NULL;
	}
	if (opts->n_contacts > 0) {
		json_t *contacts = json_array();
		if (json_object_set_new(p, "contact", contacts) != 0) {
			goto fail;
		}
		for (size_t i = 0; i < opts->n_contacts; i++) {
			if (opts->contacts[i] == NULL ||
			    json_array_append_new(contacts, json_string(opts->contacts[i])) != 0) {
				goto fail;
			}
		}
	}
	if (opts->terms_agreed &&
	    json_object_set_new(p, "termsOfServiceAgreed", json_true()) != 0) {
		goto fail;
	}
	if (opts->only_return_existing &&
	    json_object_set_new(p, "onlyReturnExisting", json_true()) != 0) {
		goto fail;
	}
	return p;
fail:
	json_decref(p);
	return NULL;
}

static int account_new(acme_client_t *c, const acme_account_opts_t *opts, acme_result_t *r)
{
	static const acme_account_opts_t no_opts;
	if (opts == NULL) {
		opts = &no_opts;
	}
	if (c->key == NULL) {
		set_error(c, "newAccount: no account key is set");
		return CD_EINVAL;
	}
	if ((opts->eab_kid == NULL) != (opts->eab_hmac_key == NULL)) {
		set_error(c, "newAccount: External Account Binding needs both its key id and its HMAC key");
		return CD_EINVAL;
	}
	int ret = load_directory(c, r);
	if (ret != CD_OK) {
		return ret;
	}
	if (c->dir.external_account_required && opts->eab_kid == NULL && !opts->only_return_existing) {
		set_error(c, "newAccount %s: the CA requires External Account Binding: give the key id "
		          "and HMAC key it issued", c->dir.new_account);
		return CD_EINVAL;
	}
	json_t *payload = account_payload(opts);
	if (payload == NULL) {
		return opts->n_contacts > 0 && opts->contacts == NULL ? CD_EINVAL : CD_ENOMEM;
	}
	if (opts->eab_kid != NULL) {
		json_t *eab;
		ret = jws_eab(c->key, opts->eab_kid, opts->eab_hmac_key, c->dir.new_account, &eab);
		if (ret != CD_OK) {
			set_error(c, "newAccount: building the External Account Binding failed: %s%s",
			          cd_strerror(ret),
			          ret == CD_EINVAL ? " (is the HMAC key base64url?)" : "");
			json_decref(payload);
			return ret;
		}
		if (json_object_set_new(payload, "externalAccountBinding", eab) != 0) {
			json_decref(payload);
			return CD_ENOMEM;
		}
	}
	ret = signed_post(c, c->dir.new_account, payload, c->key, NULL, NULL, BODY_JSON, r);
	json_decref(payload);
	if (ret != CD_OK) {
		return ret;
	}
	if (r->location == NULL) {
		set_error(c, "POST %s: HTTP %ld without the account URL (Location)", c->dir.new_account,
		          r->http_status);
		return CD_EPROTO;
	}
	char *kid = strdup(r->location);
	if (kid == NULL) {
		return CD_ENOMEM;
	}
	free(c->kid);
	c->kid = kid;
	return CD_OK;
}

int acme_account_new(acme_client_t *c, const acme_account_opts_t *opts, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = account_new(c, opts, r);
	result_end(r, &local);
	return ret;
}

static json_t *order_payload(const char *const *names, size_t n, const char *replaces)
{
	json_t *idents = json_array();
	json_t *p = json_pack("{s:o}", "identifiers", idents);
	if (p == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *id = json_pack("{s:s, s:s}", "type", "dns", "value", names[i]);
		if (json_array_append_new(idents, id) != 0) {
			goto fail;
		}
	}
	if (replaces != NULL && json_object_set_new(p, "replaces", json_string(replaces)) != 0) {
		goto fail;
	}
	return p;
fail:
	json_decref(p);
	return NULL;
}

static int order_new(acme_client_t *c, const char *const *names, size_t n, const char *replaces,
                     acme_result_t *r)
{
	if (names == NULL || n == 0) {
		set_error(c, "newOrder: no identifiers");
		return CD_EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		if (names[i] == NULL || names[i][0] == '\0') {
			set_error(c, "newOrder: identifier %zu is empty", i + 1);
			return CD_EINVAL;
		}
	}
	int ret = load_directory(c, r);
	if (ret != CD_OK) {
		return ret;
	}
	json_t *payload = order_payload(names, n, replaces);
	if (payload == NULL) {
		return CD_ENOMEM;
	}
	ret = account_post(c, c->dir.new_order, payload, NULL, BODY_JSON, r);
	json_decref(payload);
	if (ret == CD_OK && r->location == NULL) {
		set_error(c, "POST %s: HTTP %ld without the order URL (Location)", c->dir.new_order,
		          r->http_status);
		return CD_EPROTO;
	}
	return ret;
}

int acme_order_new(acme_client_t *c, const char *const *names, size_t n, const char *replaces,
                   acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = order_new(c, names, n, replaces, r);
	result_end(r, &local);
	return ret;
}

int acme_challenge_respond(acme_client_t *c, const char *challenge_url, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	json_t *empty = json_object();
	int ret = empty != NULL ? account_post(c, challenge_url, empty, NULL, BODY_JSON, r) : CD_ENOMEM;
	json_decref(empty);
	result_end(r, &local);
	return ret;
}

/* {name: base64url(der)} */
static int b64_member_object(const char *name, const uint8_t *der, size_t len, json_t **out)
{
	char *b64;
	int ret = base64url_encode(der, len, &b64);
	if (ret != CD_OK) {
		return ret;
	}
	*out = json_pack("{s:s}", name, b64);
	free(b64);
	return *out != NULL ? CD_OK : CD_ENOMEM;
}

int acme_order_finalize(acme_client_t *c, const char *finalize_url, const uint8_t *csr_der,
                        size_t csr_len, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	json_t *payload = NULL;
	int ret = CD_EINVAL;
	if (csr_der == NULL || csr_len == 0) {
		set_error(c, "finalize: no CSR given");
	} else if ((ret = b64_member_object("csr", csr_der, csr_len, &payload)) == CD_OK) {
		ret = account_post(c, finalize_url, payload, NULL, BODY_JSON, r);
	}
	json_decref(payload);
	result_end(r, &local);
	return ret;
}

int acme_certificate_download(acme_client_t *c, const char *cert_url, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = account_post(c, cert_url, NULL, ACCEPT_PEM_CHAIN, BODY_PEM, r);
	result_end(r, &local);
	return ret;
}

static int certificate_revoke(acme_client_t *c, const uint8_t *cert_der, size_t cert_len,
                              int reason, EVP_PKEY *cert_key, acme_result_t *r)
{
	if (cert_der == NULL || cert_len == 0) {
		set_error(c, "revokeCert: no certificate given");
		return CD_EINVAL;
	}
	int ret = load_directory(c, r);
	if (ret != CD_OK) {
		return ret;
	}
	if (c->dir.revoke_cert == NULL) {
		set_error(c, "revokeCert: the directory %s offers no revokeCert", c->directory_url);
		return CD_EPROTO;
	}
	json_t *payload;
	if ((ret = b64_member_object("certificate", cert_der, cert_len, &payload)) != CD_OK) {
		return ret;
	}
	if (reason >= 0 && json_object_set_new(payload, "reason", json_integer(reason)) != 0) {
		json_decref(payload);
		return CD_ENOMEM;
	}
	if (cert_key != NULL) {
		if (jws_alg(cert_key) == NULL) {
			json_decref(payload);
			set_error(c, "revokeCert: the certificate key is of an unsupported type");
			return CD_EINVAL;
		}
		ret = signed_post(c, c->dir.revoke_cert, payload, cert_key, NULL, NULL, BODY_NONE, r);
	} else {
		ret = account_post(c, c->dir.revoke_cert, payload, NULL, BODY_NONE, r);
	}
	json_decref(payload);
	return ret;
}

int acme_certificate_revoke(acme_client_t *c, const uint8_t *cert_der, size_t cert_len,
                            int reason, EVP_PKEY *cert_key, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = certificate_revoke(c, cert_der, cert_len, reason, cert_key, r);
	result_end(r, &local);
	return ret;
}

static int key_change(acme_client_t *c, EVP_PKEY *new_key, acme_result_t *r)
{
	if (new_key == NULL || jws_alg(new_key) == NULL) {
		set_error(c, "keyChange: the new key is missing or of an unsupported type");
		return CD_EINVAL;
	}
	if (c->key == NULL || c->kid == NULL) {
		set_error(c, "keyChange: no ACME account (key and account URL) is set");
		return CD_EINVAL;
	}
	int ret = load_directory(c, r);
	if (ret != CD_OK) {
		return ret;
	}
	if (c->dir.key_change == NULL) {
		set_error(c, "keyChange: the directory %s offers no keyChange", c->directory_url);
		return CD_EPROTO;
	}
	/* RFC 8555 7.3.5: the inner JWS, signed by the new key with its jwk and no nonce. */
	json_t *old_jwk = NULL, *inner_payload = NULL, *inner = NULL;
	if ((ret = key_public_jwk(c->key, &old_jwk)) != CD_OK) {
		return ret;
	}
	inner_payload = json_pack("{s:s, s:o}", "account", c->kid, "oldKey", old_jwk);
	if (inner_payload == NULL) {
		return CD_ENOMEM;
	}
	ret = jws_sign(new_key, NULL, NULL, c->dir.key_change, inner_payload, &inner);
	json_decref(inner_payload);
	if (ret != CD_OK) {
		set_error(c, "keyChange: signing with the new key failed: %s", cd_strerror(ret));
		return ret;
	}
	ret = account_post(c, c->dir.key_change, inner, NULL, BODY_JSON_OPTIONAL, r);
	json_decref(inner);
	if (ret != CD_OK) {
		return ret;
	}
	if (EVP_PKEY_up_ref(new_key) != 1) {
		/* The CA has switched; this is the one thing we cannot undo. */
		set_error(c, "keyChange: the CA accepted the new key but OpenSSL failed to keep it");
		return CD_ECRYPTO;
	}
	EVP_PKEY_free(c->key);
	c->key = new_key;
	return CD_OK;
}

int acme_account_key_change(acme_client_t *c, EVP_PKEY *new_key, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = key_change(c, new_key, r);
	result_end(r, &local);
	return ret;
}

int acme_account_deactivate(acme_client_t *c, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	json_t *payload = json_pack("{s:s}", "status", "deactivated");
	int ret = payload != NULL ? account_post(c, c->kid, payload, NULL, BODY_JSON_OPTIONAL, r)
	                          : CD_ENOMEM;
	json_decref(payload);
	result_end(r, &local);
	return ret;
}

static int renewal_info(acme_client_t *c, const char *cert_id, acme_result_t *r)
{
	if (cert_id == NULL || *cert_id == '\0' || strchr(cert_id, '/') != NULL) {
		set_error(c, "renewalInfo: invalid certificate ID");
		return CD_EINVAL;
	}
	int ret = load_directory(c, r);
	if (ret != CD_OK) {
		return ret;
	}
	acme_result_clear(r);
	if (c->dir.renewal_info == NULL) {
		set_error(c, "renewalInfo: the CA at %s does not offer ARI", c->directory_url);
		return CD_ENOTFOUND;
	}
	const char *base = c->dir.renewal_info;
	size_t blen = strlen(base);
	char *url;
	if (asprintf(&url, "%s%s%s", base, blen > 0 && base[blen - 1] == '/' ? "" : "/", cert_id) < 0) {
		return CD_ENOMEM;
	}
	ret = plain_request(c, HTTP_GET, url, BODY_JSON, r);
	free(url);
	return ret;
}

int acme_renewal_info(acme_client_t *c, const char *cert_id, acme_result_t *res)
{
	acme_result_t local;
	acme_result_t *r = result_begin(c, res, &local);
	int ret = renewal_info(c, cert_id, r);
	result_end(r, &local);
	return ret;
}

int acme_ari_cert_id(const uint8_t *cert_der, size_t cert_len, char **id)
{
	if (cert_der == NULL || cert_len == 0 || cert_len > LONG_MAX) {
		return CD_EINVAL;
	}
	const unsigned char *p = cert_der;
	X509 *x = d2i_X509(NULL, &p, (long)cert_len);
	unsigned char *serial_der = NULL;
	char *aki_b64 = NULL, *serial_b64 = NULL;
	int ret = CD_EINVAL;
	if (x == NULL) {
		goto out;
	}
	const ASN1_OCTET_STRING *aki = X509_get0_authority_key_id(x);
	if (aki == NULL || ASN1_STRING_length(aki) <= 0) {
		goto out;
	}
	/* The serial's DER content octets: the INTEGER without its tag and length. */
	int der_len = i2d_ASN1_INTEGER(X509_get0_serialNumber(x), &serial_der);
	if (der_len <= 0) {
		goto out;
	}
	const unsigned char *q = serial_der;
	long content_len;
	int tag, cls;
	if ((ASN1_get_object(&q, &content_len, &tag, &cls, der_len) & 0x80) != 0 ||
	    tag != V_ASN1_INTEGER || content_len <= 0) {
		goto out;
	}
	if ((ret = base64url_encode(ASN1_STRING_get0_data(aki), (size_t)ASN1_STRING_length(aki),
	                            &aki_b64)) != CD_OK ||
	    (ret = base64url_encode(q, (size_t)content_len, &serial_b64)) != CD_OK) {
		goto out;
	}
	ret = asprintf(id, "%s.%s", aki_b64, serial_b64) < 0 ? CD_ENOMEM : CD_OK;
out:
	ERR_clear_error();
	X509_free(x);
	OPENSSL_free(serial_der);
	free(aki_b64);
	free(serial_b64);
	return ret;
}
