#include "acme/jws.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "certs/keys.h"
#include "common/error.h"

typedef struct {
	const char *type;    /* certs/keys.h type name */
	const char *alg;
	const char *md;      /* digest name */
	size_t coord_len;    /* ECDSA: length of r and of s in the raw signature; 0 for RSA */
} jws_alg_t;

static const jws_alg_t jws_algs[] = {
	{ "ecdsa-p256", "ES256", "SHA256", 32 },
	{ "ecdsa-p384", "ES384", "SHA384", 48 },
	{ "rsa-2048", "RS256", "SHA256", 0 },
	{ "rsa-4096", "RS256", "SHA256", 0 },
};

static const jws_alg_t *alg_of(const EVP_PKEY *key)
{
	const char *type = key != NULL ? key_type_name(key) : NULL;
	if (type == NULL) {
		return NULL;
	}
	for (size_t i = 0; i < sizeof(jws_algs) / sizeof(jws_algs[0]); i++) {
		if (strcmp(jws_algs[i].type, type) == 0) {
			return &jws_algs[i];
		}
	}
	return NULL;
}

const char *jws_alg(const EVP_PKEY *key)
{
	const jws_alg_t *a = alg_of(key);
	return a != NULL ? a->alg : NULL;
}

/* base64url of the compact JSON of v. */
static int b64_json(const json_t *v, char **out)
{
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	if (text == NULL) {
		return CD_ENOMEM;
	}
	int ret = base64url_encode(text, strlen(text), out);
	free(text);
	return ret;
}

/* RFC 7518 3.4: the DER ECDSA-Sig-Value becomes R || S, each left-padded to n bytes. */
static int ecdsa_der_to_raw(const uint8_t *der, size_t der_len, size_t n, uint8_t *raw)
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (sig == NULL) {
		return CD_ECRYPTO;
	}
	const BIGNUM *r, *s;
	ECDSA_SIG_get0(sig, &r, &s);
	int ok = BN_bn2binpad(r, raw, (int)n) == (int)n && BN_bn2binpad(s, raw + n, (int)n) == (int)n;
	ECDSA_SIG_free(sig);
	return ok ? CD_OK : CD_ECRYPTO;
}

/* Signs input with key; *sig_b64 is the base64url JWS signature. */
static int sign_input(EVP_PKEY *key, const jws_alg_t *a, const char *input, char **sig_b64)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t *sig = NULL, *raw = NULL;
	size_t sig_len = 0;
	int ret = CD_ENOMEM;
	if (ctx == NULL) {
		goto out;
	}
	ret = CD_ECRYPTO;
	if (EVP_DigestSignInit_ex(ctx, NULL, a->md, NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)input, strlen(input)) != 1) {
		goto out;
	}
	sig = malloc(sig_len);
	if (sig == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	if (EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input, strlen(input)) != 1) {
		goto out;
	}
	if (a->coord_len == 0) {
		ret = base64url_encode(sig, sig_len, sig_b64);
		goto out;
	}
	raw = malloc(2 * a->coord_len);
	if (raw == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	if ((ret = ecdsa_der_to_raw(sig, sig_len, a->coord_len, raw)) != CD_OK) {
		goto out;
	}
	ret = base64url_encode(raw, 2 * a->coord_len, sig_b64);
out:
	ERR_clear_error();
	EVP_MD_CTX_free(ctx);
	free(sig);
	free(raw);
	return ret;
}

/* {"protected": p, "payload": pl, "signature": s}, taking the three strings. */
static int flattened(char *prot, char *payload, char *sig, json_t **jws)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "protected", prot, "payload", payload,
	                      "signature", sig);
	free(prot);
	free(payload);
	free(sig);
	if (o == NULL) {
		return CD_ENOMEM;
	}
	*jws = o;
	return CD_OK;
}

static int signing_input(const char *prot, const char *payload, char **input)
{
	return asprintf(input, "%s.%s", prot, payload) < 0 ? CD_ENOMEM : CD_OK;
}

int jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
             const json_t *payload, json_t **jws)
{
	const jws_alg_t *a = alg_of(key);
	if (a == NULL || url == NULL) {
		return CD_EINVAL;
	}
	char *prot = NULL, *pl = NULL, *input = NULL, *sig = NULL;
	int ret = CD_ENOMEM;
	json_t *hdr = json_pack("{s:s}", "alg", a->alg);
	if (hdr == NULL) {
		goto out;
	}
	if (nonce != NULL && json_object_set_new(hdr, "nonce", json_string(nonce)) != 0) {
		goto out;
	}
	if (json_object_set_new(hdr, "url", json_string(url)) != 0) {
		goto out;
	}
	if (kid != NULL) {
		if (json_object_set_new(hdr, "kid", json_string(kid)) != 0) {
			goto out;
		}
	} else {
		json_t *jwk;
		if ((ret = key_public_jwk(key, &jwk)) != CD_OK) {
			goto out;
		}
		if (json_object_set_new(hdr, "jwk", jwk) != 0) {
			ret = CD_ENOMEM;
			goto out;
		}
	}
	if ((ret = b64_json(hdr, &prot)) != CD_OK) {
		goto out;
	}
	if (payload != NULL) {
		ret = b64_json(payload, &pl);
	} else {
		pl = strdup("");
		ret = pl != NULL ? CD_OK : CD_ENOMEM;
	}
	if (ret != CD_OK || (ret = signing_input(prot, pl, &input)) != CD_OK ||
	    (ret = sign_input(key, a, input, &sig)) != CD_OK) {
		goto out;
	}
	ret = flattened(prot, pl, sig, jws);
	prot = pl = sig = NULL;
out:
	json_decref(hdr);
	free(prot);
	free(pl);
	free(input);
	free(sig);
	return ret;
}

int jws_eab(const EVP_PKEY *account_key, const char *eab_kid, const char *hmac_key_b64url,
            const char *url, json_t **jws)
{
	if (eab_kid == NULL || *eab_kid == '\0' || url == NULL || *url == '\0' ||
	    hmac_key_b64url == NULL) {
		return CD_EINVAL;
	}
	uint8_t *hkey = NULL;
	size_t hkey_len = 0;
	char *prot = NULL, *pl = NULL, *input = NULL, *sig = NULL;
	json_t *hdr = NULL, *jwk = NULL;
	int ret = base64url_decode(hmac_key_b64url, strlen(hmac_key_b64url), &hkey, &hkey_len);
	if (ret != CD_OK) {
		return ret;
	}
	if (hkey_len == 0 || hkey_len > INT32_MAX) {
		ret = CD_EINVAL;
		goto out;
	}
	if ((ret = key_public_jwk(account_key, &jwk)) != CD_OK) {
		goto out;
	}
	ret = CD_ENOMEM;
	hdr = json_pack("{s:s, s:s, s:s}", "alg", "HS256", "kid", eab_kid, "url", url);
	if (hdr == NULL) {
		goto out;
	}
	if ((ret = b64_json(hdr, &prot)) != CD_OK || (ret = b64_json(jwk, &pl)) != CD_OK ||
	    (ret = signing_input(prot, pl, &input)) != CD_OK) {
		goto out;
	}
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (HMAC(EVP_sha256(), hkey, (int)hkey_len, (const unsigned char *)input, strlen(input), mac,
	         &mac_len) == NULL) {
		ERR_clear_error();
		ret = CD_ECRYPTO;
		goto out;
	}
	if ((ret = base64url_encode(mac, mac_len, &sig)) != CD_OK) {
		goto out;
	}
	ret = flattened(prot, pl, sig, jws);
	prot = pl = sig = NULL;
out:
	if (hkey != NULL) {
		OPENSSL_cleanse(hkey, hkey_len);
	}
	free(hkey);
	json_decref(hdr);
	json_decref(jwk);
	free(prot);
	free(pl);
	free(input);
	free(sig);
	return ret;
}

static bool token_ok(const char *token)
{
	if (token == NULL || *token == '\0') {
		return false;
	}
	for (const char *p = token; *p != '\0'; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_')) {
			return false;
		}
	}
	return true;
}

int jws_key_authorization(const char *token, const EVP_PKEY *account_key, char **out)
{
	if (!token_ok(token)) {
		return CD_EINVAL;
	}
	char tp[KEY_THUMBPRINT_LEN + 1];
	int ret = key_thumbprint(account_key, tp);
	if (ret != CD_OK) {
		return ret;
	}
	return asprintf(out, "%s.%s", token, tp) < 0 ? CD_ENOMEM : CD_OK;
}

int jws_dns01_txt_value(const char *token, const EVP_PKEY *account_key,
                        char out[JWS_DNS01_TXT_LEN + 1])
{
	char *ka;
	int ret = jws_key_authorization(token, account_key, &ka);
	if (ret != CD_OK) {
		return ret;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int md_len = 0;
	int ok = EVP_Digest(ka, strlen(ka), md, &md_len, EVP_sha256(), NULL);
	free(ka);
	if (ok != 1 || md_len != 32) {
		ERR_clear_error();
		return CD_ECRYPTO;
	}
	char *b64;
	if ((ret = base64url_encode(md, md_len, &b64)) != CD_OK) {
		return ret;
	}
	memcpy(out, b64, JWS_DNS01_TXT_LEN + 1);
	free(b64);
	return CD_OK;
}
