/*
 * api.h - the /api/v1 documents and steering commands of `hive serve`
 * (docs/serve.md; the contract with the page: /work/coord/serve-api.md).
 * Each endpoint is one core/hive.h call and the document the matching
 * CLI command prints with --json, byte for byte.
 */
#ifndef HIVE_API_H
#define HIVE_API_H

#include <stddef.h>

#include "core/hive.h"
#include "serve/http.h"

/* Answer the request whose path is /api/v1/<seg[0]>/... (seg borrowed;
 * n >= 1), except the event stream (serve/sse.h).  The caller serializes
 * calls (the store handle is shared). */
enum MHD_Result hive_api_handle(hive_store *s, hive_http_req *r, char **seg, size_t n);

#endif
