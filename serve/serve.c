/*
 * serve.c - `hive serve`: the listening socket, the checks every request
 * passes (Host, token), and routing (see serve.h, docs/serve.md).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "events/error.h"
#include "serve/api.h"
#include "serve/http.h"
#include "serve/metrics.h"
#include "serve/serve.h"
#include "serve/sse.h"
#include "serve/token.h"
#include "web/web.h"

struct hive_serve {
	hive_store *store;
	hive_sse_hub *hub;
	pthread_mutex_t api_mu;    /* documents and steering: one at a time on the shared handle */
	char token[HIVE_TOKEN_LEN + 1];
	char host[64];             /* the listen host as given: "127.0.0.1", "localhost", "[::1]" */
	unsigned port;
	int loopback;
	int wildcard;              /* 0.0.0.0 or [::]: any Host name with the right port */
};

/* ---- the listen address ------------------------------------------------------------ */

typedef struct {
	struct sockaddr_storage sa;
	int v6;
	char host[64];
	unsigned port;
	int loopback, wildcard;
} listen_addr;

static int parse_port(const char *p, unsigned *port)
{
	uint64_t v;
	if (hive_http_parse_u64(p, &v) != 0 || v > 65535)
		return -1;
	*port = (unsigned)v;
	return 0;
}

static int bad_listen(const char *spec)
{
	return hive_error_set(HIVE_EINVALID, "--listen %s: give HOST:PORT, e.g. 127.0.0.1:8420, localhost:8420 or "
				     "[::1]:8420 (PORT 0 picks a free one)", spec);
}

static int parse_listen(const char *spec, listen_addr *a)
{
	memset(a, 0, sizeof *a);
	const char *colon = strrchr(spec, ':');
	size_t hl = colon ? (size_t)(colon - spec) : 0;
	if (!colon || hl == 0 || hl >= sizeof a->host || parse_port(colon + 1, &a->port) != 0)
		return bad_listen(spec);
	memcpy(a->host, spec, hl);
	char lit[64];
	const char *h = a->host;
	if (h[0] == '[') {
		if (h[hl - 1] != ']' || hl < 3)
			return bad_listen(spec);
		memcpy(lit, h + 1, hl - 2);
		lit[hl - 2] = '\0';
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a->sa;
		if (inet_pton(AF_INET6, lit, &s6->sin6_addr) != 1)
			return bad_listen(spec);
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)a->port);
		a->v6 = 1;
		a->loopback = IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr);
		a->wildcard = IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr);
		return 0;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)&a->sa;
	if (strcasecmp(h, "localhost") == 0)
		h = "127.0.0.1";
	if (inet_pton(AF_INET, h, &s4->sin_addr) != 1)
		return bad_listen(spec);
	s4->sin_family = AF_INET;
	s4->sin_port = htons((uint16_t)a->port);
	a->loopback = (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
	a->wildcard = s4->sin_addr.s_addr == htonl(INADDR_ANY);
	return 0;
}

/* ---- the checks every request passes -------------------------------------------------- */

/* The Host header must name the address we listen on (a page on another
 * site that rebinds its DNS name to 127.0.0.1 sends its own name). */
static int host_ok(const struct hive_serve *srv, const char *host)
{
	if (!host)
		return 0;
	const char *colon = strrchr(host, ':');
	if (colon && strchr(colon, ']'))
		colon = NULL; /* "[::1]" without a port */
	unsigned port = 80;
	if (colon && parse_port(colon + 1, &port) != 0)
		return 0;
	if (port != srv->port)
		return 0;
	size_t n = colon ? (size_t)(colon - host) : strlen(host);
	if (srv->wildcard)
		return n > 0;
	const char *names[] = {srv->host, srv->loopback ? "localhost" : NULL, srv->loopback ? "127.0.0.1" : NULL,
			       srv->loopback ? "[::1]" : NULL};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (names[i] && strlen(names[i]) == n && strncasecmp(names[i], host, n) == 0)
			return 1;
	return 0;
}

static int token_ok(const struct hive_serve *srv, hive_http_req *r)
{
	const char *auth = hive_http_header(r, "Authorization");
	if (auth && strncasecmp(auth, "Bearer ", 7) == 0) {
		const char *t = auth + 7;
		return hive_token_matches(srv->token, t, strlen(t));
	}
	const char *cookie = hive_mhd.lookup_connection_value(r->conn, MHD_COOKIE_KIND, "hive_token");
	return cookie && hive_token_matches(srv->token, cookie, strlen(cookie));
}

/* GET /?token=T: the URL `hive serve` prints.  A right token sets the
 * cookie and sends the browser to / (so the token leaves the address bar
 * and the history); a wrong one is a 401 like any other. */
static enum MHD_Result token_login(struct hive_serve *srv, hive_http_req *r, const char *t)
{
	if (!hive_token_matches(srv->token, t, strlen(t)))
		return hive_http_error(r, 401, "unauthorized", "wrong token; open the URL hive serve printed");
	struct MHD_Response *resp = hive_mhd.create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	hive_buf c = {0};
	hive_buf_printf(&c, "hive_token=%s; HttpOnly; SameSite=Strict; Path=/", srv->token);
	hive_mhd.add_response_header(resp, "Set-Cookie", hive_buf_str(&c));
	hive_mhd.add_response_header(resp, "Location", "/");
	hive_mhd.add_response_header(resp, "Cache-Control", "no-store");
	hive_mhd.add_response_header(resp, "Referrer-Policy", "no-referrer");
	hive_buf_dispose(&c);
	enum MHD_Result ret = hive_mhd.queue_response(r->conn, 303, resp);
	hive_mhd.destroy_response(resp);
	return ret;
}

/* ---- routing ------------------------------------------------------------------------- */

static enum MHD_Result static_file(hive_http_req *r, const char *path)
{
	for (const struct hive_web_file *f = hive_web_files; f->path; f++) {
		if (strcmp(f->path, path) != 0)
			continue;
		struct MHD_Response *resp = hive_mhd.create_response_from_buffer(f->len, (void *)f->data,
									      MHD_RESPMEM_PERSISTENT);
		if (!resp)
			return MHD_NO;
		hive_mhd.add_response_header(resp, "Content-Type", f->content_type);
		hive_mhd.add_response_header(resp, "Cache-Control", "no-store");
		hive_mhd.add_response_header(resp, "X-Content-Type-Options", "nosniff");
		hive_mhd.add_response_header(resp, "Content-Security-Policy",
					"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'");
		hive_mhd.add_response_header(resp, "Referrer-Policy", "no-referrer");
		enum MHD_Result ret = hive_mhd.queue_response(r->conn, 200, resp);
		hive_mhd.destroy_response(resp);
		return ret;
	}
	return hive_http_error(r, 404, "not_found", "no such page: %s", r->raw_uri);
}

static enum MHD_Result locked_api(struct hive_serve *srv, hive_http_req *r, int metrics)
{
	pthread_mutex_lock(&srv->api_mu);
	enum MHD_Result ret = metrics ? hive_metrics_handle(srv->store, srv->hub, r)
				      : hive_api_handle(srv->store, r, r->seg + 2, r->nseg - 2);
	pthread_mutex_unlock(&srv->api_mu);
	return ret;
}

static enum MHD_Result route(struct hive_serve *srv, hive_http_req *r)
{
	char **seg = r->seg;
	size_t n = r->nseg;
	int get = strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0;
	if (n >= 3 && strcmp(seg[0], "api") == 0 && strcmp(seg[1], "v1") == 0) {
		if (n == 4 && strcmp(seg[2], "events") == 0 && strcmp(seg[3], "stream") == 0)
			return get ? hive_sse_handle(srv->hub, r)
				   : hive_http_error(r, 405, "invalid", "%s takes GET", r->raw_uri);
		return locked_api(srv, r, 0);
	}
	if (!get)
		return hive_http_error(r, 405, "invalid", "%s takes GET", r->raw_uri);
	if (n == 1 && strcmp(seg[0], "metrics") == 0) {
		static const char *const none[] = {NULL};
		enum MHD_Result ret;
		return hive_http_refuse_args(r, none, &ret) ? ret : locked_api(srv, r, 1);
	}
	if (n == 0)
		return static_file(r, "/");
	if (n == 1) {
		hive_buf p = {0};
		hive_buf_printf(&p, "/%s", seg[0]);
		enum MHD_Result ret = static_file(r, hive_buf_str(&p));
		hive_buf_dispose(&p);
		return ret;
	}
	return hive_http_error(r, 404, "not_found", "no such endpoint: %s", r->raw_uri);
}

/* The checks, in order: a method we know, a Host naming us, a path we can
 * read, the token.  Every refusal is a JSON error; nothing is read from
 * the store before the token matched. */
static int refused(struct hive_serve *srv, hive_http_req *r, enum MHD_Result *ret)
{
	const char *m = r->method;
	if (strcmp(m, "GET") && strcmp(m, "HEAD") && strcmp(m, "POST"))
		*ret = hive_http_error(r, 405, "invalid", "method %s is not served; use GET or POST", m);
	else if (!host_ok(srv, hive_http_header(r, "Host")))
		*ret = hive_http_error(r, 421, "misdirected",
				       "the Host header must name the address hive serve listens on (%s:%u)", srv->host,
				       srv->port);
	else if (hive_http_split_path(r->raw_uri, &r->seg, &r->nseg) != 0)
		*ret = hive_http_error(r, 400, "invalid", "bad path (a bad %%-escape, or an empty, . or .. segment)");
	else if (r->nseg == 0 && strcmp(m, "GET") == 0 && hive_http_arg(r, "token"))
		*ret = token_login(srv, r, hive_http_arg(r, "token"));
	else if (!token_ok(srv, r))
		*ret = hive_http_error(r, 401, "unauthorized",
				       "no valid token: send Authorization: Bearer <the token in serve.token of the "
				       "data dir>, or open the URL hive serve printed");
	else
		return 0;
	return 1;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	(void)url;
	(void)version;
	struct hive_serve *srv = cls;
	hive_http_req *r = *con_cls;
	if (!r)
		return MHD_NO; /* the URI callback always makes one */
	r->conn = conn;
	r->method = method;
	if (!r->started) {
		r->started = 1;
		enum MHD_Result ret;
		if (refused(srv, r, &ret))
			return ret;
		/* admitted: for a POST, the body comes in the next calls */
		if (strcmp(method, "POST") == 0)
			return MHD_YES;
	}
	if (*upload_data_size) {
		if (r->body.len + *upload_data_size > HIVE_HTTP_MAX_BODY)
			r->body_too_big = 1;
		else
			hive_buf_append(&r->body, upload_data, *upload_data_size);
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (r->body_too_big)
		return hive_http_error(r, 413, "invalid", "the request body is larger than %d bytes", HIVE_HTTP_MAX_BODY);
	return route(srv, r);
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)conn;
	return hive_http_req_new(cls, uri);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	hive_http_req_free(*con_cls);
	*con_cls = NULL;
}

/* ---- running ---------------------------------------------------------------------------- */

/* Bind and listen before MHD starts, so the port (PORT 0: the one the
 * kernel picked) is in srv->port before any connection thread can read
 * it in host_ok.  Returns the socket, or -1 with errno. */
static int open_listener(const listen_addr *a, unsigned *port)
{
	int one = 1, fd = socket(a->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	socklen_t len = a->v6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	struct sockaddr_storage got;
	socklen_t got_len = sizeof got;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    (a->v6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) ||
	    bind(fd, (const struct sockaddr *)&a->sa, len) != 0 || listen(fd, 128) != 0 ||
	    getsockname(fd, (struct sockaddr *)&got, &got_len) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		errno = e;
		return -1;
	}
	*port = ntohs(a->v6 ? ((struct sockaddr_in6 *)&got)->sin6_port : ((struct sockaddr_in *)&got)->sin_port);
	return fd;
}

static struct MHD_Daemon *start_daemon(struct hive_serve *srv, listen_addr *a, int heartbeat_ms)
{
	int fd = open_listener(a, &srv->port);
	if (fd < 0)
		return NULL;
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 (a->v6 ? MHD_USE_IPv6 : 0);
	/* A stream writes at least every heartbeat, so only a client that
	 * stopped reading (or a half-open socket) stays silent longer. */
	unsigned timeout_s = (unsigned)(heartbeat_ms / 1000) * 4 + 30;
	return hive_mhd.start_daemon(flags, 0, NULL, NULL, on_request, srv,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_URI_LOG_CALLBACK, on_uri, srv,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
				MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
				MHD_OPTION_CONNECTION_LIMIT, 1000u,
				MHD_OPTION_THREAD_STACK_SIZE, (size_t)512 * 1024,
				MHD_OPTION_END);
}

static int setup(struct hive_serve *srv, hive_store *s, const hive_serve_opts *o, listen_addr *a)
{
	int rc = parse_listen(o->listen ? o->listen : "127.0.0.1:8420", a);
	if (rc)
		return rc;
	if (!a->loopback && !o->allow_remote)
		return hive_error_set(HIVE_EINVALID, "--listen %s is not a loopback address; pass --allow-remote to "
					     "serve other machines (every request still needs the token)", o->listen);
	memset(srv, 0, sizeof *srv);
	srv->store = s;
	srv->loopback = a->loopback;
	srv->wildcard = a->wildcard;
	memcpy(srv->host, a->host, sizeof srv->host);
	srv->port = a->port; /* PORT 0: the bound port, set by open_listener before MHD starts */
	return hive_token_load(o->dir, srv->token);
}

static void wait_for_stop(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	while (poll(&p, 1, -1) < 0 && errno == EINTR)
		;
}

int hive_serve_run(hive_store *s, const hive_serve_opts *o)
{
	struct hive_serve srv;
	listen_addr a;
	int hb = o->heartbeat_ms > 0 ? o->heartbeat_ms : 15000;
	int rc = hive_mhd_load();
	if (!rc)
		rc = setup(&srv, s, o, &a);
	if (rc)
		return rc;
	pthread_mutex_init(&srv.api_mu, NULL);
	if ((rc = hive_sse_hub_start(s, hb, &srv.hub))) {
		pthread_mutex_destroy(&srv.api_mu);
		return rc;
	}
	struct MHD_Daemon *d = start_daemon(&srv, &a, hb);
	if (!d) {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot listen on %s:%u: %s", a.host, a.port, strerror(errno));
	} else {
		hive_buf url = {0};
		hive_buf_printf(&url, "http://%s:%u/?token=%s", a.host, srv.port, srv.token);
		if (o->ready)
			o->ready(hive_buf_str(&url), o->ready_ctx);
		hive_buf_dispose(&url);
		wait_for_stop(o->stop_fd);
		hive_sse_hub_close(srv.hub); /* streams end, so MHD can join their threads */
		hive_mhd.stop_daemon(d);
	}
	hive_sse_hub_stop(srv.hub);
	pthread_mutex_destroy(&srv.api_mu);
	return rc;
}
