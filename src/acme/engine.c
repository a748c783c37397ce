#include "acme/engine.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acme/account.h"
#include "acme/acme_client.h"
#include "acme/acme_parse.h"
#include "acme/caa.h"
#include "acme/dns01.h"
#include "acme/jws.h"
#include "certs/csr.h"
#include "certs/export.h"
#include "certs/keys.h"
#include "certs/vault.h"
#include "common/error.h"
#include "common/log.h"
#include "db/acme_store.h"
#include "db/zone_conf.h"
#include "zonefile/zonefile.h"

#define RETRY_NETWORK_S 60       /* the first retry after the CA could not be used */
#define RETRY_MAX_S 3600          /* ... doubling each time up to this */
#define RETRY_DEFAULT_S 2
#define EVENTS_MAX 100

struct acme_engine {
	acme_engine_config_t cfg;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool woken;
	atomic_bool stopping;         /* stop, for the HTTP requests in flight (acme_client_set_cancel) */
};

/* What one round of work on a certificate needs. */
typedef struct {
	acme_engine_t *e;
	uint32_t id;
	json_t *cert;                 /* the record, changed in place and saved */
	acme_client_t *client;
	vault_t vault;
	dns01_config_t dns;
	uint32_t propagation_timeout;
	uint32_t propagation_interval;
	uint32_t challenge_ttl;
	char acme_zone[1024];
	char err[2048];
	bool revoked;                 /* revoked by certdnsctl while we worked: stop */
} work_t;

typedef enum { STEP_AGAIN, STEP_WAIT, STEP_DONE } step_result_t;

static long now_s(void)
{
	return (long)time(NULL);
}

__attribute__((format(printf, 2, 3)))
static void event(work_t *w, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_t *events = json_object_get(w->cert, "events");
	if (!json_is_array(events)) {
		events = json_array();
		json_object_set_new(w->cert, "events", events);
	}
	json_array_append_new(events, json_pack("{s:I, s:s}", "time", (json_int_t)now_s(), "message", msg));
	while (json_array_size(events) > EVENTS_MAX) {
		json_array_remove(events, 0);
	}
	log_info("certificate %u: %s", w->id, msg);
}

static int save(work_t *w)
{
	json_object_set_new(w->cert, "updated", json_integer(now_s()));
	MDB_txn *txn;
	int ret = db_write_begin(w->e->cfg.db, &txn);
	if (ret != CD_OK) {
		return ret;
	}
	/* certdnsctl may have revoked the certificate while we worked on it: that
	 * wins over the work in progress, which is abandoned. */
	int err;
	json_t *now = acme_store_get(w->e->cfg.db, txn, ACME_STORE_CERTS, w->id, &err);
	const char *stored = now ? json_string_value(json_object_get(now, "state")) : NULL;
	const char *ours = json_string_value(json_object_get(w->cert, "state"));
	if (stored != NULL && strcmp(stored, "revoked") == 0 &&
	    (ours == NULL || strcmp(ours, "revoked") != 0)) {
		json_object_set(w->cert, "state", json_object_get(now, "state"));
		json_object_set(w->cert, "status", json_object_get(now, "status"));
		json_object_set(w->cert, "revoked_at", json_object_get(now, "revoked_at"));
		json_object_del(w->cert, "renew_at");
		json_object_del(w->cert, "ari_check_at");
		json_object_del(w->cert, "retry_at");
		w->revoked = true;
	}
	json_decref(now);
	ret = acme_store_put(w->e->cfg.db, txn, ACME_STORE_CERTS, w->id, w->cert);
	return ret == CD_OK ? db_write_commit(txn) : (mdb_txn_abort(txn), ret);
}

static void set_state(work_t *w, const char *state, const char *status)
{
	if (strcmp(status, "validating") == 0 && json_object_get(w->cert, "chain") != NULL) {
		status = "renewing";   /* the issued certificate keeps serving meanwhile */
	}
	json_object_set_new(w->cert, "state", json_string(state));
	json_object_set_new(w->cert, "status", json_string(status));
}

static void wait_for(work_t *w, long seconds)
{
	json_object_set_new(w->cert, "retry_at", json_integer(now_s() + seconds));
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* Removes the challenge records this certificate wrote (idempotent). */
static void cleanup_records(work_t *w)
{
	json_t *records = json_object_get(w->cert, "records");
	size_t n = json_array_size(records);
	if (n == 0) {
		return;
	}
	dns01_target_t *targets = calloc(n, sizeof(*targets));
	const char **values = calloc(n, sizeof(*values));
	if (targets == NULL || values == NULL) {
		free(targets);
		free(values);
		return;
	}
	size_t i;
	json_t *r;
	size_t m = 0;
	json_array_foreach(records, i, r) {
		if (zonefile_parse_name_into(str(r, "zone"), targets[m].zone) == 0 &&
		    zonefile_parse_name_into(str(r, "target"), targets[m].target) == 0) {
			snprintf(targets[m].zone_text, sizeof(targets[m].zone_text), "%s", str(r, "zone"));
			values[m++] = str(r, "value");
		}
	}
	char err[512] = "";
	if (dns01_write(w->e->cfg.db, targets, values, m, false, 0, err, sizeof(err)) == CD_OK) {
		event(w, "removed %zu challenge record%s", m, m == 1 ? "" : "s");
		json_object_del(w->cert, "records");
		if (w->e->cfg.zone_changed != NULL) {
			w->e->cfg.zone_changed(w->e->cfg.ctx);
		}
	} else {
		event(w, "could not remove the challenge records: %s (will retry)", err);
	}
	free(targets);
	free(values);
}

/* Backoff after failed renewals: about 1 min, 10 min, 100 min, then daily. */
static long renewal_backoff(unsigned failures)
{
	static const long steps[] = { 60, 600, 6000 };
	return failures <= 3 ? steps[failures - 1] : 86400;
}

/* Forgets the order in progress (not the issued certificate). */
static void clear_order(work_t *w)
{
	static const char *const keys[] = {
		"order_url", "authorizations", "finalize", "order_key", "published_at", "propagation",
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		json_object_del(w->cert, keys[i]);
	}
}

/* Fails the certificate with a problem document (taken) or a message. */
static step_result_t fail(work_t *w, json_t *problem, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static step_result_t fail(work_t *w, json_t *problem, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (problem == NULL) {
		problem = json_pack("{s:s, s:s}", "type", "urn:certdns:error", "detail", msg);
	}
	json_object_set_new(w->cert, "error", problem);
	event(w, "failed: %s", msg);
	cleanup_records(w);
	clear_order(w);
	/* A CA that keeps failing: the fallback account (another CA) takes over. */
	json_t *fallback = json_object_get(w->cert, "fallback_account");
	json_int_t failures_so_far = json_integer_value(json_object_get(w->cert, "failures"));
	bool renewal = json_object_get(w->cert, "chain") != NULL;
	if (json_is_integer(fallback) && !json_is_true(json_object_get(w->cert, "on_fallback")) &&
	    (!renewal || failures_so_far + 1 >= 2)) {
		json_object_set(w->cert, "primary_account", json_object_get(w->cert, "account"));
		json_object_set(w->cert, "account", fallback);
		json_object_set_new(w->cert, "on_fallback", json_true());
		event(w, "switching to the fallback ACME account %lld", (long long)json_integer_value(fallback));
		set_state(w, "requested", renewal ? "renewing" : "requested");
		wait_for(w, 5);
		return STEP_DONE;
	}
	if (json_object_get(w->cert, "chain") != NULL) {
		/* A renewal: the old certificate keeps serving; try again later. */
		json_int_t failures = json_integer_value(json_object_get(w->cert, "failures")) + 1;
		json_object_set_new(w->cert, "failures", json_integer(failures));
		long delay = renewal_backoff((unsigned)failures);
		set_state(w, "failed", "renewal-failed");
		wait_for(w, delay);
		event(w, "renewal attempt %lld failed; the current certificate stays; next try in %ld s",
		      (long long)failures, delay);
		return STEP_DONE;
	}
	set_state(w, "failed", "failed");
	json_object_del(w->cert, "retry_at");
	return STEP_DONE;
}

/*
 * A CA out of reach or in trouble has refused nothing: the step is tried
 * again 1 min later, then 2, 4, ... up to an hour apart while it lasts.
 */
static step_result_t retry_later(work_t *w, const char *what, const char *why)
{
	json_int_t n = json_integer_value(json_object_get(w->cert, "transient_failures")) + 1;
	json_object_set_new(w->cert, "transient_failures", json_integer(n));
	long delay = RETRY_NETWORK_S << (n < 7 ? n - 1 : 6);
	if (delay > RETRY_MAX_S) {
		delay = RETRY_MAX_S;
	}
	event(w, "%s: %s; retrying in %ld s (%lld failure%s in a row)", what, why, delay,
	      (long long)n, n == 1 ? "" : "s");
	wait_for(w, delay);
	return STEP_WAIT;
}

/* Handles a client error: wait (rate limit, network, a CA in trouble) or fail (the CA refused). */
static step_result_t client_error(work_t *w, int ret, acme_result_t *res, const char *what)
{
	if (atomic_load(&w->e->stopping)) {
		wait_for(w, 0);    /* cut short by the daemon stopping: the step is redone at start */
		return STEP_WAIT;
	}
	if (ret == CD_ERETRYLATER) {
		long s = res->retry_after >= 0 ? res->retry_after : 60;
		event(w, "%s: the CA asks to retry in %ld s (%s)", what, s, acme_client_error(w->client));
		wait_for(w, s);
		return STEP_WAIT;
	}
	const char *type = acme_result_problem_type(res);
	if (type != NULL && strcmp(type, "urn:ietf:params:acme:error:badNonce") == 0) {
		/* RFC 8555 6.5: always worth another try, never a refusal. */
		event(w, "%s: the CA rejected nonce after nonce; trying again", what);
		wait_for(w, RETRY_DEFAULT_S);
		return STEP_WAIT;
	}
	/* No answer, an answer that is not ACME, a 5xx: the CA is in trouble. */
	if (ret == CD_ENET || ret == CD_ENOMEM || ret == CD_EPROTO ||
	    (ret == CD_EACME && res->http_status >= 500)) {
		return retry_later(w, what, acme_client_error(w->client));
	}
	json_t *problem = res->problem ? json_incref(res->problem) : NULL;
	return fail(w, problem, "%s: %s", what, acme_client_error(w->client));
}

static step_result_t step_requested(work_t *w)
{
	json_t *names = json_object_get(w->cert, "names");
	size_t n = json_array_size(names);
	const char **list = calloc(n ? n : 1, sizeof(*list));
	if (list == NULL) {
		return STEP_WAIT;
	}
	/* Before ordering: every name must have a place for its TXT record. */
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name) {
		list[i] = json_string_value(name);
		dns01_target_t t;
		char err[1024] = "";
		int ret = dns01_find_target(w->e->cfg.db, &w->dns, list[i], &t, err, sizeof(err));
		if (ret == CD_ENET) {
			free(list);
			event(w, "%s; retrying in %d s", err, RETRY_NETWORK_S);
			wait_for(w, RETRY_NETWORK_S);
			return STEP_WAIT;
		}
		if (ret != CD_OK) {
			free(list);
			return fail(w, NULL, "%s", err);
		}
	}
	/* CAA (RFC 8659) before ordering, when the CA says which identities it checks. */
	const acme_directory_t *cdir = NULL;
	json_t *ids = NULL;
	if (acme_client_directory(w->client, &cdir, NULL) == CD_OK) {
		ids = json_object_get(json_object_get(cdir->json, "meta"), "caaIdentities");
	}
	size_t nids = json_array_size(ids);
	const char *id_list[8];
	size_t k;
	json_t *idv;
	nids = 0;
	json_array_foreach(ids, k, idv) {
		if (json_is_string(idv) && nids < 8) {
			id_list[nids++] = json_string_value(idv);
		}
	}
	for (size_t j = 0; nids > 0 && j < n; j++) {
		caa_result_t caa;
		caa_check(w->e->cfg.db, w->e->cfg.resolver, list[j], id_list, nids,
		          acme_client_account_url(w->client), &caa);
		if (caa.verdict == CAA_FORBIDDEN) {
			step_result_t r = fail(w, NULL, "%s: %s; fix: %s", list[j], caa.detail,
			                       caa.suggestion);
			free(list);
			return r;
		}
		if (caa.verdict == CAA_UNKNOWN) {
			event(w, "%s: %s", list[j], caa.detail);
		}
	}
	acme_result_t res = { .retry_after = -1 };
	/* RFC 9773 5: a renewal names the certificate it replaces, when the CA has ARI. */
	const char *replaces = str(w->cert, "ari_id");
	const acme_directory_t *dir = NULL;
	if (replaces != NULL && (acme_client_directory(w->client, &dir, NULL) != CD_OK ||
	                         dir->renewal_info == NULL)) {
		replaces = NULL;
	}
	int ret = acme_order_new(w->client, list, n, replaces, &res);
	free(list);
	if (ret != CD_OK) {
		step_result_t r = client_error(w, ret, &res, "creating the order");
		acme_result_clear(&res);
		return r;
	}
	acme_order_t order;
	acme_parse_order(res.body, &order);
	json_object_set_new(w->cert, "order_url", json_string(res.location));
	json_object_set(w->cert, "authorizations", (json_t *)order.authorizations);
	json_object_set_new(w->cert, "finalize", order.finalize ? json_string(order.finalize) : NULL);
	event(w, "order %s created", res.location);
	acme_result_clear(&res);
	set_state(w, "ordered", "validating");
	return STEP_AGAIN;
}

static step_result_t step_ordered(work_t *w)
{
	json_t *authzs = json_object_get(w->cert, "authorizations");
	json_t *records = json_array();
	size_t i;
	json_t *url;
	json_array_foreach(authzs, i, url) {
		acme_result_t res = { .retry_after = -1 };
		int ret = acme_post_as_get(w->client, json_string_value(url), &res);
		if (ret != CD_OK) {
			json_decref(records);
			step_result_t r = client_error(w, ret, &res, "reading an authorization");
			acme_result_clear(&res);
			return r;
		}
		acme_authz_t authz;
		acme_parse_authorization(res.body, &authz);
		char name[1100];
		acme_authz_name(&authz, name, sizeof(name));
		if (authz.status != NULL && strcmp(authz.status, "valid") == 0) {
			event(w, "%s: already authorized", name);
			acme_result_clear(&res);
			continue;
		}
		if (authz.dns01_url == NULL) {
			acme_result_clear(&res);
			json_decref(records);
			return fail(w, NULL, "the CA offers no dns-01 challenge for %s", name);
		}
		char value[JWS_DNS01_TXT_LEN + 1];
		dns01_target_t t;
		char err[1024] = "";
		ret = jws_dns01_txt_value(authz.dns01_token, acme_client_account_key(w->client), value);
		if (ret == CD_OK) {
			ret = dns01_find_target(w->e->cfg.db, &w->dns, name, &t, err, sizeof(err));
		}
		if (ret != CD_OK) {
			acme_result_clear(&res);
			json_decref(records);
			if (ret == CD_ENET) {
				event(w, "%s; retrying in %d s", err, RETRY_NETWORK_S);
				wait_for(w, RETRY_NETWORK_S);
				return STEP_WAIT;
			}
			return fail(w, NULL, "%s: %s", name, err[0] ? err : cd_strerror(ret));
		}
		json_array_append_new(records, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name,
		                                         "zone", t.zone_text, "target", t.target_text,
		                                         "value", value, "challenge",
		                                         authz.dns01_url, "authorization",
		                                         json_string_value(url)));
		acme_result_clear(&res);
	}
	/* Record what we write before writing it, so a crash cannot leak records. */
	json_object_set_new(w->cert, "records", records);
	int ret = save(w);
	if (ret != CD_OK) {
		wait_for(w, RETRY_NETWORK_S);
		return STEP_WAIT;
	}
	size_t n = json_array_size(records);
	dns01_target_t *targets = calloc(n ? n : 1, sizeof(*targets));
	const char **values = calloc(n ? n : 1, sizeof(*values));
	json_t *r;
	json_array_foreach(records, i, r) {
		zonefile_parse_name_into(str(r, "zone"), targets[i].zone);
		zonefile_parse_name_into(str(r, "target"), targets[i].target);
		snprintf(targets[i].zone_text, sizeof(targets[i].zone_text), "%s", str(r, "zone"));
		snprintf(targets[i].target_text, sizeof(targets[i].target_text), "%s", str(r, "target"));
		values[i] = str(r, "value");
		event(w, "%s: TXT \"%s\" at %s", str(r, "name"), values[i], str(r, "target"));
	}
	char err[1024] = "";
	ret = n > 0 ? dns01_write(w->e->cfg.db, targets, values, n, true, w->challenge_ttl, err,
	                          sizeof(err)) : CD_OK;
	free(targets);
	free(values);
	if (ret != CD_OK) {
		return fail(w, NULL, "%s", err);
	}
	if (w->e->cfg.zone_changed != NULL && n > 0) {
		w->e->cfg.zone_changed(w->e->cfg.ctx);   /* NOTIFY the secondaries now */
	}
	json_object_set_new(w->cert, "published_at", json_integer(now_s()));
	set_state(w, "published", "validating");
	return STEP_AGAIN;
}

static step_result_t step_published(work_t *w)
{
	json_t *records = json_object_get(w->cert, "records");
	size_t n = json_array_size(records);
	if (n > 0) {
		dns01_target_t *targets = calloc(n, sizeof(*targets));
		const char **values = calloc(n, sizeof(*values));
		size_t i;
		json_t *r;
		json_array_foreach(records, i, r) {
			zonefile_parse_name_into(str(r, "zone"), targets[i].zone);
			zonefile_parse_name_into(str(r, "target"), targets[i].target);
			snprintf(targets[i].target_text, sizeof(targets[i].target_text), "%s",
			         str(r, "target"));
			values[i] = str(r, "value");
		}
		char err[2048] = "";
		int ret = dns01_check_propagation(w->e->cfg.db, &w->dns, targets, values, n, err,
		                                  sizeof(err));
		free(targets);
		free(values);
		if (ret != CD_OK) {
			long since = now_s() - (long)json_integer_value(json_object_get(w->cert, "published_at"));
			if (since >= (long)w->propagation_timeout) {
				return fail(w, NULL, "the challenge records did not reach every authoritative "
				            "server within %u s: %s", w->propagation_timeout, err);
			}
			json_t *last = json_object_get(w->cert, "propagation");
			if (!json_is_string(last) || strcmp(json_string_value(last), err) != 0) {
				event(w, "waiting for propagation: %s", err);
				json_object_set_new(w->cert, "propagation", json_string(err));
			}
			wait_for(w, w->propagation_interval);
			return STEP_WAIT;
		}
		event(w, "every authoritative server serves the challenge records");
		size_t i2;
		json_t *r2;
		json_array_foreach(records, i2, r2) {
			/* Answer each challenge once: after a retry or a restart, one that is no
			 * longer pending was answered already. */
			acme_result_t res = { .retry_after = -1 };
			int ret2 = acme_post_as_get(w->client, str(r2, "challenge"), &res);
			if (ret2 != CD_OK) {
				step_result_t sr = client_error(w, ret2, &res, "reading a challenge");
				acme_result_clear(&res);
				return sr;
			}
			const char *cst = str(res.body, "status");
			bool pending = cst != NULL && strcmp(cst, "pending") == 0;
			acme_result_clear(&res);
			if (!pending) {
				continue;
			}
			ret2 = acme_challenge_respond(w->client, str(r2, "challenge"), &res);
			if (ret2 != CD_OK) {
				step_result_t sr = client_error(w, ret2, &res, "answering a challenge");
				acme_result_clear(&res);
				return sr;
			}
			acme_result_clear(&res);
		}
		event(w, "challenges answered");
	}
	set_state(w, "validating", "validating");
	return STEP_AGAIN;
}

static step_result_t step_validating(work_t *w)
{
	size_t i;
	json_t *url;
	long wait = 0;
	json_array_foreach(json_object_get(w->cert, "authorizations"), i, url) {
		acme_result_t res = { .retry_after = -1 };
		int ret = acme_post_as_get(w->client, json_string_value(url), &res);
		if (ret != CD_OK) {
			step_result_t r = client_error(w, ret, &res, "reading an authorization");
			acme_result_clear(&res);
			return r;
		}
		acme_authz_t authz;
		acme_parse_authorization(res.body, &authz);
		const char *status = authz.status;
		if (status != NULL && strcmp(status, "valid") == 0) {
			acme_result_clear(&res);
			continue;
		}
		if (status != NULL && strcmp(status, "pending") == 0) {
			wait = res.retry_after > 0 ? res.retry_after : RETRY_DEFAULT_S;
			acme_result_clear(&res);
			continue;
		}
		/* invalid (or deactivated, expired, revoked): the challenge error says why */
		json_t *problem = authz.error != NULL ? json_incref((json_t *)authz.error) : NULL;
		char detail[1024];
		snprintf(detail, sizeof(detail), "%s", problem && str(problem, "detail")
		         ? str(problem, "detail") : "no detail");
		step_result_t r = fail(w, problem, "authorization of %s is %s: %s",
		                       authz.identifier ? authz.identifier : "?",
		                       status ? status : "?", detail);
		acme_result_clear(&res);
		return r;
	}
	if (wait > 0) {
		wait_for(w, wait);
		return STEP_WAIT;
	}
	event(w, "all names authorized");
	set_state(w, "authorized", "validating");
	return STEP_AGAIN;
}

static step_result_t step_authorized(work_t *w)
{
	/* The key exists (sealed, saved) before finalize sends its CSR: after a
	 * crash the certificate still matches a key we have. */
	EVP_PKEY *key = NULL;
	const char *sealed = str(w->cert, "order_key");
	int ret;
	if (sealed != NULL) {
		/* The key was made, so finalize may have gone out before a restart: an
		 * order the CA finalized already would refuse it again (orderNotReady). */
		acme_result_t res = { .retry_after = -1 };
		ret = acme_post_as_get(w->client, str(w->cert, "order_url"), &res);
		if (ret != CD_OK) {
			step_result_t r = client_error(w, ret, &res, "reading the order");
			acme_result_clear(&res);
			return r;
		}
		acme_order_t order;
		acme_parse_order(res.body, &order);
		bool finalized = order.status != NULL && (strcmp(order.status, "processing") == 0 ||
		                                          strcmp(order.status, "valid") == 0);
		acme_result_clear(&res);
		if (finalized) {
			event(w, "the order was finalized before the restart");
			set_state(w, "finalizing", "validating");
			return STEP_AGAIN;
		}
	}
	if (sealed == NULL) {
		const char *type = str(w->cert, "key_type");
		char *pem = NULL;
		char *s = NULL;
		ret = key_generate(type, &key);
		if (ret == CD_OK) {
			ret = key_to_pem(key, &pem);
		}
		if (ret == CD_OK) {
			ret = vault_seal(&w->vault, "certificate-key", (const uint8_t *)pem, strlen(pem), &s);
		}
		free(pem);
		if (ret != CD_OK) {
			EVP_PKEY_free(key);
			return fail(w, NULL, "cannot make the certificate key: %s", cd_strerror(ret));
		}
		json_object_set_new(w->cert, "order_key", json_string(s));
		free(s);
		if (save(w) != CD_OK) {
			EVP_PKEY_free(key);
			wait_for(w, RETRY_NETWORK_S);
			return STEP_WAIT;
		}
		event(w, "generated a %s key", key_type_name(key));
	} else {
		uint8_t *pem;
		size_t len;
		ret = vault_open_sealed(&w->vault, "certificate-key", sealed, &pem, &len);
		if (ret == CD_OK) {
			ret = key_from_pem((const char *)pem, len, &key);
			free(pem);
		}
		if (ret != CD_OK) {
			return fail(w, NULL, "cannot read the certificate key: %s", cd_strerror(ret));
		}
	}
	json_t *names = json_object_get(w->cert, "names");
	size_t n = json_array_size(names);
	const char **list = calloc(n ? n : 1, sizeof(*list));
	size_t i;
	json_t *name;
	json_array_foreach(names, i, name) {
		list[i] = json_string_value(name);
	}
	uint8_t *der = NULL;
	size_t der_len = 0;
	ret = csr_create(key, list, n, true, &der, &der_len);
	free(list);
	EVP_PKEY_free(key);
	if (ret != CD_OK) {
		return fail(w, NULL, "cannot make the CSR: %s", cd_strerror(ret));
	}
	acme_result_t res = { .retry_after = -1 };
	ret = acme_order_finalize(w->client, str(w->cert, "finalize"), der, der_len, &res);
	free(der);
	if (ret != CD_OK) {
		step_result_t r = client_error(w, ret, &res, "finalizing the order");
		acme_result_clear(&res);
		return r;
	}
	acme_result_clear(&res);
	event(w, "order finalized with a CSR for %zu name%s", n, n == 1 ? "" : "s");
	set_state(w, "finalizing", "validating");
	return STEP_AGAIN;
}

/* Reads validity, serial and issuer of the leaf of a PEM chain into the record. */
static void describe_leaf(work_t *w, const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	if (x != NULL) {
		struct tm tm;
		if (ASN1_TIME_to_tm(X509_get0_notBefore(x), &tm) == 1) {
			json_object_set_new(w->cert, "not_before", json_integer((json_int_t)timegm(&tm)));
		}
		if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1) {
			json_object_set_new(w->cert, "not_after", json_integer((json_int_t)timegm(&tm)));
		}
		BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
		char *hex = bn ? BN_bn2hex(bn) : NULL;
		if (hex != NULL) {
			json_object_set_new(w->cert, "serial", json_string(hex));
		}
		OPENSSL_free(hex);
		BN_free(bn);
		char issuer[512];
		X509_NAME_oneline(X509_get_issuer_name(x), issuer, sizeof(issuer));
		json_object_set_new(w->cert, "issuer", json_string(issuer));
		X509_free(x);
	}
	BIO_free(bio);
}

static long random_below(long n)
{
	/* 64 bits: an ARI window of 2^32 s would make a 32-bit modulus 0 (SIGFPE). */
	uint64_t r = 0;
	if (n <= 0 || RAND_bytes((unsigned char *)&r, sizeof(r)) != 1) {
		return 0;
	}
	return (long)(r % (uint64_t)n);
}

/*
 * When to renew: inside the CA's ARI window (RFC 9773 4.2, a random time in
 * it, asked again twice a day), else when a third of the lifetime is left (a
 * half under 10 days), with jitter so many certificates spread out.
 */
static void schedule_renewal(work_t *w)
{
	long not_before = (long)json_integer_value(json_object_get(w->cert, "not_before"));
	long not_after = (long)json_integer_value(json_object_get(w->cert, "not_after"));
	long lifetime = not_after - not_before;
	if (lifetime <= 0) {
		return;
	}
	const acme_directory_t *dir = NULL;
	char *id = NULL;
	const char *chain = str(w->cert, "chain");
	BIO *bio = chain ? BIO_new_mem_buf(chain, -1) : NULL;
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int der_len = x ? i2d_X509(x, &der) : -1;
	if (der_len > 0 && acme_ari_cert_id(der, (size_t)der_len, &id) == CD_OK) {
		json_object_set_new(w->cert, "ari_id", json_string(id));
	}
	OPENSSL_free(der);
	X509_free(x);
	BIO_free(bio);
	long renew_at = 0;
	bool has_ari = id != NULL && acme_client_directory(w->client, &dir, NULL) == CD_OK &&
	               dir->renewal_info != NULL;
	if (has_ari) {
		acme_result_t res = { .retry_after = -1 };
		if (acme_renewal_info(w->client, id, &res) == CD_OK) {
			long start, end;
			if (acme_parse_renewal_info(res.body, &start, &end) == CD_OK) {
				renew_at = start + random_below(end - start + 1);
				json_object_set_new(w->cert, "ari_window", json_pack("{s:I, s:I}", "start",
				                    (json_int_t)start, "end", (json_int_t)end));
				event(w, "renewal window from the CA (ARI): renewing at %ld", renew_at);
			}
		}
		/* Ask again when the CA says, at least twice a day; sooner after a failure. */
		long recheck = res.retry_after > 0 ? res.retry_after : renew_at ? 6 * 3600 : 3600;
		if (recheck > 12 * 3600) {
			recheck = 12 * 3600;
		}
		json_object_set_new(w->cert, "ari_check_at", json_integer(now_s() + recheck));
		acme_result_clear(&res);
	}
	free(id);
	if (renew_at == 0) {
		long left = lifetime < 10 * 86400 ? lifetime / 2 : lifetime / 3;
		long jitter = lifetime / 50 < 6 * 3600 ? lifetime / 50 : 6 * 3600;
		renew_at = not_after - left - random_below(jitter + 1);
		if (!has_ari) {
			json_object_del(w->cert, "ari_check_at");
		}
	}
	json_object_set_new(w->cert, "renew_at", json_integer(renew_at));
}

/* Writes the export directory and runs the deploy hook, if the certificate has them. */
static void deploy(work_t *w)
{
	const char *dir = str(w->cert, "export_dir");
	if (dir == NULL) {
		return;
	}
	uint8_t *pem = NULL;
	size_t len = 0;
	char err[1024] = "";
	if (vault_open_sealed(&w->vault, "certificate-key", str(w->cert, "key") ? str(w->cert, "key")
	                      : "", &pem, &len) != CD_OK) {
		event(w, "cannot unseal the key to export it");
		return;
	}
	int ret = cert_export_files(dir, str(w->cert, "chain"), (const char *)pem, len, err,
	                            sizeof(err));
	OPENSSL_cleanse(pem, len);
	free(pem);
	if (ret != CD_OK) {
		event(w, "export to %s failed: %s", dir, err);
		return;
	}
	event(w, "exported to %s", dir);
	const char *hook = str(w->cert, "deploy_hook");
	if (hook == NULL) {
		return;
	}
	char names[2048] = "";
	size_t i;
	json_t *n;
	json_array_foreach(json_object_get(w->cert, "names"), i, n) {
		size_t used = strlen(names);
		snprintf(names + used, sizeof(names) - used, "%s%s", used ? " " : "", json_string_value(n));
	}
	int status = cert_run_deploy_hook(hook, w->id, names, dir, 60, err, sizeof(err));
	if (status == 0) {
		event(w, "deploy hook ran: exit 0");
	} else if (status > 0) {
		event(w, "deploy hook exited with status %d", status);
	} else {
		event(w, "deploy hook: %s", err);
	}
}

/*
 * Whether pem is a certificate chain whose leaf holds the order's key.
 * Returns 0, CD_EPROTO (no PEM certificate in it: garbage, try again) or
 * CD_ECRYPTO (a certificate for another key, or the key cannot be read).
 */
static int check_chain(work_t *w, const char *pem, char *why, size_t len)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509 *x = bio ? PEM_read_bio_X509(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (x == NULL) {
		snprintf(why, len, "the answer is not a PEM certificate chain");
		return CD_EPROTO;
	}
	uint8_t *key_pem = NULL;
	size_t key_len = 0;
	EVP_PKEY *key = NULL;
	const char *sealed = str(w->cert, "order_key");
	int ret = vault_open_sealed(&w->vault, "certificate-key", sealed ? sealed : "", &key_pem,
	                            &key_len);
	if (ret == CD_OK) {
		ret = key_from_pem((const char *)key_pem, key_len, &key);
		OPENSSL_cleanse(key_pem, key_len);
		free(key_pem);
	}
	if (ret != CD_OK) {
		snprintf(why, len, "the order's key cannot be read: %s", cd_strerror(ret));
		ret = CD_ECRYPTO;
	} else if (X509_check_private_key(x, key) != 1) {
		snprintf(why, len, "the certificate is not for the key of the order's CSR");
		ret = CD_ECRYPTO;
	}
	ERR_clear_error();
	EVP_PKEY_free(key);
	X509_free(x);
	return ret;
}

static step_result_t step_finalizing(work_t *w)
{
	acme_result_t res = { .retry_after = -1 };
	int ret = acme_post_as_get(w->client, str(w->cert, "order_url"), &res);
	if (ret != CD_OK) {
		step_result_t r = client_error(w, ret, &res, "reading the order");
		acme_result_clear(&res);
		return r;
	}
	const char *status = str(res.body, "status");
	if (status != NULL && strcmp(status, "processing") == 0) {
		wait_for(w, res.retry_after > 0 ? res.retry_after : RETRY_DEFAULT_S);
		acme_result_clear(&res);
		return STEP_WAIT;
	}
	if (status == NULL || strcmp(status, "valid") != 0) {
		json_t *problem = json_object_get(res.body, "error");
		step_result_t r = fail(w, problem ? json_incref(problem) : NULL, "the order is %s",
		                       status ? status : "in an unknown state");
		acme_result_clear(&res);
		return r;
	}
	char *cert_url = strdup(str(res.body, "certificate") ? str(res.body, "certificate") : "");
	acme_result_clear(&res);
	ret = acme_certificate_download(w->client, cert_url, &res);
	if (ret != CD_OK) {
		free(cert_url);
		step_result_t r = client_error(w, ret, &res, "downloading the certificate");
		acme_result_clear(&res);
		return r;
	}
	/* Nothing but a chain for our key replaces the certificate in place. */
	char why[1200];
	ret = check_chain(w, res.pem, why, sizeof(why));
	if (ret != CD_OK) {
		char detail[1400];
		snprintf(detail, sizeof(detail), "POST %s: %s", cert_url, why);
		free(cert_url);
		acme_result_clear(&res);
		return ret == CD_EPROTO ? retry_later(w, "downloading the certificate", detail)
		                        : fail(w, NULL, "downloading the certificate: %s", detail);
	}
	free(cert_url);
	/* The new certificate and its key replace the old pair in one record write. */
	bool renewal = json_object_get(w->cert, "chain") != NULL;
	json_object_set_new(w->cert, "chain", json_string(res.pem));
	json_object_set(w->cert, "key", json_object_get(w->cert, "order_key"));
	describe_leaf(w, res.pem);
	acme_result_clear(&res);
	json_object_del(w->cert, "error");
	json_object_del(w->cert, "failures");
	/* Revocation and ARI go to the CA that issued it; the next renewal tries the
	 * first CA again (begin_renewal). */
	json_object_set(w->cert, "issued_by", json_object_get(w->cert, "account"));
	json_object_del(w->cert, "on_fallback");
	event(w, "certificate %s (serial %s)", renewal ? "renewed" : "issued",
	      str(w->cert, "serial") ? str(w->cert, "serial") : "?");
	cleanup_records(w);
	clear_order(w);
	set_state(w, "issued", "issued");
	json_object_set_new(w->cert, "issued_at", json_integer(now_s()));
	json_object_del(w->cert, "retry_at");
	schedule_renewal(w);
	deploy(w);
	return STEP_DONE;
}

/*
 * For an issued certificate: refresh its ARI window when that is due, and
 * start the renewal when its time has come (the current certificate keeps
 * serving until the new one replaces it).  A failed renewal whose retry time
 * has come starts over.  Returns STEP_DONE when there is nothing more to do now.
 */
static step_result_t begin_renewal(work_t *w)
{
	const char *state = str(w->cert, "state");
	if (state == NULL) {
		return STEP_AGAIN;
	}
	if (strcmp(state, "failed") == 0 && json_object_get(w->cert, "chain") != NULL) {
		set_state(w, "requested", "renewing");
		event(w, "retrying the renewal");
		return STEP_AGAIN;
	}
	if (strcmp(state, "issued") != 0) {
		return STEP_AGAIN;
	}
	long ari = (long)json_integer_value(json_object_get(w->cert, "ari_check_at"));
	if (ari > 0 && ari <= now_s()) {
		schedule_renewal(w);
	}
	long renew_at = (long)json_integer_value(json_object_get(w->cert, "renew_at"));
	if (renew_at == 0 || renew_at > now_s()) {
		return STEP_DONE;
	}
	long left = (long)json_integer_value(json_object_get(w->cert, "not_after")) - now_s();
	event(w, "renewing: %ld s of validity left", left);
	json_t *primary = json_object_get(w->cert, "primary_account");
	if (json_is_integer(primary)) {
		json_object_set(w->cert, "account", primary);   /* the first CA gets another chance */
		json_object_del(w->cert, "primary_account");
	}
	json_object_del(w->cert, "renew_at");
	json_object_del(w->cert, "ari_check_at");
	set_state(w, "requested", "renewing");
	return STEP_AGAIN;
}

/* Sets up the ACME client of the certificate's account; its requests end when the engine stops. */
static int open_account(work_t *w)
{
	int ret = acme_account_client(w->e->cfg.db, &w->vault,
	                              (uint32_t)json_integer_value(json_object_get(w->cert, "account")),
	                              &w->client, w->err, sizeof(w->err));
	if (ret == CD_OK) {
		acme_client_set_cancel(w->client, &w->e->stopping);
	}
	return ret;
}

static void load_settings(work_t *w)
{
	MDB_txn *txn;
	json_t *s = NULL;
	if (db_read_begin(w->e->cfg.db, &txn) == CD_OK) {
		s = db_settings_get(w->e->cfg.db, txn);
		mdb_txn_abort(txn);
	}
	w->propagation_timeout = db_settings_number(s, "acme_propagation_timeout", 300);
	w->propagation_interval = db_settings_number(s, "acme_propagation_interval", 2);
	w->challenge_ttl = db_settings_number(s, "acme_challenge_ttl", 60);
	const char *zone = json_string_value(json_object_get(s, "acme_zone"));
	snprintf(w->acme_zone, sizeof(w->acme_zone), "%s", zone ? zone : "");
	w->dns.resolver = w->e->cfg.resolver;
	w->dns.acme_zone = w->acme_zone[0] ? w->acme_zone : NULL;
	w->dns.ns_port = (uint16_t)db_settings_number(s, "acme_ns_port", 53);
	json_t *check = json_object_get(s, "acme_check_ns");
	w->dns.check_ns = check == NULL || json_is_true(check);
	w->dns.self = w->e->cfg.self_addresses;
	w->dns.nself = w->e->cfg.nself;
	json_decref(s);
}

/* Runs one certificate as far as it goes now.  Returns when it next needs attention (0: never). */
static long run_certificate(acme_engine_t *e, uint32_t id, json_t *cert)
{
	work_t w = { .e = e, .id = id, .cert = cert };
	load_settings(&w);
	if (vault_open(&w.vault, e->cfg.db_dir, 1) != CD_OK) {
		log_error("certificate %u: cannot open the master key; retrying in %d s", id,
		          RETRY_NETWORK_S);
		return now_s() + RETRY_NETWORK_S;
	}
	const char *st = str(cert, "state");
	if (st != NULL && strcmp(st, "revoked") == 0) {
		w.revoked = true;
	} else if (open_account(&w) != CD_OK) {
		fail(&w, NULL, "%s", w.err);
	} else if (begin_renewal(&w) == STEP_DONE) {
		save(&w);
	} else {
		json_object_del(cert, "retry_at");
		for (int guard = 0; guard < 16; guard++) {
			const char *state = str(cert, "state");
			step_result_t r;
			if (state == NULL || strcmp(state, "requested") == 0) {
				r = step_requested(&w);
			} else if (strcmp(state, "ordered") == 0) {
				r = step_ordered(&w);
			} else if (strcmp(state, "published") == 0) {
				r = step_published(&w);
			} else if (strcmp(state, "validating") == 0) {
				r = step_validating(&w);
			} else if (strcmp(state, "authorized") == 0) {
				r = step_authorized(&w);
			} else if (strcmp(state, "finalizing") == 0) {
				r = step_finalizing(&w);
			} else {
				break;   /* issued or failed: nothing to do */
			}
			if (r != STEP_WAIT) {
				json_object_del(cert, "transient_failures");   /* the CA answered: no backoff */
			}
			if (save(&w) != CD_OK) {
				log_error("certificate %u: cannot save its state; retrying", id);
				json_object_set_new(cert, "retry_at", json_integer(now_s() + RETRY_NETWORK_S));
				break;
			}
			if (w.revoked) {
				break;
			}
			if (r != STEP_AGAIN) {
				break;
			}
		}
	}
	if (w.revoked) {
		/* Abandon the order in progress: its challenge records go, nothing renews. */
		if (json_object_get(cert, "records") != NULL || json_object_get(cert, "order_url") != NULL) {
			event(&w, "revoked: the order in progress is abandoned");
			cleanup_records(&w);
			clear_order(&w);
			save(&w);
		}
	}
	acme_client_free(w.client);
	vault_close(&w.vault);
	/* The next time this certificate needs the engine: a retry, a renewal, an ARI check. */
	long next = 0;
	static const char *const times[] = { "retry_at", "renew_at", "ari_check_at" };
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		long t = (long)json_integer_value(json_object_get(cert, times[i]));
		if (t > 0 && (next == 0 || t < next)) {
			next = t;
		}
	}
	return next;
}

typedef struct {
	uint32_t *ids;
	size_t n, cap;
	long next;       /* earliest future retry_at */
} due_t;

static int collect_due(void *arg, uint32_t id, const json_t *cert)
{
	due_t *d = arg;
	const char *state = str(cert, "state");
	long at;
	if (state != NULL && strcmp(state, "issued") == 0) {
		at = (long)json_integer_value(json_object_get(cert, "renew_at"));
		long ari = (long)json_integer_value(json_object_get(cert, "ari_check_at"));
		if (ari > 0 && (at == 0 || ari < at)) {
			at = ari;
		}
		if (at == 0) {
			return 0;
		}
	} else if (state != NULL && strcmp(state, "failed") == 0) {
		if (json_object_get(cert, "chain") == NULL) {
			return 0;   /* a first issuance that failed waits for the user */
		}
		at = (long)json_integer_value(json_object_get(cert, "retry_at"));
	} else if (state != NULL && strcmp(state, "revoked") == 0 &&
	           (json_object_get(cert, "records") != NULL || json_object_get(cert, "order_url") != NULL)) {
		at = 0;     /* revoked during an order: its leftovers are cleaned up */
	} else if (state == NULL || strcmp(state, "revoked") == 0 || strcmp(state, "imported") == 0) {
		return 0;   /* revoked, imported (no order behind it), unknown: nothing to do */
	} else {
		at = (long)json_integer_value(json_object_get(cert, "retry_at"));
	}
	if (at > now_s()) {
		if (d->next == 0 || at < d->next) {
			d->next = at;
		}
		return 0;
	}
	if (d->n == d->cap) {
		size_t ncap = d->cap ? d->cap * 2 : 16;
		uint32_t *nids = realloc(d->ids, ncap * sizeof(*nids));
		if (nids == NULL) {
			return 0;
		}
		d->ids = nids;
		d->cap = ncap;
	}
	d->ids[d->n++] = id;
	return 0;
}

static void *engine_main(void *arg)
{
	acme_engine_t *e = arg;
	pthread_setname_np(pthread_self(), "cdns-acme");
	for (;;) {
		pthread_mutex_lock(&e->lock);
		bool stop = e->stop;
		e->woken = false;
		pthread_mutex_unlock(&e->lock);
		if (stop) {
			break;
		}
		due_t d = { 0 };
		MDB_txn *txn;
		if (db_read_begin(e->cfg.db, &txn) == CD_OK) {
			acme_store_foreach(e->cfg.db, txn, ACME_STORE_CERTS, collect_due, &d);
			mdb_txn_abort(txn);
		}
		for (size_t i = 0; i < d.n; i++) {
			pthread_mutex_lock(&e->lock);
			stop = e->stop;
			pthread_mutex_unlock(&e->lock);
			if (stop) {
				break;
			}
			int err;
			json_t *cert = NULL;
			if (db_read_begin(e->cfg.db, &txn) == CD_OK) {
				cert = acme_store_get(e->cfg.db, txn, ACME_STORE_CERTS, d.ids[i], &err);
				mdb_txn_abort(txn);
			}
			if (cert != NULL) {
				long at = run_certificate(e, d.ids[i], cert);
				if (at > 0 && (d.next == 0 || at < d.next)) {
					d.next = at;
				}
				json_decref(cert);
			}
		}
		free(d.ids);
		/* Sleep until the next retry (at most a minute) or a wake-up. */
		pthread_mutex_lock(&e->lock);
		if (!e->stop && !e->woken) {
			struct timespec until;
			clock_gettime(CLOCK_REALTIME, &until);
			long wait = d.next > 0 ? d.next - now_s() : 60;
			if (wait > 60) {
				wait = 60;
			}
			if (wait < 1) {
				wait = d.n > 0 ? 0 : 1;
			}
			until.tv_sec += wait;
			if (wait > 0) {
				pthread_cond_timedwait(&e->cond, &e->lock, &until);
			}
		}
		pthread_mutex_unlock(&e->lock);
	}
	return NULL;
}

int acme_engine_start(const acme_engine_config_t *cfg, acme_engine_t **out)
{
	acme_engine_t *e = calloc(1, sizeof(*e));
	if (e == NULL) {
		return CD_ENOMEM;
	}
	e->cfg = *cfg;
	atomic_init(&e->stopping, false);
	pthread_mutex_init(&e->lock, NULL);
	pthread_cond_init(&e->cond, NULL);
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
		pthread_mutex_destroy(&e->lock);
		pthread_cond_destroy(&e->cond);
		free(e);
		return CD_ENOMEM;
	}
	*out = e;
	return CD_OK;
}

void acme_engine_wake(acme_engine_t *e)
{
	if (e == NULL) {
		return;
	}
	pthread_mutex_lock(&e->lock);
	e->woken = true;
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
}

void acme_engine_stop(acme_engine_t *e)
{
	if (e == NULL) {
		return;
	}
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	atomic_store(&e->stopping, true);    /* a request waiting for the CA gives up now */
	pthread_cond_signal(&e->cond);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->cond);
	free(e);
}
