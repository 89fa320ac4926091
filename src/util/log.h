/* SPDX-License-Identifier: Apache-2.0 */
/* Minimal leveled logging to stderr. Thread-safe (one write per line). */
#ifndef GR_UTIL_LOG_H
#define GR_UTIL_LOG_H

enum gr_log_level
{
    GR_LOG_DEBUG,
    GR_LOG_INFO,
    GR_LOG_WARN,
    GR_LOG_ERROR,
    GR_LOG_OFF
};

/* Messages below this level are dropped. Default: GR_LOG_WARN, or the
 * level named by the GRANARY_LOG environment variable (debug, info, warn,
 * error, off). */
void gr_log_set_level(enum gr_log_level level);

void gr_log(enum gr_log_level level, const char* fmt, ...)
  __attribute__((format(printf, 2, 3)));

#define GR_DEBUG(...) gr_log(GR_LOG_DEBUG, __VA_ARGS__)
#define GR_INFO(...) gr_log(GR_LOG_INFO, __VA_ARGS__)
#define GR_WARN(...) gr_log(GR_LOG_WARN, __VA_ARGS__)
#define GR_ERROR(...) gr_log(GR_LOG_ERROR, __VA_ARGS__)

#endif
