/*
 * verify_libjwt — independent verifier for OneTrip ES256 access tokens,
 * built on Debian's libjwt 1.10 (package libjwt-dev).
 *
 * Usage: verify_libjwt TOKEN_FILE PUBLIC_KEY_PEM_FILE
 *
 *   TOKEN_FILE           the compact JWT (surrounding whitespace is ignored)
 *   PUBLIC_KEY_PEM_FILE  a PEM SubjectPublicKeyInfo P-256 public key
 *
 * Exit 0 and print the grants (claims) JSON on stdout when the signature
 * verifies with ES256, token_use == "access",
 * iss == "https://onetrip.hangzhou.gov.cn" and exp is in the future.
 * Otherwise print the reason on stderr and exit 1.
 *
 * Build: cc -Wall -Wextra -O2 verify_libjwt.c -ljwt -o verify_libjwt
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jwt.h>

#define EXPECTED_ISS "https://onetrip.hangzhou.gov.cn"
#define EXPECTED_TOKEN_USE "access"

/* Reads a whole file into a NUL-terminated heap buffer. */
static char *read_file(const char *path, size_t *out_len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0;

	if (fp == NULL) {
		fprintf(stderr, "libjwt: cannot open %s: %s\n", path, strerror(errno));
		return NULL;
	}
	for (;;) {
		size_t n;
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nbuf = realloc(buf, ncap + 1);
			if (nbuf == NULL) {
				fprintf(stderr, "libjwt: out of memory\n");
				free(buf);
				fclose(fp);
				return NULL;
			}
			buf = nbuf;
			cap = ncap;
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp)) {
				fprintf(stderr, "libjwt: cannot read %s\n", path);
				free(buf);
				fclose(fp);
				return NULL;
			}
			break;
		}
	}
	fclose(fp);
	buf[len] = '\0';
	if (out_len != NULL)
		*out_len = len;
	return buf;
}

/* Strips leading and trailing whitespace in place; returns the start. */
static char *trim(char *s)
{
	char *end;

	while (*s != '\0' && isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	*end = '\0';
	return s;
}

int main(int argc, char **argv)
{
	char *token_buf = NULL, *key_buf = NULL, *grants = NULL;
	char *token;
	size_t key_len = 0;
	jwt_t *jwt = NULL;
	const char *value;
	long exp;
	time_t now;
	int ret, status = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: %s TOKEN_FILE PUBLIC_KEY_PEM_FILE\n", argv[0]);
		return 2;
	}

	token_buf = read_file(argv[1], NULL);
	if (token_buf == NULL)
		goto out;
	key_buf = read_file(argv[2], &key_len);
	if (key_buf == NULL)
		goto out;

	token = trim(token_buf);
	if (*token == '\0') {
		fprintf(stderr, "libjwt: rejected (empty token)\n");
		goto out;
	}
	if (key_len == 0) {
		fprintf(stderr, "libjwt: rejected (empty key)\n");
		goto out;
	}

	ret = jwt_decode(&jwt, token, (const unsigned char *)key_buf, (int)key_len);
	if (ret != 0 || jwt == NULL) {
		fprintf(stderr, "libjwt: rejected (errno %d)\n", ret);
		jwt = NULL;
		goto out;
	}

	if (jwt_get_alg(jwt) != JWT_ALG_ES256) {
		fprintf(stderr, "libjwt: rejected (alg %s, want ES256)\n",
			jwt_alg_str(jwt_get_alg(jwt)) ? jwt_alg_str(jwt_get_alg(jwt)) : "?");
		goto out;
	}

	value = jwt_get_grant(jwt, "token_use");
	if (value == NULL || strcmp(value, EXPECTED_TOKEN_USE) != 0) {
		fprintf(stderr, "libjwt: rejected (token_use %s, want %s)\n",
			value ? value : "(missing)", EXPECTED_TOKEN_USE);
		goto out;
	}

	value = jwt_get_grant(jwt, "iss");
	if (value == NULL || strcmp(value, EXPECTED_ISS) != 0) {
		fprintf(stderr, "libjwt: rejected (iss %s, want %s)\n",
			value ? value : "(missing)", EXPECTED_ISS);
		goto out;
	}

	errno = 0;
	exp = jwt_get_grant_int(jwt, "exp");
	if (errno != 0) {
		fprintf(stderr, "libjwt: rejected (exp missing or not an integer)\n");
		goto out;
	}
	now = time(NULL);
	if ((long long)exp <= (long long)now) {
		fprintf(stderr, "libjwt: rejected (expired: exp %ld <= now %lld)\n",
			exp, (long long)now);
		goto out;
	}

	grants = jwt_get_grants_json(jwt, NULL);
	if (grants == NULL) {
		fprintf(stderr, "libjwt: cannot serialise grants\n");
		goto out;
	}
	printf("%s\n", grants);
	status = 0;

out:
	free(grants);
	if (jwt != NULL)
		jwt_free(jwt);
	free(key_buf);
	free(token_buf);
	return status;
}
