/*
 * Unit tests of the ACME building blocks: base64url and keys (certs/keys.c),
 * CSRs (certs/csr.c), JWS, EAB and key authorizations (acme/jws.c), and the
 * parts of acme/acme_client.c that need no CA (Retry-After, ARI certificate
 * IDs, argument and transport errors).  Signatures are checked with OpenSSL
 * directly, independently of the code under test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

#include "acme/acme_client.h"
#include "acme/jws.h"
#include "certs/csr.h"
#include "certs/keys.h"
#include "common/error.h"

/* ---- helpers ---- */

/* An ECDSA P-256 key fixed for the tests whose expected values were computed elsewhere. */
static const char fixed_p256_pem[] =
	"-----BEGIN PRIVATE KEY-----\n"
	"MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgihqru5sDjBkTtbzo\n"
	"E73V5CuF73N/Vg5yjUheBGyv1PyhRANCAARDOIoFpSAvXHyMqTxY/Mi9kbTjWOGl\n"
	"kRd00tqkMnSEqZ2aAWof81WLlUHzBkrkKexiFFI4OUm+r2CSWHHpVPXt\n"
	"-----END PRIVATE KEY-----\n";

/* RFC 7638 section 3.1: the example RSA key and its thumbprint. */
static const char rfc7638_n[] =
	"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSo"
	"c_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65Y"
	"GjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrd"
	"kt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnq"
	"DKgw";
static const char rfc7638_thumbprint[] = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

static EVP_PKEY *fixed_key(void)
{
	EVP_PKEY *key = NULL;
	assert_int_equal(key_from_pem(fixed_p256_pem, strlen(fixed_p256_pem), &key), CD_OK);
	return key;
}

static EVP_PKEY *new_key(const char *type)
{
	EVP_PKEY *key = NULL;
	assert_int_equal(key_generate(type, &key), CD_OK);
	assert_non_null(key);
	return key;
}

/* Decodes base64url text that must be valid. */
static uint8_t *b64d(const char *text, size_t *len)
{
	uint8_t *out = NULL;
	assert_int_equal(base64url_decode(text, strlen(text), &out, len), CD_OK);
	return out;
}

/* The JSON object a base64url member of a JWS encodes. */
static json_t *b64_json_member(const json_t *jws, const char *member)
{
	size_t len;
	uint8_t *raw = b64d(json_string_value(json_object_get(jws, member)), &len);
	json_t *v = json_loadb((const char *)raw, len, 0, NULL);
	free(raw);
	assert_non_null(v);
	return v;
}

static char *signing_input(const json_t *jws)
{
	char *s = NULL;
	assert_true(asprintf(&s, "%s.%s", json_string_value(json_object_get(jws, "protected")),
	                     json_string_value(json_object_get(jws, "payload"))) > 0);
	return s;
}

/* Verifies a JWS signature with OpenSSL, converting raw ECDSA r||s back to DER. */
static void assert_jws_verifies(EVP_PKEY *key, const json_t *jws, const char *md,
                                size_t ec_coord_len)
{
	size_t sig_len;
	uint8_t *sig = b64d(json_string_value(json_object_get(jws, "signature")), &sig_len);
	uint8_t *der = NULL;
	size_t der_len = sig_len;
	if (ec_coord_len != 0) {
		assert_int_equal(sig_len, 2 * ec_coord_len);
		ECDSA_SIG *es = ECDSA_SIG_new();
		assert_non_null(es);
		BIGNUM *r = BN_bin2bn(sig, (int)ec_coord_len, NULL);
		BIGNUM *s = BN_bin2bn(sig + ec_coord_len, (int)ec_coord_len, NULL);
		assert_non_null(r);
		assert_non_null(s);
		assert_int_equal(ECDSA_SIG_set0(es, r, s), 1);
		int n = i2d_ECDSA_SIG(es, &der);
		assert_true(n > 0);
		der_len = (size_t)n;
		ECDSA_SIG_free(es);
	}
	char *input = signing_input(jws);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	assert_non_null(ctx);
	assert_int_equal(EVP_DigestVerifyInit_ex(ctx, NULL, md, NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestVerify(ctx, der != NULL ? der : sig, der_len,
	                                  (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	free(input);
	free(sig);
}

/* An RSA public key from JWK members n and e. */
static EVP_PKEY *rsa_public_from_jwk(const char *n_b64, const char *e_b64)
{
	size_t nlen, elen;
	uint8_t *n = b64d(n_b64, &nlen);
	uint8_t *e = b64d(e_b64, &elen);
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	assert_non_null(bn);
	assert_non_null(be);
	assert_non_null(bld);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn), 1);
	assert_int_equal(OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be), 1);
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	assert_non_null(params);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	EVP_PKEY *key = NULL;
	assert_non_null(ctx);
	assert_int_equal(EVP_PKEY_fromdata_init(ctx), 1);
	assert_int_equal(EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params), 1);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	free(n);
	free(e);
	return key;
}

/* ---- base64url ---- */

static void test_base64url_encodes_rfc4648_vectors(void **state)
{
	(void)state;
	static const char *const vectors[][2] = {
		{ "", "" }, { "f", "Zg" }, { "fo", "Zm8" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg" }, { "fooba", "Zm9vYmE" }, { "foobar", "Zm9vYmFy" },
	};
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		char *out = NULL;
		size_t len = strlen(vectors[i][0]);
		assert_int_equal(base64url_encode(vectors[i][0], len, &out), CD_OK);
		assert_string_equal(out, vectors[i][1]);
		assert_int_equal(base64url_encoded_len(len), strlen(vectors[i][1]));
		free(out);

		uint8_t *raw = NULL;
		size_t raw_len = 99;
		assert_int_equal(base64url_decode(vectors[i][1], strlen(vectors[i][1]), &raw, &raw_len),
		                 CD_OK);
		assert_int_equal(raw_len, len);
		assert_memory_equal(raw, vectors[i][0], len + 1);   /* + the spare NUL */
		free(raw);
	}
}

static void test_base64url_uses_url_alphabet_without_padding(void **state)
{
	(void)state;
	const uint8_t bytes[] = { 0xfb, 0xff, 0xbf };   /* "+/+/" in standard base64 */
	char *out = NULL;
	assert_int_equal(base64url_encode(bytes, sizeof(bytes), &out), CD_OK);
	assert_string_equal(out, "-_-_");
	free(out);
	assert_int_equal(base64url_encode(bytes, 2, &out), CD_OK);
	assert_string_equal(out, "-_8");
	free(out);
}

static void test_base64url_round_trips_every_length(void **state)
{
	(void)state;
	uint8_t data[200];
	assert_int_equal(RAND_bytes(data, sizeof(data)), 1);
	for (size_t len = 0; len <= sizeof(data); len++) {
		char *text = NULL;
		assert_int_equal(base64url_encode(data, len, &text), CD_OK);
		assert_int_equal(strlen(text), base64url_encoded_len(len));
		assert_null(strpbrk(text, "+/="));
		uint8_t *back = NULL;
		size_t back_len = 0;
		assert_int_equal(base64url_decode(text, strlen(text), &back, &back_len), CD_OK);
		assert_int_equal(back_len, len);
		if (len > 0) {
			assert_memory_equal(back, data, len);
		}
		free(back);
		free(text);
	}
}

static void test_base64url_decode_accepts_padding_rejects_garbage(void **state)
{
	(void)state;
	uint8_t *out = NULL;
	size_t len = 0;
	assert_int_equal(base64url_decode("Zm8=", 4, &out, &len), CD_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "fo", 2);
	free(out);
	assert_int_equal(base64url_decode("Zg==", 4, &out, &len), CD_OK);
	assert_int_equal(len, 1);
	free(out);

	static const char *const bad[] = {
		"Z",       /* a length of 1 mod 4 */
		"Zh",      /* non-zero bits after the last byte */
		"Zm+v",    /* standard base64 alphabet */
		"Zm9v\n",  /* whitespace */
		"Zg=",     /* partial padding */
		"Zm9=v",   /* padding inside */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		out = NULL;
		assert_int_equal(base64url_decode(bad[i], strlen(bad[i]), &out, &len), CD_EINVAL);
		assert_null(out);
	}
}

/* ---- keys ---- */

static void test_jwk_thumbprint_matches_rfc7638_example(void **state)
{
	(void)state;
	/* Extra members ("alg", "kid") must not enter the thumbprint. */
	json_t *jwk = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kty", "RSA", "n", rfc7638_n, "e", "AQAB",
	                        "alg", "RS256", "kid", "2011-04-29");
	assert_non_null(jwk);
	char tp[KEY_THUMBPRINT_LEN + 1];
	assert_int_equal(jwk_thumbprint(jwk, tp), CD_OK);
	assert_string_equal(tp, rfc7638_thumbprint);
	json_decref(jwk);

	/* The same through an OpenSSL key: key_public_jwk reproduces n and e exactly. */
	EVP_PKEY *key = rsa_public_from_jwk(rfc7638_n, "AQAB");
	assert_string_equal(key_type_name(key), "rsa-2048");
	assert_int_equal(key_public_jwk(key, &jwk), CD_OK);
	assert_string_equal(json_string_value(json_object_get(jwk, "n")), rfc7638_n);
	assert_string_equal(json_string_value(json_object_get(jwk, "e")), "AQAB");
	assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "RSA");
	assert_int_equal(json_object_size(jwk), 3);
	json_decref(jwk);
	assert_int_equal(key_thumbprint(key, tp), CD_OK);
	assert_string_equal(tp, rfc7638_thumbprint);
	EVP_PKEY_free(key);
}

static void test_jwk_thumbprint_rejects_incomplete_jwk(void **state)
{
	(void)state;
	char tp[KEY_THUMBPRINT_LEN + 1];
	json_t *jwk = json_pack("{s:s, s:s}", "kty", "EC", "crv", "P-256");
	assert_int_equal(jwk_thumbprint(jwk, tp), CD_EINVAL);
	json_decref(jwk);
	jwk = json_pack("{s:s, s:s}", "kty", "oct", "k", "AAAA");
	assert_int_equal(jwk_thumbprint(jwk, tp), CD_EINVAL);
	json_decref(jwk);
}

static void test_ec_jwk_coordinates_have_fixed_length(void **state)
{
	(void)state;
	static const struct { const char *type; const char *crv; size_t len; } cases[] = {
		{ "ecdsa-p256", "P-256", 32 }, { "ecdsa-p384", "P-384", 48 },
	};
	for (size_t c = 0; c < 2; c++) {
		/* Enough keys that some coordinate very likely has a leading zero byte. */
		for (int i = 0; i < 64; i++) {
			EVP_PKEY *key = new_key(cases[c].type);
			json_t *jwk = NULL;
			assert_int_equal(key_public_jwk(key, &jwk), CD_OK);
			assert_string_equal(json_string_value(json_object_get(jwk, "kty")), "EC");
			assert_string_equal(json_string_value(json_object_get(jwk, "crv")), cases[c].crv);
			assert_int_equal(json_object_size(jwk), 4);
			size_t len;
			uint8_t *x = b64d(json_string_value(json_object_get(jwk, "x")), &len);
			assert_int_equal(len, cases[c].len);
			free(x);
			uint8_t *y = b64d(json_string_value(json_object_get(jwk, "y")), &len);
			assert_int_equal(len, cases[c].len);
			free(y);
			json_decref(jwk);
			EVP_PKEY_free(key);
		}
	}
}

static void test_key_pem_round_trips_for_each_type(void **state)
{
	(void)state;
	static const char *const types[] = { "ecdsa-p256", "ecdsa-p384", "rsa-2048", "rsa-4096" };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		EVP_PKEY *key = new_key(types[i]);
		assert_string_equal(key_type_name(key), types[i]);
		char *pem = NULL;
		assert_int_equal(key_to_pem(key, &pem), CD_OK);
		assert_non_null(strstr(pem, "-----BEGIN PRIVATE KEY-----"));
		EVP_PKEY *back = NULL;
		assert_int_equal(key_from_pem(pem, strlen(pem), &back), CD_OK);
		assert_string_equal(key_type_name(back), types[i]);
		assert_int_equal(EVP_PKEY_eq(key, back), 1);
		char tp1[KEY_THUMBPRINT_LEN + 1], tp2[KEY_THUMBPRINT_LEN + 1];
		assert_int_equal(key_thumbprint(key, tp1), CD_OK);
		assert_int_equal(key_thumbprint(back, tp2), CD_OK);
		assert_string_equal(tp1, tp2);
		/* The PEM is the same when written again. */
		char *pem2 = NULL;
		assert_int_equal(key_to_pem(back, &pem2), CD_OK);
		assert_string_equal(pem, pem2);
		free(pem2);
		free(pem);
		EVP_PKEY_free(back);
		EVP_PKEY_free(key);
	}
}

static void test_key_generate_defaults_and_rejects_unknown_type(void **state)
{
	(void)state;
	EVP_PKEY *key = NULL;
	assert_int_equal(key_generate(NULL, &key), CD_OK);
	assert_string_equal(key_type_name(key), KEY_TYPE_DEFAULT);
	assert_string_equal(key_type_name(key), "ecdsa-p256");
	EVP_PKEY_free(key);
	key = NULL;
	assert_int_equal(key_generate("ecdsa-p521", &key), CD_EINVAL);
	assert_int_equal(key_generate("rsa-1024", &key), CD_EINVAL);
	assert_null(key);
}

static void test_key_from_pem_rejects_garbage_and_unsupported_keys(void **state)
{
	(void)state;
	EVP_PKEY *key = NULL;
	const char *garbage = "-----BEGIN PRIVATE KEY-----\nnot base64\n-----END PRIVATE KEY-----\n";
	assert_int_equal(key_from_pem(garbage, strlen(garbage), &key), CD_EINVAL);
	assert_int_equal(key_from_pem("", 0, &key), CD_EINVAL);
	/* A valid key of a type we do not support (P-521). */
	EVP_PKEY *p521 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-521");
	assert_non_null(p521);
	assert_null(key_type_name(p521));
	json_t *jwk = NULL;
	assert_int_equal(key_public_jwk(p521, &jwk), CD_EINVAL);
	assert_null(jws_alg(p521));
	char *pem = NULL;
	assert_int_equal(key_to_pem(p521, &pem), CD_OK);
	assert_int_equal(key_from_pem(pem, strlen(pem), &key), CD_EINVAL);
	assert_null(key);
	free(pem);
	EVP_PKEY_free(p521);
}

/* ---- JWS ---- */

static void test_jws_es256_signature_is_raw_64_bytes_and_verifies(void **state)
{
	(void)state;
	for (int i = 0; i < 32; i++) {   /* short r or s values come up among many signatures */
		EVP_PKEY *key = new_key("ecdsa-p256");
		json_t *payload = json_pack("{s:[{s:s, s:s}]}", "identifiers", "type", "dns", "value",
		                            "example.com");
		json_t *jws = NULL;
		assert_int_equal(jws_sign(key, "https://ca.test/acct/1", "nonce-1",
		                          "https://ca.test/new-order", payload, &jws), CD_OK);
		assert_int_equal(json_object_size(jws), 3);
		json_t *hdr = b64_json_member(jws, "protected");
		assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES256");
		json_decref(hdr);
		json_t *pl = b64_json_member(jws, "payload");
		assert_true(json_equal(pl, payload));
		json_decref(pl);
		assert_jws_verifies(key, jws, "SHA256", 32);
		json_decref(jws);
		json_decref(payload);
		EVP_PKEY_free(key);
	}
}

static void test_jws_es384_signature_is_raw_96_bytes_and_verifies(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key("ecdsa-p384");
	json_t *jws = NULL;
	assert_int_equal(jws_sign(key, "https://ca.test/acct/1", "n", "https://ca.test/x", NULL, &jws),
	                 CD_OK);
	json_t *hdr = b64_json_member(jws, "protected");
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "ES384");
	json_decref(hdr);
	assert_jws_verifies(key, jws, "SHA384", 48);
	json_decref(jws);
	EVP_PKEY_free(key);
}

static void test_jws_rs256_verifies(void **state)
{
	(void)state;
	EVP_PKEY *key = new_key("rsa-2048");
	json_t *payload = json_pack("{s:b}", "termsOfServiceAgreed", 1);
	json_t *jws = NULL;
	assert_int_equal(jws_sign(key, NULL, "n", "https://ca.test/new-acct", payload, &jws), CD_OK);
	json_t *hdr = b64_json_member(jws, "protected");
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "RS256");
	json_decref(hdr);
	size_t sig_len;
	uint8_t *sig = b64d(json_string_value(json_object_get(jws, "signature")), &sig_len);
	assert_int_equal(sig_len, 256);
	free(sig);
	assert_jws_verifies(key, jws, "SHA256", 0);
	json_decref(jws);
	json_decref(payload);
	EVP_PKEY_free(key);
}

static void test_jws_header_has_exactly_one_of_jwk_and_kid(void **state)
{
	(void)state;
	EVP_PKEY *key = fixed_key();
	json_t *jws = NULL, *hdr;

	assert_int_equal(jws_sign(key, NULL, "nonce-a", "https://ca.test/new-acct", NULL, &jws), CD_OK);
	hdr = b64_json_member(jws, "protected");
	assert_int_equal(json_object_size(hdr), 4);
	assert_string_equal(json_string_value(json_object_get(hdr, "nonce")), "nonce-a");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca.test/new-acct");
	assert_null(json_object_get(hdr, "kid"));
	json_t *jwk = NULL;
	assert_int_equal(key_public_jwk(key, &jwk), CD_OK);
	assert_true(json_equal(json_object_get(hdr, "jwk"), jwk));
	json_decref(jwk);
	json_decref(hdr);
	json_decref(jws);

	assert_int_equal(jws_sign(key, "https://ca.test/acct/7", "nonce-b", "https://ca.test/o/1", NULL,
	                          &jws), CD_OK);
	hdr = b64_json_member(jws, "protected");
	assert_int_equal(json_object_size(hdr), 4);
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "https://ca.test/acct/7");
	assert_null(json_object_get(hdr, "jwk"));
	json_decref(hdr);
	json_decref(jws);

	/* The inner JWS of a key change: jwk, url, no nonce. */
	assert_int_equal(jws_sign(key, NULL, NULL, "https://ca.test/key-change", NULL, &jws), CD_OK);
	hdr = b64_json_member(jws, "protected");
	assert_int_equal(json_object_size(hdr), 3);
	assert_null(json_object_get(hdr, "nonce"));
	assert_non_null(json_object_get(hdr, "jwk"));
	json_decref(hdr);
	json_decref(jws);
	EVP_PKEY_free(key);
}

static void test_jws_post_as_get_has_empty_payload(void **state)
{
	(void)state;
	EVP_PKEY *key = fixed_key();
	json_t *jws = NULL;
	assert_int_equal(jws_sign(key, "https://ca.test/acct/1", "n", "https://ca.test/authz/1", NULL,
	                          &jws), CD_OK);
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "");
	assert_jws_verifies(key, jws, "SHA256", 32);
	json_decref(jws);

	/* POST {} (respond to a challenge) is not POST-as-GET. */
	json_t *empty = json_object();
	assert_int_equal(jws_sign(key, "https://ca.test/acct/1", "n", "https://ca.test/chall/1", empty,
	                          &jws), CD_OK);
	assert_string_equal(json_string_value(json_object_get(jws, "payload")), "e30");
	json_decref(jws);
	json_decref(empty);
	assert_int_equal(jws_sign(key, NULL, "n", NULL, NULL, &jws), CD_EINVAL);
	EVP_PKEY_free(key);
}

static void test_jws_eab_is_hs256_over_account_jwk(void **state)
{
	(void)state;
	EVP_PKEY *key = fixed_key();
	const uint8_t hmac_key[] = "a secret of thirty-two bytes!!!!";
	char *hmac_b64 = NULL;
	assert_int_equal(base64url_encode(hmac_key, 32, &hmac_b64), CD_OK);
	json_t *eab = NULL;
	assert_int_equal(jws_eab(key, "kid-1", hmac_b64, "https://ca.test/new-acct", &eab), CD_OK);

	json_t *hdr = b64_json_member(eab, "protected");
	assert_int_equal(json_object_size(hdr), 3);
	assert_string_equal(json_string_value(json_object_get(hdr, "alg")), "HS256");
	assert_string_equal(json_string_value(json_object_get(hdr, "kid")), "kid-1");
	assert_string_equal(json_string_value(json_object_get(hdr, "url")), "https://ca.test/new-acct");
	json_decref(hdr);
	json_t *payload = b64_json_member(eab, "payload");
	json_t *jwk = NULL;
	assert_int_equal(key_public_jwk(key, &jwk), CD_OK);
	assert_true(json_equal(payload, jwk));
	json_decref(jwk);
	json_decref(payload);

	char *input = signing_input(eab);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	assert_non_null(HMAC(EVP_sha256(), hmac_key, 32, (const unsigned char *)input, strlen(input),
	                     mac, &mac_len));
	size_t sig_len;
	uint8_t *sig = b64d(json_string_value(json_object_get(eab, "signature")), &sig_len);
	assert_int_equal(sig_len, mac_len);
	assert_memory_equal(sig, mac, mac_len);
	free(sig);
	free(input);
	json_decref(eab);

	assert_int_equal(jws_eab(key, "kid-1", "not base64!", "https://ca.test/new-acct", &eab),
	                 CD_EINVAL);
	assert_int_equal(jws_eab(key, "", hmac_b64, "https://ca.test/new-acct", &eab), CD_EINVAL);
	free(hmac_b64);
	EVP_PKEY_free(key);
}

static void test_key_authorization_and_dns01_value_for_fixed_token(void **state)
{
	(void)state;
	/* Expected values computed with Python's cryptography and hashlib. */
	const char *token = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA";
	EVP_PKEY *key = fixed_key();
	char tp[KEY_THUMBPRINT_LEN + 1];
	assert_int_equal(key_thumbprint(key, tp), CD_OK);
	assert_string_equal(tp, "DvjRAZCJST3lP7cHDQH5MU-NpXt5KrcuC7uCEDFG92E");
	char *ka = NULL;
	assert_int_equal(jws_key_authorization(token, key, &ka), CD_OK);
	assert_string_equal(ka, "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA."
	                        "DvjRAZCJST3lP7cHDQH5MU-NpXt5KrcuC7uCEDFG92E");
	free(ka);
	char txt[JWS_DNS01_TXT_LEN + 1];
	assert_int_equal(jws_dns01_txt_value(token, key, txt), CD_OK);
	assert_string_equal(txt, "tIQEU0KIZopwnbNPCMXINHlxY8IdFmh6WkV6yepUvhI");
	/* A token that could smuggle anything into a TXT record is refused. */
	assert_int_equal(jws_dns01_txt_value("abc\"def", key, txt), CD_EINVAL);
	assert_int_equal(jws_dns01_txt_value("", key, txt), CD_EINVAL);
	EVP_PKEY_free(key);
}

/* ---- CSR ---- */

static void assert_csr(EVP_PKEY *key, const char *const *names, size_t n, bool with_cn,
                       const char *expect_cn)
{
	uint8_t *der = NULL;
	size_t len = 0;
	assert_int_equal(csr_create(key, names, n, with_cn, &der, &len), CD_OK);
	const unsigned char *p = der;
	X509_REQ *req = d2i_X509_REQ(NULL, &p, (long)len);
	assert_non_null(req);
	assert_ptr_equal(p, der + len);
	assert_int_equal(X509_REQ_verify(req, key), 1);

	char cn[256] = "";
	int cn_len = X509_NAME_get_text_by_NID(X509_REQ_get_subject_name(req), NID_commonName, cn,
	                                       sizeof(cn));
	if (expect_cn != NULL) {
		assert_true(cn_len > 0);
		assert_string_equal(cn, expect_cn);
	} else {
		assert_int_equal(cn_len, -1);
	}

	STACK_OF(X509_EXTENSION) *exts = X509_REQ_get_extensions(req);
	assert_non_null(exts);
	GENERAL_NAMES *sans = X509V3_get_d2i(exts, NID_subject_alt_name, NULL, NULL);
	assert_non_null(sans);
	assert_int_equal(sk_GENERAL_NAME_num(sans), (int)n);
	for (size_t i = 0; i < n; i++) {
		GENERAL_NAME *gen = sk_GENERAL_NAME_value(sans, (int)i);
		assert_int_equal(gen->type, GEN_DNS);
		const ASN1_IA5STRING *s = gen->d.dNSName;
		assert_int_equal(ASN1_STRING_length(s), (int)strlen(names[i]));
		assert_memory_equal(ASN1_STRING_get0_data(s), names[i], strlen(names[i]));
	}
	GENERAL_NAMES_free(sans);
	sk_X509_EXTENSION_pop_free(exts, X509_EXTENSION_free);
	X509_REQ_free(req);
	free(der);
}

static void test_csr_has_exact_san_list_with_wildcard_and_verifies(void **state)
{
	(void)state;
	const char *names[] = { "example.com", "*.example.com", "www.example.net" };
	EVP_PKEY *ec = new_key("ecdsa-p256");
	assert_csr(ec, names, 3, true, "example.com");
	assert_csr(ec, names + 1, 1, true, "*.example.com");
	assert_csr(ec, names, 3, false, NULL);
	EVP_PKEY_free(ec);
	EVP_PKEY *rsa = new_key("rsa-2048");
	assert_csr(rsa, names, 3, true, "example.com");
	EVP_PKEY_free(rsa);
	EVP_PKEY *p384 = new_key("ecdsa-p384");
	assert_csr(p384, names, 2, true, "example.com");
	EVP_PKEY_free(p384);
}

static void test_csr_leaves_out_cn_longer_than_64(void **state)
{
	(void)state;
	const char *names[] = {
		"a-very-long-label-that-goes-on-and-on.another-long-label.example.com", "example.com",
	};
	assert_true(strlen(names[0]) > 64);
	EVP_PKEY *key = fixed_key();
	assert_csr(key, names, 2, true, NULL);
	EVP_PKEY_free(key);
}

static void test_csr_rejects_empty_list_and_bad_names(void **state)
{
	(void)state;
	EVP_PKEY *key = fixed_key();
	uint8_t *der = NULL;
	size_t len = 0;
	const char *names[] = { "example.com", "bad name.example.com" };
	assert_int_equal(csr_create(key, names, 0, true, &der, &len), CD_EINVAL);
	assert_int_equal(csr_create(key, names, 2, true, &der, &len), CD_EINVAL);
	const char *empty[] = { "" };
	assert_int_equal(csr_create(key, empty, 1, true, &der, &len), CD_EINVAL);
	assert_null(der);
	EVP_PKEY_free(key);
}

/* ---- ACME client parts that need no CA ---- */

static void test_retry_after_parses_seconds_and_http_date(void **state)
{
	(void)state;
	long s = -1;
	assert_int_equal(acme_parse_retry_after("120", 0, &s), CD_OK);
	assert_int_equal(s, 120);
	assert_int_equal(acme_parse_retry_after(" 0 ", 0, &s), CD_OK);
	assert_int_equal(s, 0);
	/* Wed, 21 Oct 2015 07:28:00 GMT is 1445412480. */
	assert_int_equal(acme_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 - 90, &s),
	                 CD_OK);
	assert_int_equal(s, 90);
	assert_int_equal(acme_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412480 + 5, &s),
	                 CD_OK);
	assert_int_equal(s, 0);   /* a date in the past: now */
	assert_int_equal(acme_parse_retry_after("soon", 0, &s), CD_EINVAL);
	assert_int_equal(acme_parse_retry_after("12abc", 0, &s), CD_EINVAL);
	assert_int_equal(acme_parse_retry_after("-5", 0, &s), CD_EINVAL);
}

static void test_ari_cert_id_matches_rfc9773_example(void **state)
{
	(void)state;
	/* RFC 9773 appendix A: keyIdentifier 69:88:5B:..:D4, serial 0x87654321. */
	const uint8_t keyid[] = { 0x69, 0x88, 0x5B, 0x6B, 0x87, 0x46, 0x40, 0x41, 0xE1, 0xB3,
	                          0x7B, 0x84, 0x7B, 0xA0, 0xAE, 0x2C, 0xDE, 0x01, 0xC8, 0xD4 };
	EVP_PKEY *key = fixed_key();
	X509 *x = X509_new();
	assert_non_null(x);
	assert_int_equal(ASN1_INTEGER_set_uint64(X509_get_serialNumber(x), 0x87654321), 1);
	assert_int_equal(X509_set_pubkey(x, key), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(x), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(x), 3600));
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	assert_non_null(akid);
	akid->keyid = ASN1_OCTET_STRING_new();
	assert_non_null(akid->keyid);
	assert_int_equal(ASN1_OCTET_STRING_set(akid->keyid, keyid, sizeof(keyid)), 1);
	assert_int_equal(X509_add1_ext_i2d(x, NID_authority_key_identifier, akid, 0, 0), 1);
	AUTHORITY_KEYID_free(akid);
	assert_true(X509_sign(x, key, EVP_sha256()) > 0);
	unsigned char *der = NULL;
	int len = i2d_X509(x, &der);
	assert_true(len > 0);

	char *id = NULL;
	assert_int_equal(acme_ari_cert_id(der, (size_t)len, &id), CD_OK);
	assert_string_equal(id, "aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE");
	free(id);
	assert_int_equal(acme_ari_cert_id(der, 10, &id), CD_EINVAL);
	OPENSSL_free(der);
	X509_free(x);
	EVP_PKEY_free(key);
}

static void test_client_refuses_non_https_directory(void **state)
{
	(void)state;
	acme_client_t *c = NULL;
	assert_int_equal(acme_client_new(&c, "http://ca.test/dir", NULL), CD_EINVAL);
	assert_int_equal(acme_client_new(&c, "https://", NULL), CD_EINVAL);
	assert_null(c);
}

static void test_client_reports_unreachable_ca_with_url(void **state)
{
	(void)state;
	acme_client_t *c = NULL;
	/* Nothing listens on port 1 of loopback: refused at once. */
	assert_int_equal(acme_client_new(&c, "https://127.0.0.1:1/dir", NULL), CD_OK);
	acme_client_set_timeouts(c, 2000, 4000);
	const acme_directory_t *dir = NULL;
	acme_result_t res;
	assert_int_equal(acme_client_directory(c, &dir, &res), CD_ENET);
	assert_int_equal(res.http_status, 0);
	assert_null(res.problem);
	assert_int_equal(res.retry_after, -1);
	assert_non_null(strstr(acme_client_error(c), "GET https://127.0.0.1:1/dir"));
	acme_result_clear(&res);

	/* Operations needing an account say so before any I/O. */
	assert_int_equal(acme_post_as_get(c, "https://127.0.0.1:1/order/1", NULL), CD_EINVAL);
	assert_non_null(strstr(acme_client_error(c), "no ACME account"));
	EVP_PKEY *key = fixed_key();
	assert_int_equal(acme_client_set_account(c, key, NULL), CD_OK);
	EVP_PKEY_free(key);   /* the client holds its own reference */
	assert_non_null(acme_client_account_key(c));
	assert_null(acme_client_account_url(c));
	assert_int_equal(acme_account_key_change(c, acme_client_account_key(c), NULL), CD_EINVAL);
	acme_client_free(c);
}

static void test_result_clear_resets_everything(void **state)
{
	(void)state;
	acme_result_t res;
	memset(&res, 0, sizeof(res));
	res.body = json_object();
	res.problem = json_pack("{s:s}", "type", "urn:ietf:params:acme:error:badNonce");
	res.location = strdup("https://ca.test/o/1");
	res.pem = strdup("-----BEGIN CERTIFICATE-----");
	res.alternates = json_array();
	res.http_status = 400;
	assert_string_equal(acme_result_problem_type(&res), "urn:ietf:params:acme:error:badNonce");
	acme_result_clear(&res);
	assert_null(res.body);
	assert_null(res.problem);
	assert_null(res.location);
	assert_null(res.pem);
	assert_null(res.alternates);
	assert_int_equal(res.http_status, 0);
	assert_int_equal(res.retry_after, -1);
	assert_null(acme_result_problem_type(&res));
	acme_result_clear(NULL);
}

int main(void)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		return 1;
	}
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_encodes_rfc4648_vectors),
		cmocka_unit_test(test_base64url_uses_url_alphabet_without_padding),
		cmocka_unit_test(test_base64url_round_trips_every_length),
		cmocka_unit_test(test_base64url_decode_accepts_padding_rejects_garbage),
		cmocka_unit_test(test_jwk_thumbprint_matches_rfc7638_example),
		cmocka_unit_test(test_jwk_thumbprint_rejects_incomplete_jwk),
		cmocka_unit_test(test_ec_jwk_coordinates_have_fixed_length),
		cmocka_unit_test(test_key_pem_round_trips_for_each_type),
		cmocka_unit_test(test_key_generate_defaults_and_rejects_unknown_type),
		cmocka_unit_test(test_key_from_pem_rejects_garbage_and_unsupported_keys),
		cmocka_unit_test(test_jws_es256_signature_is_raw_64_bytes_and_verifies),
		cmocka_unit_test(test_jws_es384_signature_is_raw_96_bytes_and_verifies),
		cmocka_unit_test(test_jws_rs256_verifies),
		cmocka_unit_test(test_jws_header_has_exactly_one_of_jwk_and_kid),
		cmocka_unit_test(test_jws_post_as_get_has_empty_payload),
		cmocka_unit_test(test_jws_eab_is_hs256_over_account_jwk),
		cmocka_unit_test(test_key_authorization_and_dns01_value_for_fixed_token),
		cmocka_unit_test(test_csr_has_exact_san_list_with_wildcard_and_verifies),
		cmocka_unit_test(test_csr_leaves_out_cn_longer_than_64),
		cmocka_unit_test(test_csr_rejects_empty_list_and_bad_names),
		cmocka_unit_test(test_retry_after_parses_seconds_and_http_date),
		cmocka_unit_test(test_ari_cert_id_matches_rfc9773_example),
		cmocka_unit_test(test_client_refuses_non_https_directory),
		cmocka_unit_test(test_client_reports_unreachable_ca_with_url),
		cmocka_unit_test(test_result_clear_resets_everything),
	};
	int failed = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return failed;
}
