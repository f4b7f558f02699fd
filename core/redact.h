/*
 * redact.h - secrets stay secret: the values of a runtime's
 * env_passthrough variables are masked in everything hive stores.
 *
 * env_passthrough (docs/adapters.md) copies variables such as API keys from
 * hive's environment into the runtime's; their values are never in the log
 * (only the names are).  A runtime or a check that prints one, though,
 * would put it into a stored output, the check excerpt, the next attempt's
 * retry context and the attempt's log files.  So every output hive keeps
 * passes through here first and each occurrence of a value becomes
 * HIVE_REDACT_MASK.
 *
 * Values shorter than HIVE_REDACT_MIN bytes are not masked: masking "1" or
 * "ab" would mangle ordinary output everywhere, and the pattern of masks
 * would itself reveal the value.  Such a value is no secret worth the name.
 * Only verbatim occurrences are caught (not a value split across writes
 * that interleave with other text, nor an encoded one: base64, hex, ...).
 */
#ifndef HIVE_REDACT_H
#define HIVE_REDACT_H

#include <jansson.h>
#include <stddef.h>

#include "events/buf.h"

#define HIVE_REDACT_MASK "***"
#define HIVE_REDACT_MIN 4

typedef struct {
	char **values; /* owned; longest first, so a value containing another is masked whole */
	size_t n;
	size_t longest;
} hive_redact;

/* The secrets of a runtime (borrowed JSON, the task's `runtime`): the
 * values, in hive's own environment, of its env_passthrough names (unset,
 * empty and too-short ones skipped).  Release with hive_redact_dispose. */
void hive_redact_init(hive_redact *r, const json_t *runtime);
void hive_redact_dispose(hive_redact *r);

/* Mask every occurrence in b, in place.  Returns how many were masked. */
size_t hive_redact_buf(const hive_redact *r, hive_buf *b);

/* Mask every string (not the keys) of a JSON value in place (a verdict). */
void hive_redact_json(const hive_redact *r, json_t *v);

/*
 * Mask a file hive wrote (an output log in the attempt dir), streaming in
 * bounded memory: the masked copy is written next to it (0600) and renamed
 * over it, only when something was masked.  When the copy cannot be
 * written, the file is removed rather than kept with the secret (callers
 * read what they store first).  A path that is not a regular
 * file (a runtime may plant a FIFO or a symlink) is left alone: it is not
 * opened for reading (O_NOFOLLOW|O_NONBLOCK, then fstat).  Missing file:
 * 0.  Returns how many values were masked, or HIVE_ESYSTEM (message set)
 * when the copy could not be written.
 */
long hive_redact_file(const hive_redact *r, const char *path);

#endif
