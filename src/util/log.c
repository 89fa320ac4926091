/* SPDX-License-Identifier: Apache-2.0 */
/* Leveled logging (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static atomic_int current_level = -1;

static int
level_from_env(void)
{
    const char* e = getenv("GRANARY_LOG");
    static const char* names[] = { "debug", "info", "warn", "error", "off" };
    for (int i = 0; e && i < 5; i++)
        if (strcmp(e, names[i]) == 0)
            return i;
    return GR_LOG_WARN;
}

void
gr_log_set_level(enum gr_log_level level)
{
    atomic_store(&current_level, (int)level);
}

void
gr_log(enum gr_log_level level, const char* fmt, ...)
{
    int cur = atomic_load(&current_level);
    if (cur < 0) {
        cur = level_from_env();
        atomic_store(&current_level, cur);
    }
    if ((int)level < cur)
        return;
    static const char* tags[] = { "debug", "info", "warn", "error" };
    char line[1024];
    int n = snprintf(line, sizeof line, "granary: %s: ", tags[level]);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
}
