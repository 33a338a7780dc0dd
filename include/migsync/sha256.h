#ifndef MIGSYNC_SHA256_H
#define MIGSYNC_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* Write the lowercase hex SHA-256 of data into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);

#endif
