/* token.c - serve.token: created once, then only read (see token.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "events/buf.h"
#include "events/error.h"
#include "serve/token.h"

static int check_file(int fd, const char *path)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot stat %s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode) || st.st_uid != geteuid())
		return hive_error_set(HIVE_EINVALID, "%s is not a regular file of this user; remove it and start "
				      "hive serve again (it writes a new token)", path);
	if (st.st_mode & 077)
		return hive_error_set(HIVE_EINVALID, "%s is accessible to other users (mode %03o); run chmod 600 %s, "
				      "or remove it for a new token", path, (unsigned)(st.st_mode & 0777), path);
	return 0;
}

static int read_token(int fd, const char *path, char out[HIVE_TOKEN_LEN + 1])
{
	char buf[HIVE_TOKEN_LEN + 2];
	ssize_t n = read(fd, buf, sizeof buf);
	if (n < 0)
		return hive_error_set(HIVE_ESYSTEM, "cannot read %s: %s", path, strerror(errno));
	if (n == HIVE_TOKEN_LEN + 1 && buf[HIVE_TOKEN_LEN] == '\n')
		n--;
	/* buf has no NUL: bound the scan to the bytes read */
	size_t hex = 0;
	while (n == HIVE_TOKEN_LEN && hex < HIVE_TOKEN_LEN && strchr("0123456789abcdef", buf[hex]) && buf[hex])
		hex++;
	if (n != HIVE_TOKEN_LEN || hex < HIVE_TOKEN_LEN)
		return hive_error_set(HIVE_EINVALID, "%s does not hold a token (64 hex characters); remove it and "
				      "start hive serve again", path);
	memcpy(out, buf, HIVE_TOKEN_LEN);
	out[HIVE_TOKEN_LEN] = '\0';
	return 0;
}

static int write_token(int fd, const char *path, char out[HIVE_TOKEN_LEN + 1])
{
	unsigned char raw[HIVE_TOKEN_LEN / 2];
	if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
		return hive_error_set(HIVE_ESYSTEM, "cannot make a token for %s: getrandom: %s", path, strerror(errno));
	for (size_t i = 0; i < sizeof raw; i++) {
		out[2 * i] = "0123456789abcdef"[raw[i] >> 4];
		out[2 * i + 1] = "0123456789abcdef"[raw[i] & 15];
	}
	out[HIVE_TOKEN_LEN] = '\n';
	int ok = write(fd, out, HIVE_TOKEN_LEN + 1) == HIVE_TOKEN_LEN + 1 && fsync(fd) == 0;
	out[HIVE_TOKEN_LEN] = '\0';
	if (!ok) {
		int e = errno;
		unlink(path);
		return hive_error_set(HIVE_ESYSTEM, "cannot write %s: %s", path, strerror(e));
	}
	return 0;
}

int hive_token_load(const char *dir, char out[HIVE_TOKEN_LEN + 1])
{
	hive_buf path = {0};
	hive_buf_printf(&path, "%s/serve.token", dir);
	const char *p = hive_buf_str(&path);
	int rc, fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) {
		rc = write_token(fd, p, out);
	} else if (errno == EEXIST) {
		fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
		if (fd < 0)
			rc = hive_error_set(errno == ELOOP ? HIVE_EINVALID : HIVE_ESYSTEM, "cannot open %s: %s%s", p,
					    strerror(errno), errno == ELOOP ? " (a symlink; remove it)" : "");
		else if (!(rc = check_file(fd, p)))
			rc = read_token(fd, p, out);
	} else {
		rc = hive_error_set(HIVE_ESYSTEM, "cannot create %s: %s", p, strerror(errno));
	}
	if (fd >= 0)
		close(fd);
	hive_buf_dispose(&path);
	return rc;
}

int hive_token_matches(const char *token, const char *s, size_t len)
{
	if (len != HIVE_TOKEN_LEN)
		return 0;
	unsigned char diff = 0;
	for (size_t i = 0; i < HIVE_TOKEN_LEN; i++)
		diff |= (unsigned char)(token[i] ^ s[i]);
	return diff == 0;
}
