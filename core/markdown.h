/*
 * markdown.h - what hive needs to quote arbitrary text in the Markdown it
 * writes (prompts, retry contexts) without the text closing the quote.
 */
#ifndef HIVE_MARKDOWN_H
#define HIVE_MARKDOWN_H

#include <stddef.h>

/* The number of backticks for a code span or fence around `s` (CommonMark):
 * one more than the longest run of backticks inside s, and at least `min`
 * (1 for a code span, 3 for a fenced block). */
size_t hive_markdown_fence_len(const char *s, size_t min);

#endif
