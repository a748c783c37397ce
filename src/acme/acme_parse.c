#include "acme/acme_parse.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/error.h"

json_t *acme_parse_json_object(const char *body, size_t len)
{
	json_t *json = json_loadb(body, len, 0, NULL);
	if (json != NULL && !json_is_object(json)) {
		json_decref(json);
		json = NULL;
	}
	return json;
}

/* A member of the directory that must be a string when present. */
static bool dir_url(const json_t *d, const char *name, bool required, const char **out)
{
	const json_t *v = json_object_get(d, name);
	*out = json_string_value(v);
	return !((v != NULL && *out == NULL) || (required && *out == NULL));
}

int acme_parse_directory(const json_t *d, acme_directory_t *dir, const char **bad)
{
	memset(dir, 0, sizeof(*dir));
	static const struct {
		const char *name;
		bool required;
		size_t offset;
	} urls[] = {
		{ "newNonce", true, offsetof(acme_directory_t, new_nonce) },
		{ "newAccount", true, offsetof(acme_directory_t, new_account) },
		{ "newOrder", true, offsetof(acme_directory_t, new_order) },
		{ "revokeCert", false, offsetof(acme_directory_t, revoke_cert) },
		{ "keyChange", false, offsetof(acme_directory_t, key_change) },
		{ "newAuthz", false, offsetof(acme_directory_t, new_authz) },
		{ "renewalInfo", false, offsetof(acme_directory_t, renewal_info) },
	};
	for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
		const char **field = (const char **)((char *)dir + urls[i].offset);
		if (!dir_url(d, urls[i].name, urls[i].required, field)) {
			*bad = urls[i].name;
			return CD_EPROTO;
		}
	}
	const json_t *meta = json_object_get(d, "meta");
	dir->terms_of_service = json_string_value(json_object_get(meta, "termsOfService"));
	dir->external_account_required = json_is_true(json_object_get(meta, "externalAccountRequired"));
	dir->json = d;
	return CD_OK;
}

acme_header_kind_t acme_parse_header_line(const char *data, size_t n, acme_header_t *h)
{
	memset(h, 0, sizeof(*h));
	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
		return ACME_HEADER_STATUS;
	}
	const char *colon = memchr(data, ':', n);
	if (colon == NULL) {
		return ACME_HEADER_OTHER;
	}
	const char *v = colon + 1;
	const char *end = data + n;
	while (v < end && (*v == ' ' || *v == '\t')) {
		v++;
	}
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t')) {
		end--;
	}
	h->name = data;
	h->name_len = (size_t)(colon - data);
	h->value = v;
	h->value_len = (size_t)(end - v);
	return ACME_HEADER_FIELD;
}

bool acme_header_is(const acme_header_t *h, const char *name)
{
	size_t len = strlen(name);
	return h->name_len == len && strncasecmp(h->name, name, len) == 0;
}

/*
 * Collects the alternate links; URLs hold no '>' and parameters no ','.
 */
int acme_parse_link_alternates(const char *v, size_t n, json_t **alternates)
{
	const char *end = v + n;
	const char *p = v;
	while (p < end) {
		const char *lt = memchr(p, '<', (size_t)(end - p));
		if (lt == NULL) {
			return CD_OK;
		}
		const char *gt = memchr(lt, '>', (size_t)(end - lt));
		if (gt == NULL) {
			return CD_OK;
		}
		const char *next = memchr(gt, ',', (size_t)(end - gt));
		const char *params_end = next != NULL ? next : end;
		bool alternate = false;
		/* 4 bytes of "rel=" must lie inside the value: it need not be terminated. */
		for (const char *q = gt; q + 4 <= params_end; q++) {
			if (strncasecmp(q, "rel=", 4) == 0) {
				const char *val = q + 4;
				size_t vlen = (size_t)(params_end - val);
				if (vlen >= 11 && strncasecmp(val, "\"alternate\"", 11) == 0) {
					alternate = true;
				} else if (vlen >= 9 && strncasecmp(val, "alternate", 9) == 0 &&
				           (vlen == 9 || val[9] == ';' || val[9] == ' ')) {
					alternate = true;
				}
				break;
			}
		}
		/* A URL is printable ASCII (RFC 3986): a link with other bytes is not one. */
		for (const char *u = lt + 1; alternate && u < gt; u++) {
			alternate = (unsigned char)*u > 0x20 && (unsigned char)*u < 0x7F;
		}
		if (alternate) {
			if (*alternates == NULL && (*alternates = json_array()) == NULL) {
				return CD_ENOMEM;
			}
			json_t *url = json_stringn(lt + 1, (size_t)(gt - lt - 1));
			if (url == NULL || json_array_append_new(*alternates, url) != 0) {
				return CD_ENOMEM;
			}
		}
		p = next != NULL ? next + 1 : end;
	}
	return CD_OK;
}

bool acme_problem_describe(const json_t *problem, char *out, size_t outlen)
{
	const char *type = json_string_value(json_object_get(problem, "type"));
	const char *detail = json_string_value(json_object_get(problem, "detail"));
	out[0] = '\0';
	if (type == NULL && detail == NULL) {
		return false;
	}
	snprintf(out, outlen, "%s%s%s", type != NULL ? type : "",
	         type != NULL && detail != NULL ? ": " : "", detail != NULL ? detail : "");
	const json_t *subs = json_object_get(problem, "subproblems");
	size_t i;
	const json_t *sub;
	json_array_foreach(subs, i, sub) {
		const char *ident = json_string_value(
			json_object_get(json_object_get(sub, "identifier"), "value"));
		const char *sub_detail = json_string_value(json_object_get(sub, "detail"));
		size_t used = strlen(out);
		if (used + 1 >= outlen) {
			break;
		}
		snprintf(out + used, outlen - used, "; %s: %s", ident != NULL ? ident : "?",
		         sub_detail != NULL ? sub_detail : "");
	}
	return true;
}

static const char *str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

const char *acme_parse_status(const json_t *obj)
{
	return str(obj, "status");
}

void acme_parse_authorization(const json_t *authz, acme_authz_t *out)
{
	memset(out, 0, sizeof(*out));
	out->status = str(authz, "status");
	out->identifier = str(json_object_get(authz, "identifier"), "value");
	out->wildcard = json_is_true(json_object_get(authz, "wildcard"));
	const json_t *dns01 = NULL;
	size_t i;
	const json_t *ch;
	json_array_foreach(json_object_get(authz, "challenges"), i, ch) {
		const char *type = str(ch, "type");
		if (type != NULL && strcmp(type, "dns-01") == 0) {
			dns01 = ch;
		}
		if (json_object_get(ch, "error") != NULL) {
			out->error = json_object_get(ch, "error");
		}
	}
	if (dns01 != NULL && str(dns01, "token") != NULL && str(dns01, "url") != NULL) {
		out->dns01_token = str(dns01, "token");
		out->dns01_url = str(dns01, "url");
	}
}

void acme_authz_name(const acme_authz_t *a, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s", a->wildcard ? "*." : "",
	         a->identifier != NULL ? a->identifier : "?");
}

void acme_parse_order(const json_t *order, acme_order_t *out)
{
	memset(out, 0, sizeof(*out));
	out->status = str(order, "status");
	const json_t *authzs = json_object_get(order, "authorizations");
	out->authorizations = json_is_array(authzs) ? authzs : NULL;
	out->finalize = str(order, "finalize");
	out->certificate = str(order, "certificate");
	out->error = json_object_get(order, "error");
}

long acme_parse_rfc3339(const char *text)
{
	struct tm tm = { 0 };
	const char *p = text ? strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (p == NULL) {
		return 0;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
		}
	}
	long offset = 0;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if ((*p == '+' || *p == '-') && p[1] >= '0' && p[1] <= '9' && p[2] >= '0' &&
	           p[2] <= '9' && p[3] == ':' && p[4] >= '0' && p[4] <= '9' && p[5] >= '0' &&
	           p[5] <= '9') {
		offset = ((p[1] - '0') * 10 + (p[2] - '0')) * 3600 + ((p[4] - '0') * 10 + (p[5] - '0')) * 60;
		if (*p == '+') {
			offset = -offset;   /* 12:00+02:00 is 10:00Z */
		}
		p += 6;
	} else {
		return 0;
	}
	return *p == '\0' ? (long)timegm(&tm) + offset : 0;
}

int acme_parse_renewal_info(const json_t *info, long *start, long *end)
{
	const json_t *window = json_object_get(info, "suggestedWindow");
	*start = acme_parse_rfc3339(str(window, "start"));
	*end = acme_parse_rfc3339(str(window, "end"));
	return *start > 0 && *end >= *start ? CD_OK : CD_EPROTO;
}
