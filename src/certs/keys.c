#include "certs/keys.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"

/* ---- base64url ---- */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64url_encoded_len(size_t len)
{
	return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

int base64url_encode(const void *in, size_t len, char **out)
{
	const uint8_t *p = in;
	char *s = malloc(base64url_encoded_len(len) + 1);
	if (s == NULL) {
		return CD_ENOMEM;
	}
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		s[o++] = b64url_alphabet[v >> 18 & 63];
		s[o++] = b64url_alphabet[v >> 12 & 63];
		s[o++] = b64url_alphabet[v >> 6 & 63];
		s[o++] = b64url_alphabet[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		s[o++] = b64url_alphabet[v >> 18 & 63];
		s[o++] = b64url_alphabet[v >> 12 & 63];
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		s[o++] = b64url_alphabet[v >> 18 & 63];
		s[o++] = b64url_alphabet[v >> 12 & 63];
		s[o++] = b64url_alphabet[v >> 6 & 63];
	}
	s[o] = '\0';
	*out = s;
	return CD_OK;
}

static int b64url_value(char c)
{
	if (c >= 'A' && c <= 'Z') {
		return c - 'A';
	}
	if (c >= 'a' && c <= 'z') {
		return c - 'a' + 26;
	}
	if (c >= '0' && c <= '9') {
		return c - '0' + 52;
	}
	if (c == '-') {
		return 62;
	}
	if (c == '_') {
		return 63;
	}
	return -1;
}

int base64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len)
{
	size_t pad = 0;
	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	if (len % 4 == 1 || (pad > 0 && (len + pad) % 4 != 0)) {
		return CD_EINVAL;
	}
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL) {
		return CD_ENOMEM;
	}
	size_t o = 0;
	uint32_t acc = 0;
	unsigned bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value(in[i]);
		if (v < 0) {
			free(buf);
			return CD_EINVAL;
		}
		acc = (acc << 6 | (uint32_t)v) & 0xffffff;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[o++] = (uint8_t)(acc >> bits);
		}
	}
	/* The bits left over must be zero: one text, one encoding. */
	if ((acc & ((1u << bits) - 1)) != 0) {
		free(buf);
		return CD_EINVAL;
	}
	buf[o] = 0;
	*out = buf;
	*out_len = o;
	return CD_OK;
}

/* ---- key types ---- */

typedef struct {
	const char *name;
	bool ec;
	const char *group;   /* EC: OpenSSL group name */
	const char *crv;     /* EC: JWK curve name */
	size_t field_len;    /* EC: coordinate length in bytes */
	unsigned bits;       /* RSA */
} key_type_t;

static const key_type_t key_types[] = {
	{ "ecdsa-p256", true, "P-256", "P-256", 32, 0 },
	{ "ecdsa-p384", true, "P-384", "P-384", 48, 0 },
	{ "rsa-2048", false, NULL, NULL, 0, 2048 },
	{ "rsa-4096", false, NULL, NULL, 0, 4096 },
};

static const key_type_t *type_by_name(const char *name)
{
	for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
		if (strcmp(key_types[i].name, name) == 0) {
			return &key_types[i];
		}
	}
	return NULL;
}

static const key_type_t *type_of(const EVP_PKEY *key)
{
	if (EVP_PKEY_is_a(key, "EC")) {
		char group[64];
		size_t glen = 0;
		if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group,
		                                   sizeof(group), &glen) != 1) {
			ERR_clear_error();
			return NULL;
		}
		/* OpenSSL reports NIST names as "prime256v1"/"secp384r1". */
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0) {
			return type_by_name("ecdsa-p256");
		}
		if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0) {
			return type_by_name("ecdsa-p384");
		}
		return NULL;
	}
	if (EVP_PKEY_is_a(key, "RSA")) {
		int bits = EVP_PKEY_get_bits(key);
		for (size_t i = 0; i < sizeof(key_types) / sizeof(key_types[0]); i++) {
			if (!key_types[i].ec && (int)key_types[i].bits == bits) {
				return &key_types[i];
			}
		}
	}
	return NULL;
}

const char *key_type_name(const EVP_PKEY *key)
{
	const key_type_t *t = key != NULL ? type_of(key) : NULL;
	return t != NULL ? t->name : NULL;
}

int key_generate(const char *type, EVP_PKEY **out)
{
	const key_type_t *t = type_by_name(type != NULL ? type : KEY_TYPE_DEFAULT);
	if (t == NULL) {
		return CD_EINVAL;
	}
	EVP_PKEY *key;
	if (t->ec) {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", t->group);
	} else {
		key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)t->bits);
	}
	if (key == NULL) {
		ERR_clear_error();
		return CD_ECRYPTO;
	}
	*out = key;
	return CD_OK;
}

/* ---- PEM ---- */

int key_to_pem(const EVP_PKEY *key, char **pem)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		return CD_ENOMEM;
	}
	int ret = CD_ECRYPTO;
	char *data = NULL;
	long n = 0;
	if (PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL) != 1) {
		goto out;
	}
	n = BIO_get_mem_data(bio, &data);
	if (n <= 0) {
		goto out;
	}
	char *s = malloc((size_t)n + 1);
	if (s == NULL) {
		ret = CD_ENOMEM;
		goto out;
	}
	memcpy(s, data, (size_t)n);
	s[n] = '\0';
	*pem = s;
	ret = CD_OK;
out:
	ERR_clear_error();
	/* Wipe the BIO's copy of the secret key, complete or not. */
	n = BIO_get_mem_data(bio, &data);
	if (n > 0) {
		OPENSSL_cleanse(data, (size_t)n);
	}
	BIO_free(bio);
	return ret;
}

/* Never prompt for a passphrase: an encrypted key is an error. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

int key_from_pem(const char *pem, size_t len, EVP_PKEY **out)
{
	if (len > INT32_MAX) {
		return CD_EINVAL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL) {
		return CD_ENOMEM;
	}
	EVP_PKEY *key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, NULL);
	BIO_free(bio);
	ERR_clear_error();
	if (key == NULL) {
		return CD_EINVAL;
	}
	if (type_of(key) == NULL) {
		EVP_PKEY_free(key);
		return CD_EINVAL;
	}
	*out = key;
	return CD_OK;
}

/* ---- JWK ---- */

/* base64url of a big number, left-padded with zeros to pad bytes (0: minimal). */
static int bn_member(json_t *obj, const char *member, const BIGNUM *bn, size_t pad)
{
	size_t n = pad != 0 ? pad : (size_t)BN_num_bytes(bn);
	if (n == 0) {
		n = 1;   /* the number zero is one zero byte, not an empty string */
	}
	uint8_t *buf = malloc(n);
	if (buf == NULL) {
		return CD_ENOMEM;
	}
	if (BN_bn2binpad(bn, buf, (int)n) < 0) {
		free(buf);
		return CD_ECRYPTO;
	}
	char *text;
	int ret = base64url_encode(buf, n, &text);
	free(buf);
	if (ret != CD_OK) {
		return ret;
	}
	ret = json_object_set_new(obj, member, json_string(text)) == 0 ? CD_OK : CD_ENOMEM;
	free(text);
	return ret;
}

int key_public_jwk(const EVP_PKEY *key, json_t **jwk)
{
	const key_type_t *t = type_of(key);
	if (t == NULL) {
		return CD_EINVAL;
	}
	BIGNUM *a = NULL, *b = NULL;
	json_t *o = json_object();
	int ret = CD_ENOMEM;
	if (o == NULL) {
		goto out;
	}
	if (t->ec) {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_X, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_EC_PUB_Y, &b) != 1) {
			ret = CD_ECRYPTO;
			goto out;
		}
		if (json_object_set_new(o, "kty", json_string("EC")) != 0 ||
		    json_object_set_new(o, "crv", json_string(t->crv)) != 0) {
			goto out;
		}
		if ((ret = bn_member(o, "x", a, t->field_len)) != CD_OK ||
		    (ret = bn_member(o, "y", b, t->field_len)) != CD_OK) {
			goto out;
		}
	} else {
		if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &a) != 1 ||
		    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &b) != 1) {
			ret = CD_ECRYPTO;
			goto out;
		}
		if (json_object_set_new(o, "kty", json_string("RSA")) != 0) {
			goto out;
		}
		if ((ret = bn_member(o, "n", a, 0)) != CD_OK ||
		    (ret = bn_member(o, "e", b, 0)) != CD_OK) {
			goto out;
		}
	}
	*jwk = o;
	o = NULL;
	ret = CD_OK;
out:
	ERR_clear_error();
	BN_free(a);
	BN_free(b);
	json_decref(o);
	return ret;
}

/* String member that may appear inside a JSON string literal without escaping. */
static const char *plain_member(const json_t *jwk, const char *name)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	if (s == NULL || *s == '\0') {
		return NULL;
	}
	for (const char *p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) {
			return NULL;
		}
	}
	return s;
}

int jwk_thumbprint(const json_t *jwk, char out[KEY_THUMBPRINT_LEN + 1])
{
	const char *kty = plain_member(jwk, "kty");
	if (kty == NULL) {
		return CD_EINVAL;
	}
	/* RFC 7638 3.2: the required members only, sorted, no whitespace. */
	char *text = NULL;
	int n;
	if (strcmp(kty, "EC") == 0) {
		const char *crv = plain_member(jwk, "crv");
		const char *x = plain_member(jwk, "x");
		const char *y = plain_member(jwk, "y");
		if (crv == NULL || x == NULL || y == NULL) {
			return CD_EINVAL;
		}
		n = asprintf(&text, "{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}",
		             crv, x, y);
	} else if (strcmp(kty, "RSA") == 0) {
		const char *e = plain_member(jwk, "e");
		const char *nn = plain_member(jwk, "n");
		if (e == NULL || nn == NULL) {
			return CD_EINVAL;
		}
		n = asprintf(&text, "{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", e, nn);
	} else {
		return CD_EINVAL;
	}
	if (n < 0) {
		return CD_ENOMEM;
	}
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int ok = EVP_Digest(text, (size_t)n, md, &mdlen, EVP_sha256(), NULL);
	free(text);
	if (ok != 1 || mdlen != 32) {
		ERR_clear_error();
		return CD_ECRYPTO;
	}
	char *b64;
	int ret = base64url_encode(md, mdlen, &b64);
	if (ret != CD_OK) {
		return ret;
	}
	memcpy(out, b64, KEY_THUMBPRINT_LEN + 1);
	free(b64);
	return CD_OK;
}

int key_thumbprint(const EVP_PKEY *key, char out[KEY_THUMBPRINT_LEN + 1])
{
	json_t *jwk;
	int ret = key_public_jwk(key, &jwk);
	if (ret != CD_OK) {
		return ret;
	}
	ret = jwk_thumbprint(jwk, out);
	json_decref(jwk);
	return ret;
}
