#include "certs/csr.h"

#include <openssl/err.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

#define CN_MAX_LEN 64   /* ub-common-name, RFC 5280 appendix A */

/* A dNSName is ASCII (IDNs as A-labels): letters, digits, '-', '_', '.', and '*' for wildcards. */
static bool dns_name_ok(const char *name)
{
	if (name == NULL || name[0] == '\0') {
		return false;
	}
	for (const char *p = name; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.' || c == '*')) {
			return false;
		}
	}
	return true;
}

static int add_san_extension(X509_REQ *req, const char *const *names, size_t n)
{
	GENERAL_NAMES *gens = GENERAL_NAMES_new();
	STACK_OF(X509_EXTENSION) *exts = sk_X509_EXTENSION_new_null();
	int ret = CD_ENOMEM;
	if (gens == NULL || exts == NULL) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!dns_name_ok(names[i])) {
			ret = CD_EINVAL;
			goto out;
		}
		GENERAL_NAME *gen = GENERAL_NAME_new();
		ASN1_IA5STRING *ia5 = ASN1_IA5STRING_new();
		if (gen == NULL || ia5 == NULL ||
		    ASN1_STRING_set(ia5, names[i], (int)strlen(names[i])) != 1) {
			GENERAL_NAME_free(gen);
			ASN1_IA5STRING_free(ia5);
			goto out;
		}
		GENERAL_NAME_set0_value(gen, GEN_DNS, ia5);
		if (sk_GENERAL_NAME_push(gens, gen) <= 0) {
			GENERAL_NAME_free(gen);
			goto out;
		}
	}
	X509_EXTENSION *ext = X509V3_EXT_i2d(NID_subject_alt_name, 0, gens);
	if (ext == NULL) {
		ret = CD_ECRYPTO;
		goto out;
	}
	if (sk_X509_EXTENSION_push(exts, ext) <= 0) {
		X509_EXTENSION_free(ext);
		goto out;
	}
	ret = X509_REQ_add_extensions(req, exts) == 1 ? CD_OK : CD_ECRYPTO;
out:
	GENERAL_NAMES_free(gens);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	return ret;
}

static int set_subject_cn(X509_REQ *req, const char *name)
{
	X509_NAME *subject = X509_REQ_get_subject_name(req);
	if (X509_NAME_add_entry_by_NID(subject, NID_commonName, MBSTRING_UTF8,
	                               (const unsigned char *)name, -1, -1, 0) != 1) {
		return CD_EINVAL;
	}
	return CD_OK;
}

int csr_create(EVP_PKEY *key, const char *const *names, size_t n, bool with_cn,
               uint8_t **der, size_t *der_len)
{
	if (n == 0 || names == NULL) {
		return CD_EINVAL;
	}
	int ret = CD_ENOMEM;
	unsigned char *buf = NULL;
	X509_REQ *req = X509_REQ_new();
	if (req == NULL) {
		goto out;
	}
	if (X509_REQ_set_version(req, X509_REQ_VERSION_1) != 1 || X509_REQ_set_pubkey(req, key) != 1) {
		ret = CD_ECRYPTO;
		goto out;
	}
	if (with_cn && dns_name_ok(names[0]) && strlen(names[0]) <= CN_MAX_LEN &&
	    (ret = set_subject_cn(req, names[0])) != CD_OK) {
		goto out;
	}
	if ((ret = add_san_extension(req, names, n)) != CD_OK) {
		goto out;
	}
	if (X509_REQ_sign(req, key, EVP_sha256()) <= 0) {
		ret = CD_ECRYPTO;
		goto out;
	}
	int len = i2d_X509_REQ(req, &buf);
	if (len <= 0) {
		ret = CD_ECRYPTO;
		goto out;
	}
	*der = malloc((size_t)len);
	if (*der == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	memcpy(*der, buf, (size_t)len);
	*der_len = (size_t)len;
	ret = CD_OK;
out:
	ERR_clear_error();
	OPENSSL_free(buf);
	X509_REQ_free(req);
	return ret;
}
