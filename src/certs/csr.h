#pragma once
/*
 * Certificate signing requests (PKCS#10, RFC 2986) for the names of a
 * certificate, in the DER form an ACME finalize request carries (RFC 8555
 * section 7.4, base64url-encoded by the caller).
 */

#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Builds and signs (SHA-256; ECDSA or RSA, see certs/keys.h) a CSR for the
 * n DNS names (n >= 1; "example.com", "*.example.com"; no trailing dot).
 * Every name goes into the subjectAltName extension, in the order given;
 * with_cn also puts the first name in the subject CN, unless it is longer
 * than the 64 characters X.520 allows for a CN (then the subject is empty,
 * which CAs accept since RFC 8555 reads the names from the SANs).
 *
 * On success *der is a malloc'd buffer of *der_len bytes the caller free()s.
 * Returns 0, or:
 *   CD_EINVAL   n == 0, or a name that is empty or has a character other than
 *               ASCII letters, digits, '-', '_', '.' and '*' (IDNs go in A-label form)
 *   CD_ENOMEM
 *   CD_ECRYPTO  signing failed (e.g. a key without its private part)
 */
int csr_create(EVP_PKEY *key, const char *const *names, size_t n, bool with_cn,
               uint8_t **der, size_t *der_len);
