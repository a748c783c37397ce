#pragma once
/*
 * JSON Web Signatures the way ACME uses them (RFC 8555 section 6.2): the
 * flattened JSON serialization (RFC 7515 section 7.2.2) with a protected
 * header of alg, nonce, url and either jwk or kid; ES256/ES384 with raw r||s
 * signatures (RFC 7518 section 3.4) or RS256.  Also the External Account
 * Binding (RFC 8555 section 7.3.4) and the challenge key authorization with
 * its DNS-01 TXT value (RFC 8555 sections 8.1 and 8.4).
 *
 * Ownership: a json_t handed out is a new reference the caller
 * json_decref()s; strings handed out are malloc'd, the caller free()s them.
 * No global state.
 */

#include <jansson.h>
#include <openssl/evp.h>

/* Length of a DNS-01 TXT value: base64url of a SHA-256 digest, without the NUL. */
#define JWS_DNS01_TXT_LEN 43

/* The JWS alg for key: "ES256", "ES384", "RS256"; NULL for a type certs/keys.h does not support. */
const char *jws_alg(const EVP_PKEY *key);

/*
 * Signs an ACME request into *jws, the object {"protected","payload","signature"}
 * to POST as application/jose+json.  The protected header holds:
 *   "alg"    from the key (jws_alg)
 *   "nonce"  when nonce != NULL (every request to the CA; not the inner JWS
 *            of a key change, RFC 8555 section 7.3.5)
 *   "url"    the URL the request goes to
 *   "kid"    the account URL when kid != NULL, else "jwk": the public key
 *            (newAccount, revokeCert signed by the certificate key, and the
 *            inner JWS of a key change)
 * The payload is the compact JSON of payload, or the empty string when payload
 * is NULL: a POST-as-GET (RFC 8555 section 6.3).
 * Returns 0, or:
 *   CD_EINVAL   url is NULL, or key is not a supported type
 *   CD_ENOMEM
 *   CD_ECRYPTO  signing failed (e.g. a public key only)
 */
int jws_sign(EVP_PKEY *key, const char *kid, const char *nonce, const char *url,
             const json_t *payload, json_t **jws);

/*
 * Builds the externalAccountBinding JWS for a newAccount request (RFC 8555
 * section 7.3.4): protected {"alg":"HS256","kid":eab_kid,"url":url}, payload
 * the public JWK of account_key, signed with HMAC-SHA-256 under the key that
 * hmac_key_b64url encodes (base64url as the CA hands it out; '=' padding
 * accepted).  url is the newAccount URL.
 * Returns 0, or:
 *   CD_EINVAL   eab_kid or url empty, the HMAC key not base64url or empty,
 *               or account_key not a supported type
 *   CD_ENOMEM, CD_ECRYPTO
 */
int jws_eab(const EVP_PKEY *account_key, const char *eab_kid, const char *hmac_key_b64url,
            const char *url, json_t **jws);

/*
 * The key authorization for a challenge token: token "." thumbprint of the
 * account key (RFC 8555 section 8.1), into *out (malloc'd).
 * Returns 0, or CD_EINVAL (token empty or not base64url, unsupported key),
 * CD_ENOMEM, CD_ECRYPTO.
 */
int jws_key_authorization(const char *token, const EVP_PKEY *account_key, char **out);

/*
 * The TXT record value a dns-01 challenge expects at _acme-challenge.<name>:
 * base64url(SHA-256(key authorization)) (RFC 8555 section 8.4).  out receives
 * JWS_DNS01_TXT_LEN characters and a NUL.
 * Returns as jws_key_authorization().
 */
int jws_dns01_txt_value(const char *token, const EVP_PKEY *account_key,
                        char out[JWS_DNS01_TXT_LEN + 1]);
