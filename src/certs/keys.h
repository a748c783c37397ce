#pragma once
/*
 * Private keys for ACME accounts and certificates (OpenSSL 3 EVP), their
 * public JWK (RFC 7517/7518) and JWK thumbprint (RFC 7638), and base64url
 * without padding (RFC 4648 section 5), the encoding of everything in JOSE.
 *
 * Key types, by name (the names stored in the database and given on the
 * command line):
 *   "ecdsa-p256"  ECDSA on P-256, JWS alg ES256 (the default)
 *   "ecdsa-p384"  ECDSA on P-384, JWS alg ES384
 *   "rsa-2048"    RSA 2048 bits, e = 65537, JWS alg RS256
 *   "rsa-4096"    RSA 4096 bits, e = 65537, JWS alg RS256
 * Any other key (another curve, another RSA size, Ed25519) is not supported.
 *
 * Ownership: an EVP_PKEY handed out is the caller's (EVP_PKEY_free); strings
 * and buffers handed out are malloc'd and the caller free()s them; a json_t
 * handed out is a new reference the caller json_decref()s.  No global state:
 * every function may be called from any thread on distinct objects.
 */

#include <jansson.h>
#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_TYPE_DEFAULT "ecdsa-p256"

/* Length of a JWK thumbprint: base64url of a SHA-256 digest (43), without the NUL. */
#define KEY_THUMBPRINT_LEN 43

/*
 * Generates a new key of the named type (NULL: KEY_TYPE_DEFAULT) into *out.
 * Returns 0, or:
 *   CD_EINVAL   unknown type name
 *   CD_ECRYPTO  OpenSSL failed (its error queue is cleared)
 */
int key_generate(const char *type, EVP_PKEY **out);

/*
 * Writes the private key as unencrypted PKCS#8 PEM ("BEGIN PRIVATE KEY") into
 * *pem, a NUL-terminated malloc'd string.  It holds the secret key: the
 * caller stores it where it belongs and free()s it.
 * Returns 0, CD_ENOMEM, CD_ECRYPTO.
 */
int key_to_pem(const EVP_PKEY *key, char **pem);

/*
 * Reads a private key from PEM text of len bytes (PKCS#8, or the traditional
 * "BEGIN EC/RSA PRIVATE KEY" forms); encrypted keys are refused, never
 * prompted for.  Returns 0 with the key in *out, or:
 *   CD_EINVAL   not a PEM private key, encrypted, or a type not listed above
 *   CD_ENOMEM
 */
int key_from_pem(const char *pem, size_t len, EVP_PKEY **out);

/* The type name of key ("ecdsa-p256", ...), a static string; NULL when not supported. */
const char *key_type_name(const EVP_PKEY *key);

/*
 * Builds the public JWK of key into *jwk: {"kty":"EC","crv":"P-256","x","y"}
 * with coordinates padded to the field size (32 or 48 bytes), or
 * {"kty":"RSA","n","e"} with minimal big-endian integers.  Only the members
 * RFC 7638 requires, so the object is also the thumbprint input.
 * Returns 0, CD_EINVAL (key type not supported), CD_ENOMEM, CD_ECRYPTO.
 */
int key_public_jwk(const EVP_PKEY *key, json_t **jwk);

/*
 * RFC 7638 thumbprint of a public JWK object (EC or RSA): base64url of the
 * SHA-256 of its required members in lexicographic order, without spaces.
 * out receives KEY_THUMBPRINT_LEN characters and a NUL.
 * Returns 0, CD_EINVAL (not an EC/RSA JWK with string members), CD_ENOMEM, CD_ECRYPTO.
 */
int jwk_thumbprint(const json_t *jwk, char out[KEY_THUMBPRINT_LEN + 1]);

/* Thumbprint of the public JWK of key.  Returns as key_public_jwk() and jwk_thumbprint(). */
int key_thumbprint(const EVP_PKEY *key, char out[KEY_THUMBPRINT_LEN + 1]);

/* Number of characters base64url_encode() writes for len bytes (no padding, no NUL). */
size_t base64url_encoded_len(size_t len);

/*
 * Encodes len bytes of in as base64url without padding into *out, a
 * NUL-terminated malloc'd string (empty for len 0).  Returns 0 or CD_ENOMEM.
 */
int base64url_encode(const void *in, size_t len, char **out);

/*
 * Decodes len characters of base64url text.  Trailing '=' padding is
 * accepted (some CAs hand out padded EAB keys); any character outside the
 * base64url alphabet, a length that is 1 mod 4, or non-zero bits in the last
 * character are refused.  *out is malloc'd (never NULL on success, even for
 * empty input; one spare NUL byte follows the data), *out_len its length.
 * Returns 0, CD_EINVAL, CD_ENOMEM.
 */
int base64url_decode(const char *in, size_t len, uint8_t **out, size_t *out_len);
