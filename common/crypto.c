/*
 * crypto.c - random tokens, hashing and secret handling on OpenSSL.
 * Session ids and CSRF tokens are 256 random bits from RAND_bytes, written
 * as unpadded base64url.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "cpa.h"

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int
cpa_random_token(char *out)
{
	unsigned char raw[33];	/* 32 random bytes + 1 zero pad byte */
	size_t i, o = 0;

	if (RAND_bytes(raw, 32) != 1)
		return CPA_ERR;
	raw[32] = 0;
	for (i = 0; i < 33; i += 3) {
		unsigned v = (unsigned)raw[i] << 16 | (unsigned)raw[i + 1] << 8 | raw[i + 2];

		out[o++] = b64url[(v >> 18) & 63];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	/* 33 bytes give 44 characters; the last encodes only padding. */
	out[CPA_TOKEN_LEN] = '\0';
	OPENSSL_cleanse(raw, sizeof(raw));
	return CPA_OK;
}

void
cpa_sha256_hex(const void *p, size_t n, char out[CPA_SHA256_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[32];
	unsigned int mdlen = 0;
	size_t i;

	EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL);
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[CPA_SHA256_HEX] = '\0';
}

int
cpa_secret_eq(const char *a, const char *b)
{
	size_t la, lb;

	if (a == NULL || b == NULL)
		return 0;
	la = strlen(a);
	lb = strlen(b);
	if (la != lb || la == 0)
		return 0;
	return CRYPTO_memcmp(a, b, la) == 0;
}

void
cpa_secret_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}
