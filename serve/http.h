/*
 * http.h - one HTTP request of `hive serve` and the replies every handler
 * uses (libmicrohttpd underneath).  Handlers never call MHD to reply:
 * they return one of these, so every answer carries the same headers
 * (no caching, nosniff) and every error is the same JSON shape:
 *   {"schema":2,"error":{"code":"not_found","message":"..."}}
 */
#ifndef HIVE_HTTP_H
#define HIVE_HTTP_H

#include "serve/mhd.h"
#include <stddef.h>
#include <stdint.h>

#include "core/hive.h"
#include "events/buf.h"

struct hive_serve;

/* One request; created when MHD first sees its URI, freed when it ends. */
typedef struct {
	struct hive_serve *srv;        /* borrowed */
	struct MHD_Connection *conn;   /* borrowed */
	const char *method;            /* borrowed from MHD */
	char *raw_uri;                 /* as received: MHD decodes %2F before routing */
	char **seg;                    /* the path's segments, each %-decoded */
	size_t nseg;
	hive_buf body;                 /* a POST's body, at most HIVE_HTTP_MAX_BODY */
	int body_too_big;
	int started;                   /* the access handler saw the headers */
} hive_http_req;

#define HIVE_HTTP_MAX_BODY (64 * 1024)

/* A new request for raw_uri (copied); never NULL. */
hive_http_req *hive_http_req_new(struct hive_serve *srv, const char *raw_uri);
void hive_http_req_free(hive_http_req *r);

/*
 * Split the raw path (up to '?') into segments and %-decode each one
 * separately, so "/api/v1/tasks/f1%2Fbuild/retry" has the segment
 * "f1/build".  Returns -1 (nothing set) for a bad %-escape, an encoded
 * NUL, an empty, "." or ".." segment, or a path not starting with '/'.
 */
int hive_http_split_path(const char *raw, char ***seg, size_t *n);

/* Every reply: queue it and return what MHD returned. */
enum MHD_Result hive_http_reply(hive_http_req *r, unsigned status, const char *ctype, const void *data,
				size_t len);
/* doc (stolen) as one compact line + "\n", the bytes `--json` prints. */
enum MHD_Result hive_http_json(hive_http_req *r, unsigned status, json_t *doc);
/* An error reply: code is the stable name ("not_found", "invalid", ...). */
enum MHD_Result hive_http_error(hive_http_req *r, unsigned status, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The reply for a library error rc (HIVE_E*), with hive_error_last(). */
enum MHD_Result hive_http_hive_error(hive_http_req *r, int rc);

/* A query argument (decoded by MHD), NULL when absent. */
const char *hive_http_arg(hive_http_req *r, const char *name);
/* A request header, NULL when absent. */
const char *hive_http_header(hive_http_req *r, const char *name);
/* Refuse (400, queued; returns 1) a query argument not in allowed (NULL-terminated). */
int hive_http_refuse_args(hive_http_req *r, const char *const *allowed, enum MHD_Result *ret);
/* A decimal uint64 (no sign, no spaces, no overflow): 0 ok, -1 not one. */
int hive_http_parse_u64(const char *s, uint64_t *out);

#endif
